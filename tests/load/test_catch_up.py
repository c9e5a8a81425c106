"""CatchUp without sockets: overdue arrivals go out in batches, each after the loop's pending work."""

from __future__ import annotations

import time

import gevent

from rankperf_data.load.catch_up import BATCH, CROWDED, LATE_S, WAIT_MAX_S, CatchUp

OVERDUE_NS = int(LATE_S * 1e9) * 5


def _busy(steps: list[int], count: int) -> None:
    """Work waiting in the event loop (as answers to read are): one step per loop pass."""
    for _ in range(count):
        gevent.sleep(0)
        steps[0] += 1


def test_overdue_arrivals_go_out_in_batches_each_after_the_pending_work():
    steps = [0]
    worker = gevent.spawn(_busy, steps, 40)
    catch_up = CatchUp()
    seen = []
    for _ in range(BATCH * 2 + 1):
        catch_up.before_send(OVERDUE_NS, CROWDED)
        seen.append(steps[0])
    # the first batch goes out at once; the next waits until the pending work is done
    assert seen[:BATCH] == [0] * BATCH
    assert seen[BATCH:] == [40] * (BATCH + 1)
    worker.join(timeout=1)


def test_arrivals_on_time_or_barely_late_never_wait():
    steps = [0]
    worker = gevent.spawn(_busy, steps, 40)
    catch_up = CatchUp()
    for _ in range(BATCH * 4):
        catch_up.before_send(int(LATE_S * 1e9), CROWDED)  # within the slack: the process keeps up
    assert steps[0] == 0
    worker.join(timeout=1)


def test_overdue_arrivals_never_wait_while_few_requests_are_in_flight():
    # a short stall: its backlog goes out at once, as the process has the CPU to spare
    steps = [0]
    worker = gevent.spawn(_busy, steps, 40)
    catch_up = CatchUp()
    for _ in range(BATCH * 4):
        catch_up.before_send(OVERDUE_NS, CROWDED - 1)
    assert steps[0] == 0
    worker.join(timeout=1)


def test_waiting_for_an_arrival_starts_a_new_batch():
    steps = [0]
    worker = gevent.spawn(_busy, steps, 40)
    catch_up = CatchUp()
    for _ in range(BATCH):
        catch_up.before_send(OVERDUE_NS, CROWDED)
    catch_up.on_time()  # the schedule slept for the next arrival: no longer behind
    for _ in range(BATCH):
        catch_up.before_send(OVERDUE_NS, CROWDED)
    assert steps[0] == 0
    worker.join(timeout=1)


def test_a_loop_that_is_never_idle_holds_a_batch_no_longer_than_the_bound():
    worker = gevent.spawn(_busy, [0], 10**9)
    gevent.sleep(0)
    catch_up = CatchUp()
    t0 = time.perf_counter()
    for _ in range(BATCH * 2 + 1):
        catch_up.before_send(OVERDUE_NS, CROWDED)
    waited = time.perf_counter() - t0
    worker.kill()
    assert WAIT_MAX_S * 2 * 0.9 <= waited < WAIT_MAX_S * 2 + 1.0
