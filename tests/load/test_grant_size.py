"""Adaptive grant sizes: about a second of a process's measured rate, within [floor, cap]."""

from __future__ import annotations

import rankperf_data.load.process as process_module
from rankperf_data.load import messages
from rankperf_data.load.grant_size import GROWTH, GrantSizer, clamp_want
from rankperf_data.load.process import LoadProcess
from rankperf_data.load.quota import MAX_CHUNK, MAX_GRANT, Grant


def run_at(sizer: GrantSizer, rate: float, seconds: float, ask_every: float = 0.5) -> list[int]:
    """Asks of a process issuing ``rate`` requests/s steadily; returns each ask."""
    asks, t = [], 0.0
    while t <= seconds:
        asks.append(sizer.observe(t, int(rate * t)))
        t += ask_every
    return asks


def test_clamp_keeps_one_second_of_work_within_the_bounds():
    assert clamp_want(5000.0) == 5000
    assert clamp_want(3.0) == MAX_CHUNK
    assert clamp_want(10_000_000.0) == MAX_GRANT
    assert clamp_want(5000.0, target_s=0.5) == 2500


def test_the_first_ask_is_the_floor_before_any_rate_is_known():
    assert GrantSizer().observe(0.0, 0) == MAX_CHUNK


def test_a_steady_rate_settles_on_about_a_second_of_it():
    asks = run_at(GrantSizer(), rate=4000.0, seconds=5.0)
    assert abs(asks[-1] - 4000) <= 40
    assert asks == sorted(asks)  # grows towards it, never overshoots a steady rate


def test_a_slow_process_keeps_the_floor_and_a_fast_one_the_cap():
    assert run_at(GrantSizer(), rate=10.0, seconds=5.0)[-1] == MAX_CHUNK
    assert run_at(GrantSizer(), rate=1e6, seconds=5.0)[-1] == MAX_GRANT


def test_one_measurement_raises_the_ask_at_most_by_the_growth_factor():
    sizer = GrantSizer()
    sizer.observe(0.0, 0)
    assert sizer.observe(0.1, 100_000) == int(MAX_CHUNK * GROWTH)


def test_a_span_too_short_to_measure_keeps_the_previous_ask():
    sizer = GrantSizer()
    sizer.observe(0.0, 0)
    assert sizer.observe(0.2, 80) == 400  # 400/s
    assert sizer.observe(0.21, 10_000) == 400  # 10 ms: noise, not a rate


def test_a_slowing_process_asks_for_less():
    sizer = GrantSizer()
    run_at(sizer, rate=6000.0, seconds=3.0)
    high = sizer.want
    t0, n0 = 3.5, 6000 * 3
    for k in range(1, 12):
        sizer.observe(t0 + 0.5 * k, n0 + 500 * k)  # now 1000/s
    assert high > 5000 and 1000 <= sizer.want < 1100


def test_a_closed_loop_process_asks_for_its_measured_rate(monkeypatch):
    asks: list[int] = []

    def send(kind: str, data: dict) -> None:
        if kind == messages.QUOTA:
            asks.append(data["want"])

    clock = [100.0]
    monkeypatch.setattr(process_module.time, "monotonic", lambda: clock[0])  # advanced by hand below
    process = LoadProcess({"values": {"request_count": 0}, "seed": 1, "workers": 1}, 0, send)
    start, size = 0, MAX_CHUNK
    for _ in range(6):  # each grant is issued in 0.1 s: ten grants' worth a second
        process.on_grant(Grant(start, start + size).to_wire())
        for _ in range(size):
            process.take()
        start += size
        size = asks[-1]
        clock[0] += 0.1
    assert asks[0] == MAX_CHUNK
    assert asks[-1] > 8 * MAX_CHUNK  # grew with the rate it measured
    assert asks == sorted(asks)
