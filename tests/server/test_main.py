"""`rankperf serve` as a process: the ready line, signals, option errors, and the `rankperf` CLI wiring."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from rankperf_data.server.testing import start_server

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ready_line_and_clean_exit_on_signal(server_env, sig):
    srv = start_server(["--zero-latency", "--api", "tei"], env=server_env)
    srv.proc.send_signal(sig)
    assert srv.proc.wait(10) == 0
    srv.stop()
    out, _ = srv.output()
    assert re.fullmatch(r"rankperf serve: listening on http://127\.0\.0\.1:\d+ \(api=tei\)\n", out)
    assert srv.port > 0 and srv.url == f"http://127.0.0.1:{srv.port}"


def test_shutdown_with_open_and_hung_connections(server_env):
    srv = start_server(["--zero-latency", "--fault", "hang:1"], env=server_env)
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    idle = socket.create_connection(("127.0.0.1", srv.port))
    assert srv.stop() == 0
    s.close()
    idle.close()


def test_busy_port_is_a_clear_error(server_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _run(["--port", str(port)], server_env)
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr


@pytest.mark.parametrize("args", [["--zero-latency", "--fixed-latency-ms", "5"], ["--max-input-length", "99999"],
                                  ["--api", "grpc"], ["--per-token-us", "-1"]])
def test_bad_options_exit_2(server_env, args):
    proc = _run(args, server_env)
    assert proc.returncode == 2 and proc.stdout == ""


def test_rankperf_cli_serve(server_env):
    from rankperf_data.cli import build_parser

    parser, _ = build_parser()
    args = parser.parse_args(["serve", "--api", "cohere", "--fault", "500:0.1", "--fault", "slow:0.2:1s"])
    assert (args.command, args.api, args.port, args.host) == ("serve", "cohere", 8080, "127.0.0.1")
    assert args.fault == ["500:0.1", "slow:0.2:1s"]
    help_text = subprocess.run([sys.executable, "-m", "rankperf_data.cli", "serve", "--help"], cwd=REPO,
                               env={**server_env, "RANKPERF_SERVER_API_KEY": "hidden-key-99"},
                               capture_output=True, text=True, timeout=20).stdout
    assert "--fixed-latency-ms" in help_text and "RANKPERF_SERVER_API_KEY" in help_text
    assert "hidden-key-99" not in help_text


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rankperf_data.server.main", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=20)


def test_the_server_stays_independent_of_locust_and_the_load_side(server_env):
    code = ("import sys, rankperf_data.server.main, rankperf_data.server.testing; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent') "
            "or m.startswith(('rankperf_data.load', 'rankperf_data.report'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=server_env, capture_output=True, text=True,
                         timeout=20).stdout
    assert out.strip() == "[]"
