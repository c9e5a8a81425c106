"""LoadProcess without sockets: what it tells the coordinator when its share is done."""

from __future__ import annotations

import gc
import time

import gevent
import numpy as np

from rankperf_data.load import messages
from rankperf_data.load.arrivals import OPEN_CONNECTION
from rankperf_data.load.catch_up import CROWDED
from rankperf_data.load.process import FLUSH_ROWS, LoadProcess, epoch_ns
from rankperf_data.load.quota import Grant
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_PROFILING, new_record


def test_done_reports_the_indices_and_the_cpu_it_used_while_sending():
    sent: list[tuple[str, dict]] = []
    process = LoadProcess({"values": {"request_count": 3}, "seed": 1, "workers": 1}, 0,
                          lambda kind, data: sent.append((kind, data)))
    process.on_grant(Grant(0, 3).to_wire())
    process.on_grant(Grant(closed=True).to_wire())
    for _ in range(3):
        index, phase = process.take()
        token = process.begin(index, phase, 0, 0, (1, 1, 1, 1))
        spin_until = time.process_time() + 0.05  # CPU work the busy fraction must see
        while time.process_time() < spin_until:
            pass
        process.cancel(token, "test")
    assert process.take() is None
    [done] = [data for kind, data in sent if kind == messages.DONE]
    assert (done["issued"], done["completed"]) == (3, 3)
    assert done["cpu_s"] >= 0.15 and done["wall_s"] >= done["cpu_s"] * 0.9
    records = [data for kind, data in sent if kind == messages.RECORDS]
    assert sum(len(r["columns"]["index"]) for r in records) == 3
    assert set(records[0]["columns"]["error_kind"]) == {int(ErrorKind.CANCELLED)}


def test_a_process_that_never_sent_reports_no_cpu_figure():
    sent: list[tuple[str, dict]] = []
    process = LoadProcess({"values": {"request_count": 3}, "seed": 1, "workers": 1}, 0,
                          lambda kind, data: sent.append((kind, data)))
    process.on_grant(Grant(closed=True).to_wire())
    [done] = [data for kind, data in sent if kind == messages.DONE]
    assert done["issued"] == 0 and "cpu_s" not in done


def start_connected(process: LoadProcess) -> None:
    """Start the open-loop schedule, playing the users that open their connections first."""
    process.start_schedule()
    gevent.sleep(0)
    while process.queue.qsize() and process.queue.get_nowait() is OPEN_CONNECTION:
        process.connection_opened()


def constant_arrivals(count: int, adopt: tuple[int, ...] = ()) -> list[tuple[int, int, int]]:
    """Worker 0 of 2 at a constant 200/s: every (index, phase, intended_ns) its schedules put out."""
    process = LoadProcess({"values": {"request_count": count, "request_rate": 200.0, "arrival_pattern": "constant"},
                           "seed": 1, "workers": 2}, 0, lambda kind, data: None)
    process.start(users=1)
    process.on_grant(Grant(0, count).to_wire())
    process.on_grant(Grant(closed=True).to_wire())
    for share in adopt:
        process.adopt(share)  # before the schedule started: kept until it does
    start_connected(process)
    items = []
    while (item := process.queue.get(timeout=5)) is not None:
        items.append(item)
    assert sorted(index for index, _, _ in items) == list(range(count))
    return items


def gaps_ms(items) -> np.ndarray:
    return np.diff(sorted(intended for _, _, intended in items)) / 1e6


def test_an_adopted_share_fills_the_gaps_of_the_open_loop_schedule():
    # worker 0's own share is 0, 10, 20 ms...; worker 1's, taken over when it left, is 5, 15,
    # 25 ms...: together, an arrival every 5 ms
    assert np.allclose(gaps_ms(constant_arrivals(20, adopt=(1,))), 5.0, atol=0.01)


def test_without_an_adopted_share_the_rate_is_this_workers_half():
    assert np.allclose(gaps_ms(constant_arrivals(10)), 10.0, atol=0.01)


def test_an_interrupted_open_loop_gives_back_every_arrival_not_sent():
    # no user takes arrivals here: some wait in the queue, one waits for its time in the schedule
    sent: list[tuple[str, dict]] = []
    process = LoadProcess({"values": {"request_count": 20, "request_rate": 100.0, "arrival_pattern": "constant"},
                           "seed": 1, "workers": 1}, 0, lambda kind, data: sent.append((kind, data)))
    process.start(users=2)
    process.on_grant(Grant(0, 20).to_wire())
    start_connected(process)
    gevent.sleep(0.055)  # arrivals 0-5 are due by now
    assert process.queue.qsize() >= 3
    process.abort("test")
    [done] = [data for kind, data in sent if kind == messages.DONE]
    returned = sorted(i for g in done["returned"] for i in range(g["start"], g["end"]))
    assert done["completed"] == done["issued"] == 0 and returned == list(range(20))
    assert [process.queue.get(timeout=1) for _ in range(2)] == [None, None]  # each user is told to stop


def test_a_process_with_no_user_asks_for_nothing_and_gives_back_what_it_holds():
    sent: list[tuple[str, dict]] = []
    users = [1]
    process = LoadProcess({"values": {"request_count": 50}, "seed": 1, "workers": 2}, 1,
                          lambda kind, data: sent.append((kind, data)), users=lambda: users[0])
    process.start(users=1)
    assert not sent  # nothing is asked for before a user takes an index
    process.on_grant(Grant(0, 10).to_wire())
    assert process.take() == (0, 0)
    token = process.begin(0, 0, 0, 0, (1, 1, 1, 1))
    users[0] = 0  # Locust moved the user away; its request is still in flight
    process.release()
    assert not [kind for kind, _ in sent if kind == messages.DONE]  # not before the request ends
    process.cancel(token, "test")
    [done] = [data for kind, data in sent if kind == messages.DONE]
    assert done["returned"] == [Grant(1, 10).to_wire()] and done["issued"] == done["completed"] == 1
    assert process.take() is None  # a user on its way out takes nothing more
    process.on_grant(Grant(20, 30).to_wire())  # asked for before the release: straight back
    assert [data["returned"] for kind, data in sent if kind == messages.DONE][-1] == [Grant(20, 30).to_wire()]
    users[0] = 2  # the count went up again: a user that takes makes this process take part again
    taking = gevent.spawn(process.take)
    gevent.sleep(0)
    assert sent[-1][0] == messages.QUOTA
    process.on_grant(Grant(40, 42).to_wire())
    assert taking.get(timeout=1) == (40, 0)


def test_an_interrupted_process_sends_nothing_it_is_granted_afterwards():
    sent: list[tuple[str, dict]] = []
    process = LoadProcess({"values": {"request_count": 50}, "seed": 1, "workers": 2}, 0,
                          lambda kind, data: sent.append((kind, data)))
    process.on_grant(Grant(0, 5).to_wire())
    process.abort("test")
    process.on_grant(Grant(10, 20).to_wire())  # re-granted from a worker that stopped first
    assert process.take() is None
    returned = [g for kind, data in sent if kind == messages.DONE for g in data["returned"]]
    assert returned == [Grant(0, 5).to_wire(), Grant(10, 20).to_wire()]


def test_processes_anchored_to_one_instant_interleave_their_arrivals():
    # two workers of a constant 200/s, started at different moments, anchored by the same grant
    anchor = time.time_ns() + 100_000_000
    intended = []
    for worker, late_s in ((0, 0.0), (1, 0.03)):
        gevent.sleep(late_s)
        process = LoadProcess({"values": {"request_count": 20, "request_rate": 200.0, "arrival_pattern": "constant"},
                               "seed": 1, "workers": 2}, worker, lambda kind, data: None)
        process.start(users=1)
        process.on_grant({**Grant(worker * 10, worker * 10 + 10).to_wire(), "anchor_ns": anchor})
        process.on_grant(Grant(closed=True).to_wire())
        start_connected(process)
        intended.append(process)
    arrivals = []
    for process in intended:
        while (item := process.queue.get(timeout=5)) is not None:
            arrivals.append(epoch_ns(item[2]))
    assert np.allclose(np.diff(sorted(arrivals)) / 1e6, 5.0, atol=0.01)
    assert min(arrivals) == anchor


def _process_with_rows(count: int, sent: list) -> LoadProcess:
    """A closed-loop process holding ``count`` finished measured requests, not flushed yet."""
    process = LoadProcess({"values": {"request_count": count}, "seed": 1, "workers": 1}, 0,
                          lambda kind, data: sent.append((kind, data)))
    for i in range(count):
        process.batch.rows.append(new_record(index=i, phase=PHASE_PROFILING, worker=0, status=200, error_kind=0,
                                             intended_ns=i, start_ns=i, end_ns=i + 1_000_000, passages=1, results=1,
                                             query_tokens=1, passage_tokens=1, request_bytes=1, response_bytes=1))
    return process


def _kinds(sent: list) -> list[str]:
    return [kind if kind != messages.RECORDS else f"records:{len(data['columns']['index'])}" for kind, data in sent]


def test_a_flush_lets_due_work_run_between_its_steps():
    """An answer or arrival that is due while records are flushed is not held for the whole flush."""
    sent: list = []
    process = _process_with_rows(2000, sent)
    gevent.spawn(lambda: sent.append(("due work", {})))  # ready to run when the flush starts
    process.flush()
    assert _kinds(sent) == ["due work", "records:2000", messages.SUMMARY]


def test_a_kill_that_lands_in_a_flush_pause_still_ships_the_rows_it_took():
    sent: list = []
    process = _process_with_rows(500, sent)
    flushing = gevent.spawn(process.flush)
    gevent.sleep(0)  # the flush took the rows and pauses
    assert len(process.batch) == 0 and not sent
    flushing.kill(block=True, timeout=2)  # what Locust does to a user it stops
    assert flushing.dead and isinstance(flushing.value, gevent.GreenletExit)
    assert _kinds(sent) == ["records:500", messages.SUMMARY]


def test_flushes_never_interleave_their_messages():
    sent: list = []
    process = _process_with_rows(300, sent)
    first = gevent.spawn(process.flush)
    gevent.sleep(0)  # the first flush pauses between its steps
    process.batch.rows.extend(_process_with_rows(200, []).batch.rows)
    process.flush()  # waits for the first one: a DONE after it must find every record sent
    first.join(timeout=2)
    assert _kinds(sent) == ["records:300", messages.SUMMARY, "records:200", messages.SUMMARY]


def test_the_schedule_starts_once_the_first_users_have_their_connections():
    process = LoadProcess({"values": {"request_count": 10, "request_rate": 1000.0, "arrival_pattern": "constant"},
                           "seed": 1, "workers": 1}, 0, lambda kind, data: None, users=lambda: 3)
    process.start(users=3)
    process.on_grant(Grant(0, 10).to_wire())
    process.on_grant(Grant(closed=True).to_wire())
    process.start_schedule()
    gevent.sleep(0.02)  # 20 arrivals' worth of time: none is due before the connections are open
    assert [process.queue.get_nowait() for _ in range(process.queue.qsize())] == [OPEN_CONNECTION] * 3
    for _ in range(3):
        process.connection_opened()
    items = []
    while (item := process.queue.get(timeout=5)) is not None:
        items.append(item)
    assert [index for index, _, _ in items] == list(range(10))


def test_an_interrupt_while_connections_open_starts_no_schedule():
    sent: list = []
    process = LoadProcess({"values": {"request_count": 10, "request_rate": 1000.0, "arrival_pattern": "constant"},
                           "seed": 1, "workers": 1}, 0, lambda kind, data: sent.append((kind, data)), users=lambda: 2)
    process.start(users=2)
    process.on_grant(Grant(0, 10).to_wire())
    process.start_schedule()
    gevent.sleep(0)
    process.abort("test")
    process.connection_opened(), process.connection_opened()
    gevent.sleep(0.02)
    assert not process._schedules
    [done] = [data for kind, data in sent if kind == messages.DONE]
    assert done["issued"] == 0 and sorted(i for g in done["returned"] for i in range(g["start"], g["end"])) == list(range(10))


def test_the_user_that_fills_the_batch_goes_on_and_the_flush_loop_ships_it():
    sent: list = []
    process = _process_with_rows(FLUSH_ROWS - 1, sent)
    process.start(users=1)
    try:
        token = process.begin(FLUSH_ROWS, PHASE_PROFILING, 0, 0, (1, 1, 1, 1))
        row = process.batch.rows[0]._replace(index=FLUSH_ROWS)
        process.finish(token, row, "")  # the batch is full now
        assert not sent  # nothing shipped from this user's greenlet: it sends its next request first
        deadline = time.monotonic() + 2
        while not sent and time.monotonic() < deadline:
            gevent.sleep(0.01)
        assert _kinds(sent)[:2] == [f"records:{FLUSH_ROWS}", messages.SUMMARY]
    finally:
        process.stop()
        gc.unfreeze()


def test_enough_users_connect_ahead_for_the_arrivals_of_a_short_stall():
    def ahead(rate: float, workers: int, users: int) -> int:
        process = LoadProcess({"values": {"request_count": 10, "request_rate": rate}, "seed": 1, "workers": workers},
                              0, lambda kind, data: None, users=lambda: users)
        return process._connections_ahead()

    assert ahead(5000.0, 1, 512) == 150  # 30 ms of this process's arrivals
    assert ahead(5000.0, 2, 512) == 75  # its share of them
    assert ahead(100.0, 1, 512) == 32  # at least the minimum
    assert ahead(5000.0, 1, 10) == 10  # never more than there are users


def test_a_schedule_that_is_behind_keeps_its_requests_from_crowding():
    # the anchor is a second ago: all 300 arrivals (1,000/s) are overdue when the schedule starts
    process = LoadProcess({"values": {"request_count": 300, "request_rate": 1000.0, "arrival_pattern": "constant"},
                           "seed": 1, "workers": 1}, 0, lambda kind, data: None)
    process.start(users=512)
    process.on_grant({**Grant(0, 300).to_wire(), "anchor_ns": time.time_ns() - 1_000_000_000})
    process.on_grant(Grant(closed=True).to_wire())
    start_connected(process)
    crowds, sent = [], []
    while (item := process.queue.get(timeout=5)) is not None:  # one user, answered a loop pass later
        queued = min(process.queue.qsize(), 300 - len(sent) - 1)  # (the end markers follow the 300)
        crowds.append(queued + 1)
        index, phase, intended = item
        token = process.begin(index, phase, intended, intended, (1, 1, 1, 1))
        gevent.sleep(0)
        process.cancel(token, "test")
        sent.append(index)
    assert sorted(sent) == list(range(300))
    assert max(crowds) <= CROWDED  # without the catch-up: all 300 handed out at once
