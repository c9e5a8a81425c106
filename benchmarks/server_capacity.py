"""How many requests/s `rankperf serve` sustains on one core at zero model latency.

    python benchmarks/server_capacity.py [--route all] [--duration 8] [--connections 64] [--json]
    python benchmarks/server_capacity.py --fixed-latency-ms 10     # timing accuracy instead

For each route (/rerank, /v2/rerank and /v1/ranking by default, one fresh server each) the server
runs pinned to one CPU; the load comes from `wrk` (if installed) or from keep-alive raw-socket
client processes, pinned to the other CPUs. Besides the achieved rate it prints the server's CPU
time per request, read from /proc, and the capacity that implies for a whole core: on a shared or
small machine the client may not be able to saturate the server, and the per-request CPU cost is
the steadier figure. Bounded to about `duration + 3` seconds per route.

From Python: `measure_capacity(route, duration)` returns one route's figures as a dict,
`measure_routes(duration)` all three.

With --fixed-latency-ms X it instead sends sequential requests on one keep-alive connection and
prints how much later than X the answers arrive (median, p90), from a busy-polling client (no
client wake-up latency) and a blocking one, next to the round trip of a zero-latency request.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rankperf_data.server.testing import start_server  # noqa: E402

BODIES = {
    "/rerank": {"query": "What is deep learning?", "texts": [
        "Deep learning is a subset of machine learning.", "Bananas are yellow.",
        "Neural networks with many layers.", "The weather is nice today."]},
    "/v2/rerank": {"model": "rerank-v3.5", "query": "What is deep learning?", "documents": [
        "Deep learning is a subset of machine learning.", "Bananas are yellow.",
        "Neural networks with many layers.", "The weather is nice today."]},
    "/v1/ranking": {"model": "nv-rerank", "query": {"text": "What is deep learning?"}, "passages": [
        {"text": "Deep learning is a subset of machine learning."}, {"text": "Bananas are yellow."},
        {"text": "Neural networks with many layers."}, {"text": "The weather is nice today."}]},
}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _client_cpus(server_cpu: int) -> set[int]:
    others = os.sched_getaffinity(0) - {server_cpu}
    return others or {server_cpu}


def _run_wrk(port: int, route: str, body: bytes, connections: int, duration: float, cpus: set[int]) -> int:
    lua = (f'wrk.method = "POST"\nwrk.body = {orjson.dumps(body.decode()).decode()}\n'
           'wrk.headers["Content-Type"] = "application/json"\n')
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    try:
        out = subprocess.run(
            ["wrk", f"-t{len(cpus)}", f"-c{connections}", f"-d{max(1, round(duration))}s", "-s", f.name,
             f"http://127.0.0.1:{port}{route}"],
            capture_output=True, text=True, timeout=duration + 15,
            preexec_fn=lambda: os.sched_setaffinity(0, cpus),
        ).stdout
    finally:
        os.unlink(f.name)
    for line in out.splitlines():
        if " requests in " in line:
            return int(line.split()[0])
    raise RuntimeError(f"unexpected wrk output:\n{out}")


def _socket_client(port: int, raw: bytes, connections: int, deadline: float, cpus: set[int], out) -> None:
    """Keep-alive raw sockets, one request in flight per connection, round robin without a selector."""
    os.sched_setaffinity(0, cpus)
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
    for s in socks:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(raw)
    done = 0
    while time.monotonic() < deadline:
        for s in socks:
            data = s.recv(65536)
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(rest) < length:
                rest += s.recv(65536)
            done += 1
            s.sendall(raw)
    out.put(done)


def _run_sockets(port: int, route: str, body: bytes, connections: int, duration: float, cpus: set[int],
                 processes: int) -> int:
    raw = (f"POST {route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    queue: mp.Queue = mp.Queue()
    deadline = time.monotonic() + duration
    per = max(1, connections // processes)
    procs = [mp.Process(target=_socket_client, args=(port, raw, per, deadline, cpus, queue))
             for _ in range(processes)]
    for p in procs:
        p.start()
    total = sum(queue.get(timeout=duration + 10) for _ in procs)
    for p in procs:
        p.join(5)
    return total


def _request_once(sock: socket.socket, raw: bytes, busy: bool) -> float:
    t0 = time.perf_counter()
    sock.sendall(raw)
    while True:
        try:
            if sock.recv(65536):  # small answers arrive in one segment on loopback
                return time.perf_counter() - t0
        except BlockingIOError:
            if not busy:
                raise


def _timing(route: str, body: bytes, fixed_ms: float, duration: float, extra: list[str]) -> None:
    raw = (f"POST {route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    per_mode = max(20, int(duration / 3 / (fixed_ms / 1e3 + 0.001)))
    print(f"route {route}, sequential requests on one keep-alive connection, {per_mode} per line")
    for label, args, target in (("zero latency (round trip)", ["--zero-latency"], 0.0),
                                (f"fixed {fixed_ms:g} ms", ["--fixed-latency-ms", f"{fixed_ms:g}"], fixed_ms)):
        with start_server([*args, *extra, "--log-level", "warning"]) as srv:
            for busy in (True, False):
                with socket.create_connection(("127.0.0.1", srv.port)) as sock:
                    sock.setblocking(not busy)
                    times = sorted((_request_once(sock, raw, busy) * 1e3 - target) for _ in range(per_mode))
                mode = "busy-polling" if busy else "blocking"
                print(f"  {label:28s} {mode:13s} client: over target median {times[len(times) // 2]:.3f} ms, "
                      f"p90 {times[int(len(times) * 0.9)]:.3f} ms, min {times[0]:.3f} ms")


ROUTES = ("/rerank", "/v2/rerank", "/v1/ranking")


def measure_capacity(route: str = "/rerank", duration: float = 8.0, connections: int = 64, client: str = "auto",
                     processes: int = 2, server_cpu: int | None = None,
                     server_args: list[str] | None = None) -> dict:
    """One zero-latency server pinned to `server_cpu` (default: the lowest usable CPU) under `duration`
    seconds (at most 15) of closed-loop load on `route`: achieved req/s and the server's CPU per request."""
    duration = min(duration, 15.0)
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "sockets"
    if server_cpu is None:
        server_cpu = min(os.sched_getaffinity(0))
    body = orjson.dumps(BODIES[route])
    cpus = _client_cpus(server_cpu)
    with start_server(["--zero-latency", "--log-level", "warning", *(server_args or [])]) as srv:
        os.sched_setaffinity(srv.proc.pid, {server_cpu})
        warm = socket.create_connection(("127.0.0.1", srv.port))
        warm.close()
        cpu0, t0 = _cpu_seconds(srv.proc.pid), time.monotonic()
        if client == "wrk":
            done = _run_wrk(srv.port, route, body, connections, duration, cpus)
        else:
            done = _run_sockets(srv.port, route, body, connections, duration, cpus, processes)
        wall = time.monotonic() - t0
        cpu = _cpu_seconds(srv.proc.pid) - cpu0
        received = srv.metric("rankperf_requests_received_total", route=route)
    return {
        "route": route, "body_bytes": len(body), "client": client, "connections": connections,
        "client_cpus": sorted(cpus), "server_cpu": server_cpu, "seconds": round(wall, 2),
        "requests": done, "server_received": int(received), "req_per_s": round(done / wall, 1),
        "server_cpu_seconds": round(cpu, 3), "server_core_share": round(cpu / wall, 3),
        "cpu_us_per_request": round(cpu / done * 1e6, 1) if done else None,
        "req_per_s_per_core": round(done / cpu, 1) if cpu else None,
    }


def measure_routes(duration: float = 8.0, routes: tuple[str, ...] = ROUTES, **kw) -> list[dict]:
    """`measure_capacity` for each route in turn, each on a fresh server."""
    return [measure_capacity(route, duration, **kw) for route in routes]


def describe(r: dict) -> str:
    return (f"route {r['route']}, {r['body_bytes']} B body, client {r['client']} ({r['connections']} connections "
            f"on CPUs {r['client_cpus']}), server on CPU {r['server_cpu']}, {r['seconds']:.1f} s\n"
            f"  completed {r['requests']} requests (server received {r['server_received']}): "
            f"{r['req_per_s']:,.0f} req/s\n"
            f"  server CPU {r['server_cpu_seconds']:.2f} s = {r['server_core_share']:.0%} of one core; "
            f"{r['cpu_us_per_request']:.0f} us CPU per request -> {r['req_per_s_per_core']:,.0f} req/s per "
            f"fully used core")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--route", choices=["all", *sorted(BODIES)], default="all")
    parser.add_argument("--duration", type=float, default=8.0,
                        help="seconds of load per route (default: 8, max 15)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per route instead")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--client", choices=["auto", "wrk", "sockets"], default="auto")
    parser.add_argument("--processes", type=int, default=2, help="socket client processes (default: 2)")
    parser.add_argument("--server-cpu", type=int, default=min(os.sched_getaffinity(0)))
    parser.add_argument("--fixed-latency-ms", type=float, default=None, metavar="X",
                        help="measure timing accuracy of --fixed-latency-ms X instead of capacity")
    parser.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                        help="extra `rankperf serve` argument, repeatable (e.g. --server-arg=--timer-spin-us=500)")
    args = parser.parse_args()
    duration = min(args.duration, 15.0)
    if args.fixed_latency_ms is not None:
        route = "/rerank" if args.route == "all" else args.route
        _timing(route, orjson.dumps(BODIES[route]), args.fixed_latency_ms, duration, args.server_arg)
        return 0
    routes = ROUTES if args.route == "all" else (args.route,)
    for route in routes:
        r = measure_capacity(route, duration, args.connections, args.client, args.processes, args.server_cpu,
                             args.server_arg)
        print(orjson.dumps(r).decode() if args.json else describe(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
