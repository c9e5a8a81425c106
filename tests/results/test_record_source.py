"""RecordSource: a run's records read from record files in chunks give exactly the exports of the rows in memory."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from rankperf_data.report.artifacts import write_artifacts
from rankperf_data.report.metrics import summarize
from rankperf_data.results import record_source
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.record_files import merge_records
from rankperf_data.results.record_source import RecordSource
from rankperf_data.results.records import PHASE_WARMUP, RECORD_DTYPE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
from report_factory import build_records, fail, make_result  # noqa: E402


def _rows(n: int, first: int, seed: int, warmup: int = 0) -> np.ndarray:
    """n records with varied latencies, passages, server timings, quality, some failures and warmup."""
    rng = np.random.default_rng(seed)
    rec = build_records(rng.gamma(4.0, 5.0, n), passages=rng.integers(1, 9, n), first_index=first, gap_ms=0.7,
                        lag_ms=0.3)
    rec["start_ns"] += rng.integers(0, 900_000, n)  # a lag that varies: open-loop late starts
    rec["server_queue_ms"] = np.where(rng.random(n) < 0.8, rng.integers(0, 5, n), np.nan)
    rec["ndcg"] = np.where(rng.random(n) < 0.5, rng.random(n), np.nan)
    rec["mrr"], rec["recall"] = rec["ndcg"], rec["ndcg"]
    rec["phase"][:warmup] = PHASE_WARMUP
    fail(rec, rng.random(n) < 0.05, ErrorKind.HTTP, 500, 0)
    fail(rec, rng.random(n) < 0.03, ErrorKind.TIMEOUT, 0, 1)
    return rec


def _parts(tmp_path: Path) -> list[tuple[np.ndarray | Path, list[str]]]:
    """A part in memory (a remote worker's rows) and two record files whose message tables differ."""
    a, b, c = _rows(3000, 0, 1, warmup=40), _rows(70_000, 3000, 2), _rows(5000, 73_000, 3)
    b["error_msg"][b["error_msg"] == 0] = 1  # file b names its messages in the other order
    pb, pc = tmp_path / "process-1.records", tmp_path / "process-2.records"
    b.tofile(pb)
    c.tofile(pc)
    with open(pc, "ab") as fh:
        fh.write(b"\0" * 17)  # a torn last row (a killed process) is left out
    return [(a, ["HTTP 500: boom", "read timed out"]), (pb, ["HTTP 500: other", "HTTP 500: boom"]),
            (pc, ["HTTP 500: boom", "read timed out"])]


def _memory(parts) -> tuple[np.ndarray, list[str]]:
    return merge_records([(p if isinstance(p, np.ndarray) else np.fromfile(p, dtype=RECORD_DTYPE,
                           count=p.stat().st_size // RECORD_DTYPE.itemsize), m) for p, m in parts])


def test_columns_selections_and_rows_equal_the_merged_array(tmp_path, monkeypatch):
    monkeypatch.setattr(record_source, "CHUNK_ROWS", 4096)  # many chunks, some across part boundaries
    parts = _parts(tmp_path)
    rows, messages = _memory(parts)
    src, src_messages = RecordSource.from_parts(parts, materialize_rows=0)
    assert src_messages == messages and src.size == rows.size == 78_000
    for name in ("index", "error_msg", "end_ns", "ndcg"):
        np.testing.assert_array_equal(src[name], rows[name])
    ok = src[src["error_kind"] == 0]
    assert isinstance(ok, RecordSource)
    slow = ok[ok["end_ns"] - ok["start_ns"] > 25_000_000]  # a selection of a selection
    want = rows[rows["error_kind"] == 0]
    want = want[want["end_ns"] - want["start_ns"] > 25_000_000]
    assert slow.size == want.size
    np.testing.assert_array_equal(slow["index"], want["index"])
    assert slow[5:900:7].tobytes() == want[5:900:7].tobytes()
    assert src[70_000:74_000].tobytes() == rows[70_000:74_000].tobytes()
    assert slow[np.array([9, 2, 400])].tobytes() == want[[9, 2, 400]].tobytes()
    assert slow[7].tobytes() == want[7].tobytes() and slow[-1].tobytes() == want[-1].tobytes()
    small = RecordSource.from_parts(parts)[0]
    few = small[small["index"] < 100]
    assert isinstance(few, np.ndarray) and few.tobytes() == rows[rows["index"] < 100].tobytes()
    with pytest.raises(IndexError):
        src[np.ones(3, dtype=bool)]
    with pytest.raises(IndexError):
        slow[slow.size]


@pytest.mark.parametrize("info", [{}, {"request_rate": 800.0, "arrival_pattern": "poisson",
                                       "goodput": {"request_latency": 30.0}, "options": {"slice_duration": 4.0}}])
def test_every_export_is_byte_identical_to_the_one_from_memory(tmp_path, monkeypatch, info):
    monkeypatch.setattr(record_source, "CHUNK_ROWS", 5000)
    parts = _parts(tmp_path)
    rows, messages = _memory(parts)
    src, _ = RecordSource.from_parts(parts, materialize_rows=0)
    in_memory, from_files = make_result(rows, messages, **info), make_result(rows, messages, **info)
    from_files.records = src
    assert summarize(from_files) == summarize(in_memory)
    out = tmp_path / "run"  # the same folder (the JSON names it): written once from each
    first = {key: path.read_bytes() for key, path in write_artifacts(in_memory, out).items()}
    second = {key: path.read_bytes() for key, path in write_artifacts(from_files, out).items()}
    assert sorted(first) == sorted(second) and "jsonl" in first
    assert "timeslices" in " ".join(first) or not info
    for key in first:
        assert first[key] == second[key], key
