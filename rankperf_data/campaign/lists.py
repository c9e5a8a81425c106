"""Sweep lists given to plain `locust` (--sweep-users, --request-rate 50,100): parsing and the plan.

Pure: no Locust. The argparse types keep a list as its normalised text (a string survives the web UI
form and the trip to workers); ``sweep_plan`` turns the option values into the points of a
``rankperf profile``-shaped sweep (same folders, same manifest), or raises ListError (exit 2).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from rankperf_data.argtypes import non_negative_float, positive_int
from rankperf_data.campaign.plan import DEFAULT_CAMPAIGN_SEED, Point, points


class ListError(ValueError):
    """A sweep list that cannot run; the message is one line naming the option."""


def _items(text: str, flag: str, parse) -> list:
    items = [item.strip() for item in str(text).split(",")]
    if any(not item for item in items):
        raise ListError(f"{flag}: empty item in the list {text!r} (expected e.g. 1,4,16)")
    values = []
    for item in items:
        try:
            value = parse(item)
        except (ValueError, argparse.ArgumentTypeError) as exc:
            raise ListError(f"{flag}: {exc} in the list {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ListError(f"{flag}: not a finite number: {item!r}")
        values.append(value)
    if len(set(values)) < len(values):
        raise ListError(f"{flag}: a value is repeated in {text!r}: each would run into the same folder")
    return values


def _positive_rate(text: str) -> float:
    value = non_negative_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a rate in a list must be > 0, got {text}")
    return value


def users_list(text: str) -> list[int]:
    """'1,4,16' -> [1, 4, 16]; '' -> []."""
    if text is None or str(text).strip() == "":
        return []
    return _items(text, "--sweep-users", positive_int)


def rate_list(value) -> list[float]:
    """A --request-rate value: a number (no sweep: []) or a list text '50,100' -> [50.0, 100.0]."""
    if isinstance(value, str) and "," in value:
        return _items(value, "--request-rate", _positive_rate)
    return []


def users_arg(text: str) -> str:
    """argparse type of --sweep-users: checked, kept as text."""
    try:
        return ",".join(str(v) for v in users_list(text))
    except ListError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--sweep-users: ")) from None


def rate_arg(text: str):
    """argparse type of --request-rate: one rate (a float, as before) or a checked list kept as text."""
    if "," not in str(text):
        return non_negative_float(text)
    try:
        return ",".join(f"{v:g}" for v in rate_list(text))
    except ListError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--request-rate: ")) from None


@dataclass(frozen=True)
class SweepPlan:
    """The points of a sweep started from `locust`: users per point (closed loop) or rate per point."""

    points: list[Point]
    dest: str  # "concurrency" or "request_rate"

    def users(self, point: Point, default: int) -> int:
        return int(point.values["concurrency"]) if self.dest == "concurrency" else default

    def rate(self, point: Point) -> float:
        return float(point.values["request_rate"]) if self.dest == "request_rate" else 0.0


def sweep_plan(sweep_users, request_rate, random_seed, request_count, duration) -> SweepPlan | None:
    """The sweep the option values ask for (None: a single run), or ListError."""
    users = users_list(sweep_users)
    rates = rate_list(request_rate)
    if not users and not rates:
        return None
    if users and (rates or _number(request_rate)):
        raise ListError("--sweep-users sweeps the closed loop: leave out --request-rate, or give "
                        "--request-rate a list to sweep the open loop (-u is then the in-flight cap)")
    if not _number(request_count) and not _number(duration):
        raise ListError("a sweep needs --request-count or --benchmark-duration: each point's own budget "
                        "(without one the first point would never end)")
    seed = int(random_seed) if random_seed not in (None, "") else -1
    seed = DEFAULT_CAMPAIGN_SEED if seed < 0 else seed  # as `rankperf profile` sweeps: point i gets seed + i
    dest = "concurrency" if users else "request_rate"
    return SweepPlan(points({dest: tuple(users or rates)}, "grid", seed, False), dest)


def _number(value) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0
