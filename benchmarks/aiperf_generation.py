"""AIPerf 0.13.0's synthetic rankings generation, timed: its own composer, no server, no load.

Runs with the AIPerf venv's Python (benchmarks/.env/aiperf/bin/python) and AIPerf's environment
(HF_HUB_OFFLINE=1, HF_HOME=benchmarks/.env/hf). The configuration comes from AIPerf's own
`aiperf profile` parser, with the harness's options (hf_tei_rankings, so its defaults of 10
passages x 128 tokens and a 32-token query; seed 1; the shared tokenizer), and the dataset from
the composer `aiperf profile` uses for it (SyntheticRankingsDatasetComposer.create_dataset), which
builds one Conversation per request: a 32-token query and 10 passages cut from its Shakespeare
corpus to exact token counts. Prints one JSON line:

    HF_HUB_OFFLINE=1 HF_HOME=benchmarks/.env/hf benchmarks/.env/aiperf/bin/python \\
        benchmarks/aiperf_generation.py --requests 3000 --tokenizer rankperf-bench/wordpiece-30k

set-up = tokenizer load + composer construction (which tokenizes the corpus); generate = the
``create_dataset`` call for ``--requests`` distinct requests.
"""

from __future__ import annotations

import argparse
import json
import time

MODEL = "BAAI/bge-reranker-base"


def _benchmark_run(requests: int, tokenizer: str):  # noqa: ANN202 (AIPerf's BenchmarkRun; imported lazily)
    """The BenchmarkRun `aiperf profile` would build for these options (no server is contacted)."""
    from aiperf.cli_commands.profile import app
    from aiperf.cli_runner import _make_benchmark_run
    from aiperf.config.flags.resolver import resolve_config
    from aiperf.config.loader import build_benchmark_plan
    from aiperf.orchestrator.orchestrator import resolve_run_seed

    argv = ["--model", MODEL, "--url", "http://127.0.0.1:9", "--endpoint-type", "hf_tei_rankings",
            "--num-dataset-entries", str(requests), "--random-seed", "1", "--tokenizer", tokenizer,
            "--ui-type", "none"]
    _, bound, _ = app.parse_args(argv)
    cli = bound.arguments["cli_config"]
    plan = build_benchmark_plan(resolve_config(cli, cli.config_file))
    seed = resolve_run_seed(plan, plan.variations[0])
    return _make_benchmark_run(plan.configs[0], random_seed=seed, variables=plan.variables)


def measure(requests: int, tokenizer: str) -> dict:
    """Time AIPerf's set-up and its generation of ``requests`` rankings requests; check one request's shape."""
    from aiperf.common import random_generator as rng
    from aiperf.common.tokenizer import Tokenizer
    from aiperf.dataset.composer.synthetic_rankings import SyntheticRankingsDatasetComposer

    run = _benchmark_run(requests, tokenizer)
    rng.reset()
    rng.init(run.random_seed)  # as AIPerf's service bootstrap does before a composer runs
    t0 = time.perf_counter()
    cfg = run.cfg.tokenizer
    tok = Tokenizer.from_pretrained(cfg.get_tokenizer_name_for_model(MODEL), trust_remote_code=cfg.trust_remote_code,
                                    revision=cfg.revision, resolve_alias=cfg.should_resolve_alias)
    t1 = time.perf_counter()
    composer = SyntheticRankingsDatasetComposer(run=run, tokenizer=tok)
    t2 = time.perf_counter()
    conversations = composer.create_dataset()
    t3 = time.perf_counter()
    texts = {t.name: t.contents for t in conversations[0].turns[0].texts}
    chars = sum(len(c) for conv in conversations for t in conv.turns[0].texts for c in t.contents)
    return {
        "tool": "aiperf", "tokenizer": tokenizer, "requests": len(conversations),
        "tokenizer_load_s": round(t1 - t0, 4), "setup_s": round(t2 - t0, 4), "generate_s": round(t3 - t2, 4),
        "req_s": len(conversations) / (t3 - t2), "req_s_with_setup": len(conversations) / (t3 - t0),
        "text_bytes_per_request": chars / len(conversations),
        "check": {"passages": len(texts["passages"]), "query_tokens": len(tok.encode(texts["query"][0])),
                  "passage_tokens": len(tok.encode(texts["passages"][0]))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--tokenizer", default="rankperf-bench/wordpiece-30k",
                        help="a name AIPerf resolves (offline: an entry of HF_HOME's hub cache)")
    args = parser.parse_args()
    print(json.dumps(measure(args.requests, args.tokenizer)), flush=True)


if __name__ == "__main__":
    main()
