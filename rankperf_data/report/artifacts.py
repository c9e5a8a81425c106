"""A run's artifact directory: its default name and writing every export (secrets redacted)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import orjson

from rankperf_data.redact import collect_secrets, redact_info, redact_text, scrub_bytes
from rankperf_data.report import export
from rankperf_data.report.console import render_console
from rankperf_data.report.metrics import is_open_loop, summarize
from rankperf_data.results.disk import FILES
from rankperf_data.results.run import RunResult

# ---- naming ---------------------------------------------------------------------------------------


def default_artifact_dir(model: str, endpoint_type: str, concurrency: int | None, request_rate: float | None,
                         *, concurrency_explicit: bool = False, root: str | Path = "artifacts") -> Path:
    """AIPerf's rule: ``<root>/<model, "/"->"_">[_multi]-openai-<endpoint_type>-<stimulus>``.

    stimulus: ``concurrency<N>`` without a rate; ``request_rate<R>`` (R as a float, e.g. 100.0) with
    one; ``concurrency<N>-request_rate<R>`` when a rate is given and the caller flags the
    concurrency as explicitly set (in open loop it is then the in-flight cap, which AIPerf names).
    """
    models = [m for m in model.split(",") if m.strip()] or ["model"]
    name = models[0].strip().replace("/", "_") + ("_multi" if len(models) > 1 else "")
    n = concurrency or 1
    if request_rate:
        stimulus = f"request_rate{float(request_rate)}"
        if concurrency_explicit:
            stimulus = f"concurrency{n}-{stimulus}"
    else:
        stimulus = f"concurrency{n}"
    return Path(root) / f"{name}-openai-{endpoint_type}-{stimulus}"


def benchmark_id(result: RunResult) -> str:
    """12 hex digits derived from the run itself, so rebuilding the exports keeps the same id."""
    info = result.info
    key = f"{info.model}|{info.endpoint_type}|{info.url}|{result.start_ns}|{result.end_ns}|{result.records.size}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


# profile_export.jsonl is written this many rows at a time: each row is ~1 KB of text plus its fields
# as Python objects for a moment, so 1024 rows keep that under ~5 MB (8192 rows cost ~40 MB of peak).
JSONL_CHUNK_ROWS = 1024

# ---- writing --------------------------------------------------------------------------------------


def write_artifacts(result: RunResult, out_dir: str | Path, *, secrets: Iterable[str] = (),
                    include_records: bool = True) -> dict[str, Path]:
    """Write the JSON, CSV, console text, and (unless include_records=False) the JSONL and run.json.

    Every RunInfo string, option and error message passes through redaction first, and every file's
    bytes are scrubbed of known secrets. inputs.json and other files in out_dir are left alone.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    known = collect_secrets(result.info, secrets)
    clean = replace(result, info=redact_info(result.info, known),
                    messages=[redact_text(m, known) for m in result.messages],
                    notes=[redact_text(n, known) for n in result.notes])
    summary = summarize(clean)
    bid = benchmark_id(clean)
    contents = {
        "json": export.dumps_pretty(export.to_aiperf_json(summary, bid, out)),
        "csv": export.to_aiperf_csv(summary).encode(),
        "console": render_console(summary).encode(),
    }
    if include_records:
        contents["run"] = export.dumps_pretty(export.run_json(
            clean.info, clean.start_ns, clean.end_ns, clean.was_cancelled, clean.partial, clean.notes,
            clean.messages, int(clean.records.size), bid))
    if clean.server_metrics:
        contents.update(_server_metrics_files(clean, bid, include_records))
    if summary.timeslices:
        from rankperf_data.report import timeslices

        config = export.input_config(summary, out) if summary.info is not None else None
        contents[timeslices.JSON_FILE] = export.dumps_pretty(timeslices.to_json(summary.timeslices, config))
        contents[timeslices.CSV_FILE] = timeslices.to_csv(summary.timeslices).encode()
    paths = {}
    for key, data in contents.items():
        paths[key] = out / FILES.get(key, key)
        paths[key].write_bytes(scrub_bytes(data, known))
    if include_records and clean.server_metrics:
        spooled = _write_spooled_scrapes(clean, out, known)
        if spooled is not None:
            paths["server_metrics_scrapes"] = spooled
    if include_records:
        # Streamed: its strings are fixed keys, numbers and the messages redacted above.
        paths["jsonl"] = out / FILES["jsonl"]
        with paths["jsonl"].open("wb") as f:
            for chunk in export.jsonl_chunks(clean.records, clean.messages, is_open_loop(clean.info), bid,
                                             chunk=JSONL_CHUNK_ROWS):
                f.write(chunk)
    return paths


def _server_metrics_files(result: RunResult, bid: str, include_raw: bool) -> dict[str, bytes]:
    """server_metrics_export.{json,csv} (as --server-metrics-formats asks) and the raw scrapes."""
    from rankperf_data.report import server_metrics_export as sme
    from rankperf_data.report.server_metrics import ServerScrapes, compute_window
    from rankperf_data.results.disk import SCRAPES_FILE

    data = ServerScrapes.from_dict(result.server_metrics)
    window_s = (result.end_ns - result.start_ns) / 1e9 if result.end_ns > result.start_ns else None
    profiling = compute_window(data, "profiling", window_s)
    warmup = compute_window(data, "warmup", None)
    out: dict[str, bytes] = {}
    if "json" in data.formats:
        out[sme.JSON_FILE] = export.dumps_pretty(sme.to_json(data, profiling, warmup, bid))
    if "csv" in data.formats:
        out[sme.CSV_FILE] = sme.to_csv(data, profiling).encode()
    if include_raw and data.spool is None:
        out[SCRAPES_FILE] = orjson.dumps(data.to_dict())
    return out


def _write_spooled_scrapes(result: RunResult, out: Path, known: Iterable[str]) -> Path | None:
    """A live run's raw scrapes file, streamed from its spool (the scrapes were never all in memory);
    the spool is removed then: the raw file holds the same scrapes."""
    from rankperf_data.report.server_metrics import ServerScrapes
    from rankperf_data.report.server_scrapes_file import write_raw_file
    from rankperf_data.results.disk import SCRAPES_FILE

    data = ServerScrapes.from_dict(result.server_metrics)
    if data.spool is None:
        return None
    path = out / SCRAPES_FILE
    write_raw_file(data.to_dict(), data.spool, path, lambda b: scrub_bytes(b, known))
    Path(data.spool).unlink(missing_ok=True)
    return path
