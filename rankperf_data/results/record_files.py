"""Per-process record files: each load process appends its rows as it goes; the report reads them back.

Pure numpy. A file holds raw rows of ``RECORD_DTYPE`` (appended batch by batch, so a process
keeps at most one batch in memory); its error messages go to a sidecar of JSON lines, one per
new message, in the order of the ids the file's rows use. Reading many files merges their
message tables into one, so the rows come back exactly as if they had been sent to the master.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from rankperf_data.results.records import FIELD_NAMES, RECORD_DTYPE, MessageTable

SUFFIX = ".records"
MESSAGES_SUFFIX = ".messages.jsonl"


def messages_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(SUFFIX) + MESSAGES_SUFFIX)


class RecordFileWriter:
    """Appends record batches (in wire form) to one file; counts what it wrote."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.messages = MessageTable()
        self.rows = 0
        self.path.write_bytes(b"")  # a new run starts an empty file
        messages_path(self.path).write_bytes(b"")

    def append(self, columns: dict[str, list], messages: list[str]) -> int:
        """Write one batch; its message ids are remapped into this file's table. Returns its rows."""
        n = len(columns["index"])
        if n == 0:
            return 0
        block = np.zeros(n, dtype=RECORD_DTYPE)
        for name in FIELD_NAMES:
            block[name] = columns[name]
        known = len(self.messages.messages)
        if messages:
            remap = np.array([self.messages.intern(m) for m in messages], dtype=np.int32)
            ids = block["error_msg"]
            has = ids >= 0
            ids[has] = remap[ids[has]]
        new = self.messages.messages[known:]
        if new:
            with open(messages_path(self.path), "ab") as fh:
                fh.write(b"".join(orjson.dumps(m) + b"\n" for m in new))
        with open(self.path, "ab") as fh:
            fh.write(block.tobytes())
        self.rows += n
        return n


def whole_rows(path: Path) -> int:
    """Whole rows in a record file (a torn last row of a killed process is not one)."""
    return Path(path).stat().st_size // RECORD_DTYPE.itemsize


def read_messages(path: Path) -> list[str]:
    """The message table of a record file (its sidecar; none when it has no sidecar)."""
    side = messages_path(Path(path))
    return [orjson.loads(line) for line in side.read_bytes().splitlines()] if side.exists() else []


def read_record_file(path: Path) -> tuple[np.ndarray, list[str]]:
    """The rows of one file (whole rows only: a torn last row of a killed process is left out)."""
    rows = np.fromfile(path, dtype=RECORD_DTYPE, count=whole_rows(path))
    return rows, read_messages(path)


def merge_records(parts: list[tuple[np.ndarray, list[str]]]) -> tuple[np.ndarray, list[str]]:
    """Rows of several sources, each with its own message table, as one new array and one table."""
    table = MessageTable()
    arrays = []
    for rows, messages in parts:
        remap = np.array([table.intern(m) for m in messages], dtype=np.int32)
        if not np.array_equal(remap, np.arange(len(messages))):  # ids change: remap a copy
            rows = rows.copy()
            ids = rows["error_msg"]
            has = ids >= 0
            ids[has] = remap[ids[has]]
        arrays.append(rows)
    merged = np.concatenate(arrays) if arrays else np.zeros(0, dtype=RECORD_DTYPE)
    return merged, table.messages
