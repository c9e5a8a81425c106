"""The four clients: how each is invoked, and what its own report says (requests/s, latency, lag)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import peers
from common import OUT, ROOT, VENV, Proc, loadavg, percentile, run

MODEL = "BAAI/bge-reranker-base"
COMMON = ["--endpoint-type", "hf_tei_rankings", "--random-seed", "1", "--ui-type", "none"]
DISTINCT_REQUESTS = 100  # both tools cycle through this many distinct bodies
BODY_FILE = OUT / "body.json"  # one rankperf request body, for bare Locust and wrk


@dataclass
class Spec:
    """One run: which tool, against what, how much."""

    tool: str  # rankperf | aiperf | locust_bare | wrk
    url: str
    requests: int = 0  # rankperf / AIPerf: --request-count
    seconds: float = 0.0  # bare Locust / wrk: run time
    concurrency: int = 50
    workers: int = 0  # rankperf --workers; AIPerf --workers-max
    rate: float = 0.0  # open loop, Poisson
    label: str = ""
    input_file: Path | None = None  # rankperf / AIPerf: send these single_turn bodies instead of synthetic ones
    code: Path | None = None  # rankperf: run the tree found here with its own venv (.venv), e.g. an older commit's


def _dataset_args(spec: Spec) -> list[str]:
    """The same bodies for both tools: a shared single_turn JSONL, or each tool's own synthetic data."""
    if spec.input_file:
        return ["--input-file", str(spec.input_file), "--custom-dataset-type", "single_turn"]
    return ["--num-dataset-entries", str(DISTINCT_REQUESTS)]


def command(spec: Spec, art: Path) -> tuple[list[str], dict]:
    """The exact command line and environment of a run."""
    if spec.tool == "rankperf":
        cmd = [str(VENV / "bin" / "rankperf"), "profile", "-m", MODEL, "--url", spec.url, *COMMON, *_dataset_args(spec),
               "--request-count", str(spec.requests), "--concurrency", str(spec.concurrency),
               "--tokenizer", str(peers.TOKENIZER_DIR), "--artifact-dir", str(art)]
        if spec.workers:
            cmd += ["--workers", str(spec.workers)]
        if spec.rate:
            cmd += ["--request-rate", f"{spec.rate:.1f}", "--arrival-pattern", "poisson"]
        if spec.code:  # its own venv: an editable install's import hook would win over PYTHONPATH
            cmd[0] = str(spec.code / ".venv" / "bin" / "rankperf")
        return cmd, dict(os.environ)
    if spec.tool == "aiperf":
        cmd = [str(peers.AIPERF), "profile", "-m", MODEL, "--url", spec.url, *COMMON, *_dataset_args(spec),
               "--request-count", str(spec.requests), "--tokenizer", peers.TOKENIZER_REPO,
               "--no-server-metrics", "--no-gpu-telemetry", "--artifact-dir", str(art)]
        if spec.concurrency:
            cmd += ["--concurrency", str(spec.concurrency)]
        if spec.workers:
            cmd += ["--workers-max", str(spec.workers)]
        if spec.rate:
            cmd += ["--request-rate", f"{spec.rate:.1f}", "--arrival-pattern", "poisson"]
        return cmd, peers.aiperf_env()
    env = {**os.environ, "BENCH_BODY_FILE": str(BODY_FILE)}
    if spec.tool == "locust_bare":
        if spec.requests:  # stop after this many requests (the memory run); -t stays as the bound
            env["BENCH_MAX_REQUESTS"] = str(spec.requests)
        users = str(spec.concurrency)
        cmd = [str(VENV / "bin" / "locust"), "-f", str(ROOT / "bare_locustfile.py"), "--headless",
               "-H", spec.url, "-u", users, "-r", users, "-t", f"{spec.seconds:g}s", "--stop-timeout", "1",
               "--json-file", str(art / "locust"), "--only-summary", "--exit-code-on-error", "0"]
        return cmd, env
    if spec.tool == "wrk":
        cmd = ["wrk", "-t1", f"-c{spec.concurrency}", f"-d{spec.seconds:g}s", "-s", str(ROOT / "wrk_post.lua"),
               f"{spec.url}/rerank"]
        return cmd, env
    raise ValueError(spec.tool)


def execute(spec: Spec, art: Path, timeout: float, target_pids: tuple[int, ...] = (),
            memory: bool = False, records: bool = False) -> dict:
    """Run one client, then fold its own report and the run's accounting into one dict."""
    art.mkdir(parents=True, exist_ok=True)
    cmd, env = command(spec, art)
    load_1m = loadavg()
    proc = run(cmd, art / "client.log", timeout, env=env, memory=memory, target_pids=target_pids)
    report = PARSERS[spec.tool](art, proc, records)
    out = {"tool": spec.tool, "label": spec.label or spec.tool, "concurrency": spec.concurrency,
           "workers": spec.workers, "offered_rate": spec.rate or None, **report, **proc.as_dict(),
           "loadavg_1m_at_start": load_1m}
    n = report.get("requests") or 0
    out["cpu_us_per_req"] = round(proc.cpu_s / n * 1e6, 1) if n else None
    if proc.rc != 0 or proc.timed_out or not n:
        out["error"] = _tail(art / "client.log")
    return out


def _tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stat(metric: dict | None, key: str) -> float | None:
    return None if not metric else metric.get(key)


def _common_metrics(d: dict) -> dict:
    """The fields both tools' profile_export_aiperf.json share (AIPerf's names), one definition for both.

    req_s = successes / benchmark_duration (first request sent to last response received, the
    same definition in both tools). Not each tool's request_throughput: AIPerf 0.13.0 divides by
    its phase window, rankperf by benchmark_duration.
    """
    lat = d.get("request_latency")
    requests = int(_stat(d.get("request_count"), "avg") or 0)
    duration = _stat(d.get("benchmark_duration"), "avg")
    return {
        "req_s": requests / duration if duration else None,
        "requests": requests,
        "errors": int(_stat(d.get("error_request_count"), "avg") or 0),
        "duration_s": duration,
        "p50_ms": _stat(lat, "p50"), "p99_ms": _stat(lat, "p99"),
    }


def parse_rankperf(art: Path, proc: Proc, records: bool) -> dict:
    """rankperf's profile_export_aiperf.json (+ start_ns - intended_ns from the jsonl)."""
    path = art / "profile_export_aiperf.json"
    if not path.exists():
        return {}
    d = json.loads(path.read_text())
    intended = d.get("intended_latency")
    rp = d.get("rankperf", {})
    out = {
        **_common_metrics(d),
        "intended_p50_ms": _stat(intended, "p50"), "intended_p99_ms": _stat(intended, "p99"),
        "achieved_rate": _stat(d.get("achieved_rate"), "avg"),
        "rate_not_achieved": rp.get("rate_not_achieved"),
        "warnings": rp.get("warnings", []),
    }
    if records:
        out.update(_rankperf_records(art / "profile_export.jsonl"))
    return out


STEADY_AFTER_NS = 1_000_000_000  # "steady state": arrivals scheduled at least 1 s after the first one


def _lag_stats(scheduled: list[int], starts: list[int]) -> dict:
    """Lag (send - scheduled) percentiles over the run and over its steady state, and the send rate."""
    if not starts:
        return {}
    lags = [(s - t) / 1e6 for t, s in zip(scheduled, starts, strict=True)]
    t0 = min(scheduled)
    steady = [lag for t, lag in zip(scheduled, lags, strict=True) if t - t0 >= STEADY_AFTER_NS]
    span = (max(starts) - min(starts)) / 1e9
    # the schedule's own pace: span of intended send times / span of actual send times (1.0 = on pace)
    pace = (max(scheduled) - min(scheduled)) / 1e9 / span if span else None
    return {"schedule_pace": pace, "lag_p50_ms": percentile(lags, 50), "lag_p99_ms": percentile(lags, 99), "lag_max_ms": max(lags),
            "lag_p99_after_1s_ms": percentile(steady, 99), "lag_max_after_1s_ms": max(steady, default=None),
            "sent_rate": (len(starts) - 1) / span if span else None}


def _in_flight(starts: list[int], ends: list[int]) -> dict:
    """Most requests in flight at once, and for how long (s) that many were: is the cap (-u) ever the limit?"""
    events = sorted([(t, 1) for t in starts] + [(t, -1) for t in ends])
    now = peak = 0
    at_peak_ns = 0
    for (t, step), (t_next, _) in zip(events, [*events[1:], events[-1]], strict=True):
        now += step
        if now > peak:
            peak, at_peak_ns = now, 0
        if now == peak:
            at_peak_ns += t_next - t
    return {"in_flight_max": peak, "in_flight_max_for_s": at_peak_ns / 1e9}


def _rankperf_records(path: Path) -> dict:
    scheduled, starts, ends, sizes = [], [], [], []
    with open(path, "rb") as f:
        for line in f:
            r = json.loads(line)["rankperf"]
            scheduled.append(r["intended_ns"])
            starts.append(r["start_ns"])
            ends.append(r["end_ns"])
            sizes.append(r["request_bytes"])
    return {**_lag_stats(scheduled, starts), **(_in_flight(starts, ends) if starts else {}),
            "request_bytes_mean": sum(sizes) / len(sizes) if sizes else None}


def parse_aiperf(art: Path, proc: Proc, records: bool) -> dict:
    """AIPerf's profile_export_aiperf.json (+ send - credit issue from its jsonl)."""
    path = art / "profile_export_aiperf.json"
    if not path.exists():
        return {}
    d = json.loads(path.read_text())
    eff, c2s = d.get("effective_latency"), d.get("credit_to_start_latency")
    out = {
        **_common_metrics(d),
        "effective_p50_ms": _stat(eff, "p50"), "effective_p99_ms": _stat(eff, "p99"),
        "credit_to_start_p99_ms": _stat(c2s, "p99"),
    }
    if records:
        out.update(_aiperf_records(art / "profile_export.jsonl"))
    return out


def _aiperf_records(path: Path) -> dict:
    """AIPerf exports no intended send time: the credit issue time is the closest it has (lag = credit_to_start)."""
    credits, starts = [], []
    with open(path, "rb") as f:
        for line in f:
            m = json.loads(line)["metadata"]
            if m.get("benchmark_phase") == "profiling":
                credits.append(m["credit_issued_ns"])
                starts.append(m["request_start_ns"])
    cspan = (max(credits) - min(credits)) / 1e9 if len(credits) > 1 else 0
    return {**_lag_stats(credits, starts), "credit_rate": (len(credits) - 1) / cspan if cspan else None}


def parse_locust(art: Path, proc: Proc, records: bool) -> dict:
    """Bare Locust's --json-file: requests / (last request - start), Locust's own Requests/s rule."""
    path = art / "locust.json"
    if not path.exists():
        return {}
    rows = json.loads(path.read_text())
    n = sum(r["num_requests"] for r in rows)
    if not rows or not n:
        return {"requests": 0}
    span = max(r["last_request_timestamp"] for r in rows) - min(r["start_time"] for r in rows)
    return {"req_s": n / span if span else None, "requests": n, "errors": sum(r["num_failures"] for r in rows),
            "duration_s": span}


def parse_wrk(art: Path, proc: Proc, records: bool) -> dict:
    """wrk's summary: 'Requests/sec:' and 'N requests in'."""
    text = Path(proc.log).read_text(errors="replace")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    count = re.search(r"(\d+) requests in ([\d.]+)(m?s)", text)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out = {"req_s": float(rate.group(1)) if rate else None, "requests": int(count.group(1)) if count else 0,
           "errors": int(errors.group(1)) if errors else 0}
    if count:
        out["duration_s"] = float(count.group(2)) / (1000 if count.group(3) == "ms" else 1)
    return out


PARSERS = {"rankperf": parse_rankperf, "aiperf": parse_aiperf, "locust_bare": parse_locust, "wrk": parse_wrk}
