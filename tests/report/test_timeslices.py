"""--slice-duration: records binned by start time, metrics per slice, AIPerf's files, the web UI's last slices."""

from __future__ import annotations

import csv
import io
import json

import pytest
from report_factory import MS, build_records, make_result

from rankperf_data.load.webui import slice_rows
from rankperf_data.report.artifacts import write_artifacts
from rankperf_data.report.metrics import summarize


def _result(slice_s: float):
    # 30 requests, one every 100 ms, latency 10 ms for the first 10, 20 ms next, 30 ms last: 3 s of sends
    rec = build_records([10.0] * 10 + [20.0] * 10 + [30.0] * 10, gap_ms=100.0)
    return make_result(rec, options={"slice_duration": slice_s})


def test_slices_bin_by_start_time_and_clip_the_last():
    s = summarize(_result(1.0))
    slices = s.timeslices
    assert [sl.metrics["request_count"].value for sl in slices] == [10, 10, 10]
    assert [sl.metrics["request_latency"].stats.avg for sl in slices] == pytest.approx([10.0, 20.0, 30.0])
    assert slices[0].end_ns - slices[0].start_ns == 1000 * MS and slices[0].is_complete
    # the run ends 30 ms after the last send (at 2.9 s): the last slice, 2 s..3 s, is clipped at 2.93 s
    assert slices[-1].end_ns - slices[-1].start_ns == 930 * MS and not slices[-1].is_complete
    assert slices[1].metrics["request_throughput"].value == pytest.approx(10.0)  # per the slice's own second


def test_no_slices_without_the_option():
    assert summarize(_result(0.0)).timeslices == []


def test_files_in_aiperfs_shape(tmp_path):
    write_artifacts(_result(1.5), tmp_path)
    data = json.loads((tmp_path / "profile_export_aiperf_timeslices.json").read_text())
    assert len(data["timeslices"]) == 2 and "input_config" in data
    first, last = data["timeslices"]
    assert "is_complete" not in first and last["is_complete"] is False
    assert first["request_count"] == {"unit": "requests", "avg": 15.0}
    assert first["request_latency"]["avg"] == pytest.approx(200.0 / 15)  # 10 x 10 ms and 5 x 20 ms
    rows = list(csv.reader(io.StringIO((tmp_path / "profile_export_aiperf_timeslices.csv").read_text())))
    assert rows[0] == ["Timeslice", "Start_NS", "End_NS", "Metric", "Unit", "Stat", "Value"]
    assert ["0", str(first["start_ns"]), str(first["end_ns"]), "request_count", "requests", "avg", "15"] in rows


def test_web_ui_shows_the_last_slices():
    rows = slice_rows(summarize(_result(0.5)), last=2)
    assert [r["metric"].split(":")[0] for r in rows] == ["Slice 2.0-2.5 s", "Slice 2.5-2.9 s (partial)"]
    assert rows[0]["p50"] == "30.00" and rows[0]["count"] == "5"
