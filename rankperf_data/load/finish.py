"""End of a run on the master: assemble the RunResult, write artifacts and ``inputs.json``, print the table."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from pathlib import Path

import numpy as np
import orjson

from rankperf_data import apis
from rankperf_data.load import kept_records, locust_files, ramp
from rankperf_data.load.coordinator import Coordinator
from rankperf_data.load.settings import LoadSettings
from rankperf_data.redact import collect_secrets, scrub_bytes
from rankperf_data.report import sketch_summary
from rankperf_data.report.artifacts import default_artifact_dir, write_artifacts
from rankperf_data.results.disk import SKETCHES_FILE
from rankperf_data.results.record_dirs import RECORDS_SUBDIR
from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.results.run import RunInfo, RunResult

log = logging.getLogger("rankperf")

CLI_COMMAND_ENV = "RANKPERF_CLI_COMMAND"
# inputs.json: with a pool (--num-dataset-entries) or an --input-file the entries ARE the input, so
# all are written, up to a hard cap (≈9 KB and ≈0.2 ms each at the default shape: 10,000 entries
# ≈ 90 MB, ≈ 2 s at the end of the run). Otherwise every request is distinct and regenerable from
# the seed: the first REQUEST_INPUTS_CAP requests sent are written.
POOL_INPUTS_CAP = 10_000
REQUEST_INPUTS_CAP = 1000


def _api_for(environment):
    classes = [c.__name__ for c in (environment.user_classes or [])]
    chosen = [c for c in classes if c in apis.BY_USER_CLASS]
    runner = environment.runner
    # with the class picker the runner knows which classes the user picked
    picked = getattr(runner, "user_classes", None) or []
    picked_names = [c.__name__ for c in picked if c.__name__ in apis.BY_USER_CLASS]
    names = picked_names or chosen
    return apis.BY_USER_CLASS[names[0]] if names else apis.tei


def _endpoint_path(api, settings: LoadSettings) -> str:
    return settings.endpoint or api.route(settings.cohere_api_version)


def artifact_dir_for(environment, settings: LoadSettings) -> str:
    """The run's folder: --artifact-dir, or AIPerf's naming rule."""
    users = int(getattr(environment.parsed_options, "num_users", 1) or 1)
    return settings.artifact_dir or str(
        default_artifact_dir(settings.model, _api_for(environment).endpoint_type,
                             None if settings.open_loop else users, settings.rate or None))


RECORDS_DIR = RECORDS_SUBDIR  # in the run's folder: one file per load process, appended as it goes


def records_dir_for(environment, settings: LoadSettings) -> Path:
    """Where the load processes on this host append their records (created here, by the master)."""
    path = Path(artifact_dir_for(environment, settings)).resolve() / RECORDS_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_result(environment, coord: Coordinator, state, cancelled: bool) -> tuple[RunResult, object, object]:
    config = state.master_config
    run = state.master_run
    settings = run.settings
    api = _api_for(environment)
    # read from the record files column by column when a statistic asks: never every row at once
    records, messages = coord.record_source()
    prof = records[records["phase"] == PHASE_PROFILING]
    start_ns = int(prof["start_ns"].min()) if len(prof) else 0
    end_ns = int(prof["end_ns"].max()) if len(prof) else 0
    dataset = state.master_dataset or run.build_dataset()
    users = int(getattr(environment.parsed_options, "num_users", 1) or 1)
    artifact_dir = artifact_dir_for(environment, settings)
    info = RunInfo(
        endpoint_type=api.endpoint_type,
        url=(environment.host or "").rstrip("/"),
        endpoint=_endpoint_path(api, settings),
        model=settings.model,
        concurrency=users,
        request_rate=settings.rate or None,
        arrival_pattern=settings.pattern if settings.open_loop else None,
        request_count=settings.request_count or None,
        warmup_request_count=settings.warmup,
        benchmark_duration=settings.duration or None,
        random_seed=run.seed,
        tokenizer=dataset.tokenizer_description,
        dataset=dataset.describe(),
        goodput=settings.goodput,
        cli_command=os.environ.get(CLI_COMMAND_ENV) or shlex.join(["locust", *sys.argv[1:]]),
        options=run.values,
        artifact_dir=str(Path(artifact_dir).resolve()),
        workers=len(coord.nodes),
        client_cpu=coord.client_cpu(),
        quality_references=dict(config.get("reference_counts") or {}),
        ramp_up=ramp.CLOCK.describe(users),
    )
    kept = coord.kept_workers()
    notes = list(coord.notes) + coord.summary_check(None if kept else len(prof))
    notes += kept_records.sketch_note(kept, coord.summaries.report())
    # records stayed on some workers' hosts: the report's figures come from every worker's summaries
    merged = coord.summaries.state() if kept else None
    window = sketch_summary.merged_window(merged) if merged is not None else None
    if window is not None:
        start_ns, end_ns = window
    measured = coord.summaries.requests.get(PHASE_PROFILING, 0) if kept else len(prof)
    if settings.request_count and not cancelled and not coord.partial and measured != settings.request_count:
        notes.append(f"expected {settings.request_count} measured requests, {'counted' if kept else 'recorded'} {measured}")
    return RunResult(
        records=records,
        messages=messages,
        info=info,
        start_ns=start_ns,
        end_ns=end_ns,
        was_cancelled=cancelled,
        partial=coord.partial or bool(notes and not cancelled),
        notes=notes,
        merged_summaries=merged,
    ), dataset, api


def write_inputs(path: Path, dataset, api, settings: LoadSettings, records: np.ndarray,
                 secrets: list[str]) -> str | None:
    """The distinct bodies used: every pool/file entry (up to POOL_INPUTS_CAP), or the first
    REQUEST_INPUTS_CAP requests sent. Returns a note when the pool was cut at the cap."""
    note = None
    if dataset.entries:
        indices = range(min(dataset.entries, POOL_INPUTS_CAP))
        if dataset.entries > POOL_INPUTS_CAP:
            note = (f"inputs.json holds the first {POOL_INPUTS_CAP:,} of {dataset.entries:,} dataset entries "
                    "(its cap); the others are regenerable from the seed or the input file")
    else:
        sent = np.unique(records["index"])
        indices = sent[:REQUEST_INPUTS_CAP].tolist()
    data = []
    for i in indices:
        request = dataset.get(int(i))
        body = _encode(api, request, settings)
        data.append({"session_id": f"session_{int(i):06d}", "payloads": [orjson.loads(body)]})
    # a secret passed in --extra-inputs would be in the bodies: scrub like every other artifact
    path.write_bytes(scrub_bytes(orjson.dumps({"data": data}, option=orjson.OPT_INDENT_2), secrets))
    return note


def _encode(api, request, settings: LoadSettings) -> bytes:
    return api.encode(request, settings.model, settings.extra, settings.top_n)


def finalize(environment, coord: Coordinator, state, cancelled: bool) -> Path | None:
    """Write every artifact of the run once; print the table. Returns the artifacts directory."""
    if coord.finished:
        return None
    coord.finished = True
    scraper, state.scraper = getattr(state, "scraper", None), None
    result, dataset, api = build_result(environment, coord, state, cancelled)
    settings = state.master_run.settings
    if scraper is not None:
        try:
            result.server_metrics = scraper.finish()  # the final scrape: every answer is in
        except Exception:  # server metrics are an extra: the run's own report is written regardless
            log.exception("rankperf: server metrics: the final scrape failed; no server metrics for this run")
    probe, state.rtt_probe = getattr(state, "rtt_probe", None), None
    if probe is not None:
        result.info.network_rtt_ms = probe.finish()
        _write_rtt_samples(Path(result.info.artifact_dir), probe.samples)
    elif settings.rtt_mean_ms is not None:
        result.info.network_rtt_ms = settings.rtt_mean_ms
    out = Path(result.info.artifact_dir)
    out.mkdir(parents=True, exist_ok=True)
    note = write_inputs(out / "inputs.json", dataset, api, settings, result.records, collect_secrets(result.info))
    if note:
        result.notes.append(note)
    paths = write_artifacts(result, out)
    sketches = {**coord.summaries.report(), "records_kept_elsewhere": coord.kept_workers(), "merged": coord.summaries.state().to_dict()}
    (out / SKETCHES_FILE).write_bytes(orjson.dumps(sketches, option=orjson.OPT_INDENT_2))
    locust_files.write_locust_csvs(environment)  # now (a web UI stop may be followed by more runs) and again at `quit`
    locust_files.rewrite_locust_files_at_quit(environment)
    # The table write_artifacts just rendered (redacted, like `rankperf profile` prints it): a second
    # summarize here, on a heap the JSONL export has grown, set the soak test's peak RSS.
    console_text = paths["console"].read_text(encoding="utf-8")
    sys.stdout.write(console_text + "\n")
    sys.stdout.write(f"rankperf: artifacts in {out}\n")
    sys.stdout.flush()
    return out


def _write_rtt_samples(out: Path, samples: list[dict]) -> None:
    """AIPerf's profile_export_network_latency.jsonl: one probe per line."""
    from rankperf_data.load.rtt_probe import SAMPLES_FILE

    out.mkdir(parents=True, exist_ok=True)
    (out / SAMPLES_FILE).write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in samples))


def exit_code(coord: Coordinator) -> int | None:
    """0 when any measured request succeeded; 1 when every one failed (or none was recorded)."""
    records, _ = coord.record_source()
    measured = records["phase"] == PHASE_PROFILING
    if (records["error_kind"][measured] == 0).any():
        return 0
    # records kept on workers' hosts (--records-dir) are not here: their successes are counted
    return 0 if coord.kept_workers() and coord.summaries.ok.get(PHASE_PROFILING, 0) > 0 else 1

