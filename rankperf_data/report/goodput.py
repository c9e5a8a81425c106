"""AIPerf's --goodput SLOs, with the rerank-native per-passage bound: one parser, one test per request.

'request_latency:250' is AIPerf's form (ms); 'request_latency:20+1.5*passages' makes the bound grow
with the request's passages (``report.slo``). Items are separated by spaces or commas. A request is
good when it succeeded and meets every SLO; one lacking the value counts as not good, as AIPerf.
"""

from __future__ import annotations

import numpy as np

from rankperf_data.report.slo import LatencyBound, parse_latency_bound

# Per-record values an SLO may name: latency from the actual send, and from the intended send (open loop).
GOODPUT_TAGS = ("request_latency", "intended_latency")


def _items(spec: str) -> list[str]:
    """'a:1 b:20 + 1.5*passages' -> ['a:1', 'b:20+1.5*passages'] (spaces inside a bound are allowed)."""
    items: list[str] = []
    for token in spec.replace(",", " ").split():
        if ":" not in token and items:
            items[-1] += token
        else:
            items.append(token)
    return items


def parse_goodput(spec: str | None) -> dict[str, float | str]:
    """SLO text -> {tag: bound}: a float (ms) for a fixed bound, the canonical 'A+B*passages' text
    otherwise (JSON-able, so it travels in run.json). ValueError with one line on anything else."""
    slos: dict[str, float | str] = {}
    for item in _items(spec or ""):
        tag, sep, raw = item.partition(":")
        if not sep or tag not in GOODPUT_TAGS:
            raise ValueError(f"expected TAG:BOUND with TAG one of {', '.join(GOODPUT_TAGS)} and BOUND ms "
                             f"(250) or A+B*passages (20+1.5*passages), got {item!r}")
        if tag in slos:
            raise ValueError(f"{tag} given twice")
        bound = parse_latency_bound(raw)
        slos[tag] = bound.base_ms if not bound.per_passage else str(bound)
    return slos


def bound_of(value: float | str) -> LatencyBound:
    return parse_latency_bound(str(value))


def fixed_slos(slos: dict[str, float | str]) -> dict[str, float]:
    """The SLOs AIPerf's input_config.slos can hold (plain numbers of ms)."""
    return {tag: float(v) for tag, v in slos.items() if not bound_of(v).per_passage}


def good_mask(ok: np.ndarray, slos: dict[str, float | str]) -> np.ndarray:
    """Successful records meeting every supported SLO (value <= bound for the record's passages)."""
    good = np.ones(ok.size, dtype=bool)
    for tag, value in slos.items():
        if tag not in GOODPUT_TAGS:
            continue
        start = ok["start_ns"] if tag == "request_latency" else ok["intended_ns"]
        latency_ms = (ok["end_ns"] - start).astype(np.float64) / 1e6
        good &= latency_ms <= bound_of(value).limit_ms(ok["passages"])
    return good
