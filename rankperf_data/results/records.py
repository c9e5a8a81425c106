"""Compact per-request records: the row layout, a growable store, and the wire form.

Pure numpy: no Locust, no gevent. Workers append ``Record`` rows built by ``new_record``; batches travel to the master as
msgpack-able column lists; the master keeps one numpy structured array per run.
"""

from __future__ import annotations

from collections import namedtuple
from typing import NamedTuple

import numpy as np

# Times are epoch nanoseconds (anchored once per process on a monotonic clock, so
# end_ns - start_ns is an exact monotonic duration). -1 means "unknown / not applicable".
RECORD_FIELDS: list[tuple[str, str]] = [
    ("index", "i8"),  # dataset index of the request (request i is the same bytes everywhere)
    ("phase", "u1"),  # 0 = profiling, 1 = warmup
    ("worker", "i2"),  # worker index (0 for a local run)
    ("status", "i2"),  # HTTP status, 0 when no response (timeout, connection error)
    ("error_kind", "u1"),  # rankperf_data.results.outcomes.ErrorKind
    ("error_msg", "i4"),  # index into the run's message table, -1 for none
    ("intended_ns", "i8"),  # open loop: scheduled send time; closed loop: == start_ns
    ("start_ns", "i8"),  # actual send time
    ("end_ns", "i8"),  # body fully read (or failure observed)
    ("passages", "i4"),
    ("results", "i4"),  # results returned by the server (-1 unknown)
    ("query_tokens", "i4"),
    ("passage_tokens", "i4"),  # sum over passages
    ("request_bytes", "i4"),
    ("response_bytes", "i4"),
    ("server_queue_ms", "f4"),  # TEI x-queue-time (NaN when absent)
    ("server_inference_ms", "f4"),  # TEI x-inference-time
    ("server_tokenization_ms", "f4"),  # TEI x-tokenization-time
    ("server_compute_tokens", "i4"),  # TEI x-compute-tokens
    # labelled input, a valid answer: its quality at --quality-k (NaN: not judged)
    ("ndcg", "f4"),
    ("mrr", "f4"),
    ("recall", "f4"),
    # --check-consistency, a valid answer compared with its reference (NaN / 0: not compared)
    ("ref_tau", "f4"),  # Kendall tau between the two orders of the passages both list
    ("ref_delta", "f4"),  # largest |score - reference score| over those passages
    ("ref_flags", "u1"),  # REF_COMPARED | REF_ORDER_CHANGED | REF_TOPK_CHANGED
]
RECORD_DTYPE = np.dtype(RECORD_FIELDS)
FIELD_NAMES: tuple[str, ...] = tuple(name for name, _ in RECORD_FIELDS)

PHASE_PROFILING = 0
PHASE_WARMUP = 1
PHASE_NAMES = {PHASE_PROFILING: "profiling", PHASE_WARMUP: "warmup"}

REF_COMPARED = 1
REF_ORDER_CHANGED = 2
REF_TOPK_CHANGED = 4
_NAN = float("nan")


class Judged(NamedTuple):
    """A record's quality and consistency fields (the last six of RECORD_FIELDS)."""

    ndcg: float
    mrr: float
    recall: float
    ref_tau: float
    ref_delta: float
    ref_flags: int


class ServerTiming(NamedTuple):
    """TEI's timing headers of one answer (NaN / -1: absent)."""

    queue_ms: float
    inference_ms: float
    tokenization_ms: float
    compute_tokens: int


NOT_JUDGED = Judged(_NAN, _NAN, _NAN, _NAN, _NAN, 0)
NO_SERVER_TIMING = ServerTiming(_NAN, _NAN, _NAN, -1)

Record = namedtuple("Record", FIELD_NAMES)  # one row, its fields named as in RECORD_FIELDS


def new_record(*, index: int, phase: int, worker: int, status: int, error_kind: int, intended_ns: int,
               start_ns: int, end_ns: int, passages: int, results: int, query_tokens: int, passage_tokens: int,
               request_bytes: int, response_bytes: int, server: ServerTiming = NO_SERVER_TIMING,
               judged: Judged = NOT_JUDGED, error_msg: int = -1) -> Record:
    """The one way to build a record row (the load side's users and cancellations both use it)."""
    return Record(index, phase, worker, status, error_kind, error_msg, intended_ns, start_ns, end_ns, passages,
                  results, query_tokens, passage_tokens, request_bytes, response_bytes, *server, *judged)


class MessageTable:
    """Interns error messages so a record carries an int, not a string."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._ids: dict[str, int] = {}

    def intern(self, message: str) -> int:
        if not message:
            return -1
        found = self._ids.get(message)
        if found is None:
            found = self._ids[message] = len(self.messages)
            self.messages.append(message)
        return found


class RecordStore:
    """Append-only store of records with amortised growth (the master's copy of a run)."""

    def __init__(self, capacity: int = 4096) -> None:
        self._rows = np.zeros(capacity, dtype=RECORD_DTYPE)
        self._n = 0
        self.messages = MessageTable()

    def __len__(self) -> int:
        return self._n

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        if need > len(self._rows):
            grown = np.zeros(max(need, 2 * len(self._rows)), dtype=RECORD_DTYPE)
            grown[: self._n] = self._rows[: self._n]
            self._rows = grown

    def extend_columns(self, columns: dict[str, list], messages: list[str] | None = None) -> int:
        """Add a batch in wire form; message ids are remapped into this store's table."""
        n = len(columns["index"])
        if n == 0:
            return 0
        self._reserve(n)
        block = self._rows[self._n : self._n + n]
        for name in FIELD_NAMES:
            block[name] = columns[name]
        if messages:
            remap = np.array([self.messages.intern(m) for m in messages], dtype=np.int32)
            ids = block["error_msg"]
            has = ids >= 0
            ids[has] = remap[ids[has]]
        self._n += n
        return n

    def array(self) -> np.ndarray:
        """A view of the stored rows (do not keep it across appends)."""
        return self._rows[: self._n]

    def clear(self) -> None:
        self._n = 0
        self.messages = MessageTable()


class RecordBatch:
    """A worker-side buffer of Record rows, cheap to append, shipped as columns."""

    def __init__(self) -> None:
        self.rows: list[Record] = []
        self.messages = MessageTable()

    def __len__(self) -> int:
        return len(self.rows)

    def take_wire(self) -> dict:
        """Empty the buffer into a msgpack-able dict ``{"columns": {...}, "messages": [...]}``."""
        rows, self.rows = self.rows, []
        messages, self.messages = self.messages.messages, MessageTable()
        if rows:
            columns = {name: list(col) for name, col in zip(FIELD_NAMES, zip(*rows, strict=True), strict=True)}
        else:
            columns = {name: [] for name in FIELD_NAMES}
        return {"columns": columns, "messages": messages}
