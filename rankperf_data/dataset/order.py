"""Which of N entries request i uses: sequential, random (with replacement) or shuffle (per pass)."""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

import numpy as np

from rankperf_data.dataset.sampling import (
    PICK,
    SHUFFLE,
    below,
    below_array,
    draw_array,
    mix64,
    mix64_array,
    stream_key,
    stream_keys,
)

STRATEGIES = ("sequential", "random", "shuffle")


class EntryOrder:
    """Maps request index -> entry index, a pure function of (key, strategy, N, i)."""

    _KEEP_PASSES = 4  # permutations kept: users drift across a pass boundary together

    def __init__(self, key: int, strategy: str, entries: int) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown sampling strategy {strategy!r}")
        if entries < 1:
            raise ValueError("need at least one entry")
        self.key = key
        self.strategy = strategy
        self.entries = entries
        self._perms: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = Lock()

    def entry(self, i: int) -> int:
        n = self.entries
        if self.strategy == "sequential" or n == 1:
            return i % n
        if self.strategy == "random":
            return below(mix64(stream_key(self.key, i, PICK)), n)
        return int(self._permutation(i // n)[i % n])

    def entries_of(self, indices: np.ndarray) -> np.ndarray:
        """``entry`` over an array of request indices."""
        n = self.entries
        indices = np.asarray(indices, dtype=np.int64)
        if self.strategy == "sequential" or n == 1:
            return indices % n
        if self.strategy == "random":
            return below_array(mix64_array(stream_keys(self.key, indices, PICK)), n).astype(np.int64)
        out = np.empty(len(indices), dtype=np.int64)
        passes = indices // n
        for p in np.unique(passes):
            sel = passes == p
            out[sel] = self._permutation(int(p))[indices[sel] % n]
        return out

    def _permutation(self, p: int) -> np.ndarray:
        perm = self._perms.get(p)
        if perm is not None:
            return perm
        # Sorting N hashed values gives a uniform random permutation (stable sort: ties are
        # astronomically rare, and resolved the same way everywhere).
        values = draw_array(stream_key(self.key, p, SHUFFLE), 0, self.entries)
        perm = np.argsort(values, kind="stable")
        with self._lock:
            self._perms[p] = perm
            while len(self._perms) > self._KEEP_PASSES:
                self._perms.popitem(last=False)
        return perm
