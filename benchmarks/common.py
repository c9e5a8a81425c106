"""Shared helpers: paths, bounded subprocess runs with CPU, memory and noise accounting, statistics."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
OUT = ROOT / "out"
ENV_DIR = ROOT / ".env"
VENV = Path(os.environ.get("RANKPERF_VENV", "/work/venv"))
VENV_PY = VENV / "bin" / "python"
CLK = os.sysconf("SC_CLK_TCK")
LEDGER: list[dict] = []  # one line per bounded run: label, wall time, background load (for the noise summary)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port: int, timeout: float = 20.0) -> None:
    """Block until 127.0.0.1:port accepts connections (RuntimeError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")
        time.sleep(0.05)


def median(values: list[float]) -> float | None:
    """Median of the non-None values, None when there are none."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    """a / b rounded, None when either is missing or b is zero."""
    if a is None or not b:
        return None
    return round(a / b, digits)


def percentile(values: list[float], p: float) -> float | None:
    """Linear-interpolation percentile (NumPy's default), ``p`` in 0..100."""
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


# ---- /proc accounting ---------------------------------------------------------------------------
def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(session id, own user+sys CPU seconds) of a live process, None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[3]), (int(fields[11]) + int(fields[12])) / CLK


def cpu_seconds(pids: list[int]) -> float:
    """Own user+sys CPU seconds of the given live processes."""
    return sum(s[1] for s in map(_proc_stat, pids) if s)


def session_pids(sid: int) -> list[int]:
    """Every live process whose session id is ``sid``."""
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            st = _proc_stat(int(entry.name))
            if st and st[0] == sid:
                out.append(int(entry.name))
    return out


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of one process from smaps_rollup (0, 0 if it is gone)."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def system_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = parts[:8]
    return (user + nice + system + irq + softirq) / CLK, steal / CLK


def loadavg() -> float:
    """One-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


# ---- bounded runs -------------------------------------------------------------------------------
@dataclass
class Proc:
    """What one bounded run of a client cost, and how busy the rest of the machine was meanwhile."""

    cmd: list[str]
    log: str
    rc: int = 0
    timed_out: bool = False
    wall_s: float = 0.0
    cpu_s: float = 0.0  # user+sys of the whole process tree (wait4: the child and every reaped descendant)
    cpu_sampled_s: float = 0.0  # cross-check: last-seen own CPU of every process seen in the tree
    peak_rss_mb: float | None = None  # sum over the tree at the sampled peak
    peak_pss_mb: float | None = None  # proportional set size: shared pages split between sharers
    max_single_rss_mb: float = 0.0  # ru_maxrss: the largest single process
    processes_seen: int = 0
    background_cores: float = 0.0  # machine CPU use not from this client nor the target, in cores
    steal_cores: float = 0.0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        d["cmd"] = " ".join(self.cmd)
        return d


class _Sampler(threading.Thread):
    """Samples the run's session: per-process CPU (cross-check) and, optionally, tree RSS/PSS."""

    def __init__(self, sid: int, interval: float, memory: bool) -> None:
        super().__init__(daemon=True)
        self.sid, self.interval, self.memory = sid, interval, memory
        self.cpu: dict[int, float] = {}
        self.peak_rss = self.peak_pss = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)

    def sample(self) -> None:
        pids = session_pids(self.sid)
        for pid in pids:
            st = _proc_stat(pid)
            if st:
                self.cpu[pid] = st[1]
        if self.memory:
            mem = [_memory(pid) for pid in pids]
            rss, pss = sum(m[0] for m in mem), sum(m[1] for m in mem)
            if pss > self.peak_pss:
                self.peak_rss, self.peak_pss = rss, pss


def run(cmd: list[str], log: Path, timeout: float, env: dict | None = None, memory: bool = False,
        target_pids: tuple[int, ...] = (), cwd: Path | None = None) -> Proc:
    """Run ``cmd`` in its own session, bounded by ``timeout``; account CPU, memory and background load."""
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = Proc([str(c) for c in cmd], str(log))
    busy0, steal0 = system_cpu()
    target0 = cpu_seconds(list(target_pids))
    t0 = time.monotonic()
    with open(log, "wb") as out:
        child = subprocess.Popen(proc.cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                 start_new_session=True)
    sampler = _Sampler(child.pid, 0.25 if memory else 1.0, memory)
    sampler.start()
    try:
        usage = _wait(child, proc, t0 + timeout)
    except BaseException:  # Ctrl-C or a kill of the harness: the client runs in its own session, stop it too
        _signal_group(child.pid, signal.SIGKILL)
        child.wait()
        sampler.stop.set()
        raise
    child.returncode = proc.rc
    proc.wall_s = time.monotonic() - t0
    sampler.stop.set()
    sampler.join()
    _reap_leftovers(child.pid)
    busy1, steal1 = system_cpu()
    proc.cpu_s = usage.ru_utime + usage.ru_stime
    proc.cpu_sampled_s = sum(sampler.cpu.values())
    proc.processes_seen = len(sampler.cpu)
    proc.max_single_rss_mb = usage.ru_maxrss / 1024
    if memory:
        proc.peak_rss_mb = sampler.peak_rss / 2**20
        proc.peak_pss_mb = sampler.peak_pss / 2**20
    target_cpu = cpu_seconds(list(target_pids)) - target0
    other = (busy1 - busy0) - max(proc.cpu_s, proc.cpu_sampled_s) - target_cpu
    proc.background_cores = round(max(0.0, other) / proc.wall_s, 3)
    proc.steal_cores = round((steal1 - steal0) / proc.wall_s, 3)
    LEDGER.append({"log": proc.log, "wall_s": round(proc.wall_s, 2), "background_cores": proc.background_cores,
                   "steal_cores": proc.steal_cores})
    return proc


def _wait(child: subprocess.Popen, proc: Proc, deadline: float) -> os.struct_rusage:
    """Reap the child; past ``deadline`` SIGINT its group (a clean stop with a report), 15 s later SIGKILL."""
    while True:
        pid, status, ru = os.wait4(child.pid, os.WNOHANG)
        if pid:
            proc.rc = os.waitstatus_to_exitcode(status)
            return ru
        if time.monotonic() > deadline and not proc.timed_out:
            proc.timed_out = True
            _signal_group(child.pid, signal.SIGINT)
            deadline = time.monotonic() + 15  # then SIGKILL below
        elif proc.timed_out and time.monotonic() > deadline:
            _signal_group(child.pid, signal.SIGKILL)
            deadline = float("inf")
        else:
            time.sleep(0.02)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _reap_leftovers(sid: int) -> None:
    """Stop processes the run left behind in its own session (its process group), by that group id."""
    if session_pids(sid):
        _signal_group(sid, signal.SIGTERM)
        time.sleep(0.5)
        if session_pids(sid):
            _signal_group(sid, signal.SIGKILL)


@dataclass(frozen=True)
class Mode:
    """How long and how often: the full run (3 alternating repetitions) or --quick (1, short)."""

    quick: bool
    reps: int
    seconds: float  # target length of one measured run
    memory_requests: int  # every tool's memory run sends this many requests
    memory_aiperf_reps: int  # AIPerf's memory run takes ~200 s at ~500 req/s: once (its spread was 0.4 %)
    aiperf_sweep: tuple[int, ...]  # AIPerf concurrencies tried for its best capacity
    server_seconds: float  # one `server_capacity.py` run
    generation_requests: int  # requests each tool generates per data-generation run

    @classmethod
    def make(cls, quick: bool) -> Mode:
        if quick:
            return cls(True, 1, 3.0, 10_000, 1, (), 3.0, 300)
        return cls(False, 3, 10.0, 100_000, 1, (16, 64, 256), 8.0, 3000)

    def size(self, rate: float | None, seconds: float | None = None, lo: int = 500, hi: int = 400_000) -> int:
        """Requests that keep a tool busy for about ``seconds`` at ``rate`` requests/s."""
        n = int((rate or 1000) * (seconds or self.seconds))
        return max(lo, min(hi, n))
