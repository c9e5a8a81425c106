"""--network-latency-automatic: handshake round trips on fresh loopback connections; failures counted, bounded."""

from __future__ import annotations

import socket

import gevent
import numpy as np
import pytest

from rankperf_data.dataset.errors import InputError
from rankperf_data.load.rtt_probe import MAX_TOPUP, MIN_SAMPLES, RttProbe, target
from rankperf_data.load.settings import LoadSettings


@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock.getsockname()[1], sock
    sock.close()


def test_each_probe_is_a_new_connection_and_the_mean_is_of_successes(listener):
    port, sock = listener
    probe = RttProbe(f"http://127.0.0.1:{port}", interval_s=0.05)
    probe.start()
    gevent.sleep(0.3)
    mean_ms = probe.finish()
    ok = [s for s in probe.samples if s["success"]]
    assert len(ok) >= MIN_SAMPLES and all(s["target_port"] == port for s in ok)
    assert mean_ms == pytest.approx(np.mean([s["rtt_ns"] for s in ok]) / 1e6)
    assert 0 < mean_ms < 1000
    sock.settimeout(1)
    accepted = 0
    while True:  # every probe was its own TCP connection, waiting in the listen backlog
        try:
            sock.accept()[0].close()
            accepted += 1
        except TimeoutError:
            break
    assert accepted == len(probe.samples)


def test_a_closed_port_gives_failures_and_no_rtt(free_port):
    probe = RttProbe(f"http://127.0.0.1:{free_port}", interval_s=10)
    assert probe.finish() is None
    assert len(probe.samples) == MAX_TOPUP and not any(s["success"] for s in probe.samples)


def test_target_ports():
    assert target("https://h.example") == ("h.example", 443)
    assert target("http://127.0.0.1:8080/x") == ("127.0.0.1", 8080)


@pytest.mark.parametrize("values, flag", [
    ({"network_latency_automatic": True, "network_latency_mean": 1.0}, "--network-latency-mean"),
    ({"network_latency_ping_interval": 0.5}, "--network-latency-ping-interval"),
])
def test_conflicting_options_are_input_errors(values, flag):
    with pytest.raises(InputError, match=flag):
        LoadSettings.from_values(values)
