"""The reference server's pure parts: scoring, truncation, fault plans, the batching engine, Prometheus text."""

from __future__ import annotations

import asyncio
import time

import pytest

from rankperf_data.server.capacity import Engine
from rankperf_data.server.faults import Fault, FaultPlan, parse_delay_ms, parse_fault
from rankperf_data.server.metrics import Metrics, parse_prometheus
from rankperf_data.server.scoring import Model, TooLong, estimate_tokens, relevance_logits, sigmoid

# -- scoring ----------------------------------------------------------------------------------------------


def test_repeating_the_query_ranks_first_and_unrelated_last():
    query = "How do rerank models score passages?"
    passages = ["Bananas are yellow.", "Rerank models score passages against a query.",
                "How do rerank models score passages?", "Models of trains."]
    logits = relevance_logits(query, passages)
    order = sorted(range(4), key=logits.__getitem__, reverse=True)
    assert order[0] == 2 and order[1] == 1 and order[-1] == 0
    assert sigmoid(logits[2]) > 0.99 and sigmoid(logits[0]) < 0.01


def test_scores_are_deterministic_and_case_and_punctuation_blind():
    a = relevance_logits("Deep learning?", ["deep LEARNING!", "x"])
    assert a == relevance_logits("Deep learning?", ["deep LEARNING!", "x"])
    assert a[0] > 5


def test_empty_texts_score_low_without_errors():
    assert all(x < -5 for x in relevance_logits("", ["", "a"]))


def test_token_estimate():
    assert [estimate_tokens(t) for t in ("", "a", "abcd", "abcde", "x" * 400)] == [0, 1, 1, 2, 100]


def test_fit_truncates_or_refuses():
    model = Model(max_input_length=20, auto_truncate=True)
    long_text = "x" * 200
    assert model.fit("q", ["ab", long_text], None) == [1 + 3 + 1, 20]
    with pytest.raises(TooLong) as e:
        model.fit("q", ["ab", long_text], False)
    assert (e.value.index, e.value.tokens, e.value.char_limit) == (1, 54, False)
    assert model.fit("q", [long_text], False, max_passage_tokens=5) == [9]
    with pytest.raises(TooLong) as e:
        Model(max_input_length=2, auto_truncate=False).fit("", ["y" * 600], None)
    assert e.value.char_limit


# -- faults -----------------------------------------------------------------------------------------------


def test_parse_fault_forms():
    assert parse_fault("500:0.25", 1000) == Fault("500", 0.25, 0.0)
    assert parse_fault("slow:0.5", 700) == Fault("slow", 0.5, 700.0)
    assert parse_fault("SLOW:1:1.5s", 700) == Fault("slow", 1.0, 1500.0)
    assert parse_fault("slow:1:250", 700) == Fault("slow", 1.0, 250.0)
    assert parse_delay_ms("20ms") == 20.0


@pytest.mark.parametrize("spec", ["teapot:0.1", "429", "429:2", "429:-0.1", "hang:0.1:5ms", "slow:0.1:fast"])
def test_parse_fault_errors(spec):
    with pytest.raises(ValueError):
        parse_fault(spec, 1000)


def test_fault_plan_rate_order_and_seed():
    plan = FaultPlan([Fault("429", 0.3), Fault("reset", 1.0)], seed=42)
    kinds = [plan.draw().kind for _ in range(2000)]
    assert abs(kinds.count("429") / 2000 - 0.3) < 0.04
    assert kinds.count("reset") == 2000 - kinds.count("429")
    again = FaultPlan([Fault("429", 0.3), Fault("reset", 1.0)], seed=42)
    assert [again.draw().kind for _ in range(2000)] == kinds
    assert not FaultPlan([Fault("500", 0.0)])
    assert FaultPlan([]).draw() is None


# -- engine -----------------------------------------------------------------------------------------------


def _run_engine(engine_kwargs: dict, requests: list[list[int]], cancel: int | None = None):
    loop = asyncio.new_event_loop()
    batches: list[tuple[int, int]] = []
    done: dict[int, tuple[float, float, float]] = {}
    engine = Engine(loop, on_batch=lambda size, tokens: batches.append((size, tokens)), **engine_kwargs)
    start = loop.time()

    def finish(i):
        return lambda timing: done.__setitem__(i, (loop.time() - start, timing.queue, timing.inference))

    async def main():
        tickets = []
        for i, tokens in enumerate(requests):
            assert engine.admit(len(tokens)) == len(tokens)
            tickets.append(engine.submit(tokens, finish(i)))
        if cancel is not None:
            engine.cancel(tickets[cancel])
        while len(done) + (cancel is not None) < len(requests):
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)

    loop.run_until_complete(main())
    loop.close()
    return engine, batches, done


def test_engine_packs_pairs_fifo_into_token_budgets():
    engine, batches, done = _run_engine(
        {"batch_overhead_ms": 2, "per_token_us": 10, "max_batch_tokens": 100},
        [[40, 40], [40], [100]])
    # FIFO: [40, 40] | [40] | [100]: the third pair doesn't fit the first batch, the 100 fits nowhere else.
    assert batches == [(2, 80), (1, 40), (1, 100)]
    assert done[0][0] < done[1][0] < done[2][0]
    assert done[2][0] >= 0.0028 + 0.0024 + 0.003  # three batches back to back (no upper bound: shared CI)
    # Inference is each pair's batch duration; queue time, the wait for the batches ahead (nominal ends).
    assert [done[i][2] for i in range(3)] == pytest.approx([0.0028, 0.0024, 0.003])
    assert done[1][1] - done[0][1] == pytest.approx(0.0028, abs=1e-4)  # less the gap between submits
    assert done[2][1] - done[0][1] == pytest.approx(0.0052, abs=1e-4)
    assert engine.in_flight == 0 and engine.batches == 3


def test_engine_drops_cancelled_pairs_and_releases_permits():
    engine, batches, done = _run_engine(
        {"batch_overhead_ms": 5, "per_token_us": 0, "max_batch_tokens": 10},
        [[10], [10, 10], [10]], cancel=1)
    assert 1 not in done and set(done) == {0, 2}
    assert [b[0] for b in batches] == [1, 1]
    assert engine.in_flight == 0


def test_engine_admission_and_fixed_latency():
    loop = asyncio.new_event_loop()
    engine = Engine(loop, fixed_latency_ms=50, max_concurrent=10)
    assert engine.mode == "fixed"
    assert engine.admit(8) == 8 and engine.admit(8) == 2 and engine.admit(1) == 0
    ticket = engine.submit([1] * 8, lambda t: None)
    engine.cancel(ticket)
    assert engine.in_flight == 2
    loop.close()
    assert Engine(loop, fixed_latency_ms=0).immediate
    assert Engine(loop, batch_overhead_ms=0, per_token_us=0).immediate
    unlimited = Engine(loop, batch_overhead_ms=0, per_token_us=0, max_concurrent=0)
    assert unlimited.admit(10_000) == 10_000


# -- metrics ----------------------------------------------------------------------------------------------


def test_prometheus_render_and_parse_roundtrip():
    m = Metrics()
    m.received["/rerank"] += 3
    m.responses[("/rerank", 200)] += 2
    m.faults[("bad-json", "/v1/rerank")] += 1
    m.te_failure["validation"] += 1
    m.duration.observe(0.01)
    m.gauge("te_queue_size", "queue", lambda: 4)
    parsed = parse_prometheus(m.render().decode())
    assert parsed['rankperf_requests_received_total{route="/rerank"}'] == 3
    assert parsed['rankperf_responses_total{route="/rerank",status="200"}'] == 2
    assert parsed['rankperf_faults_injected_total{kind="bad-json",route="/v1/rerank"}'] == 1
    assert parsed['te_request_failure{err="validation"}'] == 1
    assert parsed['te_request_duration_bucket{le="+Inf"}'] == 1
    assert parsed["te_request_duration_count"] == 1
    assert parsed["te_queue_size"] == 4


# -- timers -----------------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(__import__("selectors"), "EpollSelector"), reason="epoll only")
def test_precise_selector_waits_microseconds_not_whole_milliseconds():
    import selectors
    import time

    from rankperf_data.server.http import PreciseEpollSelector

    def fastest_wait(selector) -> float:
        best = 1.0
        for _ in range(15):
            t0 = time.perf_counter()
            selector.select(0.0023)
            best = min(best, time.perf_counter() - t0)
        selector.close()
        return best

    assert fastest_wait(selectors.EpollSelector()) >= 0.003  # epoll_wait rounds 2.3 ms up to 3 ms
    assert 0.0023 <= fastest_wait(PreciseEpollSelector()) < 0.0029
    assert 0.0023 <= fastest_wait(PreciseEpollSelector(spin_s=0.001)) < 0.0029


def test_every_accepted_connection_gets_tcp_nodelay():
    import socket

    from rankperf_data.server.http import HttpProtocol, HttpServer

    class FakeSocket:
        options: list[tuple[int, int, int]] = []

        def setsockopt(self, level, name, value):
            self.options.append((level, name, value))

    class FakeTransport:
        sock = FakeSocket()

        def get_extra_info(self, key):
            return self.sock if key == "socket" else None

    server = HttpServer(lambda req: None, 1000)
    HttpProtocol(server).connection_made(FakeTransport())
    assert (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) in FakeSocket.options
    assert server.opened == 1 and len(server.connections) == 1


def test_engine_queue_time_is_never_negative_when_its_timer_fires_late():
    """A batch whose end timer fires late must not start the next batch before its requests arrived."""
    loop = asyncio.new_event_loop()
    engine = Engine(loop, batch_overhead_ms=5, per_token_us=0, max_batch_tokens=10)
    timings = []

    def late_arrivals():
        time.sleep(0.03)  # the loop is stuck past the first batch's nominal end (5 ms)
        for _ in range(2):
            engine.admit(1)
            engine.submit([10], timings.append)

    async def main():
        engine.admit(1)
        engine.submit([10], timings.append)
        loop.call_later(0.001, late_arrivals)
        while len(timings) < 3:
            await asyncio.sleep(0.001)

    loop.run_until_complete(main())
    loop.close()
    assert all(t.queue >= 0 for t in timings), [t.queue for t in timings]
    # the second arrival starts the next batch (no wait); the third waits about one batch for it
    assert timings[1].queue == pytest.approx(0.0, abs=1e-9)
    assert timings[2].queue == pytest.approx(0.005, abs=1e-3)
