"""export.py against AIPerf 0.13.0's export model: its JSON Schema (fast) here, its pydantic model under `aiperf`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import orjson
import pytest
from aiperf_check import (
    AIPERF_VERSION,
    SCHEMA_PATH,
    SCRIPT,
    aiperf_python,
    assert_aiperf_accepts,
    model_errors,
    schema_errors,
)
from report_factory import MS, ROW, T0, build_records, fail, make_result, write_locust_csv

from rankperf_data.report.export import to_aiperf_json
from rankperf_data.report.locust_csv import summary_from_locust_csv
from rankperf_data.report.metrics import summarize
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_WARMUP

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / f"aiperf_{AIPERF_VERSION}_sample_export.json"


def _closed(**info):
    rec = build_records(range(1, 21))
    return make_result(rec, **info)


def _open_with_errors_and_warmup(**info):
    warm = build_records([5.0] * 3, phase=PHASE_WARMUP, t0=T0 - 1000 * MS, first_index=500)
    prof = build_records(range(1, 41), lag_ms=0.5)
    fail(prof, [2, 5], ErrorKind.HTTP, 500, 0)
    fail(prof, [7], ErrorKind.TIMEOUT, 0, 1)
    return make_result(np.concatenate([warm, prof]), ["boom", "read timed out"], warmup_request_count=3,
                       request_rate=100.0, arrival_pattern="poisson", **info)


# One export per configuration the report has a branch for; the e2e test covers the real runs.
CASES = {
    "closed": lambda: _closed(),
    "open_errors_warmup_goodput": lambda: _open_with_errors_and_warmup(goodput={"request_latency": 20.0}),
    "constant_duration": lambda: _closed(request_count=None, benchmark_duration=2.0, request_rate=50.0,
                                         arrival_pattern="constant"),
    "custom_endpoint": lambda: _closed(endpoint_type="cohere_rankings", endpoint="/v1/rerank",
                                       options={"endpoint": "/v1/rerank"}),
    "cohere_v1_without_endpoint": lambda: _closed(endpoint_type="cohere_rankings", endpoint="/v1/rerank",
                                                  options={"cohere_api_version": "v1"}),
    "nim_jsonl": lambda: _closed(endpoint_type="nim_rankings", endpoint="/v1/ranking", tokenizer="/t/tokenizer.json",
                                 dataset={"type": "file", "path": "in.jsonl", "format": "single_turn", "entries": 2}),
    "cancelled": lambda: _cancelled(),
    "all_failed": lambda: _all_failed(),
    "records_kept_elsewhere": lambda: _records_kept_elsewhere(),
}


def _cancelled():
    result = _closed()
    result.was_cancelled = True
    result.partial = True
    return result


def _all_failed():
    rec = build_records(range(1, 6))
    fail(rec, list(range(5)), ErrorKind.HTTP, 503, 0)
    return make_result(rec, ["unavailable"])


def _records_kept_elsewhere():
    """A master holding a quarter of the records: the export is built from the merged sketches."""
    from rankperf_data.load.summaries import SummaryBuilder, SummaryMerger

    rec = build_records(range(1, 41))
    fail(rec, [3], ErrorKind.HTTP, 503, 0)
    builder, merger = SummaryBuilder(0), SummaryMerger()
    builder.add_rows(rec["phase"], rec["error_kind"], rec["start_ns"], rec["end_ns"],
                     {c: rec[c] for c in ("status", "passages", "query_tokens", "passage_tokens")})
    assert merger.accept("worker-0", builder.take_wire())
    result = make_result(rec[:10], ["unavailable"])
    result.merged_summaries, result.partial = merger.state(), True
    return result


def export_of(name: str) -> dict:
    return orjson.loads(orjson.dumps(to_aiperf_json(summarize(CASES[name]()), "0123456789ab"),
                                     option=orjson.OPT_SERIALIZE_NUMPY))


def locust_csv_export(tmp_path: Path) -> dict:
    summary = summary_from_locust_csv(write_locust_csv(tmp_path, [f",Aggregated,{ROW}"]))
    return orjson.loads(orjson.dumps(to_aiperf_json(summary, "0123456789ab")))


# What AIPerf 0.13.0's model rejects, with the key it names: the shapes rankperf wrote before.
REJECTED = {
    "input_config.options": lambda d: d["input_config"].__setitem__("options", {"request_count": 20}),
    "input_config.endpoint.custom_endpoint": lambda d: d["input_config"]["endpoint"].__setitem__(
        "custom_endpoint", "/v1/rerank"),
    "input_config.endpoint.type": lambda d: d["input_config"]["endpoint"].__setitem__("type", "voyage_rankings"),
    "input_config.datasets.0.tokenizer": lambda d: d["input_config"]["datasets"][0].__setitem__("tokenizer", "x"),
    "input_config.phases.0.workers": lambda d: d["input_config"]["phases"][0].__setitem__("workers", 2),
    "request_latency.p50": lambda d: d["request_latency"].__setitem__("p50", "fast"),
}


def names(errors: list[str], key: str) -> bool:
    """One of the errors is about key: at its parent's path, naming its last part."""
    parent, _, last = key.rpartition(".")
    return any(e.startswith(parent) and last in e for e in errors)


def rejected_export(key: str) -> dict:
    data = export_of("closed")
    REJECTED[key](data)
    return data


# ---- the JSON Schema (fast, every run) ----------------------------------------------------------


def test_schema_is_aiperfs_export_model():
    schema = json.loads(SCHEMA_PATH.read_text())
    assert f"aiperf=={AIPERF_VERSION} aiperf.common.models.export_models.JsonExportData" in schema["$comment"]
    assert schema["$defs"]["BenchmarkConfig"]["additionalProperties"] is False
    assert schema["additionalProperties"] is True  # top level: AIPerf allows extra metrics (and our "rankperf")


def test_aiperfs_own_export_passes_the_schema():
    """A positive control: the schema is not stricter than AIPerf's own output."""
    assert schema_errors(json.loads(SAMPLE.read_text())) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_kind_of_export_passes_the_schema(name):
    assert schema_errors(export_of(name)) == []


def test_locust_csv_export_passes_the_schema(tmp_path):
    exported = locust_csv_export(tmp_path)
    assert schema_errors(exported) == []
    assert exported["rankperf"]["request_throughput_window"]["from"] == "Locust's stats start"
    assert exported["rankperf"]["token_counts"] is None  # Locust's CSVs have no token counts


@pytest.mark.parametrize("key", sorted(REJECTED))
def test_schema_rejects_what_aiperf_rejects(key):
    errors = schema_errors(rejected_export(key))
    assert names(errors, key), errors


def test_rankperfs_own_data_is_under_rankperf():
    custom = export_of("custom_endpoint")
    assert custom["aiperf_version"] == AIPERF_VERSION and "rankperf_version" not in custom
    assert custom["input_config"]["endpoint"] == {"urls": ["http://127.0.0.1:8080"], "type": "cohere_rankings",
                                                  "path": "/v1/rerank"}
    assert custom["rankperf"]["options"] == {"endpoint": "/v1/rerank"}
    assert "AIPerf did not run" in custom["rankperf"]["aiperf_version_means"]
    assert export_of("cohere_v1_without_endpoint")["input_config"]["endpoint"]["path"] == "/v1/rerank"
    assert "path" not in export_of("closed")["input_config"]["endpoint"]  # AIPerf's default /rerank


def test_names_mean_what_aiperf_means():
    closed = export_of("closed")
    assert "input_token_throughput" not in closed  # AIPerf's input tokens count the query once, not per passage
    # 20 successes x (32 query tokens x 3 passages + 3 x 128 passage tokens) over the window
    window = closed["benchmark_duration"]["avg"]
    assert closed["pair_token_throughput"]["avg"] == pytest.approx(20 * (32 * 3 + 3 * 128) / window)
    assert closed["rankperf"]["token_counts"] == "word-level estimate"
    assert export_of("nim_jsonl")["rankperf"]["token_counts"] == "tokenizer"
    window_note = closed["rankperf"]["request_throughput_window"]
    assert window_note["seconds"] == window and window_note["from"] == "first request sent"
    assert closed["request_throughput"]["avg"] == pytest.approx(20 / window)


# ---- AIPerf's own model, in its own venv (`aiperf` marker) ---------------------------------------


@pytest.mark.aiperf
def test_schema_fixture_is_what_the_script_writes_from_aiperf(tmp_path):
    out = tmp_path / "schema.json"
    proc = subprocess.run([str(aiperf_python()), str(SCRIPT), str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.read_text() == SCHEMA_PATH.read_text(), "regenerate: scripts/aiperf_export_schema.py " + str(SCHEMA_PATH)


@pytest.mark.aiperf
def test_aiperf_model_accepts_every_kind_and_rejects_the_old_shapes(tmp_path):
    good = [SAMPLE]
    for name in sorted(CASES):
        good.append(tmp_path / f"{name}.json")
        good[-1].write_text(json.dumps(export_of(name)))
    good.append(tmp_path / "locust_csv.json")
    good[-1].write_text(json.dumps(locust_csv_export(tmp_path)))
    bad = {}
    for key in sorted(REJECTED):
        bad[key] = tmp_path / f"bad-{key}.json"
        bad[key].write_text(json.dumps(rejected_export(key)))
    assert_aiperf_accepts(good)
    errors = model_errors(bad.values())
    for key, path in bad.items():  # the model rejects each, naming the same key as the schema
        assert names(errors[str(path)], key), (key, errors[str(path)])

