"""Counter-based randomness: every draw is a pure function of (seed, request index, domain, slot).

There is no generator state to share or advance, so request *i* comes out the same in any process,
greenlet or order. The mixer is SplitMix64's finaliser; a stream for one (seed, i, domain) is
SplitMix64 started from a hashed key, so streams of different requests are independent.
Scalar functions (plain ints, used per request) and vector ones (numpy, used to summarise
many requests at once) compute the same values.
"""

from __future__ import annotations

import math
import sys

import numpy as np

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
_INV_2_53 = 1.0 / (1 << 53)
_TWO_PI = 2.0 * math.pi

# Domains keep the streams of one request apart.
SIZES = 0  # passage count, query length, passage lengths
WORDS = 1  # the word stream texts are cut from
FILL = 2  # words that top a text up to its exact token count
PICK = 3  # "random" sampling strategy: which entry request i uses
SHUFFLE = 4  # "shuffle" sampling strategy: the permutation of pass p

_U_GOLDEN = np.uint64(GOLDEN)
_U_C1 = np.uint64(_C1)
_U_C2 = np.uint64(_C2)
_U30, _U27, _U31, _U11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def mix64(x: int) -> int:
    """SplitMix64 output for state ``x`` (a bijection on 64-bit ints)."""
    z = (x + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * _C1) & MASK64
    z = ((z ^ (z >> 27)) * _C2) & MASK64
    return z ^ (z >> 31)


def mix64_array(x: np.ndarray) -> np.ndarray:
    """``mix64`` over a uint64 array (wrapping arithmetic)."""
    z = x + _U_GOLDEN
    z = (z ^ (z >> _U30)) * _U_C1
    z = (z ^ (z >> _U27)) * _U_C2
    return z ^ (z >> _U31)


def seed_key(seed: int) -> int:
    """The 64-bit key all of a run's streams derive from."""
    return mix64(mix64(seed & MASK64) ^ (seed >> 64))


def stream_key(key: int, index: int, domain: int) -> int:
    """The start state of the stream for (run key, request/entry index, domain)."""
    return mix64(key ^ mix64(((index << 3) | domain) & MASK64))


def stream_keys(key: int, indices: np.ndarray, domain: int) -> np.ndarray:
    """``stream_key`` over an array of indices."""
    idx = (indices.astype(np.uint64) << np.uint64(3)) | np.uint64(domain)
    return mix64_array(np.uint64(key) ^ mix64_array(idx))


def draw(state: int, slot: int) -> int:
    """Value number ``slot`` of the stream starting at ``state``."""
    return mix64((state + slot * GOLDEN) & MASK64)


_STEPS = np.arange(0, dtype=np.uint64)


def draw_array(state: int, start: int, count: int) -> np.ndarray:
    """Values ``start .. start+count-1`` of the stream starting at ``state``."""
    global _STEPS
    if len(_STEPS) < count:  # cached multiples of GOLDEN; growing it is harmless if it races
        _STEPS = np.arange(max(count, 4096), dtype=np.uint64) * _U_GOLDEN
    base = np.uint64((state + start * GOLDEN) & MASK64)
    return mix64_array(_STEPS[:count] + base)


def word_indices(state: int, start: int, count: int, n: int) -> np.ndarray:
    """Stream positions ``start .. start+count-1`` mapped to 0..n-1 (``start``/``count`` even).

    Each 64-bit value gives two positions (its low then high 32 bits, multiply-shifted into
    range: exact in float64 because n < 2**21 keeps the product below 2**53).
    """
    z = draw_array(state, start // 2, (count + 1) // 2)
    if sys.byteorder == "little":
        halves = z.view(np.uint32)
    else:  # keep the low half first, so every host cuts the same words
        halves = np.stack((z & np.uint64(0xFFFFFFFF), z >> np.uint64(32)), axis=1).ravel()
    return (halves[:count] * (n / 4294967296.0)).astype(np.intp)


def _unit(z: int) -> float:
    """A uniform in (0, 1), never 0 (log-safe)."""
    return ((z >> 11) + 0.5) * _INV_2_53


def normal_int(state: int, slot: int, mean: float, stddev: float) -> int:
    """normal(mean, stddev) rounded to the nearest integer, at least 1; stddev 0 gives the mean.

    Uses slots ``slot`` and ``slot + 1`` (Box-Muller). No ``ceil``: the mean is unbiased
    (apart from the floor at 1).
    """
    if stddev <= 0:
        return max(1, round(mean))
    u1 = _unit(draw(state, slot))
    u2 = _unit(draw(state, slot + 1))
    z = math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)
    return max(1, round(mean + stddev * z))


def below(z: int, n: int) -> int:
    """Map a 64-bit value to 0..n-1 (multiply-shift; bias below 2**-32 for n < 2**32)."""
    return ((z >> 32) * n) >> 32


def below_array(z: np.ndarray, n: int) -> np.ndarray:
    return ((z >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32)
