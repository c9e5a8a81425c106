"""Running totals of one phase's requests (passages, tokens, times, errors), merged exactly.

Pure: numpy only. A load process adds its flushed record columns; the totals travel inside its
numbered summary (load/summaries.py) and the master adds them up: sums and min/max, so merging
is exact and independent of order. They let the live web UI show rates and error counts without
reading a single record (report/sketch_summary.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rankperf_data.results.outcomes import ErrorKind

TOKEN_COLUMNS = ("query_tokens", "passage_tokens")


def error_key(kind: int, status: int) -> str:
    """'1:429' for an HTTP error, '2:0' for a timeout: the status only matters for HTTP errors."""
    return f"{int(kind)}:{int(status) if int(kind) == ErrorKind.HTTP else 0}"


def parse_error_key(key: str) -> tuple[int, int]:
    kind, status = key.split(":")
    return int(kind), int(status)


@dataclass
class PhaseTotals:
    """Sums over successes, min/max of times over every request, failures by (kind, status)."""

    passages: int = 0  # over successes, as passage_throughput
    passages_unknown: int = 0  # successes whose passage count was not given
    pair_tokens: int = 0  # over successes with known counts: query_tokens * passages + passage_tokens
    tokens_unknown: int = 0  # successes whose token counts are unknown (-1) or not given
    latency_sq_ms2: float = 0.0  # sum of squared successful latencies (ms^2), for the std
    first_start_ns: int | None = None  # every request of the phase: first send...
    last_start_ns: int | None = None  # ...last send (achieved rate)...
    last_end_ns: int | None = None  # ...and last answer (the rates' window)
    errors: dict[str, int] = field(default_factory=dict)  # error_key -> failed requests

    def add(self, error_kind: np.ndarray, start_ns: np.ndarray, end_ns: np.ndarray,
            extra: dict[str, np.ndarray]) -> None:
        """One batch of this phase's records, as columns (``extra``: status, passages, token counts)."""
        if error_kind.size == 0:
            return
        ok = error_kind == int(ErrorKind.OK)
        n_ok = int(ok.sum())
        latency_ms = (end_ns[ok] - start_ns[ok]) / 1e6
        self.latency_sq_ms2 += float(np.square(latency_ms).sum())
        self._add_times(int(start_ns.min()), int(start_ns.max()), int(end_ns.max()))
        if "passages" in extra:
            passages = extra["passages"][ok].astype(np.int64)
            self.passages += int(passages.sum())
            if all(c in extra for c in TOKEN_COLUMNS):
                query, pas = (extra[c][ok].astype(np.int64) for c in TOKEN_COLUMNS)
                known = (query >= 0) & (pas >= 0)
                self.pair_tokens += int((query[known] * passages[known] + pas[known]).sum())
                self.tokens_unknown += n_ok - int(known.sum())
            else:
                self.tokens_unknown += n_ok
        else:
            self.passages_unknown += n_ok
            self.tokens_unknown += n_ok
        failed = ~ok
        if failed.any():
            status = extra["status"][failed] if "status" in extra else np.zeros(int(failed.sum()), dtype=np.int64)
            pairs, counts = np.unique(np.stack([error_kind[failed].astype(np.int64), status.astype(np.int64)]),
                                      axis=1, return_counts=True)
            for (kind, code), n in zip(pairs.T.tolist(), counts.tolist(), strict=True):
                key = error_key(kind, code)
                self.errors[key] = self.errors.get(key, 0) + int(n)

    def _add_times(self, first_start: int, last_start: int, last_end: int) -> None:
        self.first_start_ns = first_start if self.first_start_ns is None else min(self.first_start_ns, first_start)
        self.last_start_ns = last_start if self.last_start_ns is None else max(self.last_start_ns, last_start)
        self.last_end_ns = last_end if self.last_end_ns is None else max(self.last_end_ns, last_end)

    def merge(self, other: PhaseTotals) -> None:
        self.passages += other.passages
        self.passages_unknown += other.passages_unknown
        self.pair_tokens += other.pair_tokens
        self.tokens_unknown += other.tokens_unknown
        self.latency_sq_ms2 += other.latency_sq_ms2
        if other.first_start_ns is not None:
            self._add_times(other.first_start_ns, other.last_start_ns, other.last_end_ns)
        for key, n in other.errors.items():
            self.errors[key] = self.errors.get(key, 0) + n

    def to_wire(self) -> dict:
        """A small msgpack-able dict (a few numbers and one entry per distinct failure kind/status)."""
        return {"passages": self.passages, "passages_unknown": self.passages_unknown,
                "pair_tokens": self.pair_tokens, "tokens_unknown": self.tokens_unknown,
                "latency_sq_ms2": self.latency_sq_ms2, "first_start_ns": self.first_start_ns,
                "last_start_ns": self.last_start_ns, "last_end_ns": self.last_end_ns, "errors": dict(self.errors)}

    @classmethod
    def from_wire(cls, data: dict) -> PhaseTotals:
        """Raises KeyError/TypeError/ValueError on a malformed dict (the merger names and rejects it)."""
        def time_or_none(name: str) -> int | None:
            return None if data[name] is None else int(data[name])

        errors = {str(k): int(v) for k, v in data["errors"].items()}
        for key in errors:
            parse_error_key(key)  # refuse a malformed key here, not when the rows are drawn
        times = [time_or_none(n) for n in ("first_start_ns", "last_start_ns", "last_end_ns")]
        if (None in times) and any(t is not None for t in times):
            raise ValueError("send/answer times: all three or none")
        return cls(passages=int(data["passages"]), passages_unknown=int(data["passages_unknown"]),
                   pair_tokens=int(data["pair_tokens"]), tokens_unknown=int(data["tokens_unknown"]),
                   latency_sq_ms2=float(data["latency_sq_ms2"]), first_start_ns=times[0], last_start_ns=times[1],
                   last_end_ns=times[2], errors=errors)
