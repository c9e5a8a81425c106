"""Numbered summaries: merged once each, duplicates and mismatched sketches named and rejected."""

from __future__ import annotations

import copy

import numpy as np

from rankperf_data.load import messages
from rankperf_data.load.coordinator import Coordinator
from rankperf_data.load.process import LoadProcess
from rankperf_data.load.quota import Grant
from rankperf_data.load.summaries import LATENCY, SummaryBuilder, SummaryMerger
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_PROFILING, PHASE_WARMUP


def batch(builder: SummaryBuilder, latencies_ms: np.ndarray, phase: int = PHASE_PROFILING, errors: int = 0) -> None:
    n = latencies_ms.size + errors
    kinds = np.array([int(ErrorKind.OK)] * latencies_ms.size + [int(ErrorKind.HTTP)] * errors)
    start = np.arange(n, dtype=np.int64) * 1000
    end = start + np.concatenate([latencies_ms * 1e6, np.full(errors, 5e6)]).astype(np.int64)
    builder.add_rows(np.full(n, phase), kinds, start, end)


def test_deltas_from_several_workers_merge_to_exact_counts_and_percentiles():
    rng = np.random.default_rng(1)
    merger, everything = SummaryMerger(), []
    for worker in range(4):
        builder = SummaryBuilder(worker)
        for _ in range(3):
            lat = rng.lognormal(np.log(30), 0.7, 5000)
            everything.append(lat)
            batch(builder, lat, errors=10)
            batch(builder, rng.lognormal(np.log(30), 0.7, 7), phase=PHASE_WARMUP)
            assert merger.accept(f"n{worker}", builder.take_wire())
    data = np.concatenate(everything)
    assert merger.requests[PHASE_PROFILING] == data.size + 4 * 3 * 10
    assert merger.ok[PHASE_PROFILING] == data.size and merger.requests[PHASE_WARMUP] == 4 * 3 * 7
    for q in (0.5, 0.99):
        exact = float(np.percentile(data, q * 100))
        assert abs(merger.latency[PHASE_PROFILING].quantile(q) - exact) / exact <= 0.01
    assert merger.final_notes() == []


def test_nothing_new_sends_nothing():
    assert SummaryBuilder(0).take_wire() is None


def test_a_duplicated_summary_is_rejected_and_named():
    builder, merger = SummaryBuilder(2), SummaryMerger()
    batch(builder, np.full(100, 10.0))
    first = builder.take_wire()
    assert merger.accept("w2", first)
    assert not merger.accept("w2", copy.deepcopy(first))
    assert merger.requests[PHASE_PROFILING] == 100
    assert merger.duplicates == {"w2": 1}
    assert "summary 1 of worker 2 (w2) arrived twice" in merger.final_notes()[0]


def test_a_lost_summary_is_named_and_a_late_one_is_merged_and_named():
    builder, merger = SummaryBuilder(0), SummaryMerger()
    wires = []
    for n in (10, 20, 30):
        batch(builder, np.full(n, 10.0))
        wires.append(builder.take_wire())
    merger.accept("w", wires[0])
    merger.accept("w", wires[2])  # 2 is missing so far
    assert merger.missing() == {"w": [2]}
    assert any("summaries [2] of w never arrived" in n for n in merger.final_notes())
    assert merger.accept("w", wires[1])  # late, not lost
    assert merger.missing() == {} and merger.requests[PHASE_PROFILING] == 60
    assert any("arrived out of order" in n for n in merger.final_notes())
    assert not merger.accept("w", wires[1])  # and now a duplicate


def test_a_summary_with_other_sketch_parameters_is_rejected_and_named():
    builder, merger = SummaryBuilder(1), SummaryMerger()
    batch(builder, np.full(50, 10.0))
    wire = builder.take_wire()
    wire["phases"][str(PHASE_PROFILING)][LATENCY]["relative_accuracy"] = 0.02
    assert not merger.accept("w1", wire)
    assert merger.requests == {} and merger.rejected == {"w1": 1}
    assert "relative_accuracy" in merger.final_notes()[0] and "(w1) was not merged" in merger.final_notes()[0]


def test_a_process_ships_a_summary_of_each_batch_and_the_coordinator_merges_it():
    coord = Coordinator(0, 5, 0.0, lambda *a: None)
    sent: list[tuple[str, dict]] = []
    process = LoadProcess({"values": {"request_count": 5}, "seed": 1, "workers": 1}, 0,
                          lambda kind, data: sent.append((kind, data)))
    process.on_grant(Grant(0, 5).to_wire())
    process.on_grant(Grant(closed=True).to_wire())
    for _ in range(5):
        index, phase = process.take()
        token = process.begin(index, phase, 0, 0, (1, 1, 1, 1))
        process.cancel(token, "test")
    for kind, data in sent:
        if kind == messages.RECORDS:
            coord.on_records("local", data)
        elif kind == messages.SUMMARY:
            coord.on_summary("local", data)
            coord.on_summary("local", data)  # delivered twice: named, not counted twice
    assert coord.summaries.requests[PHASE_PROFILING] == 5 and coord.summaries.ok[PHASE_PROFILING] == 0
    assert any("arrived twice" in note for note in coord.notes)
    assert coord.summary_check(5) == []
    assert coord.summary_check(6) == ["the merged summaries count 5 measured requests, the records 6"]


def clock_case(offsets_s: list[float]) -> list[str]:
    """Notes after summaries that took ``offsets_s`` from the worker's clock to the master's."""
    builder, merger = SummaryBuilder(3), SummaryMerger()
    for i, offset in enumerate(offsets_s):
        batch(builder, np.full(10, 10.0))
        sent = 1_000_000_000_000 + i * 1_000_000_000
        merger.accept("w3", builder.take_wire(now_ns=sent), received_ns=sent + int(offset * 1e9))
    return merger.final_notes()


def test_a_worker_clock_behind_or_ahead_is_named_and_its_counts_still_merge():
    [behind] = clock_case([3.2, 3.05, 3.4])  # the quickest message tells the offset
    assert "worker 3 (w3): its clock is about 3.05 s behind the master's" in behind
    [ahead] = clock_case([-2.0, -1.9])
    assert "about 2.00 s ahead of the master's" in ahead


def test_clocks_in_sync_and_slow_messages_raise_no_note():
    assert clock_case([0.004, 2.5, 0.010]) == []  # one message was slow, the clocks agree


def test_a_process_that_sees_the_records_folder_appends_there_and_the_coordinator_reads_it(tmp_path):
    coord = Coordinator(0, 4, 0.0, lambda *a: None)
    sent: list[tuple[str, dict]] = []
    process = LoadProcess({"values": {"request_count": 4}, "seed": 1, "workers": 1, "records_dir": str(tmp_path)},
                          3, lambda kind, data: sent.append((kind, data)))
    process.on_grant(Grant(0, 4).to_wire())
    process.on_grant(Grant(closed=True).to_wire())
    for _ in range(4):
        index, phase = process.take()
        process.cancel(process.begin(index, phase, 0, 0, (1, 1, 1, 1)), "stopped")
    for kind, data in sent:
        if kind == messages.RECORDS:
            assert "columns" not in data  # counts only: the rows are in the file
            coord.on_records("w3", data)
    assert coord.store.array().size == 0 and coord.record_count() == 4
    rows, table = coord.records()
    assert sorted(rows["index"].tolist()) == [0, 1, 2, 3] and (rows["worker"] == 3).all()
    assert table == ["stopped"] and (rows["error_msg"] == 0).all()
    assert (tmp_path / "process-3.records").stat().st_size == 4 * rows.dtype.itemsize
    (tmp_path / "process-3.records").unlink()  # e.g. a worker on another host: its file is not here
    assert coord.records()[0].size == 0
    assert any("record file of worker" in note for note in coord.notes)


def test_without_the_records_folder_the_rows_travel_in_the_message(tmp_path):
    sent: list[tuple[str, dict]] = []
    process = LoadProcess({"values": {"request_count": 1}, "seed": 1, "workers": 1,
                           "records_dir": str(tmp_path / "on-another-host")}, 0,
                          lambda kind, data: sent.append((kind, data)))
    process.on_grant(Grant(0, 1).to_wire())
    process.on_grant(Grant(closed=True).to_wire())
    index, phase = process.take()
    process.cancel(process.begin(index, phase, 0, 0, (1, 1, 1, 1)), "stopped")
    [records] = [data for kind, data in sent if kind == messages.RECORDS]
    assert records["columns"]["index"] == [0]
