"""Record files gathered from several folders (a run's own and copies from worker hosts), one per process.

Pure stdlib + numpy. A load process appends its records to ``process-N.records`` (N: its worker
index); a run folder holds them in its ``records/`` subfolder, a folder copied from a worker host
may hold them at its top. The same file given twice (same path, or a byte-identical copy) counts
once; two different files for one process, or one request index in two files, are refused: such
files belong to different runs, and merging them would be silently wrong.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rankperf_data.results.record_files import SUFFIX, messages_path, whole_rows
from rankperf_data.results.records import RECORD_DTYPE

RECORDS_SUBDIR = "records"  # a run folder's record files (load.finish.RECORDS_DIR is this one)
_PROCESS_FILE = re.compile(r"^process-(\d+)" + re.escape(SUFFIX) + "$")


class RecordDirsError(ValueError):
    """The folders cannot be merged into one run's records (the message names the file)."""


@dataclass
class Gathered:
    """Each process's record file, and what was left out as a copy of one already taken."""

    files: dict[int, Path] = field(default_factory=dict)  # worker index -> its record file
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)  # (left out, copy of)

    def ordered(self) -> list[tuple[int, Path]]:
        """(worker index, file) in index order: the order a run's coordinator reads them in."""
        return sorted(self.files.items())


def record_files_in(folder: Path) -> list[Path]:
    """The ``process-N.records`` files of a folder: at its top, or in its ``records/`` subfolder."""
    found = [p for p in sorted(folder.glob(f"process-*{SUFFIX}")) if _PROCESS_FILE.match(p.name)]
    sub = folder / RECORDS_SUBDIR
    if sub.is_dir():
        found += [p for p in sorted(sub.glob(f"process-*{SUFFIX}")) if _PROCESS_FILE.match(p.name)]
    return found


def _fingerprint(path: Path) -> tuple[int, str]:
    """Whole rows and a hash of the rows and the message sidecar (streamed: files may be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    side = messages_path(path)
    digest.update(b"\0messages\0" + (side.read_bytes() if side.exists() else b""))
    return whole_rows(path), digest.hexdigest()


def gather(folders: list[Path], need_files: list[bool]) -> Gathered:
    """Every process's record file from the folders, in the order given; ``need_files[i]``: folder i
    must hold at least one (a worker host's copy without any is a wrong path, not an empty run)."""
    out = Gathered()
    for folder, needed in zip(folders, need_files, strict=True):
        if not folder.is_dir():
            raise RecordDirsError(f"{folder}: no such directory")
        files = record_files_in(folder)
        if needed and not files:
            raise RecordDirsError(f"{folder}: no record files (process-N{SUFFIX}) in it or in its "
                                  f"{RECORDS_SUBDIR}/ folder")
        for path in files:
            _take(out, int(_PROCESS_FILE.match(path.name).group(1)), path)
    return out


def _take(out: Gathered, index: int, path: Path) -> None:
    have = out.files.get(index)
    if have is None:
        out.files[index] = path
    elif have.resolve() == path.resolve() or _fingerprint(have) == _fingerprint(path):
        out.duplicates.append((path, have))
    else:
        raise RecordDirsError(f"{path}: process {index} also has a different record file, {have}: "
                              "are they from two different runs?")


def _index_chunks(path: Path, rows: int = 1 << 16):
    """The request index column of a record file, ``rows`` rows at a time (never the whole file)."""
    item = RECORD_DTYPE.itemsize
    for lo in range(0, whole_rows(path), rows):
        yield np.fromfile(path, dtype=RECORD_DTYPE, count=rows, offset=lo * item)["index"]


def check_unique_indices(files: list[Path]) -> None:
    """Refuse files in which one request index occurs twice (rows of another run mixed in). Holds
    one owner slot (2 bytes) per request index, not the rows."""
    top = max((int(c.max()) for f in files for c in _index_chunks(f) if c.size), default=-1)
    owner = np.full(top + 1, -1, dtype=np.int16)
    for n, path in enumerate(files):
        for chunk in _index_chunks(path):
            seen = owner[chunk] >= 0
            repeated = np.flatnonzero(seen) if seen.any() else _repeats_within(chunk)
            if repeated.size:
                index = int(chunk[repeated[0]])
                first = int(owner[index]) if owner[index] >= 0 else n
                where = f"{files[first]}" + ("" if first == n else f" and {path}")
                raise RecordDirsError(f"{where}: request index {index} is recorded twice: "
                                      "rows of another run mixed in?")
            owner[chunk] = n


def _repeats_within(chunk: np.ndarray) -> np.ndarray:
    """Positions in one chunk whose index occurred earlier in the same chunk."""
    _, first = np.unique(chunk, return_index=True)
    if first.size == chunk.size:
        return first[:0]
    dup = np.ones(chunk.size, dtype=bool)
    dup[first] = False
    return np.flatnonzero(dup)
