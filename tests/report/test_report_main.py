"""`rankperf report` and `rankperf plot` through the real command-line entry point."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from report_factory import ROW, build_records, fail, make_result, write_locust_csv

from rankperf_data.cli import main
from rankperf_data.report.artifacts import FILES, write_artifacts
from rankperf_data.report.export import read_aiperf_json
from rankperf_data.report.main import LOCUST_FILES, LOCUST_JSON
from rankperf_data.results.outcomes import ErrorKind

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run_dir(tmp_path):
    rec = build_records(np.linspace(5, 80, 120), passages=np.arange(120) % 7 + 1, lag_ms=0.3)
    fail(rec, [7, 9], ErrorKind.HTTP, 500, 0)
    result = make_result(rec, ["boom 1"], request_rate=100.0, arrival_pattern="poisson")
    out = tmp_path / "run"
    write_artifacts(result, out)
    return out


def test_report_rebuilds_exports_in_place(run_dir, capsys):
    jsonl_before = (run_dir / FILES["jsonl"]).stat().st_mtime_ns
    (run_dir / FILES["json"]).unlink()
    assert main(["report", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "rankperf | Ranking Metrics" in out and "rankperf | Error Summary" in out
    assert f"JSON Export: {run_dir / FILES['json']}" in out
    assert read_aiperf_json(run_dir / FILES["json"])["request_count"].values == {"avg": 118.0}
    assert (run_dir / FILES["jsonl"]).stat().st_mtime_ns == jsonl_before  # the source is not rewritten


def test_report_to_another_dir_with_new_goodput(run_dir, tmp_path, capsys):
    out_dir = tmp_path / "elsewhere"
    assert main(["report", str(run_dir), "--output", str(out_dir), "--goodput", "request_latency:40"]) == 0
    assert "Goodput (requests/sec)" in capsys.readouterr().out
    assert {p.name for p in out_dir.iterdir()} == set(FILES.values())
    assert read_aiperf_json(out_dir / FILES["json"])["good_request_count"].values["avg"] > 0


@pytest.mark.parametrize("argv", [["report"], ["report", "X", "--locust-csv", "Y"]])
def test_report_needs_exactly_one_source(argv, capsys):
    assert main(argv) == 2
    assert "either ARTIFACT_DIR or --locust-csv" in capsys.readouterr().err


def test_report_on_a_dir_without_records_exits_2(tmp_path, capsys):
    (tmp_path / "inputs.json").write_text("{}")
    assert main(["report", str(tmp_path)]) == 2
    assert "no rankperf records" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_report_from_locust_csv(tmp_path, capsys):
    prefix = write_locust_csv(tmp_path, [f",Aggregated,{ROW}"])
    assert main(["report", "--locust-csv", str(prefix)]) == 0
    out = capsys.readouterr().out
    assert "percentiles approximate" in out
    metrics = read_aiperf_json(tmp_path / FILES["json"])
    assert metrics["completed_request_count"].values == {"avg": 100.0}
    assert metrics["request_latency"].unit == "ms"


def test_locust_report_never_overwrites_a_records_export(run_dir, capsys):
    before = (run_dir / FILES["json"]).read_bytes()
    prefix = write_locust_csv(run_dir, [f",Aggregated,{ROW}"])
    assert main(["report", "--locust-csv", str(prefix)]) == 0
    assert (run_dir / FILES["json"]).read_bytes() == before
    assert (run_dir / LOCUST_JSON).is_file()


def test_plot_writes_png_files(run_dir, capsys):
    assert main(["plot", str(run_dir)]) == 0
    printed = capsys.readouterr().out.split()
    names = {"latency_histogram.png", "latency_over_time.png", "throughput_over_time.png",
             "latency_by_passages.png"}
    assert {p.rsplit("/", 1)[-1] for p in printed} == names
    for name in names:
        data = (run_dir / "plots" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 1000


def test_plot_without_matplotlib_says_how_to_install(run_dir, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    assert main(["plot", str(run_dir), "--output", str(run_dir / "p")]) == 1
    err = capsys.readouterr().err
    # the command works from a clone: the project's own 'plot' extra, which brings matplotlib
    assert "pip install -e '.[plot]'" in err
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert re.search(r'^plot = \["matplotlib', pyproject, re.M)


def test_plot_on_a_dir_without_records_exits_2(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    assert "no rankperf records" in capsys.readouterr().err


def test_report_keeps_the_saturation_warning_of_the_run(tmp_path, capsys):
    result = make_result(build_records(range(1, 21), gap_ms=100.0), client_cpu={"0": 0.96})  # a 2 s window
    write_artifacts(result, tmp_path / "run")
    assert main(["report", str(tmp_path / "run"), "--output", str(tmp_path / "again")]) == 0
    assert "load generator saturated (worker 0 96%" in capsys.readouterr().out
    exported = json.loads((tmp_path / "again" / FILES["json"]).read_text())
    assert exported["rankperf"]["client_cpu"] == {"0": 0.96}
    assert any("saturated" in w for w in exported["rankperf"]["warnings"])


def test_report_from_locust_csv_writes_the_same_set_of_exports(tmp_path, capsys):
    prefix = write_locust_csv(tmp_path, [f",Aggregated,{ROW}"])
    assert main(["report", "--locust-csv", str(prefix)]) == 0
    out = capsys.readouterr().out
    for key in ("json", "csv", "console"):
        assert (tmp_path / FILES[key]).is_file(), key
        assert str(tmp_path / FILES[key]) in out
    console = (tmp_path / FILES["console"]).read_text()
    assert "percentiles approximate" in console and console in out
    csv_text = (tmp_path / FILES["csv"]).read_bytes().decode()
    assert "Request Latency (ms),50.62,1.02,100.40,5062.00,,,,,51.00,76.00,91.00,96.00,100.00,\r\n" in csv_text
    assert "Completed Requests (Success + Error),100.00\r\n" in csv_text
    assert csv_text.endswith("\r\n\r\n\r\nEndpoint,GPU_Index,GPU_Name,GPU_UUID,Platform,Metric,avg,min,max,sum,"
                             "p1,p5,p10,p25,p50,p75,p90,p95,p99,std\r\n")


def test_locust_report_beside_a_records_export_uses_its_own_names(run_dir, capsys):
    before = {key: (run_dir / FILES[key]).read_bytes() for key in ("json", "csv", "console")}
    prefix = write_locust_csv(run_dir, [f",Aggregated,{ROW}"])
    assert main(["report", "--locust-csv", str(prefix)]) == 0
    assert {key: (run_dir / FILES[key]).read_bytes() for key in before} == before
    for name in LOCUST_FILES.values():
        assert (run_dir / name).is_file(), name
