"""`rankperf serve`: command-line options and the process around the reference rerank server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys

from rankperf_data.argtypes import non_negative_float, non_negative_int, positive_int
from rankperf_data.server.app import APIS, ListenError, ServeConfig, event_loop_for, serve
from rankperf_data.server.capacity import DEFAULT_BATCH_OVERHEAD_MS, DEFAULT_PER_TOKEN_US
from rankperf_data.server.faults import KINDS, parse_delay_ms, parse_fault
from rankperf_data.server.scoring import Model

API_KEY_ENV = "RANKPERF_SERVER_API_KEY"
DEFAULT_MAX_PAIRS = 512  # TEI's --max-concurrent-requests
INFINITY_QUEUE_SIZE = 32_000  # INFINITY_QUEUE_SIZE's default: more queued pairs are answered 429
DEFAULT_SLOW_MS = 1000.0


def _delay(text: str) -> float:
    try:
        return parse_delay_ms(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


API_HELP = ("Which API to serve: tei (/rerank, / and /invocations), cohere (/v1/rerank, /v2/rerank and "
            "vLLM's Cohere-style /rerank), nim (/v1/ranking), voyage (/v1/rerank), jina (/v1/rerank), infinity "
            "(infinity-emb's /rerank, /health, /models), or all: TEI /rerank + Cohere /v1 and /v2 + NIM "
            "/v1/ranking + Voyage /voyage/v1/rerank + Jina /jina/v1/rerank (default: %(default)s)")


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The `rankperf serve` options (also used by `python -m rankperf_data.server.main`)."""
    p = parser.add_argument
    p("--api", choices=APIS, default="all", help=API_HELP)
    p("--host", default="127.0.0.1", help="Address to listen on (default: %(default)s; 0.0.0.0 for all)")
    p("--port", type=non_negative_int, default=8080, help="Port; 0 picks a free one (default: %(default)s)")
    p("--model-id", default="BAAI/bge-reranker-base", help="Model name reported by /info and /v1/models "
      "(default: %(default)s)")
    p("--max-client-batch-size", type=positive_int, default=32,
      help="TEI: most texts per request; more is 422 Validation (default: %(default)s)")
    p("--legacy-413", action="store_true",
      help="TEI <= 1.8: answer an oversize batch with 413 instead of 422")
    p("--max-concurrent-requests", type=non_negative_int, default=None,
      help="Pairs in flight before new ones are refused with 429 (TEI: one permit per text, no waiting "
           f"queue); 0 = unlimited (default: {DEFAULT_MAX_PAIRS}; with --api infinity {INFINITY_QUEUE_SIZE}, "
           "Infinity's queue size)")
    p("--max-batch-tokens", type=positive_int, default=16384,
      help="Token budget of one simulated forward batch (default: %(default)s)")
    p("--max-input-length", type=positive_int, default=512,
      help="Most tokens per (query, passage) pair; tokens are estimated as characters / 4 "
           "(default: %(default)s)")
    p("--auto-truncate", action=argparse.BooleanOptionalAction, default=True,
      help="Truncate over-long pairs when the request doesn't say (TEI 1.9 default: on); "
           "off: TEI 422, Cohere 400, NIM 400")
    p("--payload-limit", type=positive_int, default=2_000_000,
      help="Largest request body in bytes; more is 413 before the body is read (default: %(default)s)")
    p("--batch-overhead-ms", type=non_negative_float, default=DEFAULT_BATCH_OVERHEAD_MS, metavar="A",
      help="Fixed time of one batch, ms. A batch takes A + B x tokens; the defaults model "
           "bge-reranker-base on an A100 (~160k tokens/s) (default: %(default)s)")
    p("--per-token-us", type=non_negative_float, default=DEFAULT_PER_TOKEN_US, metavar="B",
      help="Time per token in a batch, microseconds (default: %(default)s)")
    p("--fixed-latency-ms", type=non_negative_float, default=None, metavar="X",
      help="No batching or queueing: every request is answered exactly X ms after it arrives "
           "(0 = at once). For timing-accuracy benchmarks")
    p("--timer-spin-us", type=non_negative_float, default=0.0, metavar="US",
      help="Busy-poll the last US microseconds before each timer deadline instead of sleeping: on VMs, "
           "where waking an idle CPU takes 0.1-0.5 ms, answers then come that much closer to the "
           "fixed latency, at the price of CPU a co-located load generator may need; e.g. 500 "
           "(default: 0, off)")
    p("--zero-latency", action="store_true",
      help="No model time at all: answer as soon as the request is parsed (same as "
           "--batch-overhead-ms 0 --per-token-us 0)")
    p("--score-drift", type=non_negative_float, default=0.0, metavar="X",
      help="While other requests are in flight, move each logit by up to X (deterministic per passage "
           "and number in flight); a request alone gets exact scores. Needs model time (not "
           "--zero-latency). For testing --check-consistency (default: 0, off)")
    p("--fault", action="append", default=[], metavar="KIND:RATE",
      help=f"Inject a fault into a fraction RATE (0..1) of rerank requests; repeatable, first match wins, "
           f"in the order given. Kinds: {', '.join(KINDS)}. slow takes an optional delay: slow:0.1:500ms")
    p("--slow-ms", type=_delay, default=DEFAULT_SLOW_MS, metavar="DELAY",
      help="Delay added by `slow` faults without their own (default: %(default)g ms)")
    p("--seed", type=int, default=None, help="Seed of the fault draws (default: random)")
    p("--api-key", default=None,
      help=f"Require `Authorization: Bearer KEY` on rerank routes, /info and /v1/models (401 otherwise). "
           f"Prefer the {API_KEY_ENV} environment variable: arguments are visible to other users")
    p("--log-level", default="info", choices=["debug", "info", "warning", "error"],
      help="Log level on stderr (default: %(default)s)")


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    """Validated configuration; raises ValueError with a message for the user."""
    faults = [parse_fault(spec, args.slow_ms) for spec in args.fault]
    overhead, per_token = args.batch_overhead_ms, args.per_token_us
    if args.zero_latency:
        if args.fixed_latency_ms is not None:
            raise ValueError("--zero-latency and --fixed-latency-ms are exclusive")
        overhead = per_token = 0.0
    if args.max_input_length > args.max_batch_tokens:
        raise ValueError("--max-input-length cannot exceed --max-batch-tokens (a pair must fit in a batch)")
    return ServeConfig(
        api=args.api,
        model=Model(args.model_id, args.max_input_length, args.auto_truncate),
        max_client_batch_size=args.max_client_batch_size,
        legacy_413=args.legacy_413,
        max_concurrent_requests=_max_pairs(args),
        max_batch_tokens=args.max_batch_tokens,
        payload_limit=args.payload_limit,
        batch_overhead_ms=overhead,
        per_token_us=per_token,
        fixed_latency_ms=args.fixed_latency_ms,
        faults=faults,
        seed=args.seed,
        api_key=args.api_key or os.environ.get(API_KEY_ENV) or None,
        score_drift=args.score_drift,
    )


def _max_pairs(args: argparse.Namespace) -> int:
    if args.max_concurrent_requests is not None:
        return args.max_concurrent_requests
    return INFINITY_QUEUE_SIZE if args.api == "infinity" else DEFAULT_MAX_PAIRS


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def run_serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; prints one ready line to stdout. Returns the exit code."""
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(args)
    except ValueError as e:
        print(f"rankperf serve: error: {e}", file=sys.stderr)
        return 2
    loop = event_loop_for(config, spin_s=args.timer_spin_us / 1e6)
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises KeyboardInterrupt instead
            loop.add_signal_handler(sig, stop.set)

    def ready(port: int) -> None:
        print(f"rankperf serve: listening on http://{_url_host(args.host)}:{port} (api={config.api})", flush=True)

    try:
        loop.run_until_complete(serve(config, args.host, args.port, ready, stop))
    except ListenError as e:
        print(f"rankperf serve: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        loop.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rankperf serve", description="The reference rerank server.")
    add_serve_arguments(parser)
    return run_serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
