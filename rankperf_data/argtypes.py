"""argparse value types with range checks, shared by every command's options."""

from __future__ import annotations

import argparse


def _bounded(cast, text: str, ok, rule: str):
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
    return value


def non_negative_int(text: str) -> int:
    return _bounded(int, text, lambda v: v >= 0, ">= 0")


def positive_int(text: str) -> int:
    return _bounded(int, text, lambda v: v >= 1, ">= 1")


def non_negative_float(text: str) -> float:
    return _bounded(float, text, lambda v: v >= 0, ">= 0")


def positive_float(text: str) -> float:
    return _bounded(float, text, lambda v: v > 0, "> 0")


def worker_count(text: str) -> int:
    """Locust's ``--processes``: -1 means one per CPU core, 0 none, N that many."""
    return _bounded(int, text, lambda v: v >= -1, "-1 (one per CPU core) or >= 0")
