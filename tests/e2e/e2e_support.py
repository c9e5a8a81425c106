"""End-to-end support: run real `locust` / `rankperf` processes and read what they wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from rankperf_data.ports import free_port as pick_free_port
from rankperf_data.server.testing import ServerProcess

REPO = Path(__file__).resolve().parents[2]
LOCUSTFILE = str(REPO / "locustfiles" / "rerank.py")
BIN = Path(sys.executable).parent


def received(server: ServerProcess, route: str = "/rerank") -> int:
    return int(server.metric("rankperf_requests_received_total", route=route))


def locust_cmd(host: str, *args: str, locustfile: str = LOCUSTFILE) -> list[str]:
    return [str(BIN / "locust"), "-f", locustfile, "--headless", "-H", host, *args]


def run(cmd: list[str], env: dict[str, str], timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def private_master(port: int | None = None) -> list[str]:
    """Master port on loopback, never the shared default 5557."""
    port = port or pick_free_port()
    return ["--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--master-port", str(port)]


def load_records(artifact_dir: Path) -> np.ndarray:
    from rankperf_data.report.load import load_run

    return load_run(artifact_dir).records


def export_json(artifact_dir: Path) -> dict:
    return json.loads((artifact_dir / "profile_export_aiperf.json").read_text())
