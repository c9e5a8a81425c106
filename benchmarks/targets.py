"""Load targets on loopback: nginx with a fixed TEI body (at once, or after 20 ms) and `rankperf serve`."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from common import ROOT, VENV, free_port, port_open, session_pids, wait_port

NGINX_CONF = ROOT / "nginx.conf"
ECHO_MODULE = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")
FAST_PORT, DELAY_PORT = 18631, 18632


@dataclass
class Target:
    """A running target: where to send, and which processes to leave out of the client's CPU."""

    url: str
    pids: tuple[int, ...]
    note: str = ""


def _render(conf: str, fast: int, delayed: int) -> str:
    conf = conf.replace(f":{FAST_PORT} ", f":{fast} ").replace(f":{DELAY_PORT} ", f":{delayed} ")
    if not ECHO_MODULE.exists():  # no echo module: no 20 ms server
        conf = re.sub(r"load_module [^\n]*\n", "", conf)
        conf = re.sub(r"# delayed server \(begin\).*# delayed server \(end\)", "", conf, flags=re.S)
    return conf


@contextlib.contextmanager
def nginx() -> Iterator[tuple[Target, Target | None]]:
    """Start nginx (benchmarks/nginx.conf, a temp prefix); yields the immediate and the 20 ms targets."""
    with tempfile.TemporaryDirectory(prefix="rankperf-nginx-") as prefix:
        (Path(prefix) / "tmp").mkdir()
        conf_path = NGINX_CONF
        fast, delayed = FAST_PORT, DELAY_PORT
        if port_open(fast) or port_open(delayed) or not ECHO_MODULE.exists():
            fast, delayed = free_port(), free_port()
            conf_path = Path(prefix) / "nginx.conf"
            conf_path.write_text(_render(NGINX_CONF.read_text(), fast, delayed))
        log = open(Path(prefix) / "nginx.log", "wb")  # noqa: SIM115 (closed below)
        proc = subprocess.Popen(["nginx", "-c", str(conf_path), "-p", prefix + "/"], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_port(fast)
            time.sleep(0.2)
            pids = tuple(session_pids(proc.pid))
            slow = Target(f"http://127.0.0.1:{delayed}", pids, "nginx echo_sleep 0.020") if ECHO_MODULE.exists() else None
            yield Target(f"http://127.0.0.1:{fast}", pids, "nginx return 200"), slow
        finally:
            proc.send_signal(signal.SIGQUIT)  # graceful stop of master and worker
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


@contextlib.contextmanager
def reference_server(log: Path, fixed_latency_ms: float = 20.0) -> Iterator[Target]:
    """`rankperf serve --fixed-latency-ms X` on a free loopback port."""
    port = free_port()
    cmd = [str(VENV / "bin" / "rankperf"), "serve", "--host", "127.0.0.1", "--port", str(port),
           "--fixed-latency-ms", str(fixed_latency_ms), "--max-concurrent-requests", "0", "--log-level", "warning"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_port(port, 30)
        deadline = time.monotonic() + 30
        while "listening on" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.05)
        yield Target(f"http://127.0.0.1:{port}", tuple(session_pids(proc.pid)),
                     f"rankperf serve --fixed-latency-ms {fixed_latency_ms:g}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
