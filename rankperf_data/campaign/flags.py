"""The `rankperf profile` flags of sweeps, trials and search (AIPerf's names), and their checks.

Comma lists are accepted by the sweepable flags (plan.SWEEPABLE); every other numeric flag given a
list is refused with one line. ``campaign_config`` turns the parsed flags into a CampaignConfig, or
raises CampaignError (exit 2) before any load.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field

from rankperf_data.argtypes import non_negative_float, positive_float, positive_int
from rankperf_data.campaign.plan import DEFAULT_CAMPAIGN_SEED, SWEEPABLE, Point, SweepList, points
from rankperf_data.campaign.sla import RATE_ACHIEVED, SlaError, SlaFilter, parse_filter
from rankperf_data.report.slo import LatencyBound, parse_latency_bound

RECIPES = ("max-concurrency-under-sla", "max-rate-under-sla")
STREAMING_RECIPES = ("max-throughput-ttft-sla", "max-throughput-itl-sla", "prefill-ttft-curve",
                     "decode-itl-curve", "pareto-sweep", "max-goodput-under-slo")
SEARCH_STYLES = ("smooth_isotonic", "monotonic")
DEFAULT_RATE_SEARCH_CAP = 256  # in-flight cap of a rate search when --concurrency is not given


class CampaignError(ValueError):
    """Campaign flags that cannot run together; the message is one line."""


def list_type(scalar):
    """An argparse type: one value as the scalar type, or a SweepList of two or more."""

    def parse(text: str):
        items = [item.strip() for item in str(text).split(",")]
        if len(items) == 1:
            return _finite(scalar(items[0]), text)
        if any(not item for item in items):
            raise argparse.ArgumentTypeError(f"empty item in the list {text!r} (expected e.g. 1,4,16)")
        values = [_finite(scalar(item), text) for item in items]
        if len(set(values)) < len(values):
            raise argparse.ArgumentTypeError(f"a value is repeated in {text!r}: each would run into the same folder")
        return SweepList(values)

    return parse


def _finite(value, text: str):
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _scalar_only(parse):
    def checked(text: str):
        if "," in str(text):
            raise argparse.ArgumentTypeError(
                f"takes one value, not a list ({text!r}); lists are accepted by "
                + ", ".join(f"--{d.replace('_', '-')}" for d in SWEEPABLE))
        return parse(text)

    return checked


NUMERIC_TYPES = ("non_negative_int", "positive_int", "non_negative_float", "positive_float", "int", "float",
                 "worker_count")


def adapt_list_flags(parser: argparse.ArgumentParser) -> None:
    """Sweepable flags take comma lists; other numeric flags refuse them with a clear line."""
    for action in parser._actions:  # argparse has no public lookup by dest
        if action.dest in SWEEPABLE and action.type is not None:
            action.type = list_type(action.type)
            action.help = (action.help or "") + " A comma list (e.g. 1,4,16) sweeps it: one run per value."
            if action.dest == "concurrency":
                action.default = None  # decided per run: 1, or a rate search's in-flight cap
        elif getattr(action.type, "__name__", "") in NUMERIC_TYPES:
            action.type = _scalar_only(action.type)


def _confidence(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def _runs(text: str) -> int:
    value = positive_int(text)
    if value > 10:
        raise argparse.ArgumentTypeError(f"must be 1-10, got {text}")
    return value


def _cooldown(text: str) -> float:
    value = non_negative_float(text)
    if value > 86400:
        raise argparse.ArgumentTypeError(f"must be <= 86400, got {text}")
    return value


def _bound(text: str) -> LatencyBound:
    try:
        return parse_latency_bound(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1 (exclusive), got {text}")
    return value


def add_campaign_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("sweeps, repeated runs and SLA search (AIPerf's flags)")
    a = g.add_argument
    a("--sweep-type", choices=("grid", "zip"), default="grid",
      help="Several lists: grid runs every combination, zip pairs them element-wise (default: grid).")
    a("--parameter-sweep-mode", choices=("repeated", "independent"), default="repeated",
      help="With --num-profile-runs > 1: repeated runs every value once per trial; independent runs "
           "all trials of one value before the next (default: repeated).")
    a("--parameter-sweep-cooldown-seconds", type=non_negative_float, default=0.0,
      help="Pause between two sweep values (default: 0).")
    a("--parameter-sweep-same-seed", action=argparse.BooleanOptionalAction, default=False,
      help="Every sweep value uses the same seed (default: value i uses seed + i).")
    a("--no-sweep-table", action="store_true", help="Accepted for AIPerf compatibility (no live table).")
    a("--num-profile-runs", type=_runs, default=1,
      help="Run each configuration this many times (1-10) and aggregate with confidence intervals.")
    a("--confidence-level", type=_confidence, default=0.95,
      help="Confidence level of the Student-t intervals (default: 0.95).")
    a("--profile-run-cooldown-seconds", type=_cooldown, default=None,
      help="Pause between two trials (needs --num-profile-runs > 1; default: 0).")
    a("--profile-run-disable-warmup-after-first", action=argparse.BooleanOptionalAction, default=None,
      help="Trials 2..N skip the warmup requests (needs --num-profile-runs > 1; default: on).")
    a("--set-consistent-seed", action=argparse.BooleanOptionalAction, default=None,
      help="Without --random-seed, sweeps and trials use seed 42 (needs --num-profile-runs > 1; default: on).")
    a("--vary-seed-per-trial", action=argparse.BooleanOptionalAction, default=False,
      help="Each trial gets its own seed derived from the base seed (default: all trials share one).")
    a("--search-recipe", default=None, metavar="NAME",
      help="max-concurrency-under-sla (closed loop) or max-rate-under-sla (open-loop arrival rate, "
           "latency from the intended send): the highest value meeting every SLA.")
    a("--search-style", choices=SEARCH_STYLES, default="monotonic",
      help="Accepted for AIPerf compatibility; rankperf brackets by doubling and bisects.")
    a("--e2e-sla-ms", type=_bound, default=None, metavar="BOUND",
      help="SLA on p99 latency, ms ('250') or per passage ('50+2*passages').")
    a("--error-rate-sla", type=_fraction, default=None, metavar="F",
      help="SLA on the error rate, a fraction (0.01 = 1%%).")
    for flag in ("--ttft-sla-ms", "--itl-sla-ms", "--tpot-sla-ms"):
        a(flag, default=None, help=argparse.SUPPRESS)
    a("--concurrency-min", type=positive_int, default=1, help="Lowest concurrency searched (default: 1).")
    a("--concurrency-max", type=positive_int, default=1000, help="Highest concurrency searched (default: 1000).")
    a("--request-rate-min", type=positive_float, default=1.0, help="Lowest rate searched (default: 1).")
    a("--request-rate-max", type=positive_float, default=100000.0, help="Highest rate searched (default: 100000).")
    a("--search-sla", action="append", default=[], metavar="METRIC:STAT:OP:THRESHOLD",
      help="SLA filter, e.g. request_latency:p99:lt:250 (repeatable).")
    a("--search-max-iterations", type=positive_int, default=20, help="Most runs of a search (default: 20).")


@dataclass
class CampaignConfig:
    """What the campaign runs: the points (or the search), trials, and the SLA filters."""

    points: list[Point]
    trials: int = 1
    mode: str = "repeated"
    confidence: float = 0.95
    sweep_cooldown: float = 0.0
    trial_cooldown: float = 0.0
    vary_seed: bool = False
    skip_warmup_after_first: bool = True
    recipe: str | None = None
    filters: list[SlaFilter] = field(default_factory=list)
    search_lo: float = 1
    search_hi: float = 1000
    max_iterations: int = 20

    @property
    def is_sweep(self) -> bool:
        return len(self.points) > 1


def sweep_lists(args: argparse.Namespace) -> dict[str, tuple]:
    return {d: tuple(getattr(args, d)) for d in SWEEPABLE if isinstance(getattr(args, d, None), SweepList)}


def is_campaign(args: argparse.Namespace) -> bool:
    """Flags asking for more than one run (a point of a campaign is one run, whatever its flags)."""
    if getattr(args, "campaign_quiet", False):
        return False
    return bool(sweep_lists(args) or getattr(args, "num_profile_runs", 1) > 1 or getattr(args, "search_recipe", None))


def _check_trial_flags(args: argparse.Namespace) -> None:
    if args.num_profile_runs > 1:
        return
    for flag in ("profile_run_cooldown_seconds", "profile_run_disable_warmup_after_first", "set_consistent_seed"):
        if getattr(args, flag) is not None:
            raise CampaignError(f"--{flag.replace('_', '-')} needs --num-profile-runs > 1")


def sla_filters(args: argparse.Namespace, open_loop_latency: bool) -> list[SlaFilter]:
    """The recipe's filters (--e2e-sla-ms, --error-rate-sla) first, then --search-sla ones."""
    out = []
    if args.e2e_sla_ms is not None:
        out.append(SlaFilter("intended_latency" if open_loop_latency else "request_latency", "p99", "lt",
                             args.e2e_sla_ms))
    if args.error_rate_sla is not None:
        out.append(SlaFilter("request_error_rate", "avg", "lt", args.error_rate_sla * 100.0))
    try:
        out += [parse_filter(text) for text in args.search_sla]
    except SlaError as exc:
        raise CampaignError(str(exc)) from None
    bounds: dict[str, LatencyBound] = {}
    for f in out:
        if f.per_passage and bounds.setdefault(f.metric_tag, f.threshold) != f.threshold:
            raise CampaignError(f"two different per-passage bounds on {f.metric_tag}: give one")
    return out


def _check_recipe(args: argparse.Namespace, lists: dict[str, tuple]) -> None:
    recipe = args.search_recipe
    if recipe in STREAMING_RECIPES:
        raise CampaignError(f"--search-recipe {recipe} needs streaming (time to first token / inter-token "
                            f"latency), which rerank endpoints do not have; use {' or '.join(RECIPES)}")
    if recipe not in RECIPES:
        raise CampaignError(f"--search-recipe {recipe!r} is not one of {', '.join(RECIPES)}")
    for flag in ("ttft_sla_ms", "itl_sla_ms", "tpot_sla_ms"):
        if getattr(args, flag) is not None:
            raise CampaignError(f"--{flag.replace('_', '-')} needs streaming, which rerank endpoints do not have; "
                                "use --e2e-sla-ms")
    if args.e2e_sla_ms is None and args.error_rate_sla is None and not args.search_sla:
        raise CampaignError(f"--search-recipe {recipe} needs an SLA: --e2e-sla-ms, --error-rate-sla "
                            "or --search-sla")
    if lists:
        flags = ", ".join(f"--{d.replace('_', '-')}" for d in lists)
        raise CampaignError(f"{flags}: a search runs one configuration per iteration; give one value, not a list")
    if recipe == "max-rate-under-sla" and not args.request_rate_min < args.request_rate_max:
        raise CampaignError("--request-rate-min must be below --request-rate-max")
    if recipe == "max-concurrency-under-sla":
        if not args.concurrency_min < args.concurrency_max:
            raise CampaignError("--concurrency-min must be below --concurrency-max")
        if args.request_rate:
            raise CampaignError("max-concurrency-under-sla searches the closed loop: leave out --request-rate "
                                "(or use --search-recipe max-rate-under-sla)")


def campaign_config(args: argparse.Namespace) -> CampaignConfig:
    """The campaign the flags ask for; CampaignError (one line) when they cannot run."""
    lists = sweep_lists(args)
    _check_trial_flags(args)
    if args.search_recipe is None and (args.e2e_sla_ms is not None or args.error_rate_sla is not None):
        raise CampaignError("--e2e-sla-ms / --error-rate-sla are the SLA of a search: add --search-recipe "
                            f"({' or '.join(RECIPES)}), or use --search-sla to mark a sweep's feasible points")
    if args.search_recipe is not None:
        _check_recipe(args, lists)
    seed = args.random_seed
    if seed == -1 and args.set_consistent_seed is not False:
        seed = DEFAULT_CAMPAIGN_SEED
    try:
        pts = points(lists, args.sweep_type, seed, args.parameter_sweep_same_seed) if lists \
            else [Point(0, {}, seed)]
    except ValueError as exc:
        raise CampaignError(str(exc)) from None
    rate_search = args.search_recipe == "max-rate-under-sla"
    filters = sla_filters(args, open_loop_latency=rate_search)
    if rate_search:
        filters.append(SlaFilter(RATE_ACHIEVED, "avg", "ge", 1.0))
    cfg = CampaignConfig(
        points=pts, trials=args.num_profile_runs, mode=args.parameter_sweep_mode,
        confidence=args.confidence_level, sweep_cooldown=args.parameter_sweep_cooldown_seconds,
        trial_cooldown=args.profile_run_cooldown_seconds or 0.0, vary_seed=args.vary_seed_per_trial,
        skip_warmup_after_first=args.profile_run_disable_warmup_after_first is not False,
        recipe=args.search_recipe, filters=filters, max_iterations=args.search_max_iterations)
    if rate_search:
        cfg.search_lo, cfg.search_hi = args.request_rate_min, args.request_rate_max
    elif args.search_recipe:
        cfg.search_lo, cfg.search_hi = args.concurrency_min, args.concurrency_max
    return cfg
