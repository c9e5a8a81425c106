"""The Locust web UI integration, server side: a real `locust` process on a free loopback port.

Start form (every rankperf option as a custom parameter, no secret in the page), runs started by
POST /swarm exactly as the form does (custom arguments by dest name), the Rankings tab's rows in
/stats/requests, the export downloads, a second run in the same process, --processes 2, and the
optional login. The reference server's request counter is the independent witness.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from e2e_support import BIN, LOCUSTFILE, REPO, private_master, received

from rankperf_data import apis, options
from rankperf_data.load import webauth, webui
from rankperf_data.load.summaries import SummaryMerger
from rankperf_data.ports import free_port
from rankperf_data.report.metrics import ErrorGroup, Metric, Summary
from rankperf_data.report.stats import RecordStats
from rankperf_data.results.disk import read_records
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server

LOGIN_CONF = REPO / "configs" / "webui-login.conf"
API_KEY_ENV_VALUE = "sk-test-XYZ"
API_KEY_CLI_VALUE = "sk-cli-ABC"
HEADER_SECRET = "sk-hdr-QQQ"
START_TIMEOUT_S = 30
RUN_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 10
POLL_S = 0.25
RESTART_PAUSE_S = 1.0  # longer than hooks.END_DELAY_S + TICK_S
RESTART_CYCLES = 4


# ---- a locust web UI process -------------------------------------------------------------------
class LocustWebUI:
    """`locust` with its web UI on a free loopback port; output in a log file; always stopped."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, workers: int = 0) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args = args
        self.env = env
        self.cwd = cwd
        self.workers = workers
        self.log_path = cwd / f"locust-{self.port}.log"
        self.http = requests.Session()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> LocustWebUI:
        cmd = [str(BIN / "locust"), *self.args, "--web-host", "127.0.0.1", "--web-port", str(self.port)]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"locust exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                r = self.http.get(self.base + "/", timeout=2, allow_redirects=False)
                if r.status_code in (200, 302) and self._workers_ready():
                    return
            except requests.ConnectionError:
                pass
            time.sleep(POLL_S)
        raise AssertionError(f"locust web UI not ready in {START_TIMEOUT_S}s:\n{self.log()[-3000:]}")

    def _workers_ready(self) -> bool:
        if not self.workers:
            return True
        return self.get_json("/worker-count").get("worker_count") == self.workers

    def __exit__(self, *exc) -> None:
        self.http.close()
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # our own session: locust and its --processes children
            self.proc.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base + path, timeout=HTTP_TIMEOUT_S, **kw)

    def get_json(self, path: str) -> dict:
        r = self.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return r.json()

    def swarm(self, host: str, **custom) -> dict:
        form = {"user_classes": "TeiRerankUser", "user_count": 4, "spawn_rate": 4, "host": host, **custom}
        r = self.http.post(self.base + "/swarm", data=form, timeout=HTTP_TIMEOUT_S)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        assert body["success"], body
        return body

    def wait_finished(self, timeout: float = RUN_TIMEOUT_S) -> tuple[dict, list[dict]]:
        """Poll /stats/requests until Locust says stopped and the Rankings tab shows the final rows."""
        deadline = time.monotonic() + timeout
        data: dict = {}
        while time.monotonic() < deadline:
            data = self.get_json("/stats/requests")
            rows = rankings(data)
            if data["state"] == "stopped" and rows and not rows[0]["metric"].startswith("Status: running"):
                return data, rows
            time.sleep(POLL_S)
        raise AssertionError(f"run not finished in {timeout}s: state {data.get('state')}, "
                             f"rows {rankings(data)[:3]}\n{self.log()[-3000:]}")


def rankings(stats: dict) -> list[dict]:
    entries = [e for e in stats.get("extended_stats") or [] if e.get("key") == "rankings"]
    assert len(entries) == 1, stats.get("extended_stats")
    return entries[0]["data"]


def row(rows: list[dict], metric: str) -> dict:
    found = [r for r in rows if r["metric"] == metric]
    assert found, f"no row {metric!r} in {[r['metric'] for r in rows]}"
    return found[0]


def template_args(html: str) -> dict:
    m = re.search(r"window\.templateArgs = (\{.*\})\s*</script>", html, re.S)
    assert m, "no window.templateArgs in the page"
    return json.loads(m.group(1))


def wait_received(server, at_least: int, before: int, route: str = "/rerank", timeout: float = RUN_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and received(server, route) - before < at_least:
        time.sleep(POLL_S)


# ---- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server():
    with start_server(["--fixed-latency-ms", "5"]) as s:
        yield s


@pytest.fixture(scope="module")
def slower_server():
    """10 ms per request: a 137-request run lasts long enough for both --processes workers to join."""
    with start_server(["--fixed-latency-ms", "10"]) as s:
        yield s


@pytest.fixture
def env(clean_env, tmp_path) -> dict[str, str]:
    e = dict(clean_env)
    e["HOME"] = str(tmp_path)  # no ~/.locust.conf
    return e


def ui_args(*extra: str) -> list[str]:
    return ["-f", LOCUSTFILE, "--class-picker", *extra]


# ---- pure: the rows from a Summary --------------------------------------------------------------
def _stats(avg: float, count: int) -> RecordStats:
    return RecordStats(avg=avg, min=avg / 2, max=avg * 2, sum=avg * count, count=count, std=1.0,
                       p50=avg, p90=avg * 1.5, p99=avg * 1.9)


def test_summary_rows_open_loop_errors_and_warning():
    metrics = {
        "request_latency": Metric("request_latency", "Request Latency", "ms", stats=_stats(12.345, 90)),
        "intended_latency": Metric("intended_latency", "Latency from Intended Send", "ms", stats=_stats(40.0, 90)),
        "schedule_lag": Metric("schedule_lag", "Schedule Lag", "ms", stats=_stats(20.0, 100)),
        "request_throughput": Metric("request_throughput", "Request Throughput", "requests/sec", value=1234.5678),
        "request_count": Metric("request_count", "Request Count", "requests", value=90.0),
        "completed_request_count": Metric("completed_request_count", "Completed Requests (Success + Error)",
                                          "requests", value=100.0),
        "error_request_count": Metric("error_request_count", "Error Request Count", "requests", value=10.0),
        "request_error_rate": Metric("request_error_rate", "Request Error Rate", "%", value=10.0),
        "offered_rate": Metric("offered_rate", "Offered Rate", "requests/sec", value=500.0),
        "achieved_rate": Metric("achieved_rate", "Achieved Rate", "requests/sec", value=321.0),
    }
    summary = Summary(
        metrics=metrics,
        errors=[ErrorGroup("429", 429, "Too Many Requests", "rate limited, key sk-msg-SECRET", 7),
                ErrorGroup("timeout", None, "timeout", "timeout: no response in N s", 3)],
        warnings=["WARNING: offered rate not achieved: sent 321.00 requests/sec"],
        notes=["expected 137 measured requests, recorded 100"],
        rate_not_achieved=True,
    )
    live = webui.summary_rows(summary, secrets=["sk-msg-SECRET"])
    names = [r["metric"] for r in live]
    assert names[0] == "Status: running: 100 measured requests recorded so far"
    latency = row(live, "Request Latency (ms)")
    assert latency == {"metric": "Request Latency (ms)", "avg": "12.35", "min": "6.17", "max": "24.69",
                       "p50": "12.35", "p90": "18.52", "p99": "23.46", "std": "1.00", "count": "90"}
    assert row(live, "Request Throughput (requests/sec)")["avg"] == "1234.57"
    assert row(live, "Offered Rate (requests/sec)")["avg"] == "500.00"
    assert row(live, "Achieved Rate (requests/sec)")["avg"] == "321.00"
    assert row(live, "Latency from Intended Send (ms)")["p99"] == "76.00"
    assert row(live, "Schedule Lag (ms)")["count"] == "100"
    assert row(live, "Error Request Count (requests)")["avg"] == "10.00"
    assert row(live, "Request Error Rate (%)")["avg"] == "10.00"
    errors = [r for r in live if r["metric"].startswith("errors: ")]
    assert [r["count"] for r in errors] == ["7", "3"]
    assert errors[0]["metric"].startswith("errors: 429 Too Many Requests: rate limited")
    assert errors[1]["metric"] == "errors: timeout: no response in N s"
    assert "sk-msg-SECRET" not in json.dumps(live)
    assert any(r["metric"].startswith("WARNING: offered rate not achieved") for r in live)
    assert not any(n.startswith("Note:") for n in names)  # live: "expected N" notes are not news yet
    for r in live:  # every cell a string; numbers with two decimals
        assert all(isinstance(v, str) for v in r.values())
        assert set(r) == {k for k, _ in webui.COLUMNS}
    final = webui.summary_rows(summary, finished=True, complete=False)
    assert final[0]["metric"] == "Status: stopped: exports in the Download Data tab"
    assert final[-1]["metric"] == "Note: expected 137 measured requests, recorded 100"
    # no errors at all: a zero error count row, no error groups
    clean = Summary(metrics={k: v for k, v in metrics.items() if k not in ("error_request_count",)})
    assert row(webui.summary_rows(clean), "Error Request Count (requests)")["avg"] == "0.00"
    assert webui.rows_csv(live).splitlines()[0] == "Metric,avg,min,max,p50,p90,p99,std,count"


class _Coord:
    """A coordinator stand-in: merged summaries, and records() that counts its calls."""

    def __init__(self) -> None:
        self.finished = False
        self.complete = False
        self.cancelled = False
        self.summaries = SummaryMerger()
        self.records_calls = 0

    def records(self):
        self.records_calls += 1
        raise AssertionError("the live table must not read the records")


class _State:
    def __init__(self) -> None:
        self.coordinator = None
        self.master_config = {"values": {}}


def test_rankings_table_is_memoised_guarded_and_frozen_at_the_end(monkeypatch, caplog):
    from rankperf_data.load import finish, live_rows
    from rankperf_data.report import metrics
    from rankperf_data.results.run import RunInfo

    calls = []  # "live" per live computation, cancelled (bool) per exact one
    fail = {"on": False}

    def fake_build_result(environment, coord, state, cancelled):
        calls.append(cancelled)
        if fail["on"]:
            raise RuntimeError("boom")
        return type("R", (), {"info": RunInfo("hf_tei_rankings", "", "/rerank", "m", 1)})(), None, None

    real_live_summary = live_rows.live_summary

    def counted_live_summary(merger, **kw):
        calls.append("live")
        if fail["on"]:
            raise RuntimeError("boom")
        return real_live_summary(merger, **kw)

    count = Metric("request_count", "Request Count", "requests", value=3.0)
    monkeypatch.setattr(finish, "build_result", fake_build_result)
    monkeypatch.setattr(live_rows, "live_summary", counted_live_summary)
    monkeypatch.setattr(metrics, "summarize", lambda result: Summary(metrics={"request_count": count}))
    now = [100.0]
    state = _State()
    table = webui.RankingsTable(environment=None, state=state, clock=lambda: now[0])
    assert table.rows() == [] and calls == []  # no coordinator yet: empty, nothing computed
    state.coordinator = _Coord()
    live = table.rows()
    assert live[0]["metric"] == "Status: running: 0 measured requests recorded so far"
    assert live[1]["metric"] == webui.LIVE_NOTE
    assert row(live, "Request Count (requests)")["avg"] == "0.00"
    for _ in range(50):  # polled often: computed once per interval
        table.rows()
    assert calls == ["live"]
    now[0] += webui.MIN_INTERVAL_S + 0.01
    table.rows()
    assert calls == ["live", "live"]
    fail["on"] = True  # a failure: empty table, logged once, /stats/requests unharmed
    now[0] += webui.MIN_INTERVAL_S + 0.01
    assert table.rows() == []
    now[0] += webui.MIN_INTERVAL_S + 0.01
    assert table.rows() == []
    assert sum("could not be computed" in r.message for r in caplog.records) == 1
    assert state.coordinator.records_calls == 0  # the live table never read a record
    state.coordinator.finished = True  # written out: recomputed at once, exactly (cancelled)...
    assert table.rows() == []  # ...but that failed: tried again after the interval, not frozen
    fail["on"] = False
    assert table.rows() == []
    now[0] += webui.MIN_INTERVAL_S + 0.01
    assert table.rows()[0]["metric"] == "Status: stopped: exports in the Download Data tab"
    now[0] += 3600  # the final table is then kept for good
    table.rows()
    assert calls == ["live", "live", "live", "live", True, True]
    state.coordinator = _Coord()  # a new test start: a new table at once
    assert table.rows()[0]["metric"].startswith("Status: running")
    assert calls[-1] == "live" and len(calls) == 7
    state.start_error = "/x.jsonl: --input-file: no such file"  # a refused start says why
    assert table.rows() == [webui._row("Status: not started: /x.jsonl: --input-file: no such file")]


def test_login_credentials_are_required_and_compared_in_constant_time():
    with pytest.raises(webauth.LoginConfigError, match="RANKPERF_WEB_USER and RANKPERF_WEB_PASSWORD"):
        webauth.credentials({})
    with pytest.raises(webauth.LoginConfigError, match="RANKPERF_WEB_PASSWORD"):
        webauth.credentials({"RANKPERF_WEB_USER": "alice", "RANKPERF_WEB_PASSWORD": ""})
    assert webauth.credentials({"RANKPERF_WEB_USER": "alice", "RANKPERF_WEB_PASSWORD": "pw"}) == ("alice", "pw")
    assert webauth.check("alice", "pw", ("alice", "pw"))
    assert not webauth.check("alice", "pW", ("alice", "pw"))
    assert not webauth.check("bob", "pw", ("alice", "pw"))
    assert not webauth.check("", "", ("alice", "pw"))
    with pytest.raises(webauth.LoginConfigError):
        webauth.secret_key({"RANKPERF_WEB_SECRET_KEY": "short"})
    assert len(webauth.secret_key({})) >= 32


# ---- the start form and secrets -----------------------------------------------------------------
def test_form_offers_every_option_and_embeds_no_secret(server, env, tmp_path):
    env = {**env, options.API_KEY_ENV: API_KEY_ENV_VALUE}
    args = ui_args("--api-key", API_KEY_CLI_VALUE, "--header", f"Authorization: Bearer {HEADER_SECRET}",
                   "--header", "X-Trace: on")
    secrets = (API_KEY_ENV_VALUE, API_KEY_CLI_VALUE, HEADER_SECRET)
    with LocustWebUI(args, env, tmp_path) as ui:
        page = ui.get("/")
        assert page.status_code == 200
        for secret in secrets:
            assert secret not in page.text
        targs = template_args(page.text)
        assert targs["show_userclass_picker"] is True
        # the picker lists every class (rows from `users`) and starts with one ticked (test_one_class.py)
        assert sorted(targs["users"]) == sorted(apis.BY_USER_CLASS)
        assert targs["available_user_classes"] == ["TeiRerankUser"]
        extra = targs["extra_options"]
        expected = {o.dest for o in options.OPTIONS if o.locust and o.web_ui and not o.secret}
        # --header holds a credential here, so the page leaves it out (the configured value is used)
        assert set(extra) == expected - {"header"}
        assert "api_key" not in extra
        for dest in extra:
            opt = options.BY_DEST[dest]
            default = bool(opt.default) if opt.action == "store_true" else opt.default
            assert extra[dest]["default_value"] == default, dest
            assert extra[dest]["help_text"].startswith(opt.help), dest  # options.py may append the default
            assert extra[dest]["choices"] == (list(opt.choices) if opt.choices else None), dest
        assert extra["request_count"]["default_value"] == 0
        assert extra["rankings_passages_mean"]["default_value"] == 10
        assert extra["model"]["default_value"] == options.DEFAULT_MODEL
        # the tab, its table and the download links
        assert {"title": "Rankings", "key": "rankings"} in targs["extended_tabs"]
        table = next(t for t in targs["extended_tables"] if t["key"] == "rankings")
        assert [c["key"] for c in table["structure"]][:8] == ["metric", "avg", "min", "max", "p50", "p90",
                                                              "p99", "std"]
        hrefs = {f["href"] for f in targs["extended_csv_files"]}
        assert {f"./rankings/artifacts/{n}" for n in webui.ARTIFACTS} | {"./rankings/csv"} <= hrefs
        # before any run: an empty table, downloads 404
        stats = ui.get_json("/stats/requests")
        assert rankings(stats) == []
        for name in webui.ARTIFACTS:
            assert ui.get(f"/rankings/artifacts/{name}").status_code == 404
        # one short run, then every route and every export is checked for the secrets
        ui.swarm(server.url, request_count=20)
        _, rows = ui.wait_finished()
        assert row(rows, "Request Count (requests)")["avg"] == "20.00"
        bodies = [ui.get("/").text, ui.get("/stats/requests").text, ui.get("/rankings/csv").text,
                  ui.get("/stats/requests/csv").text, ui.get("/stats/failures/csv").text]
        for name in webui.ARTIFACTS:
            r = ui.get(f"/rankings/artifacts/{name}")
            assert r.status_code == 200, name
            bodies.append(r.text)
        for body in bodies:
            for secret in secrets:
                assert secret not in body
    assert "left out of the web UI form" in ui.log()


# ---- runs from the UI ---------------------------------------------------------------------------
def test_swarm_stops_after_exact_count_and_second_run_is_clean(server, env, tmp_path):
    with LocustWebUI(ui_args(), env, tmp_path) as ui:
        before = received(server)
        body = ui.swarm(server.url, request_count=137)
        assert body["user_classes"] == ["TeiRerankUser"]
        stats, rows = ui.wait_finished()
        assert received(server) - before == 137
        assert rows[0]["metric"] == "Status: finished: exports in the Download Data tab"
        assert row(rows, "Request Count (requests)")["avg"] == "137.00"
        assert row(rows, "Completed Requests (Success + Error) (requests)")["avg"] == "137.00"
        assert row(rows, "Error Request Count (requests)")["avg"] == "0.00"
        latency = row(rows, "Request Latency (ms)")
        assert latency["count"] == "137"
        assert all(re.fullmatch(r"\d+\.\d\d", latency[c]) for c in webui.STAT_COLUMNS)
        assert 5.0 <= float(latency["p50"]) < 1000
        for tag in ("Request Throughput (requests/sec)", "Passage Throughput (passages/sec)",
                    "Pair Token Throughput (tokens/sec)"):
            assert float(row(rows, tag)["avg"]) > 0
        locust_total = next(s for s in stats["stats"] if s["name"] == "Aggregated")
        assert locust_total["num_requests"] == 137  # Locust's own counter agrees

        # downloads: the five exports, nothing else
        exported = ui.get("/rankings/artifacts/profile_export_aiperf.json")
        assert exported.status_code == 200
        assert "attachment" in exported.headers["Content-Disposition"]
        assert exported.json()["request_count"]["avg"] == 137
        for name in webui.ARTIFACTS:
            assert ui.get(f"/rankings/artifacts/{name}").status_code == 200, name
        jsonl = tmp_path / "first.jsonl"
        jsonl.write_bytes(ui.get("/rankings/artifacts/profile_export.jsonl").content)
        assert (read_records(jsonl)["phase"] == PHASE_PROFILING).sum() == 137
        assert "Request Count" in ui.get("/rankings/artifacts/profile_export_console.txt").text
        for bad in ("run.json", "..%2Frun.json", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
                    "profile_export_aiperf.json%00", "locust.conf"):
            assert ui.get(f"/rankings/artifacts/{bad}").status_code == 404, bad
        # Locust reflects any Origin in CORS headers; rankperf's own routes answer for their own origin only
        for path in ("/rankings/csv", "/rankings/artifacts/inputs.json"):
            r = ui.get(path, headers={"Origin": "https://elsewhere.example"})
            assert r.headers["Access-Control-Allow-Origin"] == ui.base, path
        csv_text = ui.get("/rankings/csv").text
        assert "Request Count (requests),137.00" in csv_text

        # a second run in the same process: a clean measurement, counts of this run only
        before = received(server)
        ui.swarm(server.url, request_count=59)
        wait_received(server, 59, before)
        _, rows = ui.wait_finished()
        assert received(server) - before == 59
        assert row(rows, "Request Count (requests)")["avg"] == "59.00"
        assert row(rows, "Request Latency (ms)")["count"] == "59"
        assert ui.get("/rankings/artifacts/profile_export_aiperf.json").json()["request_count"]["avg"] == 59


def wait_live_latency(ui: LocustWebUI, timeout: float = RUN_TIMEOUT_S) -> list[dict]:
    """Poll until the running table shows a latency row (the first summaries arrive after ~1 s)."""
    deadline = time.monotonic() + timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = rankings(ui.get_json("/stats/requests"))
        if any(r["metric"].startswith("Request Latency (ms) [") for r in rows):
            return rows
        time.sleep(POLL_S)
    raise AssertionError(f"no live latency row in {timeout}s: {rows[:4]}\n{ui.log()[-3000:]}")


def download_records(ui: LocustWebUI, dest: Path) -> np.ndarray:
    r = ui.get("/rankings/artifacts/profile_export.jsonl")
    assert r.status_code == 200
    dest.write_bytes(r.content)
    return read_records(dest)


def test_stop_mid_run_then_a_second_run_counts_only_its_own(server, env, tmp_path):
    with LocustWebUI(ui_args(), env, tmp_path) as ui:
        before = received(server)
        ui.swarm(server.url, request_count=0)  # no count limit: only Stop ends it
        wait_received(server, 100, before)
        live = wait_live_latency(ui)  # while it runs: rows from the merged summaries
        assert live[0]["metric"].startswith("Status: running: ") and live[1]["metric"] == webui.LIVE_NOTE
        latency = next(r for r in live if r["metric"].startswith("Request Latency (ms) [p50/p90/p99 approximate"))
        assert int(latency["count"]) > 0 and 5.0 <= float(latency["p50"]) <= float(latency["p99"]) < 1000
        assert float(row(live, "Request Count (requests)")["avg"]) == int(latency["count"])  # no error
        for tag in ("Request Throughput (requests/sec)", "Passage Throughput (passages/sec)",
                    "Pair Token Throughput (tokens/sec)"):
            assert float(row(live, tag)["avg"]) > 0
        r = ui.http.post(ui.base + "/stop", timeout=HTTP_TIMEOUT_S)
        assert r.status_code == 200 and r.json()["success"], r.text[:500]
        _, rows = ui.wait_finished()
        assert rows[0]["metric"] == "Status: stopped: exports in the Download Data tab"
        exported = ui.get("/rankings/artifacts/profile_export_aiperf.json")
        assert exported.status_code == 200
        assert exported.json()["was_cancelled"] is True
        first = download_records(ui, tmp_path / "stopped.jsonl")
        # every request the server saw is in the report (those cut by Stop as cancelled)
        assert received(server) - before == len(first) >= 100
        assert exported.json()["request_count"]["avg"] == int(
            ((first["phase"] == PHASE_PROFILING) & (first["error_kind"] == ErrorKind.OK)).sum())

        # started again: a clean measurement holding this run's requests only. The pause keeps this
        # test off the race that test_start_right_after_stop_is_not_cut_short covers.
        time.sleep(RESTART_PAUSE_S)
        before = received(server)
        ui.swarm(server.url, request_count=60)
        wait_received(server, 60, before)
        _, rows = ui.wait_finished()
        second = download_records(ui, tmp_path / "second.jsonl")
        assert received(server) - before == len(second) == 60
        assert (second["error_kind"] == ErrorKind.OK).all()
        assert sorted(second["index"].tolist()) == list(range(60))
        exported = ui.get("/rankings/artifacts/profile_export_aiperf.json").json()
        assert exported["was_cancelled"] is False and exported["request_count"]["avg"] == 60, exported["notes"]
        assert row(rows, "Request Count (requests)")["avg"] == "60.00"
        assert rows[0]["metric"] == "Status: finished: exports in the Download Data tab", (rows, ui.log()[-3000:])


def test_start_right_after_stop_is_not_cut_short(server, env, tmp_path):
    with LocustWebUI(ui_args(), env, tmp_path) as ui:
        for cycle in range(RESTART_CYCLES):  # a race: several tries make a pass by luck unlikely
            before = received(server)
            ui.swarm(server.url, request_count=0)
            wait_received(server, 50, before)
            r = ui.http.post(ui.base + "/stop", timeout=HTTP_TIMEOUT_S)
            assert r.status_code == 200, r.text[:500]
            before = received(server)
            ui.swarm(server.url, request_count=60)  # at once, as a person clicking New then Start
            wait_received(server, 60, before, timeout=5)  # ~0.1 s unless the run is cut short
            _, rows = ui.wait_finished()
            exported = ui.get("/rankings/artifacts/profile_export_aiperf.json").json()
            assert exported["was_cancelled"] is False, (cycle, received(server) - before, exported["notes"])
            assert exported["request_count"]["avg"] == 60 == received(server) - before, cycle
            assert rows[0]["metric"] == "Status: finished: exports in the Download Data tab", cycle


def test_open_loop_with_errors_shows_rates_error_groups_and_warning(env, tmp_path):
    with start_server(["--fixed-latency-ms", "5", "--fault", "429:0.2", "--seed", "3"]) as faulty, \
            LocustWebUI(ui_args(), env, tmp_path) as ui:
        before = received(faulty)
        # 1 request in flight at ~5 ms each cannot carry 2,000 requests/s: the offered rate is not achieved
        ui.swarm(faulty.url, user_count=1, spawn_rate=1, request_count=150, request_rate=2000.0)
        _, rows = ui.wait_finished()
        assert received(faulty) - before == 150
        completed = row(rows, "Completed Requests (Success + Error) (requests)")
        assert completed["avg"] == "150.00"
        errors = [r for r in rows if r["metric"].startswith("errors: 429")]
        assert errors, [r["metric"] for r in rows]
        n_errors = sum(int(r["count"]) for r in errors)
        assert 0 < n_errors < 150
        assert row(rows, "Error Request Count (requests)")["avg"] == f"{n_errors:.2f}"
        assert row(rows, "Request Count (requests)")["avg"] == f"{150 - n_errors:.2f}"
        assert float(row(rows, "Request Error Rate (%)")["avg"]) == pytest.approx(100 * n_errors / 150, abs=0.01)
        assert row(rows, "Offered Rate (requests/sec)")["avg"] == "2000.00"
        assert float(row(rows, "Achieved Rate (requests/sec)")["avg"]) < 1000
        assert row(rows, "Latency from Intended Send (ms)")["count"] == str(150 - n_errors)
        assert row(rows, "Schedule Lag (ms)")["count"] == "150"
        assert any(r["metric"].startswith("WARNING: offered rate not achieved") for r in rows)


def test_open_loop_live_rows_come_from_the_summaries_and_the_end_is_exact(server, env, tmp_path):
    with LocustWebUI(ui_args(), env, tmp_path) as ui:
        before = received(server)
        ui.swarm(server.url, request_count=600, request_rate=200.0)  # ~3 s: several live refreshes
        live = wait_live_latency(ui)
        assert live[1]["metric"] == webui.LIVE_NOTE
        for name in ("Latency from Intended Send (ms)", "Schedule Lag (ms)"):
            approximate = [r for r in live if r["metric"].startswith(name + webui.APPROXIMATE_SUFFIX)]
            assert approximate and int(approximate[0]["count"]) > 0, [r["metric"] for r in live]
        assert row(live, "Offered Rate (requests/sec)")["avg"] == "200.00"
        assert 100 < float(row(live, "Achieved Rate (requests/sec)")["avg"]) < 300
        _, rows = ui.wait_finished()
        assert received(server) - before == 600
        assert row(rows, "Latency from Intended Send (ms)")["count"] == "600"  # exact again, no suffix
        assert row(rows, "Schedule Lag (ms)")["count"] == "600"
        assert webui.LIVE_NOTE not in [r["metric"] for r in rows]


def test_processes_2_ui_values_reach_every_worker_and_count_is_exact(slower_server, env, tmp_path):
    server = slower_server
    out = tmp_path / "ui-typed-dir"
    args = ui_args("--processes", "2", *private_master())
    with LocustWebUI(args, env, tmp_path, workers=2) as ui:
        before = received(server)
        ui.swarm(server.url, request_count=137, rankings_passages_mean=3, random_seed=11, artifact_dir=str(out))
        _, rows = ui.wait_finished()
        assert received(server) - before == 137
        assert row(rows, "Request Count (requests)")["avg"] == "137.00"
        passages = row(rows, "Passages per Request (passages)")
        assert (passages["min"], passages["max"]) == ("3.00", "3.00")
        # the UI-typed artifact dir, passages and count were used by both worker processes
        records = read_records(out / "profile_export.jsonl")
        prof = records[records["phase"] == PHASE_PROFILING]
        assert prof.size == 137
        assert set(prof["worker"].tolist()) == {0, 1}
        assert (prof["passages"] == 3).all()
        assert sorted(prof["index"].tolist()) == list(range(137))
        exported = ui.get("/rankings/artifacts/profile_export_aiperf.json").json()
        assert exported["request_count"]["avg"] == 137


# ---- login ------------------------------------------------------------------------------------
def login_args(*extra: str) -> list[str]:
    # the shipped config, with this test's locustfile path (absolute), ports and host
    return ["--config", str(LOGIN_CONF), "-f", LOCUSTFILE, *private_master(), *extra]


def test_login_config_refuses_to_start_without_credentials(env, tmp_path):
    proc = subprocess.run([str(BIN / "locust"), *login_args(), "--web-port", str(free_port())], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "RANKPERF_WEB_USER and RANKPERF_WEB_PASSWORD" in proc.stderr


def test_login_protects_every_route(server, env, tmp_path):
    env = {**env, webauth.USER_ENV: "operator", webauth.PASSWORD_ENV: "correct horse battery staple"}
    with LocustWebUI(login_args(), env, tmp_path) as ui:
        for path in ("/", "/stats/requests", "/rankings/csv", "/rankings/artifacts/profile_export_aiperf.json"):
            r = ui.get(path, allow_redirects=False)
            assert r.status_code == 302 and "/login" in r.headers["Location"], (path, r.status_code)
        assert ui.http.post(ui.base + "/swarm", data={"user_count": 1, "spawn_rate": 1},
                            allow_redirects=False, timeout=HTTP_TIMEOUT_S).status_code == 302
        login_page = ui.get("/login")
        assert login_page.status_code == 200 and '"username_password_callback": "/login_submit"' in login_page.text
        # wrong password: still refused
        r = ui.http.post(ui.base + "/login_submit", data={"username": "operator", "password": "wrong"},
                         allow_redirects=False, timeout=HTTP_TIMEOUT_S)
        assert r.status_code == 302 and r.headers["Location"].endswith("/login")
        assert ui.get("/stats/requests", allow_redirects=False).status_code == 302
        # right credentials: a session cookie (HttpOnly, SameSite=Strict), and the routes answer
        r = ui.http.post(ui.base + "/login_submit",
                         data={"username": "operator", "password": "correct horse battery staple"},
                         allow_redirects=False, timeout=HTTP_TIMEOUT_S)
        assert r.status_code == 302 and not r.headers["Location"].endswith("/login")
        cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        stats = ui.get_json("/stats/requests")
        assert rankings(stats) == []
        assert ui.get("/").status_code == 200
        # a run works behind the login too
        before = received(server)
        ui.swarm(server.url, request_count=25)
        _, rows = ui.wait_finished()
        assert received(server) - before == 25
        assert row(rows, "Request Count (requests)")["avg"] == "25.00"
        assert ui.get("/rankings/artifacts/inputs.json").status_code == 200
        # logged out: refused again
        ui.get("/logout", allow_redirects=False)
        assert ui.get("/stats/requests", allow_redirects=False).status_code == 302


def test_ramping_down_mid_run_cancels_nothing_and_keeps_the_count(env, tmp_path):
    # Two ramp-downs in quick succession: the users Locust stops finish their request in flight
    # (none is cancelled), and the second ramp-down counts only the users that stay.
    count = 500
    with start_server(["--fixed-latency-ms", "40"]) as server, LocustWebUI(ui_args(), env, tmp_path) as ui:
        before = received(server)
        ui.swarm(server.url, request_count=count, user_count=8, spawn_rate=100)
        wait_received(server, 80, before)
        ui.swarm(server.url, request_count=count, user_count=4, spawn_rate=100)
        ui.swarm(server.url, request_count=count, user_count=2, spawn_rate=100)
        stats, rows = ui.wait_finished(timeout=60)
        assert received(server) - before == count
        assert row(rows, "Request Count (requests)")["avg"] == f"{count}.00"
        assert row(rows, "Error Request Count (requests)")["avg"] == "0.00"
        jsonl = tmp_path / "ramp.jsonl"
        jsonl.write_bytes(ui.get("/rankings/artifacts/profile_export.jsonl").content)
    records = read_records(jsonl)
    prof = records[records["phase"] == PHASE_PROFILING]
    assert len(prof) == count and (prof["error_kind"] == 0).all()
    # the last part of the run: 2 users, each with one request in flight at a time
    t0, t1 = int(prof["start_ns"].min()), int(prof["end_ns"].max())
    a = t0 + (t1 - t0) * 0.7
    late = prof[prof["start_ns"] >= a]
    in_flight = np.clip(np.minimum(late["end_ns"], t1) - late["start_ns"], 0, None).sum() / (t1 - a)
    assert 1.5 <= in_flight <= 2.05


def test_a_start_with_a_host_that_doubles_the_route_is_refused_with_the_reason(server, env, tmp_path):
    with LocustWebUI(ui_args(), env, tmp_path) as ui:
        before = received(server), received(server, "other")  # "other": routes the server does not have
        ui.swarm(server.url + "/rerank", request_count=20)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        status = ""
        while time.monotonic() < deadline:
            status = rankings(ui.get_json("/stats/requests"))[0]["metric"]
            if status.startswith("Status: not started: "):
                break
            time.sleep(POLL_S)
        assert status == (f"Status: not started: -H/--host '{server.url}/rerank' already ends with the endpoint "
                          "path /rerank: requests would go to /rerank/rerank. Give the server's base URL "
                          f"({server.url}); the endpoint path is added to it"), status
        time.sleep(1.0)  # users Locust may have started meanwhile had their chance to send
        assert (received(server), received(server, "other")) == before
        # the same UI then runs a good start
        ui.swarm(server.url, request_count=7)
        _, rows = ui.wait_finished()
        assert row(rows, "Request Count (requests)")["avg"] == "7.00"


def test_summary_rows_show_the_quality_rows():
    from rankperf_data.report.quality_report import QualityReport

    ndcg = Metric("ndcg@10", "NDCG@10", "", stats=_stats(0.75, 40))
    summary = Summary(metrics={}, quality=QualityReport({"ndcg@10": 0.75}, {"ndcg@10": ndcg}))
    rows = {r["metric"]: r for r in webui.summary_rows(summary)}
    assert rows["NDCG@10"]["count"] == "40"
