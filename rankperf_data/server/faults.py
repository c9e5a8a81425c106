"""Fault injection: parse `--fault KIND:RATE[:DELAY]` and draw, per request, which fault (if any) applies."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

STATUS_KINDS = {"429": 429, "500": 500, "503": 503}
# Applied before the request is parsed: the API never sees it.
EARLY_KINDS = {"429", "500", "503", "hang", "reset"}
# Applied to a successful (200) answer.
CONTENT_KINDS = {"bad-json", "wrong-count", "bad-index"}
KINDS = ("429", "500", "503", "hang", "slow", "reset", "bad-json", "wrong-count", "bad-index")

_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    rate: float
    delay_ms: float = 0.0  # for `slow`


def parse_delay_ms(text: str) -> float:
    """'500ms', '1.5s' or '500' (milliseconds) -> milliseconds."""
    m = _DELAY.match(text)
    if not m:
        raise ValueError(f"invalid delay {text!r} (use e.g. 500ms or 1.5s)")
    value = float(m.group(1))
    return value * 1000.0 if m.group(2) == "s" else value


def parse_fault(spec: str, default_slow_ms: float) -> Fault:
    """`KIND:RATE` or `slow:RATE:DELAY`; RATE is a fraction in [0, 1]."""
    parts = spec.split(":")
    kind = parts[0].strip().lower()
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r} in {spec!r}; kinds: {', '.join(KINDS)}")
    if len(parts) < 2 or len(parts) > (3 if kind == "slow" else 2):
        form = "slow:RATE[:DELAY]" if kind == "slow" else f"{kind}:RATE"
        raise ValueError(f"invalid fault {spec!r}; expected {form}")
    try:
        rate = float(parts[1])
    except ValueError:
        raise ValueError(f"invalid rate {parts[1]!r} in {spec!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be a fraction in [0, 1], got {parts[1]!r} in {spec!r}")
    delay = parse_delay_ms(parts[2]) if len(parts) == 3 else (default_slow_ms if kind == "slow" else 0.0)
    return Fault(kind, rate, delay)


class FaultPlan:
    """Draws per request, in the order given; the first fault whose draw hits wins.

    The app draws once for every authorised request to a rerank route, before parsing it: 429, 500,
    503, hang and reset replace the answer; slow delays whatever the answer is, errors (400, 422,
    429 overload...) included, like a slow server; bad-json, wrong-count and bad-index alter a 200
    answer and are neither applied nor counted when the request fails anyway (e.g. a 400).
    """

    def __init__(self, faults: list[Fault], seed: int | None = None) -> None:
        self.faults = [f for f in faults if f.rate > 0]
        self._random = random.Random(seed).random

    def __bool__(self) -> bool:
        return bool(self.faults)

    def draw(self) -> Fault | None:
        rnd = self._random
        for fault in self.faults:
            if rnd() < fault.rate:
                return fault
        return None

    def describe(self) -> str:
        return ", ".join(
            f"{f.kind}:{f.rate:g}" + (f":{f.delay_ms:g}ms" if f.kind == "slow" else "") for f in self.faults
        ) or "none"
