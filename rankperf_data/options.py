"""Every rankperf option, declared once.

The same declarations feed Locust's parser (command line, config files, ``LOCUST_*``/``RANKPERF_*``
environment variables and the web UI form) and ``rankperf profile``. Defaults here are the real
ones: ``--help`` tells the truth.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from rankperf_data import apis
from rankperf_data.argtypes import non_negative_float, non_negative_int, positive_float, positive_int
from rankperf_data.campaign.lists import rate_arg, users_arg

DEFAULT_MODEL = "BAAI/bge-reranker-base"
ENDPOINT_TYPES = apis.ENDPOINT_TYPES
API_KEY_ENV = "RANKPERF_API_KEY"


@dataclass(frozen=True)
class Option:
    """One option: its flags, where it is used, and how it parses."""

    flags: tuple[str, ...]
    dest: str
    help: str
    type: Callable[[str], Any] | None = str
    default: Any = None
    choices: tuple[str, ...] | None = None
    action: str | None = None  # "store_true" or "append"
    secret: bool = False  # never given a default, never shown in the web UI page
    web_ui: bool = True
    locust: bool = True  # False: only on `rankperf profile`
    metavar: str | None = None
    profile_flags: tuple[str, ...] = ()  # extra short forms only `rankperf profile` has (Locust owns -H)
    profile: bool = True  # False: only on `locust` (rankperf profile has its own flag for it)

    def add_to(self, parser: Any, *, locust: bool) -> None:
        """Register on an argparse (or Locust configargparse) parser."""
        # argparse formats help with %; Locust's web UI shows it raw
        help_text = self.help if locust else self.help.replace("%", "%%")
        if self.default not in (None, "") and self.action != "store_true" and not self.secret:
            help_text += f" (default: {self.default})"  # literal, so the web UI form shows it too
        kwargs: dict[str, Any] = {"dest": self.dest, "help": help_text}
        if self.action == "store_true":
            kwargs.update(action="store_true", default=bool(self.default))
        else:
            if self.action:
                kwargs["action"] = self.action
            elif self.dest in CONFLICTING:
                kwargs["action"] = NoteGiven
            if self.type is not None:
                kwargs["type"] = self.type
            kwargs["default"] = self.default
            if self.choices:
                kwargs["choices"] = self.choices
            if self.metavar:
                kwargs["metavar"] = self.metavar
        if locust:
            kwargs["env_var"] = "RANKPERF_" + self.dest.upper()
            kwargs["include_in_web_ui"] = self.web_ui and not self.secret
            kwargs["is_secret"] = self.secret
        flags = self.flags if locust else self.profile_flags + self.flags
        parser.add_argument(*flags, **kwargs)


ISL_HELP = ("AIPerf's input length, accepted so AIPerf command lines run. Ranking requests take their sizes "
            "from the --rankings-* options: alone it is ignored (with a warning); with a "
            "--rankings-*-prompt-token-* option it is an error.")

OPTIONS: tuple[Option, ...] = (
    # What to send
    Option(("-m", "--model", "--model-names"), "model",
           "Model name sent in every body but TEI's (TEI serves one model) and used to find a tokenizer.",
           default=DEFAULT_MODEL),
    Option(("--endpoint", "--custom-endpoint"), "endpoint",
           "Path to post to, overriding the API's default "
           f"({', '.join(dict.fromkeys(m.default_path for m in apis.API_MODULES))}).", default=""),
    Option(("--cohere-api-version",), "cohere_api_version",
           "Cohere rerank API version for CohereRerankUser: v2 (/v2/rerank) or v1 (/v1/rerank).",
           default="v2", choices=("v1", "v2")),
    Option(("--top-n",), "top_n",
           f"Ask the server for the top N results only (0: all); validation expects N. Sent as "
           f"{apis.top_n_help()}; the other APIs always answer every passage.",
           type=non_negative_int, default=0),
    Option(("--api-key",), "api_key",
           f"Bearer token for the server. Prefer the environment variable {API_KEY_ENV}: it is read "
           "at request time and never written anywhere.", secret=True),
    Option(("--header",), "header",
           "Extra HTTP header 'Name:Value' (repeatable; a JSON object also works). Authorization "
           "values are redacted in every artifact.", action="append", metavar="NAME:VALUE",
           profile_flags=("-H",)),
    Option(("--extra-inputs",), "extra_inputs",
           "Extra body field 'key:value' (repeatable; value parsed as JSON when it is JSON) or a JSON "
           "object, merged top-level into every request body.", action="append", metavar="KEY:VALUE"),
    Option(("--request-timeout-seconds",), "request_timeout_seconds",
           "Total time allowed per request before it counts as a timeout error.",
           type=positive_float, default=300.0),
    Option(("--connect-timeout-seconds",), "connect_timeout_seconds",
           "Time allowed to open a connection, TLS handshake included, before the request fails "
           "(a host that is down, or https:// to a server that speaks plain HTTP). Separate from, and "
           "bounded by, --request-timeout-seconds.",
           type=positive_float, default=10.0),
    Option(("--insecure",), "insecure",
           "Do not verify the server's TLS certificate (https only).", action="store_true", default=False),
    # How much and how fast
    Option(("--request-count", "--num-requests"), "request_count",
           "Send exactly this many measured requests in total, across all users, processes and workers, "
           "then stop (0: no count limit; use --benchmark-duration or stop by hand). `rankperf profile` "
           "sends 10 (AIPerf's effective default) when neither this nor --benchmark-duration is given.",
           type=non_negative_int, default=0),
    Option(("--warmup-request-count", "--num-warmup-requests"), "warmup_request_count",
           "Requests sent first and left out of every statistic.", type=non_negative_int, default=0),
    Option(("--benchmark-duration",), "benchmark_duration",
           "Stop issuing measured requests after this many seconds (0: off); in-flight requests finish.",
           type=non_negative_float, default=0.0),
    Option(("--request-rate",), "request_rate",
           "Open loop: total arrival rate in requests/s across all workers (0: closed loop, each user "
           "sends when its last request returns). Users (-u) cap the requests in flight. A comma list "
           "(e.g. 50,100) sweeps it: one exact run per rate into rate_<R>/, plus sweep_aggregate/.",
           type=rate_arg, default=0.0),
    Option(("--sweep-users",), "sweep_users",
           "Closed-loop sweep: a comma list of user counts (e.g. 1,4,16), one exact run per count into "
           "concurrency_<N>/ plus sweep_aggregate/, each point with its own --request-count or "
           "--benchmark-duration. -u and -r are then ignored: each point starts all its users at once.",
           type=users_arg, default="", profile=False),
    Option(("--arrival-pattern", "--request-rate-mode"), "arrival_pattern",
           "Open-loop arrivals: poisson (exponential gaps) or constant (equal gaps).",
           default="poisson", choices=("poisson", "constant")),
    # Synthetic data (AIPerf's names; these defaults are AIPerf's effective ones, not its --help's)
    Option(("--rankings-passages-mean",), "rankings_passages_mean",
           "Mean number of passages per request.", type=positive_int, default=10),
    Option(("--rankings-passages-stddev",), "rankings_passages_stddev",
           "Standard deviation of passages per request (normal, rounded, at least 1).",
           type=non_negative_float, default=0.0),
    Option(("--rankings-passages-prompt-token-mean",), "rankings_passages_prompt_token_mean",
           "Mean tokens per passage.", type=positive_int, default=128),
    Option(("--rankings-passages-prompt-token-stddev",), "rankings_passages_prompt_token_stddev",
           "Standard deviation of tokens per passage.", type=non_negative_float, default=0.0),
    Option(("--rankings-query-prompt-token-mean",), "rankings_query_prompt_token_mean",
           "Mean tokens per query.", type=positive_int, default=32),
    Option(("--rankings-query-prompt-token-stddev",), "rankings_query_prompt_token_stddev",
           "Standard deviation of tokens per query.", type=non_negative_float, default=0.0),
    Option(("--prompt-input-tokens-mean", "--synthetic-input-tokens-mean", "--isl"), "prompt_input_tokens_mean",
           ISL_HELP, type=positive_int, default=None, web_ui=False),
    Option(("--prompt-input-tokens-stddev", "--synthetic-input-tokens-stddev", "--isl-stddev"),
           "prompt_input_tokens_stddev", ISL_HELP, type=non_negative_float, default=None, web_ui=False),
    Option(("--random-seed",), "random_seed",
           "Seed for synthetic data and sampling: request i is byte-identical across runs, users, "
           "processes and workers (-1: a fresh seed per run, printed in the report).", type=int, default=-1),
    Option(("--tokenizer",), "tokenizer",
           "Hugging Face tokenizer.json, a directory holding one, or a hub repo name (taken from the "
           "Hugging Face cache, downloaded only when the hub is reachable and HF_HUB_OFFLINE is unset), "
           "used to make token counts exact. Default: the --model's tokenizer the same way, else a "
           "word-level estimate (said once).", default=""),
    Option(("--num-dataset-entries", "--num-prompts"), "num_dataset_entries",
           "Generate this many distinct requests and cycle through them (AIPerf's default is 100; "
           "rankperf's default 0 makes every request distinct).", type=non_negative_int, default=0),
    # Custom data
    Option(("--input-file",), "input_file",
           "JSONL file of ranking requests (AIPerf single_turn lines, or {\"query\", \"passages\"}). "
           "Giving a --rankings-* option with it is an error, whatever the value.",
           default=""),
    Option(("--custom-dataset-type",), "custom_dataset_type",
           "Format of --input-file: single_turn (AIPerf; also accepts the plain query/passages lines).",
           default="single_turn", choices=("single_turn",)),
    Option(("--dataset-sampling-strategy",), "dataset_sampling_strategy",
           "Order of input-file lines / dataset entries: sequential (wraps around), random (with "
           "replacement), shuffle (a seeded permutation per pass).",
           default="sequential", choices=("sequential", "random", "shuffle")),
    # Outputs
    Option(("--artifact-dir", "--output-artifact-dir"), "artifact_dir",
           "Directory for this run's artifacts (empty: artifacts/<model>-openai-<endpoint type>-<load>).",
           default=""),
    Option(("--goodput",), "goodput",
           "Service-level objectives, e.g. 'request_latency:250' (ms), or per passage "
           "'request_latency:20+1.5*passages' (ms); adds goodput metrics.", default=""),
    Option(("--slice-duration",), "slice_duration",
           "Also report every metric per time slice of this many seconds (requests binned by start "
           "time): profile_export_aiperf_timeslices.json/.csv (0: off).", type=non_negative_float, default=0.0),
    Option(("--network-latency-automatic",), "network_latency_automatic",
           "Measure the TCP handshake round trip to the target on fresh connections during the run; "
           "report network_rtt and network_adjusted_request_latency (latency minus the mean RTT).",
           action="store_true", default=False),
    Option(("--network-latency-mean",), "network_latency_mean",
           "A known network round trip (ms) to subtract instead of measuring it.",
           type=non_negative_float, default=None),
    Option(("--network-latency-ping-interval",), "network_latency_ping_interval",
           "Seconds between round-trip probes with --network-latency-automatic.", type=positive_float, default=1.0),
    # Server metrics (Prometheus /metrics), on by default as in AIPerf
    Option(("--server-metrics",), "server_metrics",
           "Another Prometheus endpoint to scrape during the run, besides <url>/metrics (repeatable; "
           "host:port gets http:// and /metrics).", action="append", metavar="URL"),
    Option(("--no-server-metrics",), "no_server_metrics",
           "Do not scrape any /metrics endpoint.", action="store_true", default=False),
    Option(("--server-metrics-formats",), "server_metrics_formats",
           "Files for the scraped server metrics: server_metrics_export.json and/or .csv.", default="json,csv"),
    # Ranking quality (labelled input files)
    Option(("--quality-k",), "quality_k",
           "Cut-off k of NDCG@k, MRR@k and Recall@k, reported when the --input-file lines carry "
           "'relevance' labels.", type=positive_int, default=10),
    Option(("--check-consistency",), "check_consistency",
           "Before the measured requests, send each distinct request once, alone (not counted), and "
           "compare every measured answer's order and scores with that reference. Needs a finite "
           "dataset: --input-file or --num-dataset-entries.", action="store_true", default=False),
)

BY_DEST: dict[str, Option] = {opt.dest: opt for opt in OPTIONS}

# ---- conflicts: options that cannot be given together, whatever their values --------------------
SYNTHETIC_SHAPE = (  # shape synthetic data only: meaningless with --input-file
    "rankings_passages_mean",
    "rankings_passages_stddev",
    "rankings_passages_prompt_token_mean",
    "rankings_passages_prompt_token_stddev",
    "rankings_query_prompt_token_mean",
    "rankings_query_prompt_token_stddev",
)
RANKINGS_TOKENS = tuple(d for d in SYNTHETIC_SHAPE if "_prompt_token_" in d)
ISL = ("prompt_input_tokens_mean", "prompt_input_tokens_stddev")
CONFLICTING = frozenset((*SYNTHETIC_SHAPE, *ISL, "input_file"))
GIVEN_ATTR = "_rankperf_given"  # on a parsed namespace: the CONFLICTING options given, sorted


def conflict(given: Collection[str]) -> str | None:
    """Why the options ``given`` (dests) cannot run together, or None when they can."""
    if "input_file" in given:
        shaped = [flag(d) for d in SYNTHETIC_SHAPE if d in given]
        if shaped:
            return (f"{', '.join(shaped)} cannot be combined with --input-file: they shape synthetic data "
                    "only, and the file's lines are sent as they are")
    isl = [flag(d) for d in ISL if d in given]
    tokens = [flag(d) for d in RANKINGS_TOKENS if d in given]
    if isl and tokens:
        return (f"{'/'.join(isl)} cannot be combined with {', '.join(tokens)}: ranking requests take their "
                "sizes from the --rankings-* options (the AIPerf input-length options are accepted alone, "
                "and ignored)")
    return None


class NoteGiven(argparse.Action):
    """Store the value, note that the option was given, and refuse a conflict right away.

    Only parsing knows that an option was given at all (on the command line, or in a config file or
    an environment variable, which Locust's parser turns into arguments): a value equal to the
    default was still asked for. Web UI form values never pass here; ``DatasetConfig`` judges those
    by value.
    """

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)
        given = set(getattr(namespace, GIVEN_ATTR, None) or ())
        if values in (None, ""):
            given.discard(self.dest)
        else:
            given.add(self.dest)
        setattr(namespace, GIVEN_ATTR, tuple(sorted(given)))  # a tuple: Locust sends options to workers
        problem = conflict(given)
        if problem:
            parser.exit(2, f"rankperf: error: {problem}\n")


def flag(dest: str) -> str:
    """The option's long flag, for messages."""
    return next(f for f in BY_DEST[dest].flags if f.startswith("--"))


def value(values: Mapping[str, Any], dest: str) -> Any:
    """The option's value, its declared default when missing; strings (web UI, config, env) parsed
    by its type and checked against its choices, with an InputError naming the flag."""
    from rankperf_data.dataset.errors import InputError

    opt = BY_DEST[dest]
    raw = values.get(dest, opt.default)
    if isinstance(raw, str) and opt.action != "append":
        if opt.choices and raw not in opt.choices:
            raise InputError(f"{flag(dest)}: {raw!r} is not one of {', '.join(opt.choices)}")
        if opt.type not in (None, str):
            if raw.strip() == "":
                return opt.default
            try:
                return opt.type(raw)
            except (TypeError, ValueError, argparse.ArgumentTypeError) as exc:
                raise InputError(f"{flag(dest)}: {exc}") from None
        if opt.action == "store_true":
            return raw.strip().lower() in ("1", "true", "yes", "on")
    return raw


def add_locust_arguments(parser: Any) -> None:
    """Register every Locust-side option (called from ``events.init_command_line_parser``)."""
    for opt in OPTIONS:
        if opt.locust:
            opt.add_to(parser, locust=True)


def add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    """Register every option on the ``rankperf profile`` parser."""
    for opt in OPTIONS:
        if opt.profile:
            opt.add_to(parser, locust=False)


def to_locust_argv(values: dict[str, Any]) -> list[str]:
    """Render option values (by dest) as Locust command-line arguments, skipping defaults and secrets."""
    argv: list[str] = []
    for opt in OPTIONS:
        if not opt.locust or opt.secret or opt.dest not in values:
            continue
        value = values[opt.dest]
        flag = next(f for f in opt.flags if f.startswith("--"))
        if opt.action == "store_true":
            if value:
                argv.append(flag)
        elif opt.action == "append":
            for item in value or []:
                argv.append(f"{flag}={item}")
        elif value is not None and value != opt.default:
            argv.append(f"{flag}={value}")
    return argv
