"""Helpers for tests and benchmarks: run the reference server (as a subprocess, or on a thread of the
current process) and read its counters."""

from __future__ import annotations

import argparse
import asyncio
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

from rankperf_data.server.app import ServeConfig, event_loop_for, serve
from rankperf_data.server.main import add_serve_arguments, config_from_args
from rankperf_data.server.metrics import parse_prometheus

READY = re.compile(r"rankperf serve: listening on (http://\S+:(\d+)) \(api=\w+\)")
_REPO = str(Path(__file__).resolve().parents[2])
_live: set[ServerProcess] = set()


class _Counters:
    """Reading /metrics of a running server at `self.url`."""

    url: str

    def metrics(self, headers: dict[str, str] | None = None) -> dict[str, float]:
        """GET /metrics, parsed: {'name{label="v",...}': value}, labels in alphabetical order."""
        req = urllib.request.Request(self.url + "/metrics", headers=headers or {})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return parse_prometheus(resp.read().decode())

    def metric(self, name: str, **labels: object) -> float:
        """One sample's value (0 when absent), e.g. metric('rankperf_responses_total', route='/rerank', status=200)."""
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        return self.metrics().get(f"{name}{{{inner}}}" if inner else name, 0.0)


class ServerProcess(_Counters):
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


class ThreadServer(_Counters):
    """The reference server on a background thread of this process, with its own event loop.

    Cheaper to start than a subprocess and shares the process's environment (RANKPERF_SERVER_API_KEY
    included); but it also shares the GIL, so keep timing measurements on `start_server`.
    """

    def __init__(self, config: ServeConfig, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0) -> None:
        self.config = config
        self.host = host
        self._port = port  # to listen on; 0 picks a free one
        self.port = 0  # listening on
        self.url = ""
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rankperf-serve", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or not self.port:
            self.stop()
            raise RuntimeError(f"in-process server did not become ready in {timeout:g}s: {self.error!r}")

    def _run(self) -> None:
        loop = event_loop_for(self.config)
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._stop = asyncio.Event()
        try:
            loop.run_until_complete(serve(self.config, self.host, self._port, self._on_ready, self._stop))
        except BaseException as e:  # noqa: BLE001 - reported by __init__ (startup) or stop()
            self.error = e
        finally:
            loop.close()
            self._ready.set()  # failed before ready: don't make the caller wait for the timeout

    def _on_ready(self, port: int) -> None:
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.port, self.url = port, f"http://{host}:{port}"
        self._ready.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close every connection and the listening socket, and join the thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"in-process server did not stop within {timeout:g}s")

    def __enter__(self) -> ThreadServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(args: list[str] | None = None, *, config: ServeConfig | None = None,
                    timeout: float = 10.0) -> ThreadServer:
    """Start the reference server in this process on a free port: from `rankperf serve` arguments
    (`--port` and `--host` apart, e.g. ["--zero-latency"]) or a ready `config`. Use it as a context
    manager; `.port`, `.url`, `.metrics()` and `.metric()` work as on `start_server`'s result."""
    if config is None:
        parser = argparse.ArgumentParser(prog="serve_in_thread", exit_on_error=False)
        add_serve_arguments(parser)
        parsed = parser.parse_args(args or [])
        config = config_from_args(parsed)
        return ThreadServer(config, parsed.host, timeout=timeout)
    return ThreadServer(config, timeout=timeout)


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
