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


def wait_master_and_workers(master: subprocess.Popen, workers: list[subprocess.Popen], timeout: float) -> str:
    """Wait for a headless master (exit 0 asserted) and its workers; kill what is left. Returns its stdout."""
    try:
        out, err = master.communicate(timeout=timeout)
        assert master.returncode == 0, err[-3000:]
        for w in workers:
            w.wait(timeout=30)
    finally:
        for p in (master, *workers):
            if p.poll() is None:
                p.kill()
                p.wait()
    return out


def load_records(artifact_dir: Path) -> np.ndarray:
    from rankperf_data.results.disk import load_run

    return load_run(artifact_dir).records


def export_json(artifact_dir: Path) -> dict:
    return json.loads((artifact_dir / "profile_export_aiperf.json").read_text())


class BodyCapture:
    """A minimal TEI-compatible server (stdlib, threads) that keeps a digest of every body it gets."""

    def __init__(self) -> None:
        import hashlib
        import http.server
        import threading

        import orjson

        self.digests: list[str] = []
        digests = self.digests
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (stdlib naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                n = len(orjson.loads(body)["texts"])
                answer = orjson.dumps([{"index": i, "score": 1.0 - i / (n + 1)} for i in range(n)])
                with lock:
                    digests.append(hashlib.sha256(body).hexdigest())
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def assert_report_rebuilds_sweep(base: Path, sweep: dict, env: dict[str, str]) -> None:
    """Delete a campaign's aggregates; `rankperf report DIR` must rebuild them from the point folders alone."""
    for name in ("sweep_aggregate", "aggregate"):
        for f in sorted((base / name).rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
    rebuilt = run([str(BIN / "rankperf"), "report", str(base)], env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads((base / "sweep_aggregate" / "profile_export_aiperf_sweep.json").read_text()) == sweep
    assert (base / "aggregate" / "concurrency_4" / "profile_export_aiperf_aggregate.json").is_file()
