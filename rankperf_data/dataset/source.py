"""build_dataset: the one entry point that turns a DatasetConfig into requests (synthetic or from a file)."""

from __future__ import annotations

from typing import Protocol

from rankperf_data.dataset import notices
from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.jsonl import FileEntry, read_jsonl
from rankperf_data.dataset.order import EntryOrder
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.dataset.sampling import seed_key
from rankperf_data.dataset.synthetic import SyntheticDataset
from rankperf_data.dataset.tokenizer import TokenCounter, resolve_counter
from rankperf_data.dataset.vocabulary import build_vocabulary


class Dataset(Protocol):
    """What the load generator and the report use."""

    entries: int | None  # distinct entries (file lines, pool size); None = every request distinct
    tokenizer_description: str

    def get(self, i: int) -> RankingRequest: ...

    def describe(self) -> dict: ...

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

def counted_rows(lines: list[FileEntry], counter: TokenCounter) -> list[tuple]:
    count = counter.count
    return [(e.query, e.passages, count(e.query), tuple(count(p) for p in e.passages), e.extra,
             (e.relevance, e.relevance_unlisted) if e.relevance is not None else None) for e in lines]


def build_dataset(config: DatasetConfig) -> Dataset:
    """The dataset for ``config``: reads and validates an input file, or prepares synthetic data.

    Raises InputError for bad input (before any load is sent). Synthetic data is made on demand:
    building costs the tokenizer load and one pass over the word vocabulary, not the requests.
    """
    with notices.held():  # a tokenizer notice comes after the input's errors, or not at all
        counter = resolve_counter(config.tokenizer, config.model)
        if config.input_file:
            return FileDataset(config, counted_rows(read_jsonl(config.input_file), counter), counter)
        return SyntheticDataset(config, counter, build_vocabulary(counter))
