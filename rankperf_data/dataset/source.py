"""build_dataset: the one entry point that turns a DatasetConfig into requests (synthetic or from a file)."""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

from rankperf_data.dataset import notices
from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.jsonl import FileEntry, read_jsonl
from rankperf_data.dataset.order import EntryOrder
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.dataset.sampling import seed_key
from rankperf_data.dataset.stats import distribution
from rankperf_data.dataset.synthetic import SyntheticDataset
from rankperf_data.dataset.tokenizer import TokenCounter, resolve_counter
from rankperf_data.dataset.vocabulary import build_vocabulary


class Dataset(Protocol):
    """What the load generator and the report use."""

    entries: int | None  # distinct entries (file lines, pool size); None = every request distinct
    tokenizer_description: str

    def get(self, i: int) -> RankingRequest: ...

    def describe(self) -> dict: ...

    def realised(self, n: int) -> dict: ...


class FileDataset:
    """Requests from a validated JSONL file, lines picked by the sampling strategy (wrapping around)."""

    def __init__(self, config: DatasetConfig, rows: list[tuple], counter: TokenCounter) -> None:
        """``rows``: from ``counted_rows`` (query, passages, query tokens, passage tokens, extra,
        (relevance, relevance_unlisted) or None)."""
        self.config = config
        self.path = config.input_file
        self.tokenizer_description = counter.description
        self.entries: int | None = len(rows)
        self._order = EntryOrder(seed_key(config.random_seed), config.sampling_strategy, len(rows))
        self._rows = rows

    def get(self, i: int) -> RankingRequest:
        """Request ``i`` (``i >= 0``)."""
        if i < 0:
            raise IndexError(f"request index must be >= 0, got {i}")
        return self._request(i, self._order.entry(i))

    def entry(self, i: int) -> int:
        """The file line (0-based among requests) that request ``i`` sends."""
        return self._order.entry(i)

    def entry_request(self, e: int) -> RankingRequest:
        """Line ``e`` as a request (indexed ``e``): what --check-consistency sends alone."""
        return self._request(e, e)

    def _request(self, i: int, e: int) -> RankingRequest:
        query, passages, qt, pt, extra, labels = self._rows[e]
        # A copy of extra: an API module may merge into it; the next request must not see that.
        return RankingRequest(i, query, passages, qt, pt, dict(extra) if extra is not None else None,
                              labels[0] if labels else None, labels[1] if labels else ())

    @property
    def labelled(self) -> bool:
        return bool(self._rows) and self._rows[0][5] is not None

    def describe(self) -> dict:
        return {
            "name": "main",
            "type": "file",
            "path": self.path,
            "format": "single_turn",
            "entries": self.entries,
            "random_seed": self.config.random_seed,
            "tokenizer": self.tokenizer_description,
            "sampling_strategy": self.config.sampling_strategy,
            "labelled": self.labelled,
        }

    def realised(self, n: int) -> dict:
        """Distribution over requests 0..n-1 (``n <= 0``: over the file's lines, each once)."""
        lines = len(self._rows)
        if n <= 0:
            freq = np.ones(lines, dtype=np.int64)
        else:
            freq = np.zeros(lines, dtype=np.int64)
            for start in range(0, n, 1 << 16):
                used = self._order.entries_of(np.arange(start, min(n, start + (1 << 16)), dtype=np.int64))
                freq += np.bincount(used, minlength=lines)
        used = freq > 0
        counts = np.array([len(r[1]) for r in self._rows], dtype=np.int64)
        queries = np.array([r[2] for r in self._rows], dtype=np.int64)
        out = {"passages": _weighted(counts, freq, used)}
        if (queries >= 0).all():
            out["query_tokens"] = _weighted(queries, freq, used)
        p_n = counts
        p_sum = np.array([sum(r[3]) for r in self._rows], dtype=np.int64)
        p_min = np.array([min(r[3]) for r in self._rows], dtype=np.int64)
        p_max = np.array([max(r[3]) for r in self._rows], dtype=np.int64)
        if (p_min >= 0).all():
            total = float((p_sum * freq).sum())
            out["passage_tokens"] = distribution(
                [(int((p_n * freq).sum()), total, float(p_min[used].min()), float(p_max[used].max()))]
            )
        return out


def _weighted(values: np.ndarray, freq: np.ndarray, used: np.ndarray) -> dict:
    return distribution(
        [(int(freq.sum()), float((values * freq).sum()), float(values[used].min()), float(values[used].max()))]
    )


def counted_rows(lines: list[FileEntry], counter: TokenCounter) -> list[tuple]:
    count = counter.count
    return [(e.query, e.passages, count(e.query), tuple(count(p) for p in e.passages), e.extra,
             (e.relevance, e.relevance_unlisted) if e.relevance is not None else None) for e in lines]


# The last file read and counted in this process. A Locust master validates the input at start-up
# and builds the run's dataset when the test starts, and a local run's load process shares it:
# one read and count of a large file instead of two. Keyed on the file's identity and the counter.
_last_file: tuple[tuple, list[tuple]] | None = None


def _file_rows(path: str, counter: TokenCounter) -> list[tuple]:
    global _last_file
    try:
        st = os.stat(path)
    except OSError:
        return counted_rows(read_jsonl(path), counter)  # read_jsonl says what is wrong with the path
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino, counter.description)
    if _last_file is not None and _last_file[0] == key:
        return _last_file[1]
    rows = counted_rows(read_jsonl(path), counter)
    _last_file = (key, rows)
    return rows


def build_dataset(config: DatasetConfig) -> Dataset:
    """The dataset for ``config``: reads and validates an input file, or prepares synthetic data.

    Raises InputError for bad input (before any load is sent). Synthetic data is made on demand:
    building costs the tokenizer load and one pass over the word vocabulary, not the requests.
    """
    with notices.held():  # a tokenizer notice comes after the input's errors, or not at all
        counter = resolve_counter(config.tokenizer, config.model)
        if config.input_file:
            return FileDataset(config, _file_rows(config.input_file, counter), counter)
        return SyntheticDataset(config, counter, build_vocabulary(counter))
