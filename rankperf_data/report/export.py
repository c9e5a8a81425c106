"""Serialisers of a Summary and of the records: AIPerf's JSON, CSV and JSONL shapes, plus a reader."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
from numpy.dtypes import StringDType

from rankperf_data import __version__
from rankperf_data.apis import BY_ENDPOINT_TYPE
from rankperf_data.dataset.tokenizer import WORD_ESTIMATE
from rankperf_data.report.goodput import fixed_slos
from rankperf_data.report.metrics import DEFINITIONS, RATE_WINDOWS, Metric, Summary, error_type
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import FIELD_NAMES, PHASE_NAMES, RECORD_FIELDS
from rankperf_data.results.run import RunInfo

SCHEMA_VERSION = "1.4"
# The AIPerf release whose profile_export_aiperf.json this file follows (its JsonExportData model
# accepts every export: tests/aiperf_check.py). Written as "aiperf_version", said so under "rankperf".
AIPERF_FORMAT_VERSION = "0.13.0"
# AIPerf's key order inside a record metric object.
RECORD_KEYS = ("avg", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "min", "max", "std",
               "count", "sum")
CSV_RECORD_COLUMNS = ("avg", "min", "max", "sum", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95",
                      "p99", "std")
# Metrics AIPerf puts before input_config (in this order), and right after warmup_metrics.
HEAD_TAGS = ("request_throughput", "request_latency", "request_count", "goodput", "good_request_count",
             "benchmark_duration", "error_request_count")
TAIL_FIRST_TAGS = ("request_error_rate", "completed_request_count", "good_request_fraction")
# AIPerf's CSV drops the unit of plain counts ("Request Count", "HTTP Chunks Sent").
CSV_UNITLESS = {"requests", "count", ""}
# AIPerf's third CSV block, GPU telemetry: written as its header alone when no GPU was observed,
# as rankperf never does (kept so that readers of AIPerf's layout find the block they expect).
CSV_GPU_HEADER = ("Endpoint", "GPU_Index", "GPU_Name", "GPU_UUID", "Platform", "Metric", *CSV_RECORD_COLUMNS)


# ---- AIPerf JSON ----------------------------------------------------------------------------------


def metric_json(metric: Metric) -> dict:
    """AIPerf's metric object: record {"unit", avg, p1..p99, min, max, std, count, sum}, scalar {"unit", avg}."""
    if metric.stats is None:
        return {"unit": metric.unit, "avg": metric.value}
    out: dict = {"unit": metric.unit}
    for key in RECORD_KEYS:
        value = metric.stats.get(key)
        if value is not None:
            out[key] = value
    return out


def iso_local(ns: int | None) -> str | None:
    """Epoch ns as AIPerf prints it: local time, no zone, microseconds."""
    if ns is None:
        return None
    return (datetime.fromtimestamp(ns // 1_000_000_000) + timedelta(microseconds=(ns % 1_000_000_000) // 1000)
            ).isoformat(timespec="microseconds")


def _phase(name: str, info: RunInfo, requests: int | None, duration: float | None) -> dict:
    rate = info.request_rate or None
    phase: dict = {"name": name, "kind": name,
                   "type": (info.arrival_pattern or "poisson") if rate else "concurrency"}
    if requests:
        phase["requests"] = requests
    elif duration:
        phase["duration"] = duration
    phase["concurrency"] = info.concurrency
    if rate:
        phase["rate"] = rate
    return phase


def aiperf_dataset(summary: Summary) -> dict:
    """input_config.datasets[0] in AIPerf's terms. AIPerf's reader (pydantic, extra keys forbidden)
    rejects the whole input_config over one unknown key, so rankperf's own facts live elsewhere:
    the tokenizer in input_config.tokenizer, the realised distribution in the "rankperf" section."""
    info = summary.info
    assert info is not None
    dataset = {"name": "main", **{k: v for k, v in info.dataset.items() if k not in ("tokenizer", "sampling_strategy", "labelled")}}
    if "sampling_strategy" in info.dataset:
        dataset["sampling"] = info.dataset["sampling_strategy"]  # AIPerf's name, same values
    if summary.dataset_entries is not None:
        dataset["entries"] = summary.dataset_entries  # an int >= 1 in AIPerf's schema, never null
    return dataset


def input_config(summary: Summary, artifact_dir: Path | None) -> dict:
    """AIPerf's input_config, from RunInfo (already redacted)."""
    info = summary.info
    assert info is not None
    api = BY_ENDPOINT_TYPE.get(info.endpoint_type)
    # AIPerf's model accepts only its own types: an API it lacks is written as the nearest one
    # (the real type is in rankperf.endpoint_type)
    aiperf_type = BY_ENDPOINT_TYPE.get(api.aiperf_endpoint_type) if api is not None else None
    endpoint: dict = {"urls": [info.url], "type": aiperf_type.endpoint_type if aiperf_type else info.endpoint_type}
    # AIPerf's "path" overrides the type's default path: written when the user chose one
    # (--endpoint) or the path posted is not AIPerf's default (--cohere-api-version v1, an API AIPerf lacks)
    if info.options.get("endpoint") or (aiperf_type is not None and info.endpoint != aiperf_type.default_path):
        endpoint["path"] = info.endpoint
    phases = []
    if info.warmup_request_count or summary.warmup_metrics:
        phases.append(_phase("warmup", info, info.warmup_request_count, None))
    phases.append(_phase("profiling", info, info.request_count, info.benchmark_duration))
    config: dict = {
        "models": {"items": [{"name": m} for m in info.model.split(",") if m]},
        "endpoint": endpoint,
        "datasets": [aiperf_dataset(summary)],
        "phases": phases,
        "artifacts": {"dir": str(artifact_dir.resolve()) if artifact_dir else info.artifact_dir},
    }
    if fixed_slos(info.goodput):
        config["slos"] = fixed_slos(info.goodput)  # per-passage bounds are rankperf's: under "rankperf"
    config["tokenizer"] = {"name": info.tokenizer}
    return config


def token_counts(info: RunInfo | None) -> str | None:
    """How the token metrics were counted: "tokenizer", "word-level estimate", or None (no counts)."""
    if info is None or not info.tokenizer:
        return None
    return WORD_ESTIMATE if info.tokenizer.startswith(WORD_ESTIMATE) else "tokenizer"


def rankperf_section(summary: Summary) -> dict:
    """The export's "rankperf" object: rankperf's own facts and definitions, kept out of AIPerf's keys."""
    info = summary.info
    duration = summary.metrics.get("benchmark_duration")
    return {
        "version": __version__,
        "aiperf_version_means": f"the AIPerf release whose export format this file follows: rankperf "
                                f"{__version__} wrote it, AIPerf did not run",
        "source": summary.source,
        "endpoint_type": info.endpoint_type if info else None,  # input_config's may be AIPerf's nearest type
        "approximate_percentiles": summary.approximate,
        "rate_not_achieved": summary.rate_not_achieved,
        "warnings": list(summary.warnings),
        "late_start_threshold_ms": summary.late_start_threshold_ms,
        "workers": info.workers if info else None,
        "client_cpu": dict(info.client_cpu) if info else {},
        "dataset_distribution": summary.distribution.to_dict() if summary.distribution else None,
        "token_counts": token_counts(info),
        "request_throughput_window": {
            "seconds": duration.value if duration else None,
            "from": RATE_WINDOWS[summary.source][0], "to": RATE_WINDOWS[summary.source][1],
            "aiperf": "AIPerf 0.13.0 divides by its profiling phase window (its start_time to end_time)",
        },
        "pair_token_throughput_means": ("tokens of the (query, passage) pairs scored per second: query "
                                        "tokens x passages + passage tokens, per success (not AIPerf's "
                                        "input_token_throughput)"),
        "options": dict(info.options) if info else {},
    }


def to_aiperf_json(summary: Summary, benchmark_id: str, artifact_dir: Path | None = None) -> dict:
    """profile_export_aiperf.json as a dict, in AIPerf's key order."""
    metrics = summary.metrics
    out: dict = {"schema_version": SCHEMA_VERSION, "aiperf_version": AIPERF_FORMAT_VERSION,
                 "benchmark_id": benchmark_id}
    out.update({tag: metric_json(metrics[tag]) for tag in HEAD_TAGS if tag in metrics})
    if summary.info is not None:
        out["input_config"] = input_config(summary, artifact_dir)
        out["run_info"] = {"benchmark_id": benchmark_id, "random_seed": summary.info.random_seed, "trial": 0,
                           "cli_command": summary.info.cli_command}
    out["was_cancelled"] = summary.was_cancelled
    out["is_complete"] = summary.is_complete
    out["partial"] = summary.partial
    out["notes"] = list(summary.notes)
    out["error_summary"] = [{"error_details": {"code": g.code, "type": g.type, "message": g.message},
                             "count": g.count} for g in summary.errors]
    out["start_time"] = iso_local(summary.start_ns)
    out["end_time"] = iso_local(summary.end_ns)
    if summary.warmup_metrics:
        out["warmup_metrics"] = {tag: metric_json(m) for tag, m in summary.warmup_metrics.items()}
    rest = [t for t in TAIL_FIRST_TAGS if t in metrics] + [t for t in metrics if t not in HEAD_TAGS
                                                          and t not in TAIL_FIRST_TAGS]
    out.update({tag: metric_json(metrics[tag]) for tag in rest})
    out["rankperf"] = rankperf_section(summary)
    out["rankperf"]["ramp_up"] = summary.ramp_up
    if summary.quality is not None:
        out["rankperf"]["quality"] = summary.quality.to_dict()
    model = summary.latency_model
    out["rankperf"]["latency_model"] = model.to_dict() if model is not None else None
    out["rankperf"]["latency_by_passages"] = list(summary.latency_table)
    if summary.info is not None and summary.info.goodput:
        out["rankperf"]["goodput_slos"] = dict(summary.info.goodput)
    if summary.server is not None:
        out["rankperf"]["server_metrics"] = {**summary.server.to_dict(), "note": summary.server_note}
    return out


def dumps_pretty(data: dict) -> bytes:
    # default=str: an option value orjson does not know (a Path, say) is written as its text.
    return orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)


@dataclass(frozen=True)
class MetricValue:
    """A metric as read back from an AIPerf-shaped JSON export (AIPerf's or ours)."""

    tag: str
    unit: str
    values: dict[str, float]  # every key but "unit": avg, p50, count, ...

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self.values)


def read_aiperf_json(path: str | Path) -> dict[str, MetricValue]:
    """The top-level metric objects of a profile_export_aiperf.json (any object with a "unit")."""
    data = orjson.loads(Path(path).read_bytes())
    return {
        tag: MetricValue(tag, obj["unit"], {k: v for k, v in obj.items() if k != "unit"})
        for tag, obj in data.items()
        if isinstance(obj, dict) and isinstance(obj.get("unit"), str)
    }


# ---- AIPerf CSV -----------------------------------------------------------------------------------


def csv_label(metric: Metric) -> str:
    return metric.header if metric.unit in CSV_UNITLESS else f"{metric.header} ({metric.unit})"


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def to_aiperf_csv(summary: Summary) -> str:
    """profile_export_aiperf.csv as AIPerf lays it out (CRLF): record metrics, a blank line, scalars,
    two blank lines, the (empty) GPU telemetry block; rows alphabetical."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    records = sorted((m for m in summary.metrics.values() if m.is_record), key=csv_label)
    scalars = sorted((m for m in summary.metrics.values() if not m.is_record), key=csv_label)
    writer.writerow(("Metric", *CSV_RECORD_COLUMNS))
    for m in records:
        writer.writerow((csv_label(m), *(_fmt(m.stat(c)) for c in CSV_RECORD_COLUMNS)))
    writer.writerow(())
    writer.writerow(("Metric", "Value"))
    for m in scalars:
        writer.writerow((csv_label(m), _fmt(m.value)))
    writer.writerow(())
    writer.writerow(())
    writer.writerow(CSV_GPU_HEADER)
    return buf.getvalue()


# ---- per-request JSONL ----------------------------------------------------------------------------


def _json_floats(values: np.ndarray) -> list[str]:
    """Shortest round-trip text of each float (JSON null for NaN), converted in numpy."""
    as64 = values.astype(np.float64)
    text = as64.astype(StringDType())
    return np.where(np.isnan(as64), "null", text).tolist()


def _kb(values: np.ndarray) -> list[str]:
    return _json_floats(values / 1024.0)


_META = ('{"metadata":{"session_num":%d,"x_request_id":"%s-%08d","conversation_id":"session_%06d",'
         '"turn_index":0,"credit_issued_ns":%d,"request_start_ns":%d,"request_end_ns":%d,'
         '"worker_id":"worker_%d","benchmark_phase":"%s","phase_name":"%s","was_cancelled":false},')
_RANKPERF = '"rankperf":{' + ",".join(f'"{name}":%s' for name in FIELD_NAMES) + "}}\n"
_FLOAT_FIELDS = [name for name, kind in RECORD_FIELDS if kind.startswith("f")]


def _value(tag: str, text: str) -> str:
    return f'"{tag}":{{"value":{text},"unit":"{DEFINITIONS[tag][1]}"}}'


def jsonl_chunks(records: np.ndarray, messages: list[str], open_loop: bool, id_prefix: str,
                 chunk: int = 8192) -> Iterator[bytes]:
    """profile_export.jsonl, a few thousand lines at a time: AIPerf's per-record shape (metadata,
    metrics or error) plus a "rankperf" object holding every record field exactly (ints, ns; NaN as
    null) so that load.py can rebuild the run losslessly.

    Numbers become text column by column in numpy; the loop only pastes strings (building a dict
    and calling orjson per line was several times slower).
    """
    errors: dict[tuple[int, int, int], str] = {}  # one error object per distinct (kind, status, message)
    # slice by slice: per-row Python objects exist for one slice at a time, so memory stays bounded
    for offset in range(0, records.size, chunk):
        yield _jsonl_block(records[offset:offset + chunk], offset, messages, open_loop, id_prefix, errors)


def _jsonl_block(records: np.ndarray, offset: int, messages: list[str], open_loop: bool, id_prefix: str,
                 errors: dict[tuple[int, int, int], str]) -> bytes:
    cols = {name: records[name].tolist() for name in FIELD_NAMES}
    for name in _FLOAT_FIELDS:
        cols[name] = _json_floats(records[name])
    latency = _json_floats((records["end_ns"] - records["start_ns"]) / 1e6)
    intended = _json_floats((records["end_ns"] - records["intended_ns"]) / 1e6)
    lag = _json_floats((records["start_ns"] - records["intended_ns"]) / 1e6)
    sent, received = _kb(records["request_bytes"]), _kb(records["response_bytes"])
    i_index, i_phase, i_worker, i_status, i_kind, i_msg, i_int, i_start, i_end, i_rb, i_sb = (
        FIELD_NAMES.index(k) for k in ("index", "phase", "worker", "status", "error_kind", "error_msg",
                                       "intended_ns", "start_ns", "end_ns", "request_bytes", "response_bytes"))
    out: list[str] = []
    for r, row in enumerate(zip(*(cols[name] for name in FIELD_NAMES), strict=True)):
        phase = PHASE_NAMES.get(row[i_phase], str(row[i_phase]))
        head = _META % (row[i_index], id_prefix, offset + r, row[i_index], row[i_int], row[i_start], row[i_end],
                        row[i_worker], phase, phase)
        kind = row[i_kind]
        if kind == ErrorKind.OK:
            parts = [_value("request_latency", latency[r])]
            if open_loop:
                parts += [_value("intended_latency", intended[r]), _value("schedule_lag", lag[r])]
            if row[i_rb] >= 0:
                parts.append(_value("http_req_data_sent", sent[r]))
            if row[i_sb] >= 0:
                parts.append(_value("http_req_data_received", received[r]))
            body = '"metrics":{' + ",".join(parts) + "},"
        else:
            key = (kind, row[i_status], row[i_msg])
            body = errors.get(key)
            if body is None:
                status, msg_id = row[i_status], row[i_msg]
                error = {"code": status if kind == ErrorKind.HTTP else None, "type": error_type(kind, status),
                         "message": messages[msg_id] if 0 <= msg_id < len(messages) else ""}
                body = errors[key] = '"metrics":{},"error":' + orjson.dumps(error).decode() + ","
        out.append(head + body + _RANKPERF % row)
    return "".join(out).encode()


def run_json(info: RunInfo, start_ns: int, end_ns: int, was_cancelled: bool, partial: bool,
             notes: list[str], messages: list[str], n_records: int, benchmark_id: str) -> dict:
    """run.json: what `rankperf report DIR` needs beside the JSONL to rebuild the RunResult."""
    return {
        "rankperf_version": __version__,
        "benchmark_id": benchmark_id,
        "info": info.to_dict(),
        "start_ns": start_ns,
        "end_ns": end_ns,
        "was_cancelled": was_cancelled,
        "partial": partial,
        "notes": list(notes),
        "messages": list(messages),
        "records": n_records,
    }
