"""`rankperf report RUN DIR...`: one exact run rebuilt from a run folder plus its workers' record files.

The run folder gives run.json (configuration, notes, messages); the record files of every load
process, wherever they were collected from, give the rows. A process with no record file sent its
rows to the master, so those rows are taken from the run folder's profile_export.jsonl. The rows
come in the order a single-host run's coordinator reads them (rows received, then each process's
file by worker index), so with every file present the exports equal that run's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from rankperf_data.results.disk import FILES, SKETCHES_FILE, NoRecordsError, read_records, read_server_metrics
from rankperf_data.results.record_dirs import check_unique_indices, gather
from rankperf_data.results.record_files import read_messages
from rankperf_data.results.record_source import RecordSource
from rankperf_data.results.records import PHASE_PROFILING, RECORD_DTYPE
from rankperf_data.results.run import RunInfo, RunResult

# notes of the master's run.json that the merged records answer anew (recomputed below)
STALE_NOTES = ("the record file of worker", "the merged summaries count", "expected ",
               "the records of worker", "every worker's measured requests, from the merged sketches")


@dataclass(frozen=True)
class MergedRun:
    """The rebuilt run, and what the merge did that the user should hear about."""

    result: RunResult
    said: list[str]


def _meta(root: Path) -> dict:
    run_file = root / FILES["run"]
    if not run_file.is_file():
        raise NoRecordsError(f"{root}: not a run folder (no {FILES['run']})")
    try:
        meta = orjson.loads(run_file.read_bytes())
        meta["info"] = RunInfo.from_dict(meta["info"])
        int(meta["start_ns"]), int(meta["end_ns"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise NoRecordsError(f"{run_file}: not a rankperf run.json ({exc!r})") from None
    return meta


def _sent_rows(root: Path, workers: list[int], messages: list[str]) -> tuple[np.ndarray, list[str]]:
    """The exported rows of the processes that have no record file (they sent them), with only
    the messages those rows use."""
    empty = np.zeros(0, dtype=RECORD_DTYPE), []
    jsonl = root / FILES["jsonl"]
    if not workers or not jsonl.is_file():
        return empty
    rows = read_records(jsonl)
    rows = rows[np.isin(rows["worker"], workers)]
    ids = rows["error_msg"]
    used = np.unique(ids[ids >= 0])
    if used.size:
        remap = np.full(int(used.max()) + 1, -1, dtype=np.int32)
        remap[used] = np.arange(used.size, dtype=np.int32)
        ids[ids >= 0] = remap[ids[ids >= 0]]
    return rows, [messages[int(i)] for i in used]


def load_merged_run(run_dir: str | Path, record_dirs: list[str | Path]) -> MergedRun:
    """The run of ``run_dir`` with the rows of every record file in it and in ``record_dirs``."""
    root = Path(run_dir)
    if not root.is_dir():
        raise NoRecordsError(f"{root}: no such directory")
    meta = _meta(root)
    info: RunInfo = meta["info"]
    folders = [root, *(Path(d) for d in record_dirs)]
    gathered = gather(folders, [False] + [True] * len(record_dirs))
    ordered = gathered.ordered()
    absent = sorted(set(range(max(info.workers, 1))) - set(gathered.files))
    sent, sent_messages = _sent_rows(root, absent, list(meta.get("messages", [])))
    check_unique_indices([p for _, p in ordered])
    parts = [(sent, sent_messages)] + [(path, read_messages(path)) for _, path in ordered]
    records, messages = RecordSource.from_parts(parts)
    notes = [n for n in meta.get("notes", []) if not n.startswith(STALE_NOTES)]
    without = sorted(set(absent) - set(np.unique(sent["worker"]).tolist()))
    if without:
        notes.append(f"no record file of worker(s) {_ints(without)} was given and the run folder's export "
                     "holds none of their rows: their requests are missing from this report")
    prof = records[records["phase"] == PHASE_PROFILING]
    notes += _count_notes(root, info, len(prof), bool(meta.get("was_cancelled", False)))
    cancelled = bool(meta.get("was_cancelled", False))
    said = [f"{a}: a copy of {b}, counted once" for a, b in gathered.duplicates]
    said.append(f"merged {len(ordered)} record file(s) (workers {_ints([i for i, _ in ordered])})"
                + (f" and {len(sent)} rows sent to the master by worker(s) {_ints(absent)}" if absent else ""))
    return MergedRun(RunResult(
        records=records,
        messages=messages,
        info=info,
        start_ns=int(prof["start_ns"].min()) if len(prof) else 0,
        end_ns=int(prof["end_ns"].max()) if len(prof) else 0,
        was_cancelled=cancelled,
        partial=bool(notes) and not cancelled or (cancelled and bool(meta.get("partial")) and bool(notes)),
        notes=notes,
        server_metrics=read_server_metrics(root),
    ), said)


def _count_notes(root: Path, info: RunInfo, measured: int, cancelled: bool) -> list[str]:
    """The checks the master made on counts, made again on the merged rows."""
    out = []
    sketches = root / SKETCHES_FILE
    if sketches.is_file():
        merged = (orjson.loads(sketches.read_bytes()).get("phases") or {}).get("profiling", {}).get("requests", 0)
        if merged != measured:
            out.append(f"the merged summaries count {merged} measured requests, the records {measured}")
    if info.request_count and not cancelled and measured != info.request_count:
        out.append(f"expected {info.request_count} measured requests, recorded {measured}")
    return out


def _ints(values: list[int]) -> str:
    return ", ".join(str(v) for v in values) or "none"
