"""Master and workers on different hosts: network namespaces joined by a bridge, all made by the test.

Hosts (addresses of our own, inside our own namespaces): the reference server, the master and
two workers. Skips cleanly where namespaces cannot be created (not root, no iproute2).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time

import pytest
from e2e_support import BIN, LOCUSTFILE, export_json, load_records

from rankperf_data.results.records import PHASE_PROFILING

pytestmark = pytest.mark.netns
COUNT = 1001


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


class Hosts:
    """A bridge in a hub namespace and one namespace per host, each with one veth on the bridge."""

    def __init__(self, names: list[str]) -> None:
        tag = secrets.token_hex(3)
        self.subnet = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250)}"
        self.hub = f"rp{tag}hub"
        self.ns = {name: f"rp{tag}{name}" for name in names}
        self.addr = {name: f"{self.subnet}.{i + 1}" for i, name in enumerate(names)}
        ip("netns", "add", self.hub)
        ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", self.hub, "link", "set", "br0", "up")
        for i, (name, ns) in enumerate(self.ns.items()):
            ip("netns", "add", ns)
            ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", f"p{i}", "netns", self.hub)
            ip("-n", self.hub, "link", "set", f"p{i}", "master", "br0", "up")
            ip("-n", ns, "addr", "add", f"{self.addr[name]}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")

    def popen(self, name: str, cmd: list[str], env: dict, **kw) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.ns[name], *cmd], env=env, **kw)

    def run(self, name: str, cmd: list[str], env: dict) -> str:
        return subprocess.run(["ip", "netns", "exec", self.ns[name], *cmd], env=env, capture_output=True,
                              text=True, timeout=20, check=True).stdout

    def remove(self) -> None:
        for ns in [*self.ns.values(), self.hub]:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


def _cannot(reason: str) -> None:
    """Skip where namespaces are unavailable; fail where CI requires them (`.ci/run` sets the variable)."""
    if os.environ.get("RANKPERF_REQUIRE_NETNS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def hosts():
    if shutil.which("ip") is None:
        _cannot("iproute2 is not installed: cannot create test hosts")
    try:
        h = Hosts(["server", "master", "worker1", "worker2"])
    except (subprocess.CalledProcessError, PermissionError) as exc:
        _cannot(f"cannot create network namespaces here ({exc}); run as root with iproute2")
    try:
        yield h
    finally:
        h.remove()


def test_master_and_workers_on_separate_hosts(hosts, tmp_path, clean_env):
    procs: list[subprocess.Popen] = []
    try:
        server = hosts.popen("server", [sys.executable, "-m", "rankperf_data.server.main", "--host",
                                        hosts.addr["server"], "--port", "8080", "--zero-latency"],
                             clean_env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(server)
        assert re.search(r"listening on http://", server.stdout.readline())
        url = f"http://{hosts.addr['server']}:8080"
        artifacts = tmp_path / "run"
        master = hosts.popen("master", [str(BIN / "locust"), "-f", LOCUSTFILE, "--headless", "--master",
                                        "--master-bind-host", hosts.addr["master"], "--master-bind-port", "5557",
                                        "--expect-workers", "2", "-H", url, "-u", "8", "-r", "8",
                                        "--request-count", str(COUNT), "--warmup-request-count", "9",
                                        "--artifact-dir", str(artifacts), "NimRankingUser"],
                             clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(master)
        for w in ("worker1", "worker2"):
            procs.append(hosts.popen(w, [str(BIN / "locust"), "-f", LOCUSTFILE, "--worker", "--master-host",
                                         hosts.addr["master"], "--master-port", "5557", "NimRankingUser"],
                                     clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _, err = master.communicate(timeout=120)
        assert master.returncode == 0, err[-3000:]
        time.sleep(0.2)
        metrics = hosts.run("server", [sys.executable, "-c", "import urllib.request,sys;"
                                       f"sys.stdout.write(urllib.request.urlopen('{url}/metrics').read().decode())"],
                            clean_env)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    got = re.search(r'rankperf_requests_received_total\{route="/v1/ranking"\} (\d+)', metrics)
    assert got and int(got.group(1)) == COUNT + 9
    records = load_records(artifacts)
    prof = records[records["phase"] == PHASE_PROFILING]
    assert len(prof) == COUNT and (prof["error_kind"] == 0).all()
    assert set(records["worker"].tolist()) == {0, 1}
    exported = export_json(artifacts)
    assert exported["request_count"]["avg"] == COUNT and exported["partial"] is False
    assert exported["input_config"]["endpoint"]["urls"] == [url]
