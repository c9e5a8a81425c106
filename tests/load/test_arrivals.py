"""Arrivals: due arrivals handed to idle senders, most recently idle first, none lost."""

from __future__ import annotations

import gevent
import pytest
from gevent.queue import Empty

from rankperf_data.load.arrivals import Arrivals


def idle_senders(arrivals: Arrivals, names: list[str], got: list[tuple[str, object]]) -> list[gevent.Greenlet]:
    """Senders that wait for one arrival each, becoming idle in the order of ``names``."""
    senders = []
    for name in names:
        senders.append(gevent.spawn(lambda n=name: got.append((n, arrivals.get()))))
        gevent.sleep(0)  # this one is idle before the next
    return senders


def test_the_most_recently_idle_sender_gets_the_next_arrival():
    arrivals, got = Arrivals(), []
    senders = idle_senders(arrivals, ["a", "b", "c"], got)
    arrivals.put(1)
    arrivals.put(2)
    assert got == []  # handed over once the putting greenlet yields
    gevent.joinall(senders[1:], timeout=1)
    assert got == [("c", 1), ("b", 2)]
    arrivals.put(3)
    senders[0].join(timeout=1)
    assert got[-1] == ("a", 3)


def test_a_sender_takes_waiting_arrivals_in_order_without_waiting():
    arrivals = Arrivals()
    for i in range(3):
        arrivals.put(i)
    assert arrivals.qsize() == 3
    assert [arrivals.get(timeout=0.01) for _ in range(3)] == [0, 1, 2]
    assert arrivals.empty()


def test_get_times_out_and_a_sender_killed_while_idle_loses_no_arrival():
    arrivals, got = Arrivals(), []
    with pytest.raises(Empty):
        arrivals.get(timeout=0.01)
    alive, killed = idle_senders(arrivals, ["alive", "killed"], got)  # the killed one is idle last
    killed.kill()
    arrivals.put(0)
    alive.join(timeout=1)
    assert got == [("alive", 0)]
