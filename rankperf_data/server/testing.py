"""Helpers for tests and benchmarks: run the reference server as a subprocess and read its counters."""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from rankperf_data.server.metrics import parse_prometheus

READY = re.compile(r"rankperf serve: listening on (http://\S+:(\d+)) \(api=\w+\)")
_REPO = str(Path(__file__).resolve().parents[2])
_live: set[ServerProcess] = set()


class ServerProcess:
    """A running `rankperf serve`; stdout and stderr are collected (see `output()`)."""

    def __init__(self, proc: subprocess.Popen, timeout: float) -> None:
        self.proc = proc
        self.url = ""
        self.port = 0
        self._lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._ready = threading.Event()
        self._readers = [
            threading.Thread(target=self._pump, args=(proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._pump, args=(proc.stderr, "stderr"), daemon=True),
        ]
        for t in self._readers:
            t.start()
        _live.add(self)
        if not self._ready.wait(timeout) or not self.port:
            self.stop()
            raise RuntimeError(f"rankperf serve did not become ready in {timeout:g}s "
                               f"(exit code {proc.poll()}):\n{self.output()[1]}")

    def _pump(self, stream, name: str) -> None:
        for line in stream:
            self._lines[name].append(line)
            if name == "stdout" and not self.port:
                m = READY.search(line)
                if m:
                    self.url, self.port = m.group(1), int(m.group(2))
                    self._ready.set()
        if name == "stdout":
            self._ready.set()  # exited before ready: don't make the caller wait for the timeout

    def output(self) -> tuple[str, str]:
        """(stdout, stderr) so far."""
        return "".join(self._lines["stdout"]), "".join(self._lines["stderr"])

    def metrics(self, headers: dict[str, str] | None = None) -> dict[str, float]:
        """GET /metrics, parsed: {'name{label="v",...}': value}, labels in alphabetical order."""
        req = urllib.request.Request(self.url + "/metrics", headers=headers or {})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return parse_prometheus(resp.read().decode())

    def metric(self, name: str, **labels: object) -> float:
        """One sample's value (0 when absent), e.g. metric('rankperf_responses_total', route='/rerank', status=200)."""
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        return self.metrics().get(f"{name}{{{inner}}}" if inner else name, 0.0)

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        proc = self.proc
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for t in self._readers:
            t.join(2)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        _live.discard(self)
        return proc.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(args: list[str], env: dict[str, str] | None = None, timeout: float = 10) -> ServerProcess:
    """Start `python -m rankperf_data.server.main --port 0 *args` and wait for its ready line."""
    env = dict(os.environ if env is None else env)
    # The package must be importable even when it is not installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_REPO, env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rankperf_data.server.main", "--port", "0", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        text=True, encoding="utf-8", errors="replace",
    )
    return ServerProcess(proc, timeout)


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_live):
        with contextlib.suppress(OSError):
            server.proc.kill()


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Poll `predicate` until it is true or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
