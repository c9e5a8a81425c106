"""Sweeps from plain `locust` (--sweep-users, --request-rate lists): local, --processes 2, master + 2
workers. Each point is an exact run in `rankperf profile`'s folder, and the aggregates are the same
files; the reference server's request counter is the independent witness."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from e2e_support import (
    BIN,
    assert_report_rebuilds_sweep,
    load_records,
    locust_cmd,
    private_master,
    received,
    run,
    wait_master_and_workers,
)

from rankperf_data.results.disk import load_run
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server

COUNT = 30
USERS = (1, 2, 4)


@pytest.fixture(scope="module")
def server():
    with start_server(["--api", "all", "--fixed-latency-ms", "2"]) as s:
        yield s


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def check_points(base: Path, folders: list[str], count: int = COUNT) -> None:
    """Every point: exactly `count` measured requests, indices 0..count-1 once each, all successful."""
    for name in folders:
        records = load_records(base / name)
        prof = records[records["phase"] == PHASE_PROFILING]
        assert sorted(prof["index"].tolist()) == list(range(count)), name
        assert (prof["error_kind"] == ErrorKind.OK).all(), name
        export = read(base / name / "profile_export_aiperf.json")
        assert export["request_count"]["avg"] == count and export["partial"] is False


def max_in_flight(base: Path) -> int:
    """The most requests in flight at once, from the records' own send and end times."""
    rec = load_records(base)
    events = sorted([(int(t), 1) for t in rec["start_ns"]] + [(int(t), -1) for t in rec["end_ns"]],
                    key=lambda e: (e[0], e[1]))
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def sweep_rows(base: Path) -> list[dict]:
    return read(base / "sweep_aggregate" / "profile_export_aiperf_sweep.json")["per_combination_metrics"]


def files(base: Path) -> set[str]:
    return {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()}


def shape(value):
    """The keys of a JSON document, recursively (values left out)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


# --processes 2: enough requests per point that both processes send before the budget is spent
@pytest.mark.parametrize(("extra", "count"), [pytest.param([], COUNT, id="local"),
                                              pytest.param(["--processes", "2"], 150, id="processes-2")])
def test_users_sweep_is_exact_per_point_and_rebuilds(server, tmp_path, clean_env, extra, count):
    base = tmp_path / "sweep"
    before = received(server)
    extra = extra + private_master() if extra else extra
    # -u/-r are ignored: each point starts its own users at once
    proc = run(locust_cmd(server.url, "--sweep-users", ",".join(map(str, USERS)), "-u", "9", "-r", "0.5",
                          "--request-count", str(count), "--rankings-passages-mean", "3", "--artifact-dir", str(base),
                          *extra, "TeiRerankUser"), clean_env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert received(server) - before == count * len(USERS)  # every request of every point, nothing else
    check_points(base, [f"concurrency_{u}" for u in USERS], count)
    assert [load_run(base / f"concurrency_{u}").info.concurrency for u in USERS] == list(USERS)
    # the users really ran: Locust was asked for each point's users, all at once, in order
    spawned = re.findall(r"(?:Ramping to|Sending spawn jobs of) (\d+) users at (?:a rate of )?([\d.]+)", proc.stderr)
    assert [(int(u), float(r)) for u, r in spawned] == [(u, float(u)) for u in USERS], spawned
    if not extra:  # one process: its records show them in flight at once
        assert [max_in_flight(base / f"concurrency_{u}") for u in USERS] == list(USERS)
    progress = [line for line in proc.stdout.splitlines() if line.startswith("rankperf: point ")]
    assert [line.split(":")[1] for line in progress] == [" point 1/3 concurrency=1", " point 2/3 concurrency=2",
                                                         " point 3/3 concurrency=4"]
    data = read(base / "sweep_aggregate" / "profile_export_aiperf_sweep.json")
    assert [r["parameters"] for r in data["per_combination_metrics"]] == [{"concurrency": u} for u in USERS]
    assert all(r["metrics"]["request_count_avg"]["mean"] == count for r in data["per_combination_metrics"])
    assert data["best_configurations"] and data["pareto_optimal"] and "partial" not in data["metadata"]
    assert read(base / "campaign.json")["status"] == "complete"
    assert "Answer: max " in proc.stdout
    # `rankperf report DIR` rebuilds every aggregate from the point folders and campaign.json alone
    assert_report_rebuilds_sweep(base, data, clean_env)


def test_same_folders_and_aggregate_shape_as_rankperf_profile(server, tmp_path, clean_env):
    ours, theirs = tmp_path / "locust", tmp_path / "profile"
    proc = run(locust_cmd(server.url, "--sweep-users", "1,2", "--request-count", "12", "--artifact-dir", str(ours),
                          "TeiRerankUser"), clean_env, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    prof = run([str(BIN / "rankperf"), "profile", "--url", server.url, "--concurrency", "1,2", "--request-count", "12",
                "--artifact-dir", str(theirs)], clean_env, timeout=90)
    assert prof.returncode == 0, prof.stderr[-3000:]
    # Locust's own outputs aside (profile keeps its Locust CSV/log files next to each run), the same files
    mine = files(ours)
    assert mine == {f for f in files(theirs) if f in mine or "locust" not in f.lower()}, files(theirs) ^ mine
    for name in ("sweep_aggregate/profile_export_aiperf_sweep.json",
                 "aggregate/concurrency_2/profile_export_aiperf_aggregate.json"):
        assert shape(read(ours / name)) == shape(read(theirs / name)), name
    assert shape(read(ours / "campaign.json")) == shape(read(theirs / "campaign.json"))
    assert read(ours / "campaign.json")["points"] == read(theirs / "campaign.json")["points"]  # seeds too


def test_rate_sweep_master_and_two_workers(server, tmp_path, clean_env):
    base = tmp_path / "rates"
    port_args = private_master()
    before = received(server, "/v2/rerank")
    master = subprocess.Popen(
        locust_cmd(server.url, "--master", "--expect-workers", "2", "-u", "6", "--request-rate", "40,80",
                   "--request-count", str(COUNT), "--artifact-dir", str(base), *port_args, "CohereRerankUser"),
        env=clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = [subprocess.Popen(
        [*locust_cmd(server.url, "--worker", "--master-host", "127.0.0.1", *port_args[-2:]), "CohereRerankUser"],
        env=clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    out = wait_master_and_workers(master, workers, timeout=120)
    assert received(server, "/v2/rerank") - before == 2 * COUNT
    check_points(base, ["rate_40.0", "rate_80.0"])
    for rate in (40.0, 80.0):
        run_ = load_run(base / f"rate_{rate}")
        assert run_.info.request_rate == rate and run_.info.concurrency == 6
        assert set(run_.records["worker"].tolist()) == {0, 1}  # both workers sent in every point
    assert [r["parameters"] for r in sweep_rows(base)] == [{"rate": 40.0}, {"rate": 80.0}]
    assert "rankperf: point 2/2 rate=80.0:" in out


def test_closed_loop_sweep_master_and_two_workers(server, tmp_path, clean_env):
    base = tmp_path / "users"
    port_args = private_master()
    before = received(server)
    master = subprocess.Popen(
        # a stopped worker says "ready" again only after --stop-timeout: the next point waits for it
        locust_cmd(server.url, "--master", "--expect-workers", "2", "--sweep-users", "2,4", "--request-count",
                   str(COUNT), "--stop-timeout", "2", "--artifact-dir", str(base), *port_args, "TeiRerankUser"),
        env=clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = [subprocess.Popen(
        [*locust_cmd(server.url, "--worker", "--master-host", "127.0.0.1", *port_args[-2:]), "TeiRerankUser"],
        env=clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    wait_master_and_workers(master, workers, timeout=120)
    assert received(server) - before == 2 * COUNT
    check_points(base, ["concurrency_2", "concurrency_4"])
    assert load_run(base / "concurrency_4").info.workers == 2
    assert [r["parameters"] for r in sweep_rows(base)] == [{"concurrency": 2}, {"concurrency": 4}]


@pytest.mark.parametrize("args,needle", [
    (["--sweep-users", "1,,4"], "empty item"),
    (["--sweep-users", "1,x"], "not a number"),
    (["--sweep-users", "0,2"], "must be >= 1"),
    (["--request-rate", "50,,100"], "empty item"),
    (["--request-rate", "50,abc"], "not a number"),
    (["--sweep-users", "1,2", "--request-rate", "10"], "closed loop"),
    (["--sweep-users", "1,2", "--request-count", "0"], "needs --request-count"),
    (["--sweep-users", "1,2", "-t", "5s"], "run-time"),
])
def test_bad_sweep_input_exits_2_before_any_load(server, tmp_path, clean_env, args, needle):
    before = received(server)
    cmd = locust_cmd(server.url, "--request-count", "5", *args, "--artifact-dir", str(tmp_path / "bad"),
                     "TeiRerankUser")
    proc = run(cmd, clean_env, timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert received(server) == before
    assert not (tmp_path / "bad").exists()


def test_sweep_in_a_config_file(server, tmp_path, clean_env):
    conf = tmp_path / "sweep.conf"
    conf.write_text("sweep-users = 1,3\nrequest-count = 9\n")
    base = tmp_path / "conf"
    proc = run(locust_cmd(server.url, "--config", str(conf), "--artifact-dir", str(base), "TeiRerankUser"),
               clean_env, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_points(base, ["concurrency_1", "concurrency_3"], count=9)


def test_ctrl_c_keeps_finished_points_and_marks_the_aggregate_partial(tmp_path, clean_env):
    base = tmp_path / "interrupted"
    with start_server(["--api", "all", "--fixed-latency-ms", "20"]) as slow:
        # point 1 (8 users) takes ~0.3 s; point 2 (1 user, 100 x 20 ms) is interrupted halfway
        cmd = locust_cmd(slow.url, "--sweep-users", "8,1,2", "--request-count", "100", "--artifact-dir", str(base),
                         "TeiRerankUser")
        proc = subprocess.Popen(cmd, env=clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and received(slow) < 130:
                assert proc.poll() is None, proc.communicate()[1][-2000:]
                time.sleep(0.05)  # into the second point's load
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    assert "sweep interrupted: 1 of 3 points finished" in stderr, stderr[-2000:]
    check_points(base, ["concurrency_8"], count=100)
    assert read(base / "campaign.json")["status"] == "interrupted"
    assert read(base / "concurrency_1" / "profile_export_aiperf.json")["was_cancelled"] is True
    data = read(base / "sweep_aggregate" / "profile_export_aiperf_sweep.json")
    assert data["metadata"]["partial"] is True
    assert [r["parameters"] for r in data["per_combination_metrics"]] == [{"concurrency": 8}]
    assert "Partial: " in stdout


def test_web_ui_sweep_adds_a_row_per_point(server, clean_env, tmp_path):
    from test_webui import LocustWebUI, rankings, ui_args

    base = tmp_path / "ui-sweep"
    env = {**clean_env, "HOME": str(tmp_path)}
    with LocustWebUI(ui_args(), env, tmp_path) as ui:
        before = received(server)
        # the form's user count is ignored: each point starts its own users
        ui.swarm(server.url, user_count=9, sweep_users="1,2,3", request_count=COUNT, artifact_dir=str(base))
        deadline = time.monotonic() + 90
        rows: list[dict] = []
        while time.monotonic() < deadline:
            stats = ui.get_json("/stats/requests")
            rows = [r for r in rankings(stats) if r["metric"].startswith("Sweep point ")]
            if len(rows) == 3 and stats["state"] == "stopped":
                break
            time.sleep(0.25)
        assert [r["metric"].split(":")[0] for r in rows] == [
            "Sweep point 1/3 concurrency=1", "Sweep point 2/3 concurrency=2", "Sweep point 3/3 concurrency=3"], \
            ui.log()[-3000:]
        assert all(r["count"] == str(COUNT) and float(r["p50"]) > 0 for r in rows)
        assert received(server) - before == 3 * COUNT
        check_points(base, ["concurrency_1", "concurrency_2", "concurrency_3"])
        assert [load_run(base / f"concurrency_{u}").info.concurrency for u in (1, 2, 3)] == [1, 2, 3]
        assert [max_in_flight(base / f"concurrency_{u}") for u in (1, 2, 3)] == [1, 2, 3]
        assert [r["parameters"] for r in sweep_rows(base)] == [{"concurrency": u} for u in (1, 2, 3)]
        assert read(base / "campaign.json")["status"] == "complete"
        # the UI is idle again, and a plain run after the sweep is a single run as before
        single = tmp_path / "single"
        before = received(server)
        ui.swarm(server.url, user_count=2, sweep_users="", request_count=7, artifact_dir=str(single))
        ui.wait_finished()
        assert received(server) - before == 7
        check_points(tmp_path, ["single"], count=7)
        assert not (single / "campaign.json").exists()


def test_web_ui_form_offers_the_sweep_and_refuses_a_bad_list(server, clean_env, tmp_path):
    from test_webui import LocustWebUI, rankings, template_args, ui_args

    env = {**clean_env, "HOME": str(tmp_path)}
    with LocustWebUI(ui_args(), env, tmp_path) as ui:
        assert "sweep_users" in template_args(ui.get("/").text)["extra_options"]
        before = received(server)
        ui.swarm(server.url, sweep_users="1,,2", request_count=5, artifact_dir=str(tmp_path / "bad"))
        deadline = time.monotonic() + 30
        rows: list[dict] = []
        while time.monotonic() < deadline and not rows:
            rows = rankings(ui.get_json("/stats/requests"))
            time.sleep(0.25)
        assert rows and rows[0]["metric"].startswith("Status: not started: --sweep-users: empty item"), rows
        time.sleep(1.0)
        assert received(server) == before
        assert not (tmp_path / "bad").exists()


def test_web_ui_rate_sweep_then_stop_keeps_the_finished_point(clean_env, tmp_path):
    from test_webui import LocustWebUI, rankings, ui_args

    base = tmp_path / "ui-rates"
    env = {**clean_env, "HOME": str(tmp_path)}
    with start_server(["--api", "all", "--fixed-latency-ms", "2"]) as srv, LocustWebUI(ui_args(), env, tmp_path) as ui:
        # point 1: 20 requests at 100/s; point 2: 20 at 10/s (2 s), stopped by hand after ~5
        ui.swarm(srv.url, user_count=4, request_rate="100,10", request_count=20, artifact_dir=str(base))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and received(srv) < 25:
            time.sleep(0.1)
        rows = [r for r in rankings(ui.get_json("/stats/requests")) if r["metric"].startswith("Sweep point ")]
        assert [r["metric"].split(":")[0] for r in rows] == ["Sweep point 1/2 rate=100.0"], ui.log()[-3000:]
        assert ui.http.post(ui.base + "/stop", timeout=10).status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and read(base / "campaign.json")["status"] == "running":
            time.sleep(0.1)
    check_points(base, ["rate_100.0"], count=20)
    assert read(base / "rate_10.0" / "profile_export_aiperf.json")["was_cancelled"] is True
    assert load_run(base / "rate_100.0").info.request_rate == 100.0
    assert read(base / "campaign.json")["status"] == "interrupted"
    data = read(base / "sweep_aggregate" / "profile_export_aiperf_sweep.json")
    assert data["metadata"]["partial"] is True
    assert [r["parameters"] for r in data["per_combination_metrics"]] == [{"rate": 100.0}]


def test_autostart_sweep_starts_the_first_point_with_its_own_users(server, clean_env, tmp_path):
    from rankperf_data.ports import free_port

    base = tmp_path / "autostart"
    cmd = [str(BIN / "locust"), "-f", str(Path(locust_cmd("x")[2])), "-H", server.url, "--autostart",
           "--web-host", "127.0.0.1", "--web-port", str(free_port()), "--sweep-users", "1,3", "-u", "7",
           "--request-count", str(COUNT), "--artifact-dir", str(base), "TeiRerankUser"]
    log = tmp_path / "locust.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env={**clean_env, "HOME": str(tmp_path)}, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
                (base / "campaign.json").exists() and read(base / "campaign.json")["status"] == "complete"):
            assert proc.poll() is None
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the web UI stays up after an --autostart run
        proc.wait(30)
    check_points(base, ["concurrency_1", "concurrency_3"])
    spawned = re.findall(r"Ramping to (\d+) users at a rate of ([\d.]+)", log.read_text())
    assert [(int(u), float(r)) for u, r in spawned] == [(1, 1.0), (3, 3.0)], spawned  # -u 7 ignored, all at once
