"""export.py / load.py: AIPerf's JSON, CSV and JSONL shapes (checked against AIPerf's samples) and the round trip."""

from __future__ import annotations

import re

import numpy as np
import orjson
import pytest
from report_factory import MS, SAMPLES, T0, build_records, fail, make_result

from rankperf_data.report.artifacts import FILES, write_artifacts
from rankperf_data.report.console import render_console
from rankperf_data.report.export import read_aiperf_json
from rankperf_data.report.metrics import summarize
from rankperf_data.results.disk import load_run
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import FIELD_NAMES, PHASE_WARMUP

SHARED = {"request_latency": "ms", "request_throughput": "requests/sec", "request_count": "requests",
          "error_request_count": "requests", "benchmark_duration": "sec", "request_error_rate": "%",
          "completed_request_count": "requests", "http_req_data_sent": "KB", "http_req_data_received": "KB"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def _run(**info):
    warm = build_records([5.0] * 3, phase=PHASE_WARMUP, t0=T0 - 1000 * MS, first_index=500)
    prof = build_records(range(1, 101), lag_ms=0.5)
    prof["server_inference_ms"][::3] = 1.25
    fail(prof, [2, 5, 8], ErrorKind.HTTP, 500, 0)
    fail(prof, [40], ErrorKind.TIMEOUT, 0, 1)
    fail(prof, [41], ErrorKind.INVALID_RESPONSE, 200, 2)
    messages = ['{"error": "injected failure", "n": 3}', "read timed out", "not JSON: b'<html>'"]
    return make_result(np.concatenate([warm, prof]), messages, warmup_request_count=3, **info)


@pytest.fixture
def written(tmp_path):
    result = _run(request_rate=100.0, arrival_pattern="poisson", goodput={"request_latency": 60.0})
    return result, write_artifacts(result, tmp_path / "run")


def test_files_written(written):
    _, paths = written
    assert {p.name for p in paths.values()} == set(FILES.values())


def test_json_agrees_with_aiperf_sample_through_the_same_reader(written):
    _, paths = written
    theirs = read_aiperf_json(SAMPLES / "profile_export_aiperf.json")
    ours = read_aiperf_json(paths["json"])
    for tag, unit in SHARED.items():
        assert theirs[tag].unit == ours[tag].unit == unit, tag
        assert theirs[tag].keys == ours[tag].keys, tag
    assert ours["request_latency"].values["count"] == 95
    assert ours["error_request_count"].values == {"avg": 5.0}


def test_json_layout_matches_aiperf(written):
    _, paths = written
    sample = orjson.loads((SAMPLES / "profile_export_aiperf.json").read_bytes())
    ours = orjson.loads(paths["json"].read_bytes())
    keys = list(ours)
    assert keys[:3] == ["schema_version", "aiperf_version", "benchmark_id"]
    assert ours["schema_version"] == "1.4" and re.fullmatch(r"[0-9a-f]{12}", ours["benchmark_id"])
    assert keys[3:10] == ["request_throughput", "request_latency", "request_count", "goodput",
                          "good_request_count", "benchmark_duration", "error_request_count"]
    assert list(ours["request_latency"]) == list(sample["request_latency"])  # field order too
    assert keys.index("input_config") < keys.index("run_info") < keys.index("error_summary")
    assert set(sample["run_info"]) == set(ours["run_info"])
    config = ours["input_config"]
    assert config["models"] == {"items": [{"name": "BAAI/bge-reranker-base"}]}
    assert config["endpoint"] == {"urls": ["http://127.0.0.1:8080"], "type": "hf_tei_rankings"}
    assert [p["name"] for p in config["phases"]] == ["warmup", "profiling"]
    assert config["phases"][1] == {"name": "profiling", "kind": "profiling", "type": "poisson", "requests": 100,
                                   "concurrency": 4, "rate": 100.0}
    assert config["datasets"][0]["name"] == "main" and ours["rankperf"]["dataset_distribution"]["requests"] == 100
    assert config["tokenizer"] == {"name": "word-level estimate"} and config["slos"] == {"request_latency": 60.0}
    assert config["artifacts"]["dir"] == str(paths["json"].parent.resolve())
    shape = {k: type(v) for k, v in sample["error_summary"][0]["error_details"].items()}
    assert {k: type(v) for k, v in ours["error_summary"][0]["error_details"].items()} == shape
    assert ours["error_summary"][0] == {"error_details": {"code": 500, "type": "Internal Server Error",
                                                          "message": '{"error": "injected failure", "n": N}'},
                                        "count": 3}
    assert ISO.match(ours["start_time"]) and ISO.match(ours["end_time"]) and ISO.match(sample["start_time"])
    assert ours["was_cancelled"] is False and ours["is_complete"] is True and ours["partial"] is False
    assert ours["warmup_metrics"]["request_latency"]["avg"] == 5.0
    assert ours["intended_latency"]["unit"] == "ms" and ours["offered_rate"] == {"unit": "requests/sec",
                                                                                 "avg": 100.0}


def test_csv_matches_aiperf_block_layout(written):
    _, paths = written
    sample = (SAMPLES / "profile_export_aiperf.csv").read_bytes().decode()
    ours = paths["csv"].read_bytes().decode()
    assert "\r\n" in ours and "\n" not in ours.replace("\r\n", "")
    lines = ours.split("\r\n")
    assert lines[0] == sample.split("\r\n")[0]
    blank = lines.index("")
    assert lines[blank + 1] == "Metric,Value"
    # AIPerf's third block: two blank lines, then the GPU telemetry header (no rows without GPUs)
    scalars, gpu = ours.split("\r\n\r\n\r\n")
    assert gpu == sample.split("\r\n\r\n\r\n")[1] and sample.endswith("std\r\n")
    assert gpu.startswith("Endpoint,GPU_Index,") and gpu.count("\r\n") == 1
    block1 = [line.split(",")[0] for line in lines[1:blank]]
    block2 = [line.split(",")[0] for line in scalars.split("\r\n")[blank + 2 :] if line]
    assert block1 == sorted(block1) and block2 == sorted(block2)
    assert "Request Latency (ms)" in block1 and "Request Count" in block2
    assert "Completed Requests (Success + Error)" in block2 and "Request Throughput (requests/sec)" in block2
    row = next(line for line in lines if line.startswith("Request Latency (ms),"))
    cells = row.split(",")[1:]
    assert len(cells) == 14 and all(re.fullmatch(r"-?\d+\.\d\d", c) for c in cells)
    assert "Request Count,95.00" in lines


def test_jsonl_lines_follow_aiperf_record_shape(written):
    result, paths = written
    sample = [orjson.loads(line) for line in (SAMPLES / "profile_export.head3.jsonl").read_bytes().splitlines()]
    lines = [orjson.loads(line) for line in paths["jsonl"].read_bytes().splitlines()]
    assert len(lines) == result.records.size == 103
    sample_keys = list(sample[1]["metadata"])
    for line in lines:
        keys = list(line["metadata"])
        assert set(keys) <= set(sample_keys)
        assert keys == [k for k in sample_keys if k in keys]  # same relative order
    warm, ok, err = lines[0], lines[3], lines[5]
    assert warm["metadata"]["benchmark_phase"] == "warmup" and ok["metadata"]["benchmark_phase"] == "profiling"
    assert ok["metadata"]["conversation_id"] == "session_000000"
    assert ok["metadata"]["request_end_ns"] - ok["metadata"]["request_start_ns"] == 1 * MS
    assert ok["metrics"]["request_latency"] == {"value": 1.0, "unit": "ms"}
    assert ok["metrics"]["http_req_data_sent"] == {"value": 2.0, "unit": "KB"}
    assert ok["metrics"]["schedule_lag"] == {"value": 0.5, "unit": "ms"}
    assert err["metrics"] == {} and set(err["error"]) == set(sample[0]["error"])
    assert err["error"] == {"code": 500, "type": "Internal Server Error",
                            "message": '{"error": "injected failure", "n": 3}'}
    assert lines[43]["error"] == {"code": None, "type": "timeout", "message": "read timed out"}
    assert list(ok["rankperf"]) == list(FIELD_NAMES)


def test_round_trip_through_load_run_is_lossless(written):
    result, paths = written
    loaded = load_run(paths["json"].parent)
    assert loaded.records.dtype == result.records.dtype
    assert loaded.records.tobytes() == result.records.tobytes()  # NaNs included, bit for bit
    assert loaded.messages == result.messages and loaded.info == result.info
    assert (loaded.start_ns, loaded.end_ns) == (result.start_ns, result.end_ns)
    assert summarize(loaded) == summarize(result)


def test_rewrite_from_loaded_run_gives_identical_files(written, tmp_path):
    _, paths = written
    again = write_artifacts(load_run(paths["json"].parent), tmp_path / "again")
    for key in FILES:
        if key == "json":  # holds its own directory
            continue
        assert again[key].read_bytes() == paths[key].read_bytes(), key


def test_console_file_is_the_console_text(written):
    result, paths = written
    text = paths["console"].read_text()
    assert text == render_console(summarize(result)) and "\x1b[" not in text


def test_existing_inputs_json_is_kept(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "inputs.json").write_text('{"data": []}')
    write_artifacts(_run(), out)
    assert (out / "inputs.json").read_text() == '{"data": []}'



def test_load_run_rejects_foreign_or_broken_files(tmp_path, written):
    from rankperf_data.results.disk import NoRecordsError

    _, paths = written
    aiperf = tmp_path / "aiperf"
    aiperf.mkdir()
    (aiperf / FILES["jsonl"]).write_bytes((SAMPLES / "profile_export.head3.jsonl").read_bytes())
    (aiperf / FILES["run"]).write_bytes(paths["run"].read_bytes())
    with pytest.raises(NoRecordsError, match="rankperf"):
        load_run(aiperf)
    (aiperf / FILES["run"]).write_text("{}")
    with pytest.raises(NoRecordsError, match="not a rankperf run.json"):
        load_run(aiperf)


def test_dataset_entries_is_an_int(tmp_path):
    # every request distinct (rankperf's default): the distinct requests the run sent, warmup included
    exported = orjson.loads(write_artifacts(_run(dataset={"type": "synthetic", "entries": None}),
                                            tmp_path / "a")["json"].read_bytes())
    assert exported["input_config"]["datasets"][0]["entries"] == 103
    # a pool (--num-dataset-entries) or a file: its size
    exported = orjson.loads(write_artifacts(_run(dataset={"type": "synthetic", "entries": 40}),
                                            tmp_path / "b")["json"].read_bytes())
    assert exported["input_config"]["datasets"][0]["entries"] == 40


def test_late_starts_and_distribution_identical_in_every_export(tmp_path):
    prof = build_records([20.0] * 100, gap_ms=10.0)
    prof["start_ns"][:3] += 11 * MS
    paths = write_artifacts(make_result(prof, request_rate=100.0, arrival_pattern="constant"), tmp_path / "run")
    exported = orjson.loads(paths["json"].read_bytes())
    assert exported["late_start_count"] == {"unit": "requests", "avg": 3.0}
    assert exported["late_start_rate"] == {"unit": "%", "avg": 3.0}
    assert exported["rankperf"]["late_start_threshold_ms"] == 10.0
    assert "Late Starts,3.00\r\n" in paths["csv"].read_bytes().decode()
    assert "Late Starts (requests)" in paths["console"].read_text()
    realised = exported["rankperf"]["dataset_distribution"]
    assert realised["query_tokens"] == {"mean": 32.0, "min": 32.0, "max": 32.0}
    assert realised["request_mean_passage_tokens"] == {"mean": 128.0, "min": 128.0, "max": 128.0}


def test_input_config_dataset_has_only_keys_aiperf_reads(tmp_path):
    # AIPerf's reader (pydantic, extra keys forbidden) rejects the whole input_config over one unknown
    # key in a dataset, and needs an int entries for a synthetic one.
    described = {"name": "main", "type": "synthetic", "entries": None, "random_seed": 1,
                 "rankings": {"passages": {"mean": 3, "stddev": 0}}, "tokenizer": "word-level estimate",
                 "sampling_strategy": "shuffle"}
    exported = orjson.loads(write_artifacts(_run(dataset=described), tmp_path / "run")["json"].read_bytes())
    sample = orjson.loads((SAMPLES / "profile_export_aiperf.json").read_bytes())
    dataset = exported["input_config"]["datasets"][0]
    assert set(dataset) <= set(sample["input_config"]["datasets"][0]) | {"sampling"}
    assert dataset["sampling"] == "shuffle" and isinstance(dataset["entries"], int)
    assert "workers" not in exported["input_config"] and exported["rankperf"]["workers"] == 1
