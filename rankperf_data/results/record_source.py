"""A run's records read from the record files column by column, in bounded chunks, never held whole.

Pure numpy. ``RecordSource`` stands in for the structured array of every record that the report
reads: ``src["end_ns"]`` is one compact column of the selected rows, ``src[mask]`` selects rows (a
boolean mask over the current selection), ``src[a:b]`` and ``src[index_array]`` are real arrays
of those rows. A column is read from the files ``CHUNK_ROWS`` rows at a time, so the memory a
statistic needs is its own column (8 bytes a request at most) plus one bool a row per selection,
not the 103-byte rows. Error message ids come back remapped into one merged table, exactly as
``record_files.merge_records`` would give them. A selection small enough (``materialize_rows``)
becomes a plain structured array: its size is bounded by that cap, not by the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rankperf_data.results.records import RECORD_DTYPE, MessageTable

CHUNK_ROWS = 16_384  # rows read at a time: ~1.7 MB of raw rows, whatever the run's length
MATERIALIZE_ROWS = 16_384  # a selection of at most this many rows becomes a plain array


@dataclass(frozen=True)
class _Part:
    """One source of rows: a record file (path, whole rows) or rows already in memory."""

    rows: int
    path: Path | None = None
    array: np.ndarray | None = None
    remap: np.ndarray | None = None  # this part's message id -> the merged table's; None: unchanged

    def read(self, lo: int, hi: int) -> np.ndarray:
        if self.array is not None:
            return self.array[lo:hi]
        item = RECORD_DTYPE.itemsize
        return np.fromfile(self.path, dtype=RECORD_DTYPE, count=hi - lo, offset=lo * item)

    def fix_messages(self, ids: np.ndarray) -> np.ndarray:
        """ids of this part's rows as ids of the merged table (a copy when they change)."""
        if self.remap is None:
            return ids
        out = ids.copy()
        has = out >= 0
        out[has] = self.remap[out[has]]
        return out


def _remap(table: MessageTable, messages: list[str]) -> np.ndarray | None:
    remap = np.array([table.intern(m) for m in messages], dtype=np.int32)
    return None if np.array_equal(remap, np.arange(len(messages))) else remap


class RecordSource:
    """Every record of a run (or a selection of them), read from its parts on demand."""

    def __init__(self, parts: list[_Part], mask: np.ndarray | None = None,
                 materialize_rows: int = MATERIALIZE_ROWS) -> None:
        self._parts = parts
        self._mask = mask  # over every row of every part; None: all of them
        self._total = sum(p.rows for p in parts)
        self.size = self._total if mask is None else int(np.count_nonzero(mask))
        self.materialize_rows = materialize_rows
        self.dtype = RECORD_DTYPE
        self.shape = (self.size,)

    @classmethod
    def from_parts(cls, parts: list[tuple[np.ndarray | Path, list[str]]],
                   materialize_rows: int = MATERIALIZE_ROWS) -> tuple[RecordSource, list[str]]:
        """Rows in memory or record files (whole rows only), each with its message table, as one
        source and one merged table (the order of ``record_files.merge_records``)."""
        table = MessageTable()
        out = []
        for rows, messages in parts:
            remap = _remap(table, messages)
            if isinstance(rows, np.ndarray):
                out.append(_Part(int(rows.size), array=rows, remap=remap))
            else:
                whole = Path(rows).stat().st_size // RECORD_DTYPE.itemsize
                out.append(_Part(whole, path=Path(rows), remap=remap))
        return cls(out, None, materialize_rows), table.messages

    def __len__(self) -> int:
        return self.size

    def _chunks(self):
        """(part, lo, hi, mask of those rows or None), CHUNK_ROWS rows at a time, in row order."""
        base = 0
        for part in self._parts:
            for lo in range(0, part.rows, CHUNK_ROWS):
                hi = min(lo + CHUNK_ROWS, part.rows)
                sel = None if self._mask is None else self._mask[base + lo:base + hi]
                if sel is None or sel.any():
                    yield part, lo, hi, sel
            base += part.rows

    def column(self, name: str) -> np.ndarray:
        """One field of the selected rows, in row order (message ids in the merged table)."""
        out = np.empty(self.size, dtype=RECORD_DTYPE[name])
        at = 0
        for part, lo, hi, sel in self._chunks():
            values = part.read(lo, hi)[name]
            if sel is not None:
                values = values[sel]
            if name == "error_msg":
                values = part.fix_messages(values)
            out[at:at + values.size] = values
            at += values.size
        return out

    def rows(self, positions: np.ndarray | None = None) -> np.ndarray:
        """The selected rows (or those at the given positions among them) as a structured array."""
        if positions is None:
            positions = np.arange(self.size)
        chosen = np.zeros(self._total, dtype=bool)
        chosen[self._base_positions(positions)] = True
        order = np.argsort(np.argsort(positions, kind="stable"), kind="stable")
        out = np.empty(positions.size, dtype=RECORD_DTYPE)
        at = 0
        for part, lo, hi, sel in RecordSource(self._parts, chosen)._chunks():
            block = part.read(lo, hi)[sel].copy()
            block["error_msg"] = part.fix_messages(block["error_msg"])
            out[at:at + block.size] = block
            at += block.size
        return out[order]  # rows came in file order; put them in the order asked

    def _range(self, lo: int, hi: int) -> np.ndarray:
        """Rows lo..hi of every row (no selection), read straight from the parts that hold them."""
        out = np.empty(hi - lo, dtype=RECORD_DTYPE)
        base = at = 0
        for part in self._parts:
            a, b = max(lo - base, 0), min(hi - base, part.rows)
            if a < b:
                block = part.read(a, b).copy()
                block["error_msg"] = part.fix_messages(block["error_msg"])
                out[at:at + block.size] = block
                at += block.size
            base += part.rows
        return out

    def _base_positions(self, positions: np.ndarray) -> np.ndarray:
        if self._mask is None:
            return positions
        return np.flatnonzero(self._mask)[positions]

    def select(self, mask: np.ndarray) -> RecordSource | np.ndarray:
        """The rows where mask (over this selection) is True: a source, or an array when few."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.size,):
            raise IndexError(f"boolean index of {mask.shape} rows for a selection of {self.size}")
        if int(np.count_nonzero(mask)) <= self.materialize_rows:
            return self.rows(np.flatnonzero(mask))
        if self._mask is None:
            return RecordSource(self._parts, mask.copy(), self.materialize_rows)
        base = self._mask.copy()
        base[base] = mask
        return RecordSource(self._parts, base, self.materialize_rows)

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.column(key)
        if isinstance(key, slice):
            lo, hi, step = key.indices(self.size)
            if self._mask is None and step == 1:
                return self._range(lo, max(lo, hi))
            return self.rows(np.arange(self.size)[key])
        key = np.asarray(key)
        if key.ndim == 0:  # one row, as a structured scalar
            at = int(key) + (self.size if int(key) < 0 else 0)
            if not 0 <= at < self.size:
                raise IndexError(f"row {int(key)} of a selection of {self.size}")
            return self.rows(np.array([at]))[0]
        if key.dtype == bool:
            return self.select(key)
        return self.rows(key.astype(np.int64))

    def chunks(self, rows: int):
        """The selected rows as structured arrays of at most ``rows`` rows each, in order."""
        for lo in range(0, self.size, rows):
            yield self[lo:lo + rows]
