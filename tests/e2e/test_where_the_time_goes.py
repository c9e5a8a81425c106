"""`rankperf profile` end to end: server metrics (TEI-named /metrics), per-passage goodput, timeslices, network RTT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_support import BIN, received, run

from rankperf_data.server.testing import start_server


@pytest.fixture(scope="module")
def tei_server():
    with start_server(["--api", "tei", "--fixed-latency-ms", "20"]) as server:
        yield server


def _profile(server, out: Path, env, *extra: str):
    return run([str(BIN / "rankperf"), "profile", "-u", server.url, "--concurrency", "1",
                "--artifact-dir", str(out), "--ui-type", "none", *extra], env, timeout=120)


def test_profile_shows_server_rows_and_writes_the_exports(tei_server, tmp_path, clean_env):
    out = tmp_path / "run"
    proc = _profile(tei_server, out, clean_env, "--request-count", "40", "--warmup-request-count", "10")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Server Request Duration (/metrics)" in proc.stdout
    assert "Server Inference Time, pair mean (/metrics)" in proc.stdout  # (queue: 0, so no row)
    assert "server rows: tei /metrics, histogram_quantile" in proc.stdout
    export = json.loads((out / "server_metrics_export.json").read_text())
    assert export["summary"]["endpoints_successful"] == [tei_server.url + "/metrics"]
    # one user: every warmup answer is in before the first measured grant, so the windows split exactly
    assert export["metrics"]["te_request_duration"]["series"][0]["stats"]["count"] == 40
    assert export["warmup_metrics"]["te_request_duration"]["series"][0]["stats"]["count"] == 10
    csv_lines = (out / "server_metrics_export.csv").read_text().splitlines()
    assert "Endpoint,Metric,Labels,count,sum,avg,count_rate,sum_rate,p50_estimate,p90_estimate,p95_estimate,p99_estimate" \
        in csv_lines
    assert any(line.split(",")[1:4] == ["te_request_duration", "", "40"] for line in csv_lines)
    aiperf = json.loads((out / "profile_export_aiperf.json").read_text())
    rows = aiperf["rankperf"]["server_metrics"]["rows"]
    assert "server_request_duration" in rows and "client_overhead" in rows
    assert not set(rows) & set(aiperf)  # rankperf-only data stays inside "rankperf" (AIPerf forbids unknown keys)
    duration = rows["server_request_duration"]
    assert 20.0 <= duration["avg"] <= aiperf["request_latency"]["avg"]  # the fixed 20 ms, inside the client's time
    lo, hi = duration["p99_bucket"]
    assert lo <= duration["p99"] <= hi
    assert aiperf["rankperf"]["server_metrics"]["overhead_ms"] == pytest.approx(
        aiperf["request_latency"]["avg"] - duration["avg"])
    # `rankperf report` rebuilds the same rows from the stored scrapes
    rebuilt = tmp_path / "rebuilt"
    report = run([str(BIN / "rankperf"), "report", str(out), "-o", str(rebuilt)], clean_env)
    assert report.returncode == 0, report.stderr[-2000:]
    again = json.loads((rebuilt / "profile_export_aiperf.json").read_text())["rankperf"]["server_metrics"]
    assert again["rows"] == rows
    assert json.loads((rebuilt / "server_metrics_export.json").read_text())["metrics"] == export["metrics"]
    # the live run folded each scrape as it came (keeping none); the report recomputes from the raw file:
    # the same bytes, and the raw file (streamed from the spool, which is then gone) holds every scrape
    for name in ("server_metrics_export.json", "server_metrics_export.csv"):
        assert (rebuilt / name).read_bytes() == (out / name).read_bytes(), name
    raw = json.loads((out / "server_metrics_scrapes.json").read_bytes())
    assert len(raw["scrapes"]) == export["summary"]["scrapes"] >= 3
    assert not list(out.rglob("server-scrapes.jsonl"))


def test_no_server_metrics_scrapes_nothing(tmp_path, clean_env):
    with start_server(["--api", "tei", "--zero-latency"]) as server:
        out = tmp_path / "run"
        proc = _profile(server, out, clean_env, "--request-count", "5", "--no-server-metrics")
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert received(server, "/metrics") == 1  # this very read
        assert not (out / "server_metrics_export.json").exists()
        assert "/metrics)" not in proc.stdout


def test_a_metrics_endpoint_that_404s_is_one_warning(tei_server, tmp_path, clean_env):
    out = tmp_path / "run"
    proc = _profile(tei_server, out, clean_env, "--request-count", "5", "--server-metrics", tei_server.url + "/nope")
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [line for line in proc.stdout.splitlines() if "/nope" in line]
    assert len(warnings) == 1 and "HTTP 404" in warnings[0] and "the run goes on" in warnings[0]
    assert "Server Request Duration (/metrics)" in proc.stdout  # the target's own /metrics still counts


@pytest.mark.parametrize("args, words", [
    (["--server-metrics", "not-a-url"], "--server-metrics"),
    (["--server-metrics", "ftp://h:1/metrics"], "--server-metrics"),
    (["--server-metrics", "127.0.0.1:9", "--no-server-metrics"], "--no-server-metrics"),
    (["--server-metrics-formats", "parquet"], "--server-metrics-formats"),
])
def test_bad_server_metrics_options_exit_2_before_load(tmp_path, clean_env, args, words):
    with start_server(["--api", "tei", "--zero-latency"]) as server:
        proc = _profile(server, tmp_path / "run", clean_env, "--request-count", "5", *args)
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], proc.stderr
        m = server.metrics()
        assert m.get('rankperf_requests_received_total{route="/rerank"}', 0) == 0
        assert m.get('rankperf_requests_received_total{route="/metrics"}', 0) == 1  # this very read


@pytest.mark.parametrize("spec", ["request_latency:20+1.5*tokens", "time_to_first_token:5"])
def test_bad_goodput_exits_2_before_load(tmp_path, clean_env, spec):
    with start_server(["--api", "tei", "--zero-latency"]) as server:
        proc = _profile(server, tmp_path / "run", clean_env, "--request-count", "5", "--goodput", spec)
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "--goodput" in lines[0], proc.stderr
        assert server.metric("rankperf_requests_received_total", route="/rerank") == 0


def test_per_passage_goodput_through_profile(tei_server, tmp_path, clean_env):
    out = tmp_path / "run"
    # fixed 20 ms server: 1 ms per passage never suffices for <= 19 passages, 100 ms always does
    proc = _profile(tei_server, out, clean_env, "--request-count", "10", "--rankings-passages-mean", "5",
                    "--goodput", "request_latency:1*passages intended_latency:100")
    assert proc.returncode == 0, proc.stderr[-2000:]
    aiperf = json.loads((out / "profile_export_aiperf.json").read_text())
    assert aiperf["good_request_count"]["avg"] == 0
    assert aiperf["rankperf"]["goodput_slos"]["request_latency"] == "0+1*passages"
    proc = _profile(tei_server, out, clean_env, "--request-count", "10", "--rankings-passages-mean", "5",
                    "--goodput", "request_latency:100+1*passages")
    aiperf = json.loads((out / "profile_export_aiperf.json").read_text())
    assert aiperf["good_request_count"]["avg"] == 10 and aiperf["good_request_fraction"]["avg"] == 1.0


def test_slice_duration_writes_timeslices(tei_server, tmp_path, clean_env):
    out = tmp_path / "run"
    proc = _profile(tei_server, out, clean_env, "--benchmark-duration", "1.2", "--slice-duration", "0.5")
    assert proc.returncode == 0, proc.stderr[-2000:]
    slices = json.loads((out / "profile_export_aiperf_timeslices.json").read_text())["timeslices"]
    assert len(slices) >= 2 and slices[-1].get("is_complete") is False  # ~3: 1.2 s of sends in 0.5 s slices
    total = json.loads((out / "profile_export_aiperf.json").read_text())["request_count"]["avg"]
    assert sum(s["request_count"]["avg"] for s in slices) == total  # every request in exactly one slice


def test_network_latency_automatic_reports_rtt_and_adjusted_latency(tei_server, tmp_path, clean_env):
    out = tmp_path / "run"
    proc = _profile(tei_server, out, clean_env, "--request-count", "20", "--network-latency-automatic",
                    "--network-latency-ping-interval", "0.1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Network Adjusted Request Latency (ms)" in proc.stdout and "Network RTT (ms)" in proc.stdout
    data = json.loads((out / "profile_export_aiperf.json").read_text())
    probes = [json.loads(line) for line in (out / "profile_export_network_latency.jsonl").read_text().splitlines()]
    ok = [p["rtt_ns"] for p in probes if p["success"]]
    assert len(ok) >= 5
    assert data["network_rtt"]["avg"] == pytest.approx(sum(ok) / len(ok) / 1e6)
    assert data["network_adjusted_request_latency"]["avg"] == pytest.approx(
        data["request_latency"]["avg"] - data["network_rtt"]["avg"], rel=1e-6)  # 20 ms >> a loopback RTT: no clamping


def test_network_latency_mean_and_automatic_exit_2(tei_server, tmp_path, clean_env):
    proc = _profile(tei_server, tmp_path / "run", clean_env, "--request-count", "5", "--network-latency-automatic",
                    "--network-latency-mean", "3")
    assert proc.returncode == 2 and "--network-latency-mean" in proc.stderr


def test_network_latency_mean_is_subtracted_without_probing(tei_server, tmp_path, clean_env):
    out = tmp_path / "run"
    proc = _profile(tei_server, out, clean_env, "--request-count", "5", "--network-latency-mean", "3")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((out / "profile_export_aiperf.json").read_text())
    assert data["network_rtt"]["avg"] == 3.0 and not (out / "profile_export_network_latency.jsonl").exists()
    assert data["network_adjusted_request_latency"]["avg"] == pytest.approx(data["request_latency"]["avg"] - 3.0)


@pytest.mark.parametrize("argv, urls, formats", [
    (["--server-metrics", "a:1", "b:2", "--server-metrics", "c:3"], ["a:1", "b:2", "c:3"], "json,csv"),
    (["--server-metrics"], None, "json,csv"),  # AIPerf: a bare flag adds no endpoint
    (["--server-metrics-formats", "json", "csv"], None, "json,csv"),
    (["--server-metrics-formats", "csv"], None, "csv"),
])
def test_profile_takes_aiperfs_list_forms(argv, urls, formats):
    import argparse

    from rankperf_data import profile

    parser = argparse.ArgumentParser()
    profile.add_profile_parser_arguments(parser)
    args = parser.parse_args(argv)
    profile._flatten_aiperf_lists(args)
    assert (args.server_metrics, args.server_metrics_formats) == (urls, formats)
