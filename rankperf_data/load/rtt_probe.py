"""--network-latency-automatic: TCP handshake round trips to the target, on fresh connections.

As AIPerf: the host is resolved once, then every ``interval_s`` a new, unpooled TCP connection is
opened and closed; only the handshake is timed (an https target gets a plain TCP connect, no TLS).
Each probe has a 5 s timeout; at the end, probes are topped up until MIN_SAMPLES succeeded (or
MAX_TOPUP attempts were made). The mean of the successful round trips is the run's network RTT.
Runs on the master (or the local process), where Locust's monkey-patching makes sockets cooperative.
"""

from __future__ import annotations

import logging
import socket
import time
from urllib.parse import urlsplit

import gevent
from gevent.event import Event

from rankperf_data.redact import redact_text

log = logging.getLogger("rankperf")

PROBE_TIMEOUT_S = 5.0
MIN_SAMPLES = 5
MAX_TOPUP = 20
SAMPLES_FILE = "profile_export_network_latency.jsonl"


def target(url: str) -> tuple[str, int]:
    """(host, port) of a base URL; the scheme's default port when none is given."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


class RttProbe:
    """Handshake round trips to one host:port, sampled during a run."""

    def __init__(self, url: str, interval_s: float = 1.0, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self.url = redact_text(url)  # written to the probe samples: never a password
        self.host, self.port = target(url)
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.samples: list[dict] = []
        self._address: tuple | None = None
        self._stopped = Event()
        self._loop: gevent.Greenlet | None = None

    def _resolve(self) -> tuple | None:
        if self._address is None:
            try:
                info = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            except OSError as exc:
                log.warning("rankperf: network latency: cannot resolve %s (%s)", self.host, exc)
                return None
            self._address = info[0][4]
        return self._address

    def probe(self) -> bool:
        """One fresh connection: its handshake time is a sample. True when it succeeded."""
        address = self._resolve()
        if address is None:
            return False
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout_s)
        start = time.perf_counter_ns()
        try:
            sock.connect(address)
            rtt, ok = time.perf_counter_ns() - start, True
        except OSError:
            rtt, ok = None, False
        finally:
            sock.close()
        self.samples.append({"timestamp_ns": time.time_ns(), "target_url": self.url, "target_host": self.host,
                             "target_port": self.port, "probe_type": "tcp_connect", "rtt_ns": rtt, "success": ok})
        return ok

    def start(self) -> None:
        self._loop = gevent.spawn(self._run)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self.probe()
            self._stopped.wait(self.interval_s)

    def finish(self) -> float | None:
        """Stop, top up to MIN_SAMPLES successes; the mean RTT in ms (None when no probe succeeded)."""
        self._stopped.set()
        if self._loop is not None:
            self._loop.kill(block=True, timeout=self.timeout_s + 1)
        for _ in range(MAX_TOPUP):
            if sum(s["success"] for s in self.samples) >= MIN_SAMPLES:
                break
            if not self.probe() and self._address is None:
                break  # cannot even resolve: more tries change nothing
        rtts = [s["rtt_ns"] for s in self.samples if s["success"]]
        return sum(rtts) / len(rtts) / 1e6 if rtts else None
