"""The word-estimate warning is said once per run, not once per Locust process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rankperf_data.ports import free_port
from rankperf_data.server.testing import start_server

REPO = Path(__file__).resolve().parents[2]
WARNING = "no tokenizer for org/absent-model"


def test_processes_run_warns_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANKPERF_", "LOCUST_"))}
    env.update(HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path / "empty-hf-cache"), PYTHONUNBUFFERED="1")
    port = str(free_port())
    with start_server(["--api", "all", "--batch-overhead-ms", "0", "--per-token-us", "0"]) as server:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "locust"), "-f", str(REPO / "locustfiles" / "rerank.py"),
             "--headless", "-H", server.url, "-u", "2", "-r", "100", "--processes", "2",
             "--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port,
             "-m", "org/absent-model", "--request-count", "8", "--rankings-passages-mean", "2",
             "--artifact-dir", str(tmp_path / "run"), "--only-summary", "TeiRerankUser"],
            env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        sent = server.metric("rankperf_requests_received_total", route="/rerank")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sent == 8  # the workers did build their datasets (and sent)
    assert proc.stderr.count(WARNING) == 1, proc.stderr[-3000:]
