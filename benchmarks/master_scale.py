"""A simulated cluster against the real master: is its cost flat in requests?

Starts a real `locust --master` (rankperf's locustfile, hooks and coordinator) in its own process,
and connects N synthetic workers to it over ZeroMQ on 127.0.0.1 from this process. They speak
Locust's own worker protocol (client_ready, heartbeat, spawning, spawning_complete) with
Locust's own message encoding, and rankperf's messages built by rankperf's own code: quota asks
sized by ``GrantSizer``, grants held in a ``RangeQueue``, counters and latency sketches built by
``SummaryBuilder`` every second, and the final "done". They send no HTTP: each "completes" the
indices it is granted at its share of the aggregate rate, with lognormal latencies, and ships no
per-request records (the streamed-to-disk design: records stay on the workers' hosts). Not
simulated: Locust's own 3-second per-worker stats reports.

Prints one JSON line last: master_cpu_cores (master CPU seconds / wall seconds while the load
ran), achieved_rate (requests the master's merged summaries account for / wall seconds),
p50_rel_error and p99_rel_error (merged sketch vs numpy on every generated latency) and
exact_count (the master's count equals the requests generated, and equals the budget).
Run: `python benchmarks/master_scale.py --workers 128 --rate 1000000 --seconds 5 --json`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import zmq
from locust import __version__ as LOCUST_VERSION
from locust.rpc.protocol import Message

from rankperf_data.load import messages
from rankperf_data.load.grant_size import GrantSizer
from rankperf_data.load.quota import MAX_CHUNK, MAX_GRANT, Grant, RangeQueue
from rankperf_data.load.summaries import SummaryBuilder

REPO = Path(__file__).resolve().parents[1]
TICK_S = 0.05
FLUSH_S = 1.0  # as a real load process: a summary every second
HEARTBEAT_S = 1.0
PREFETCH_BELOW = 16
CLK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


class BlockQueue(RangeQueue):
    """A RangeQueue that hands out a block of indices at once (a synthetic worker issues thousands a tick)."""

    def take_block(self, n: int) -> int:
        taken = 0
        while self._ranges and taken < n:
            head = self._ranges[0]
            k = min(n - taken, head[1] - head[0])
            head[0] += k
            taken += k
            if head[0] >= head[1]:
                self._ranges.pop(0)
        return taken


class SynthWorker:
    """One synthetic worker: Locust's worker protocol, rankperf's quota and summary messages."""

    def __init__(self, ctx: zmq.Context, port: int, rate: float, rng: np.random.Generator,
                 grant_cap: int = MAX_GRANT) -> None:
        self.node_id = f"synth_{uuid.uuid4().hex}"
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, self.node_id.encode())
        self.sock.connect(f"tcp://127.0.0.1:{port}")
        self.rate, self.rng = rate, rng
        self.ranges, self.sizer, self.summary = BlockQueue(), GrantSizer(cap=grant_cap), None
        self.sent: dict[str, int] = {}  # message type -> count
        self.duplicate = False
        self.index, self.spawned, self.pending, self.done_sent, self.quit = -1, False, False, False, False
        self.issued, self.carry, self.last_tick, self.last_flush = 0, 0.0, 0.0, 0.0
        self.buffer: list[np.ndarray] = []  # latencies (ns) not yet summarized
        self.generated: list[np.ndarray] = []  # every latency, for the exact percentiles
        self.first_grant = 0.0
        self.send("client_ready", LOCUST_VERSION)

    def send(self, kind: str, data) -> None:
        self.sent[kind] = self.sent.get(kind, 0) + 1
        self.sock.send(Message(kind, data, self.node_id).serialize(), zmq.NOBLOCK)

    def heartbeat(self) -> None:
        self.send("heartbeat", {"state": "running" if self.spawned else "ready", "current_cpu_usage": 1.0,
                                "current_memory_usage": 50_000_000})

    def handle(self, msg: Message, now: float) -> None:
        if msg.type == "ack":
            self.index = int(msg.data["index"])
            self.summary = SummaryBuilder(self.index)
        elif msg.type == "spawn":
            self.send("spawning", None)
            users = sum(msg.data["user_classes_count"].values())
            self.send("spawning_complete", {"user_classes_count": msg.data["user_classes_count"], "user_count": users})
            self.send(messages.USERS, {"users": users})
            self.spawned, self.last_tick, self.last_flush = True, now, now
            self.ask(now)
        elif msg.type == messages.GRANT:
            self.pending = False
            grant = Grant.from_wire(msg.data)
            if grant.end > grant.start and not self.first_grant:
                self.first_grant = now
            self.ranges.add(grant)
        elif msg.type == messages.CLOSE:
            self.ranges.drop()  # never happens with a request budget: it is spent, not closed
        elif msg.type == "quit":
            self.quit = True

    def ask(self, now: float) -> None:
        if self.pending or self.ranges.closed:
            return
        self.pending = True
        self.send(messages.QUOTA, {"want": self.sizer.observe(now, self.issued), "warmup_done": 0})

    def tick(self, now: float) -> None:
        if not self.spawned or self.done_sent:
            return
        self.carry += self.rate * (now - self.last_tick)
        self.last_tick = now
        n = self.ranges.take_block(int(self.carry))
        self.carry = min(self.carry - n, self.rate * TICK_S)  # no catching up after a starved tick
        if n:
            self.issued += n
            lat = (self.rng.lognormal(np.log(20.0), 0.8, n) * 1e6).astype(np.int64)  # ms -> ns
            self.buffer.append(lat)
            self.generated.append(lat)
        if self.ranges.held() < max(PREFETCH_BELOW, self.sizer.want // 2):
            self.ask(now)
        if now - self.last_flush >= FLUSH_S:
            self.flush(now)
        if self.ranges.closed and not self.ranges.held():
            self.flush(now)
            self.send(messages.DONE, {"issued": self.issued, "completed": self.issued, "returned": []})
            self.done_sent = True

    def flush(self, now: float) -> None:
        self.last_flush = now
        if not self.buffer:
            return
        lat, self.buffer = np.concatenate(self.buffer), []
        start = np.full(lat.size, time.time_ns(), dtype=np.int64)
        zeros = np.zeros(lat.size, dtype=np.int64)
        self.summary.add_rows(zeros, zeros, start, start + lat)
        wire = self.summary.take_wire()
        self.send(messages.SUMMARY, wire)
        if self.duplicate:  # --inject-duplicate: the master must name it and not count it twice
            self.duplicate = False
            self.send(messages.SUMMARY, wire)

    def receive(self, now: float) -> None:
        while True:
            try:
                raw = self.sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            self.handle(Message.unserialize(raw), now)


def record_ingest_us(rows: int = 2000, batches: int = 20) -> float:
    """The raw-record design's master cost, for the break-even: microseconds of master CPU per
    record (Locust's message decode + Coordinator.on_records), measured in this process."""
    from rankperf_data.load.coordinator import Coordinator
    from rankperf_data.results.records import RecordBatch, new_record

    coord = Coordinator(0, 0, 0.0, lambda *a: None)
    batch = RecordBatch()
    wires = []
    for b in range(batches):
        for i in range(rows):
            t = time.time_ns()
            batch.rows.append(new_record(index=b * rows + i, phase=0, worker=0, status=200, error_kind=0,
                                         intended_ns=t, start_ns=t, end_ns=t + 20_000_000, passages=10, results=10,
                                         query_tokens=8, passage_tokens=900, request_bytes=2000, response_bytes=300))
        wires.append(Message(messages.RECORDS, batch.take_wire(), "w").serialize())
    t0 = time.process_time()
    for raw in wires:
        coord.on_records("w", Message.unserialize(raw).data)
    return (time.process_time() - t0) / (rows * batches) * 1e6


def start_master(workers: int, budget: int, port: int, out: Path) -> subprocess.Popen:
    """The real master: Locust's MasterRunner with rankperf's hooks and coordinator, headless."""
    locust = Path(sys.executable).with_name("locust")
    cmd = [str(locust), "-f", str(REPO / "locustfiles" / "rerank.py"), "--master", "--headless",
           "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
           "--expect-workers", str(workers), "--expect-workers-max-wait", "60",
           "-u", str(workers), "-r", str(workers * 100), "-H", f"http://127.0.0.1:{free_port()}",
           "--request-count", str(budget), "--warmup-request-count", "0", "--random-seed", "1",
           "--no-server-metrics", "--artifact-dir", str(out / "run"), "--only-summary", "TeiRerankUser"]
    return subprocess.Popen(cmd, stdout=open(out / "master.out", "w"), stderr=open(out / "master.err", "w"),
                            cwd=out, start_new_session=True)


def drive(master: subprocess.Popen, workers: list[SynthWorker], deadline: float) -> dict:
    """Run every synthetic worker until the master quits them; CPU and wall time of the load part."""
    poller = zmq.Poller()
    for w in workers:
        poller.register(w.sock, zmq.POLLIN)
    by_sock = {w.sock: w for w in workers}
    last_beat = last_tick = 0.0
    cpu0 = t0 = cpu1 = t1 = None
    while time.monotonic() < deadline and master.poll() is None and not all(w.quit for w in workers):
        for sock, _ in poller.poll(timeout=5):
            by_sock[sock].receive(time.monotonic())
        now = time.monotonic()
        if t0 is None and any(w.first_grant for w in workers):
            cpu0, t0 = cpu_seconds(master.pid), now  # the load starts: the first grant is here
        if now - last_beat >= HEARTBEAT_S:
            last_beat = now
            for w in workers:
                w.heartbeat()
        if now - last_tick >= TICK_S:
            last_tick = now
            for w in workers:
                w.tick(now)
            if t0 is not None and t1 is None and all(w.done_sent for w in workers):
                cpu1, t1 = cpu_seconds(master.pid), now  # the last "done" sent: the load is over
    if t1 is None and t0 is not None:
        cpu1, t1 = cpu_seconds(master.pid), time.monotonic()
    return {"cpu_s": (cpu1 - cpu0) if t0 else None, "wall_s": (t1 - t0) if t0 else None}


def measure(args: argparse.Namespace, out: Path) -> dict:
    port = free_port()
    budget = int(args.rate * args.seconds)
    master = start_master(args.workers, budget, port, out)
    ctx = zmq.Context()
    rng = np.random.default_rng(args.seed)
    cap = MAX_CHUNK if args.fixed_grants else MAX_GRANT
    workers = [SynthWorker(ctx, port, args.rate / args.workers, rng, cap) for _ in range(args.workers)]
    workers[0].duplicate = args.inject_duplicate
    try:
        load = drive(master, workers, time.monotonic() + args.seconds * 4 + 60)
        master.wait(timeout=60)
    finally:
        if master.poll() is None:
            os.killpg(master.pid, signal.SIGKILL)
            master.wait()
        for w in workers:
            w.sock.close(linger=0)
        ctx.term()
    merged = json.loads((out / "run" / "rankperf_sketches.json").read_text())
    generated = np.concatenate([lat for w in workers for lat in w.generated]) / 1e6
    prof = merged["phases"].get("profiling", {})
    exact = {q: float(np.percentile(generated, q)) for q in (50, 99)}
    return {
        "harness": "real locust --master process (rankperf hooks + coordinator) over zmq on 127.0.0.1; "
                   "synthetic workers in one process: Locust's worker protocol and rankperf's own "
                   "quota/summary code, no HTTP, no per-request records, no Locust stats reports",
        "workers": args.workers, "target_rate": args.rate, "budget": budget,
        "generated": int(generated.size), "master_requests": prof.get("requests"),
        "wall_s": load["wall_s"], "master_cpu_s": load["cpu_s"],
        "master_cpu_cores": load["cpu_s"] / load["wall_s"] if load["wall_s"] else None,
        "achieved_rate": prof.get("requests", 0) / load["wall_s"] if load["wall_s"] else 0.0,
        "p50_rel_error": abs(prof["p50"] - exact[50]) / exact[50] if prof else None,
        "p99_rel_error": abs(prof["p99"] - exact[99]) / exact[99] if prof else None,
        "exact_count": prof.get("requests") == generated.size == budget,
        "grants": "fixed 64" if args.fixed_grants else "adaptive",
        "messages_to_master_per_s": {kind: round(sum(w.sent.get(kind, 0) for w in workers) / load["wall_s"], 1)
                                     for kind in (messages.QUOTA, messages.SUMMARY, "heartbeat")}
        if load["wall_s"] else None,
        "raw_record_ingest_us": round(record_ingest_us(), 3),
        "master_notes": merged["notes"], "master_exit": master.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=128)
    parser.add_argument("--rate", type=float, default=1_000_000, help="aggregate requests/s")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fixed-grants", action="store_true",
                        help="ask for 64 indices a grant, as before adaptive grants (for comparison)")
    parser.add_argument("--inject-duplicate", action="store_true",
                        help="one worker sends its first summary twice (the master must name it, count it once)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line (last)")
    parser.add_argument("--keep", action="store_true", help="keep the master's folder (logs, artifacts)")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="master_scale_"))
    try:
        result = measure(args, out)
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
        else:
            print(f"master folder: {out}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
