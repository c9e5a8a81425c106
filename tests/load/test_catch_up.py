"""CatchUp without sockets: a late, crowded schedule waits for room before it sends more."""

from __future__ import annotations

import time

import gevent

from rankperf_data.load.catch_up import BATCH, CROWDED, LATE_S, WAIT_MAX_S, CatchUp

OVERDUE_NS = int(LATE_S * 1e9) * 5
LONG_S = 5.0  # a bound the tests that must not reach it use: far from any scheduling delay


def _busy(steps: list[int], count: int) -> None:
    """Work waiting in the event loop, as answers to read are: one step per loop pass."""
    for _ in range(count):
        gevent.sleep(0)
        steps[0] += 1


def _timed(call) -> float:
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


def test_a_late_crowded_schedule_waits_until_a_batch_of_requests_has_ended():
    crowd = [CROWDED]
    catch_up = CatchUp(lambda: crowd[0], wait_max_s=LONG_S)

    def answers() -> None:  # requests end one per loop pass: the loop is never idle meanwhile
        for _ in range(CROWDED):
            gevent.sleep(0)
            crowd[0] -= 1
            catch_up.request_ended()

    ending = gevent.spawn(answers)
    catch_up.before_send(OVERDUE_NS)
    assert crowd[0] == CROWDED - BATCH
    ending.kill()


def test_a_late_crowded_schedule_sends_at_once_when_the_loop_has_nothing_else_to_do():
    catch_up = CatchUp(lambda: CROWDED * 4, wait_max_s=LONG_S)  # a slow server: many in flight, the CPU idle
    assert _timed(lambda: catch_up.before_send(OVERDUE_NS)) < LONG_S / 5


def test_a_schedule_on_time_or_not_crowded_never_waits():
    steps = [0]
    worker = gevent.spawn(_busy, steps, 40)
    for late_ns, crowd in ((int(LATE_S * 1e9), CROWDED * 4), (OVERDUE_NS, CROWDED - 1)):
        catch_up = CatchUp(lambda crowd=crowd: crowd)
        for _ in range(BATCH * 4):
            catch_up.before_send(late_ns)
    assert steps[0] == 0  # nothing else ran: no send waited
    worker.join(timeout=1)


def test_a_loop_never_idle_and_no_request_ending_holds_a_send_no_longer_than_the_bound():
    worker = gevent.spawn(_busy, [0], 10**9)
    gevent.sleep(0)
    catch_up = CatchUp(lambda: CROWDED)
    waited = _timed(lambda: catch_up.before_send(OVERDUE_NS))
    worker.kill()
    assert WAIT_MAX_S * 0.9 <= waited < WAIT_MAX_S + 1.0
