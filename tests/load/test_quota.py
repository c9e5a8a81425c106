"""The global budget: exact counts, index ranges, the warmup barrier, closing."""

import time

import pytest

from rankperf_data.load import messages
from rankperf_data.load.quota import MAX_CHUNK, Grant, QuotaLedger, RangeQueue
from rankperf_data.results.records import PHASE_PROFILING, PHASE_WARMUP


def drain(ledger, nodes, completed_warmup=True):
    """Ask round-robin until every node is told 'closed'; return the indices each node got."""
    got = {n: [] for n in nodes}
    closed = set()
    while len(closed) < len(nodes):
        for n in nodes:
            if n in closed:
                continue
            g = ledger.grant(n, MAX_CHUNK)
            if g.closed:
                closed.add(n)
            elif g.wait:
                ledger.record_warmup_completed(sum(1 for _ in range(ledger.warmup)) if completed_warmup else 0)
            else:
                got[n].extend((i, g.phase) for i in range(g.start, g.end))
    return got


def test_exact_count_across_workers_with_disjoint_ranges():
    ledger = QuotaLedger(warmup=0, measured=1001, workers=3)
    got = drain(ledger, ["a", "b", "c"])
    indices = sorted(i for n in got.values() for i, _ in n)
    assert indices == list(range(1001))
    assert all(p == PHASE_PROFILING for n in got.values() for _, p in n)


def test_grants_shrink_near_the_end():
    ledger = QuotaLedger(warmup=0, measured=100, workers=2)
    sizes = []
    while True:
        g = ledger.grant("a", MAX_CHUNK)
        if g.closed:
            break
        sizes.append(g.end - g.start)
    assert sum(sizes) == 100 and sizes[-1] == 1 and max(sizes) <= 25


def test_warmup_first_then_barrier_then_measured():
    ledger = QuotaLedger(warmup=10, measured=20, workers=1)
    first = ledger.grant("a", 64)
    assert (first.start, first.phase) == (0, PHASE_WARMUP)
    while ledger.next_index < 10:
        ledger.grant("a", 64)
    assert ledger.grant("a", 64).wait  # warmup still in flight
    ledger.record_warmup_completed(10)
    g = ledger.grant("a", 64)
    assert g.phase == PHASE_PROFILING and g.start == 10


def test_unlimited_budget_runs_until_closed():
    ledger = QuotaLedger(warmup=0, measured=0)
    for _ in range(100):
        assert not ledger.grant("a", 64).closed
    ledger.close()
    assert ledger.grant("a", 64).closed


def test_range_queue_hands_out_in_order_and_drops():
    q = RangeQueue()
    q.add(Grant(5, 8, PHASE_PROFILING))
    q.add(Grant(20, 21, PHASE_WARMUP))
    assert [q.take() for _ in range(4)] == [(5, 0), (6, 0), (7, 0), (20, 1)]
    assert q.take() is None and not q.closed
    q.add(Grant(30, 40))
    assert q.drop() == [Grant(30, 40)] and q.closed and q.take() is None


def test_grant_wire_round_trip():
    g = Grant(3, 9, PHASE_WARMUP)
    assert Grant.from_wire(g.to_wire()) == g


def test_coordinator_regrants_what_a_leaving_worker_never_sent():
    from rankperf_data.load.coordinator import Coordinator

    sent = []
    coord = Coordinator(warmup=0, measured=100, duration=0, send=lambda t, d, n: sent.append((t, d, n)))
    for node in ("a", "b"):
        coord.expect(node, len(coord.nodes))
        coord.on_quota(node, {"want": 64})
    before = {n: s.granted for n, s in coord.nodes.items()}
    coord.on_done("a", {"returned": [Grant(3, 10).to_wire()]})
    assert sent[-1] == (messages.GRANT, Grant(3, 10).to_wire(), "b")
    assert coord.nodes["a"].granted == before["a"] - 7 and coord.nodes["b"].granted == before["b"] + 7


def test_coordinator_notes_indices_nobody_can_take():
    from rankperf_data.load.coordinator import Coordinator

    coord = Coordinator(warmup=0, measured=10, duration=0, send=lambda *a: None)
    coord.expect("a", 0)
    coord.on_quota("a", {"want": 64})
    coord.on_done("a", {"returned": [Grant(5, 10).to_wire()]})
    assert "never sent" in coord.notes[-1]


def test_coordinator_reports_each_workers_cpu_busy_fraction():
    from rankperf_data.load.coordinator import Coordinator

    coord = Coordinator(warmup=0, measured=10, duration=0, send=lambda *a: None)
    for node, index in (("b", 1), ("a", 0), ("c", 2)):
        coord.expect(node, index)
    coord.on_done("a", {"cpu_s": 0.5, "wall_s": 2.0})
    coord.on_done("b", {"cpu_s": 1.9, "wall_s": 2.0})
    coord.on_done("c", {})  # never sent anything: no figure rather than a made-up one
    assert coord.client_cpu() == {"0": 0.25, "1": 0.95}


def test_open_loop_shares_of_a_worker_that_leaves_go_to_those_still_sending():
    from rankperf_data.load.coordinator import Coordinator

    sent = []
    coord = Coordinator(warmup=0, measured=1000, duration=0, send=lambda t, d, n: sent.append((t, d, n)),
                        open_loop=True)
    for node, index in (("a", 0), ("b", 1), ("c", 2)):
        coord.expect(node, index)
        coord.on_quota(node, {"want": 8})
    coord.expect("late", 3, late=True)  # joined after the start: sends no share, so takes none
    coord.on_quota("late", {"want": 8})
    coord.on_done("a", {"returned": []})  # left early
    coord.on_done("b", {"returned": []})  # left early too: its own share and the one it took over
    adopt = [(d, n) for t, d, n in sent if t == messages.ADOPT]
    assert adopt == [({"share": 0}, "b"), ({"share": 1}, "c"), ({"share": 0}, "c")]
    assert coord.nodes["c"].shares == [2, 1, 0]


@pytest.mark.parametrize("open_loop", [True, False])
def test_no_hand_over_at_the_normal_end_or_in_closed_loop(open_loop):
    from rankperf_data.load.coordinator import Coordinator

    sent = []
    coord = Coordinator(warmup=0, measured=4, duration=0, send=lambda t, d, n: sent.append((t, d, n)),
                        open_loop=open_loop)
    for node, index in (("a", 0), ("b", 1)):
        coord.expect(node, index)
        coord.on_quota(node, {"want": 1})
    if open_loop:  # the normal end: every index granted before "a" says done
        while not coord.budget_spent:
            coord.on_quota("a", {"want": 1})
    else:
        assert not coord.budget_spent  # closed loop: mid-run, still nothing to hand over
    coord.on_done("a", {"returned": []})
    assert not [t for t, _, _ in sent if t == messages.ADOPT]


def test_shares_of_a_worker_without_users_wait_for_one_with_users():
    # -u 1 --processes 2, open loop: the idle worker may report before the other one did anything
    from rankperf_data.load.coordinator import Coordinator

    sent = []
    coord = Coordinator(warmup=0, measured=100, duration=0, send=lambda t, d, n: sent.append((t, d, n)),
                        open_loop=True)
    for node, index in (("a", 0), ("b", 1)):
        coord.expect(node, index)
    coord.on_users("b", 0)
    assert coord.orphan_shares == [1] and not sent  # nobody known to have users yet
    coord.on_users("a", 1)
    assert sent == [(messages.ADOPT, {"share": 1}, "a")]
    assert coord.nodes["a"].shares == [0, 1] and coord.orphan_shares == []
    coord.on_done("b", {"issued": 0, "completed": 0, "returned": []})
    coord.on_quota("a", {"want": 64})  # the idle worker never asked: the run ends on "a" alone
    assert not coord.nodes["b"].active


def test_indices_given_back_by_a_worker_without_users_go_to_one_with_users():
    from rankperf_data.load.coordinator import Coordinator

    sent = []
    coord = Coordinator(warmup=0, measured=100, duration=0, send=lambda t, d, n: sent.append((t, d, n)))
    for node, index in (("a", 0), ("b", 1), ("c", 2)):
        coord.expect(node, index)
        coord.on_quota(node, {"want": 8})
    coord.on_users("a", 0)  # the web UI lowered the count: "a" has none now
    coord.on_users("c", 0)
    coord.on_users("b", 3)
    coord.on_done("a", {"returned": [Grant(0, 8).to_wire()]})
    assert sent[-1] == (messages.GRANT, Grant(0, 8).to_wire(), "b")
    coord.on_quota("a", {"want": 8})  # users again: asks, and is no longer done
    assert coord.nodes["a"].done is None


def test_open_loop_grants_carry_one_start_instant_per_phase():
    from rankperf_data.load.coordinator import Coordinator

    sent = []
    coord = Coordinator(warmup=2, measured=100, duration=0, send=lambda t, d, n: sent.append((t, d, n)),
                        open_loop=True, anchor_delay_s=0.3)
    before = time.time_ns()
    for node, index in (("a", 0), ("b", 1)):
        coord.expect(node, index)
        coord.on_quota(node, {"want": 2})
    warm = [Grant.from_wire(d) for t, d, _ in sent if t == messages.GRANT]
    assert [g.phase for g in warm] == [PHASE_WARMUP, PHASE_WARMUP]
    assert warm[0].anchor_ns == warm[1].anchor_ns >= before + 300_000_000  # a little in the future
    coord.on_quota("a", {"want": 2, "warmup_done": 2})
    coord.on_quota("b", {"want": 2})
    measured = [Grant.from_wire(d) for t, d, _ in sent[-2:]]
    assert {g.phase for g in measured} == {PHASE_PROFILING}
    assert measured[0].anchor_ns == measured[1].anchor_ns > warm[0].anchor_ns
    closed = Coordinator(warmup=0, measured=10, duration=0, send=lambda t, d, n: sent.append((t, d, n)))
    closed.expect("a", 0)
    closed.on_quota("a", {"want": 2})
    assert Grant.from_wire(sent[-1][1]).anchor_ns == 0  # closed loop: no schedule to anchor
