"""LoadProcess without sockets: what it tells the coordinator when its share is done."""

from __future__ import annotations

import time

import gevent
import numpy as np

from rankperf_data.load import messages
from rankperf_data.load.process import LoadProcess, epoch_ns
from rankperf_data.load.quota import Grant
from rankperf_data.results.outcomes import ErrorKind


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


def constant_arrivals(count: int, adopt: tuple[int, ...] = ()) -> list[tuple[int, int, int]]:
    """Worker 0 of 2 at a constant 200/s: every (index, phase, intended_ns) its schedules put out."""
    process = LoadProcess({"values": {"request_count": count, "request_rate": 200.0, "arrival_pattern": "constant"},
                           "seed": 1, "workers": 2}, 0, lambda kind, data: None)
    process.start(users=1)
    process.on_grant(Grant(0, count).to_wire())
    process.on_grant(Grant(closed=True).to_wire())
    for share in adopt:
        process.adopt(share)  # before the schedule started: kept until it does
    process.start_schedule()
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
    process.start_schedule()
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
        process.start_schedule()
        intended.append(process)
    arrivals = []
    for process in intended:
        while (item := process.queue.get(timeout=5)) is not None:
            arrivals.append(epoch_ns(item[2]))
    assert np.allclose(np.diff(sorted(arrivals)) / 1e6, 5.0, atol=0.01)
    assert min(arrivals) == anchor
