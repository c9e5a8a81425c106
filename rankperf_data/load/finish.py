"""End of a run on the master: assemble the RunResult, write artifacts, print the table.

Also the small side outputs that need the master's view: progress for `rankperf profile`,
Locust's final CSVs (rewritten at the true end: the periodic ones can be a second stale), and
``inputs.json``.
"""

from __future__ import annotations

import csv
import logging
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import orjson

from rankperf_data import apis
from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.source import build_dataset
from rankperf_data.load.coordinator import Coordinator
from rankperf_data.load.records import PHASE_PROFILING
from rankperf_data.load.settings import LoadSettings
from rankperf_data.report.artifacts import collect_secrets, default_artifact_dir, scrub_bytes, write_artifacts
from rankperf_data.report.console import render_console
from rankperf_data.report.metrics import summarize
from rankperf_data.report.run import RunInfo, RunResult

log = logging.getLogger("rankperf")

PROGRESS_ENV = "RANKPERF_PROGRESS_FILE"
CLI_COMMAND_ENV = "RANKPERF_CLI_COMMAND"
INPUTS_CAP = 1000  # inputs.json holds at most this many distinct bodies; any other is regenerable from the seed


def write_progress(coord: Coordinator) -> None:
    """A one-line JSON progress file for `rankperf profile` (only when asked for)."""
    path = os.environ.get(PROGRESS_ENV)
    if not path:
        return
    data = {
        "done": coord.profiling_count(),
        "records": len(coord.store),
        "total": coord.measured,
        "warmup": coord.warmup,
        "elapsed": time.monotonic() - coord.started_mono,
        "measured_elapsed": (time.monotonic() - coord.measured_started_mono) if coord.measured_started_mono else 0.0,
        "rate": coord.measured_rate(),
    }
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(orjson.dumps(data))
    os.replace(tmp, path)


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
    if settings.endpoint:
        return settings.endpoint
    if api is apis.cohere and settings.cohere_api_version == "v1":
        return apis.cohere.v1_path
    return api.default_path


def build_result(environment, coord: Coordinator, state, cancelled: bool) -> tuple[RunResult, object, object]:
    config = state.master_config
    values = config["values"]
    settings = LoadSettings.from_values(values)
    api = _api_for(environment)
    records = coord.store.array().copy()
    prof = records[records["phase"] == PHASE_PROFILING]
    start_ns = int(prof["start_ns"].min()) if len(prof) else 0
    end_ns = int(prof["end_ns"].max()) if len(prof) else 0
    dataset = state.master_dataset or build_dataset(
        DatasetConfig.from_options({**values, "random_seed": config["seed"]}))
    users = int(getattr(environment.parsed_options, "num_users", 1) or 1)
    artifact_dir = settings.artifact_dir or str(
        default_artifact_dir(settings.model, api.endpoint_type, None if settings.open_loop else users,
                             settings.rate or None)
    )
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
        random_seed=config["seed"],
        tokenizer=dataset.tokenizer_description,
        dataset=dataset.describe(),
        goodput=settings.goodput,
        cli_command=os.environ.get(CLI_COMMAND_ENV) or shlex.join(["locust", *sys.argv[1:]]),
        options=values,
        artifact_dir=str(Path(artifact_dir).resolve()),
        workers=len(coord.nodes),
        client_cpu=coord.client_cpu(),
    )
    notes = list(coord.notes)
    if settings.request_count and not cancelled and not coord.partial and len(prof) != settings.request_count:
        notes.append(f"expected {settings.request_count} measured requests, recorded {len(prof)}")
    return RunResult(
        records=records,
        messages=list(coord.store.messages.messages),
        info=info,
        start_ns=start_ns,
        end_ns=end_ns,
        was_cancelled=cancelled,
        partial=coord.partial or bool(notes and not cancelled),
        notes=notes,
    ), dataset, api


def write_inputs(path: Path, dataset, api, settings: LoadSettings, records: np.ndarray,
                 secrets: list[str]) -> None:
    """The distinct bodies used: the pool/file entries, or the first INPUTS_CAP requests sent."""
    if dataset.entries:
        indices = range(min(dataset.entries, INPUTS_CAP))
    else:
        sent = np.unique(records["index"])
        indices = sent[:INPUTS_CAP].tolist()
    data = []
    for i in indices:
        request = dataset.get(int(i))
        body = _encode(api, request, settings)
        data.append({"session_id": f"session_{int(i):06d}", "payloads": [orjson.loads(body)]})
    # a secret passed in --extra-inputs would be in the bodies: scrub like every other artifact
    path.write_bytes(scrub_bytes(orjson.dumps({"data": data}, option=orjson.OPT_INDENT_2), secrets))


def _encode(api, request, settings: LoadSettings) -> bytes:
    if api is apis.cohere:
        return api.encode(request, settings.model, settings.extra, settings.top_n)
    return api.encode(request, settings.model, settings.extra)


def write_locust_csvs(environment) -> None:
    """Rewrite Locust's --csv files from the final numbers (the periodic writer can be stale)."""
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if not prefix:
        return
    from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for suffix, method in (("stats", writer.requests_csv), ("failures", writer.failures_csv),
                           ("exceptions", writer.exceptions_csv)):
        with open(f"{prefix}_{suffix}.csv", "w", newline="") as fh:
            method(csv.writer(fh))


def finalize(environment, coord: Coordinator, state, cancelled: bool) -> Path | None:
    """Write every artifact of the run once; print the table. Returns the artifacts directory."""
    if coord.finished:
        return None
    coord.finished = True
    result, dataset, api = build_result(environment, coord, state, cancelled)
    out = Path(result.info.artifact_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = LoadSettings.from_values(result.info.options)
    write_inputs(out / "inputs.json", dataset, api, settings, result.records, collect_secrets(result.info))
    write_artifacts(result, out)
    write_locust_csvs(environment)
    console_text = render_console(summarize(result))
    sys.stdout.write(console_text + "\n")
    sys.stdout.write(f"rankperf: artifacts in {out}\n")
    sys.stdout.flush()
    return out


def exit_code(coord: Coordinator) -> int | None:
    """0 when any measured request succeeded; 1 when every one failed (or none was recorded)."""
    records = coord.store.array()
    prof = records[records["phase"] == PHASE_PROFILING]
    if len(prof) == 0:
        return 1
    return 0 if (prof["error_kind"] == 0).any() else 1

