"""Real third-party rerank servers as test fixtures: Infinity on CPU with a tiny local cross-encoder."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rankperf_data.ports import free_port

from . import infinity_env

REQUIRE_ENV = "RANKPERF_REQUIRE_REAL_SERVER"  # set by .ci/run: a server that cannot be built fails there
HERE = Path(__file__).resolve().parent
READY_TIMEOUT_S = 120.0  # model load on a busy 2-core machine; measured ~10 s when idle


def unavailable(reason: str) -> None:
    """Skip, or fail where the real server is required."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires the real-server tests to run", pytrace=False)
    pytest.skip(reason)


def offline_env(home: Path) -> dict[str, str]:
    """Nothing leaves the machine: no hub, no telemetry; caches in the test's own folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANKPERF_", "LOCUST_", "INFINITY_"))}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", DO_NOT_TRACK="1",
               INFINITY_ANONYMOUS_USAGE_STATS="0", HF_HOME=str(home / "hf"), PYTHONUNBUFFERED="1")
    return env


@dataclass
class RealServer:
    url: str
    model_dir: Path
    log: Path

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=10) as r:  # loopback only
            return r.read()

    def counter(self, name: str, **labels: str) -> float:
        """One sample of a Prometheus counter on /metrics (0 when the series does not exist yet)."""
        want = [f'{k}="{v}"' for k, v in labels.items()]
        for line in self.get("/metrics").decode().splitlines():
            if line.startswith(name + "{") and all(w in line for w in want):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def rerank_2xx(self) -> int:
        """Infinity's own count of answered /rerank calls (prometheus-fastapi-instrumentator)."""
        return int(self.counter("http_requests_total", handler="/rerank", method="POST", status="2xx"))


@pytest.fixture(scope="package")
def infinity_venv(tmp_path_factory) -> Path:
    # A plain local `pytest` does not spend ~70 s and 1.4 GB on it unasked; CI (REQUIRE_ENV) builds it.
    if not infinity_env.is_ready(infinity_env.env_dir()) and os.environ.get(REQUIRE_ENV) != "1":
        pytest.skip(f"Infinity's venv is not built: `python tests/real_server/infinity_env.py` builds it "
                    f"(or set {REQUIRE_ENV}=1)")
    log = tmp_path_factory.mktemp("infinity-build") / "build.log"
    try:
        with open(log, "w") as fh:
            return infinity_env.ensure(log=fh)
    except (OSError, subprocess.CalledProcessError, RuntimeError) as e:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        unavailable(f"cannot build the Infinity environment ({infinity_env.INFINITY}): {e}\n{tail}")


@pytest.fixture(scope="package")
def tiny_model(infinity_venv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny-reranker") / "model"
    home = out.parent
    proc = subprocess.run([str(infinity_env.venv_python(infinity_venv)), str(HERE / "tiny_model.py"), str(out)],
                          env=offline_env(home), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        unavailable(f"cannot write the tiny cross-encoder: {proc.stderr[-2000:]}")
    return out


def _wait_ready(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            unavailable(f"Infinity exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    unavailable(f"Infinity not ready after {READY_TIMEOUT_S:.0f} s: {log.read_text()[-3000:]}")


@pytest.fixture(scope="package")
def infinity(infinity_venv, tiny_model) -> Iterator[RealServer]:
    """Infinity 0.0.78 serving the tiny cross-encoder on a free loopback port, torch engine, CPU.
    Package scope: stopped once this directory's tests are done, not at the end of the whole run."""
    port = free_port()
    log = tiny_model.parent / "infinity.log"
    cmd = [str(infinity_env.infinity_exe(infinity_venv)), "v2", "--model-id", str(tiny_model),
           "--engine", "torch", "--device", "cpu", "--host", "127.0.0.1", "--port", str(port),
           "--no-model-warmup", "--batch-size", "8"]
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=offline_env(tiny_model.parent))
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url, log)
        yield RealServer(url, tiny_model, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
