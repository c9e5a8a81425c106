"""Synthetic ranking requests: unbiased normal sizes, English words, exact token counts, made on demand."""

from __future__ import annotations

import logging
import threading

from rankperf_data.dataset.compose import compose, fit_text
from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.order import EntryOrder
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.dataset.sampling import (
    FILL,
    SIZES,
    WORDS,
    normal_int,
    seed_key,
    stream_key,
)
from rankperf_data.dataset.tokenizer import HFCounter, TokenCounter
from rankperf_data.dataset.vocabulary import Vocabulary

log = logging.getLogger("rankperf")

VERIFY_FIRST = 8  # entries 0..7 are always re-encoded and checked
VERIFY_EVERY = 64  # and one in 64 after that
_CACHE_LIMIT = 100_000  # pool entries kept (a pool is usually ~100 entries)
_CALIBRATION_KEY = seed_key(0x5EED_CA11)  # independent of the run's seed: same verdict everywhere
_CALIBRATION_TOKENS = 20_000

Entry = tuple[str, tuple[str, ...], int, tuple[int, ...]]


class SyntheticDataset:
    """Request i is a pure function of (seed, options, i); nothing is generated up front.

    With ``num_dataset_entries`` N > 0, requests cycle through N entries (entry e is what request e
    would be without a pool), picked by the sampling strategy and cached after first use.
    """

    def __init__(self, config: DatasetConfig, counter: TokenCounter, vocab: Vocabulary) -> None:
        self.config = config
        self.counter = counter
        self.vocab = vocab
        self.key = seed_key(config.random_seed)
        self.tokenizer_description = counter.description
        self.entries: int | None = config.num_dataset_entries or None
        self._order = EntryOrder(self.key, config.sampling_strategy, self.entries) if self.entries else None
        self._cache: dict[int, Entry] = {}
        self._exact = isinstance(counter, HFCounter)
        self._verify_all = self._exact and not vocab.stable
        self._warn_lock = threading.Lock()
        if self._exact and not self._verify_all and not self._calibrate():
            self._verify_all = True
            log.warning(
                "Tokenizer %s: composed texts did not always have the counted length; every text will be "
                "re-encoded (exact, but slower)",
                counter.description,
            )

    # -- requests

    def get(self, i: int) -> RankingRequest:
        """Request ``i`` (``i >= 0``)."""
        if i < 0:
            raise IndexError(f"request index must be >= 0, got {i}")
        if self._order is None:
            query, passages, qt, pt = self._make(i, self.key)
        else:
            e = self._order.entry(i)
            found = self._cache.get(e)
            if found is None:
                found = self._make(e, self.key)
                if len(self._cache) < _CACHE_LIMIT:
                    self._cache[e] = found  # a racing duplicate computes the same value: harmless
            query, passages, qt, pt = found
        return RankingRequest(index=i, query=query, passages=passages, query_tokens=qt, passage_tokens=pt)

    def entry(self, i: int) -> int:
        """The pool entry request ``i`` sends (``i`` itself without a pool)."""
        return self._order.entry(i) if self._order is not None else i

    def entry_request(self, e: int) -> RankingRequest:
        """Pool entry ``e`` as a request (indexed ``e``): what --check-consistency sends alone."""
        query, passages, qt, pt = self._make(e, self.key)
        return RankingRequest(index=e, query=query, passages=passages, query_tokens=qt, passage_tokens=pt)

    def sizes(self, e: int, key: int | None = None) -> tuple[int, int, list[int]]:
        """(passage count, query tokens, passage tokens) of entry ``e``; draw order: count, query, passages."""
        c = self.config
        state = stream_key(self.key if key is None else key, e, SIZES)
        n = normal_int(state, 0, c.passages_mean, c.passages_stddev)
        q = normal_int(state, 2, c.query_tokens_mean, c.query_tokens_stddev)
        if c.passage_tokens_stddev <= 0:
            return n, q, [max(1, round(c.passage_tokens_mean))] * n
        return n, q, [normal_int(state, 4 + 2 * j, c.passage_tokens_mean, c.passage_tokens_stddev) for j in range(n)]

    def _make(self, e: int, key: int) -> Entry:
        n, q, lens = self.sizes(e, key)
        targets = [q, *lens]
        texts = compose(self.vocab, stream_key(key, e, WORDS), stream_key(key, e, FILL), targets)
        if self._exact and (self._verify_all or e < VERIFY_FIRST or e % VERIFY_EVERY == 0):
            texts, targets = self._verified(e, texts, targets)
        return texts[0], tuple(texts[1:]), targets[0], tuple(targets[1:])

    def _verified(self, e: int, texts: list[str], targets: list[int]) -> tuple[list[str], list[int]]:
        counter = self.counter
        assert isinstance(counter, HFCounter)
        out_texts, out_counts = list(texts), list(targets)
        for k, (text, target) in enumerate(zip(texts, targets, strict=True)):
            if counter.count(text) == target:
                continue
            out_texts[k], out_counts[k] = fit_text(counter, text, target, self.vocab.pad_words)
            if not self._verify_all:
                with self._warn_lock:
                    if not self._verify_all:
                        self._verify_all = True
                        log.warning(
                            "Tokenizer %s: entry %d had a text of the wrong length (fixed); re-encoding every "
                            "text from now on",
                            counter.description,
                            e,
                        )
        return out_texts, out_counts

    def _calibrate(self) -> bool:
        """Compose sample entries (with a fixed key) and check every text's count."""
        assert isinstance(self.counter, HFCounter)
        count = self.counter.count
        tokens = 0
        for e in range(64):
            n, q, lens = self.sizes(e, _CALIBRATION_KEY)
            targets = [q, *lens]
            texts = compose(
                self.vocab, stream_key(_CALIBRATION_KEY, e, WORDS), stream_key(_CALIBRATION_KEY, e, FILL), targets
            )
            for text, target in zip(texts, targets, strict=True):
                if count(text) != target:
                    return False
                tokens += target
                if tokens >= _CALIBRATION_TOKENS:
                    return True
        return True

    # -- descriptions

    def describe(self) -> dict:
        c = self.config
        return {
            "name": "main",
            "type": "synthetic",
            "entries": self.entries,
            "random_seed": c.random_seed,
            "rankings": {
                "passages": {"mean": c.passages_mean, "stddev": c.passages_stddev},
                "passage_tokens": {"mean": c.passage_tokens_mean, "stddev": c.passage_tokens_stddev},
                "query_tokens": {"mean": c.query_tokens_mean, "stddev": c.query_tokens_stddev},
            },
            "tokenizer": self.tokenizer_description,
            "sampling_strategy": c.sampling_strategy,
        }
