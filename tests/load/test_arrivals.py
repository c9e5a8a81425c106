"""The open-loop hand-off: arrivals first in, first out; idle users last in, first out."""

from __future__ import annotations

import gevent
import pytest
from gevent.queue import Empty

from rankperf_data.load.arrivals import Arrivals


def _waiting_users(arrivals: Arrivals, names: list[str], got: list[tuple[str, object]]) -> list[gevent.Greenlet]:
    """One greenlet per name, each waiting for one arrival, started (and waiting) in that order."""
    users = []
    for name in names:
        users.append(gevent.spawn(lambda n=name: got.append((n, arrivals.get()))))
        gevent.sleep(0)  # this one waits before the next starts
    return users


def test_the_user_that_became_idle_last_gets_the_next_arrival():
    arrivals, got = Arrivals(), []
    users = _waiting_users(arrivals, ["first", "second", "third"], got)
    for item in ("a", "b", "c"):
        arrivals.put(item)
        gevent.sleep(0)
    gevent.joinall(users, timeout=2)
    assert got == [("third", "a"), ("second", "b"), ("first", "c")]


def test_arrivals_queued_before_anyone_asks_come_out_oldest_first():
    arrivals = Arrivals()
    for item in (1, 2, 3):
        arrivals.put(item)
    assert arrivals.qsize() == 3 and not arrivals.empty()
    assert [arrivals.get(), arrivals.get_nowait(), arrivals.get(timeout=1)] == [1, 2, 3]
    assert arrivals.empty()
    with pytest.raises(Empty):
        arrivals.get_nowait()


def test_a_burst_wakes_as_many_users_as_arrivals_and_no_arrival_is_lost():
    arrivals, got = Arrivals(), []
    users = _waiting_users(arrivals, [f"u{i}" for i in range(5)], got)
    for item in range(3):  # three due at once: the three idle last take them
        arrivals.put(item)
    gevent.sleep(0.01)
    assert sorted(item for _, item in got) == [0, 1, 2]
    assert {name for name, _ in got} == {"u4", "u3", "u2"}
    arrivals.put(None), arrivals.put(None)
    gevent.joinall(users, timeout=2)
    assert len(got) == 5 and arrivals.empty()


def test_get_times_out_and_leaves_the_idle_stack():
    arrivals, got = Arrivals(), []
    users = _waiting_users(arrivals, ["waiting"], got)
    with pytest.raises(Empty):
        arrivals.get(timeout=0.02)  # idle after "waiting": on top of the stack until it gives up
    arrivals.put("x")  # had the timed-out get stayed on the stack, this would wake nobody
    gevent.joinall(users, timeout=1)
    assert got == [("waiting", "x")]


def test_a_user_killed_after_being_woken_passes_the_arrival_on():
    arrivals, got = Arrivals(), []
    users = _waiting_users(arrivals, ["older", "newer"], got)
    newer = users[1]

    def kill_before_it_runs() -> None:
        arrivals.put("x")  # wakes "newer" (its wake-up is queued, not run yet)
        newer.throw(gevent.GreenletExit)  # and it dies before it could take "x"

    gevent.spawn(kill_before_it_runs)
    gevent.joinall(users, timeout=2)
    assert newer.dead and got == [("older", "x")]
    assert arrivals.empty()
