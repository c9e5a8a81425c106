"""Rebuild a RunResult from an artifact directory (profile_export.jsonl + run.json)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from rankperf_data.results.merged_summaries import MergedSummaries
from rankperf_data.results.records import FIELD_NAMES, RECORD_DTYPE
from rankperf_data.results.run import RunInfo, RunResult

FILES = {
    "json": "profile_export_aiperf.json",
    "csv": "profile_export_aiperf.csv",
    "console": "profile_export_console.txt",
    "jsonl": "profile_export.jsonl",
    "run": "run.json",
}
SCRAPES_FILE = "server_metrics_scrapes.json"  # raw /metrics scrapes, when the run took any
# merged per-process counters and latency sketches: approximate percentiles, exact counts; with
# "merged" (MergedSummaries.to_dict()) and, when some workers kept their records on their hosts,
# "records_kept_elsewhere" (their indices): the report's figures then came from "merged"
SKETCHES_FILE = "rankperf_sketches.json"


class NoRecordsError(Exception):
    """The directory holds no rankperf records to report on."""


_KEY = b'"rankperf":'
# fields that runs written before they existed lack: not judged, not compared
_MISSING = {"ref_flags": 0}


def _fields(line: bytes, path: Path, n: int) -> dict:
    """The line's "rankperf" object. Fast path: we write it last, so parse only that slice."""
    pos = line.rfind(_KEY)
    if pos >= 0:
        try:
            return orjson.loads(line[pos + len(_KEY) : -1])
        except orjson.JSONDecodeError:
            pass
    try:
        fields = orjson.loads(line).get("rankperf")
    except orjson.JSONDecodeError as exc:
        raise NoRecordsError(f"{path}:{n}: not JSON ({exc})") from None
    if not isinstance(fields, dict):
        raise NoRecordsError(f"{path}:{n}: no \"rankperf\" object (not written by rankperf?)")
    return fields


def read_records(path: Path) -> np.ndarray:
    """Every record of a profile_export.jsonl, as RECORD_DTYPE rows, in file order."""
    rows = []
    for n, line in enumerate(path.read_bytes().split(b"\n"), 1):
        line = line.rstrip()
        if line:
            fields = _fields(line, path, n)
            rows.append(tuple(fields.get(name, _MISSING.get(name)) for name in FIELD_NAMES))
    # JSON null (a NaN server timing) becomes NaN again in the float columns.
    return np.array(rows, dtype=RECORD_DTYPE) if rows else np.zeros(0, dtype=RECORD_DTYPE)


def load_run(artifact_dir: str | Path) -> RunResult:
    """The RunResult that was written to artifact_dir; raises NoRecordsError when there is none."""
    root = Path(artifact_dir)
    jsonl, run_file = root / FILES["jsonl"], root / FILES["run"]
    if not root.is_dir():
        raise NoRecordsError(f"{root}: no such directory")
    if not jsonl.is_file() or not run_file.is_file():
        raise NoRecordsError(f"{root}: no rankperf records ({FILES['jsonl']} and {FILES['run']} are needed)")
    try:
        meta = orjson.loads(run_file.read_bytes())
        info = RunInfo.from_dict(meta["info"])
        start_ns, end_ns = int(meta["start_ns"]), int(meta["end_ns"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise NoRecordsError(f"{run_file}: not a rankperf run.json ({exc!r})") from None
    records = read_records(jsonl)
    if records.size == 0:
        raise NoRecordsError(f"{jsonl}: no records")
    notes = list(meta.get("notes", []))
    partial = bool(meta.get("partial", False))
    expected = meta.get("records")
    if expected is not None and expected != records.size:
        partial = True
        notes.append(f"{FILES['jsonl']} holds {records.size} records, run.json expected {expected}")
    return RunResult(
        records=records,
        messages=list(meta.get("messages", [])),
        info=info,
        start_ns=start_ns,
        end_ns=end_ns,
        was_cancelled=bool(meta.get("was_cancelled", False)),
        partial=partial,
        notes=notes,
        server_metrics=read_server_metrics(root),
        merged_summaries=read_merged_summaries(root),
    )


def read_merged_summaries(root: Path) -> MergedSummaries | None:
    """The merged summaries the run's report came from, when some workers kept their records (so
    that rebuilding from this folder alone gives the whole run's figures again); else None."""
    path = root / SKETCHES_FILE
    if not path.is_file():
        return None
    try:
        data = orjson.loads(path.read_bytes())
        if not data.get("records_kept_elsewhere") or not data.get("merged"):
            return None
        return MergedSummaries.from_dict(data["merged"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NoRecordsError(f"{path}: not rankperf's merged summaries ({exc!r})") from None


def read_server_metrics(root: Path) -> dict | None:
    """The raw /metrics scrapes stored with the run, if it scraped any."""
    path = root / SCRAPES_FILE
    if not path.is_file():
        return None
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None
