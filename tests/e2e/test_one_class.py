"""One API per run: locustfiles/rerank.py with no class chosen is refused by name, before any load.

Real `locust` processes (headless, --processes 2, the web UI without and with the class picker)
against the reference server, whose request counter shows that nothing was sent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from e2e_support import BIN, LOCUSTFILE, locust_cmd, private_master, received
from test_webui import HTTP_TIMEOUT_S, LocustWebUI, template_args, ui_args

from rankperf_data import apis
from rankperf_data.ports import free_port
from rankperf_data.server.testing import start_server

CLASSES = tuple(sorted(apis.BY_USER_CLASS))  # every API's class, as locustfiles/rerank.py holds them
ALL_REFUSED = f"{len(CLASSES)} user classes would run together ({', '.join(CLASSES)})"
REFUSED_S = 30  # a refusal comes before any load: seconds, not a run


@pytest.fixture(scope="module")
def server():
    with start_server(["--api", "all", "--fixed-latency-ms", "5"]) as s:
        yield s


@pytest.fixture
def env(clean_env, tmp_path) -> dict[str, str]:
    return {**clean_env, "HOME": str(tmp_path)}  # no ~/.locust.conf


def _sent(server) -> int:
    return sum(received(server, route) for route in ("/rerank", "/v2/rerank", "/v1/ranking", "/v1/rerank"))


def _assert_names_all(text: str) -> None:
    assert ALL_REFUSED in text, text[-3000:]
    assert "mixed in one report" in text
    assert "locustfiles/rerank.py ... TeiRerankUser" in text  # how to pick one


def _run_until_exit(cmd: list[str], env: dict[str, str], cwd) -> tuple[int, str]:
    """Run in its own process group; afterwards no process of that group may be left."""
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=REFUSED_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return proc.returncode, out
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError(f"processes of the refused run were left running:\n{out[-3000:]}")


@pytest.mark.parametrize("extra", [[], ["--processes", "2"]], ids=["local", "processes-2"])
def test_headless_without_a_class_is_refused_before_any_load(server, env, tmp_path, extra):
    extra = [*extra, *private_master()] if extra else extra
    before = _sent(server)
    code, out = _run_until_exit(locust_cmd(server.url, "-u", "4", "-r", "4", "--request-count", "50",
                                           "--artifact-dir", str(tmp_path / "run"), *extra), env, tmp_path)
    assert code == 2, out[-3000:]
    _assert_names_all(out)
    assert _sent(server) == before
    assert not (tmp_path / "run").exists()


def test_headless_with_one_class_named_runs(server, env, tmp_path):
    before, nim_before = _sent(server), received(server, "/v1/ranking")
    code, out = _run_until_exit(locust_cmd(server.url, "-u", "2", "-r", "2", "--request-count", "7",
                                           "--artifact-dir", str(tmp_path / "run"), "NimRankingUser"), env, tmp_path)
    assert code == 0, out[-3000:]
    assert "would run together" not in out
    assert received(server, "/v1/ranking") - nim_before == _sent(server) - before == 7


def test_web_ui_without_the_class_picker_is_refused_at_start(env, tmp_path):
    cmd = [str(BIN / "locust"), "-f", LOCUSTFILE, "--web-host", "127.0.0.1", "--web-port", str(free_port())]
    code, out = _run_until_exit(cmd, env, tmp_path)
    assert code == 2, out[-3000:]
    _assert_names_all(out)


def test_web_ui_picker_starts_with_one_class_and_refuses_several(server, env, tmp_path):
    with LocustWebUI(ui_args(), env, tmp_path) as ui:
        targs = template_args(ui.get("/").text)
        # Locust's picker lists a row per entry of `users` and starts with `available_user_classes` ticked
        assert sorted(targs["users"]) == list(CLASSES)
        assert targs["available_user_classes"] == ["TeiRerankUser"]
        before = _sent(server)
        refusals = {
            ("TeiRerankUser", "CohereRerankUser"): "2 user classes would run together (CohereRerankUser, TeiRerankUser)",
            (): ALL_REFUSED,
        }
        for picked, expected in refusals.items():
            form = {"user_classes": list(picked), "user_count": 2, "spawn_rate": 2, "host": server.url,
                    "request_count": 5}
            body = ui.http.post(ui.base + "/swarm", data=form, timeout=HTTP_TIMEOUT_S).json()
            assert body["success"] is False, body
            assert expected in body["message"] and "tick exactly one class" in body["message"], body
        time.sleep(1.0)  # a start that slipped through would have sent by now
        assert _sent(server) == before
        assert ui.get_json("/stats/requests")["state"] == "ready"
        # one class: runs; the picker then starts with that class
        body = ui.swarm(server.url, user_classes="CohereRerankUser", request_count=9, user_count=2, spawn_rate=2)
        assert body["user_classes"] == ["CohereRerankUser"]
        ui.wait_finished()
        assert received(server, "/v2/rerank") >= 9 and _sent(server) - before == 9
        assert template_args(ui.get("/").text)["available_user_classes"] == ["CohereRerankUser"]
    assert "start refused" in ui.log()
