"""The live Rankings rows: from merged summaries only (no record read), equal to the exact table
within the sketch's accuracy; the running totals obey the summaries' merge rules."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from rankperf_data.load import webui
from rankperf_data.load.coordinator import Coordinator
from rankperf_data.load.live_rows import live_summary
from rankperf_data.load.summaries import LAG, TOTALS, SummaryBuilder, SummaryMerger
from rankperf_data.report.metrics import phase_metrics, rate_warning
from rankperf_data.results.outcomes import ErrorKind, error_label
from rankperf_data.results.records import PHASE_PROFILING, PHASE_WARMUP, RECORD_DTYPE
from rankperf_data.results.run import RunInfo

LIVE_COLUMNS = ("status", "passages", "query_tokens", "passage_tokens")
RATE = 400.0  # offered open-loop rate of the generated run


def generated_records(n: int, seed: int = 7, workers: int = 3, lag_ms: float = 2.0) -> np.ndarray:
    """A run's records: lognormal latencies, 429s, 503s, timeouts and connection errors, warmup rows."""
    rng = np.random.default_rng(seed)
    rec = np.zeros(n, dtype=RECORD_DTYPE)
    rec["index"] = np.arange(n)
    rec["worker"] = rng.integers(0, workers, n)
    rec["phase"] = np.where(np.arange(n) < n // 20, PHASE_WARMUP, PHASE_PROFILING)
    rec["intended_ns"] = 1_700_000_000_000_000_000 + np.cumsum(rng.exponential(1e9 / RATE, n)).astype(np.int64)
    rec["start_ns"] = rec["intended_ns"] + rng.integers(0, int(lag_ms * 1e6), n)
    rec["end_ns"] = rec["start_ns"] + (rng.lognormal(np.log(40), 0.6, n) * 1e6).astype(np.int64)
    kind = rng.choice([ErrorKind.OK, ErrorKind.HTTP, ErrorKind.TIMEOUT, ErrorKind.CONNECTION], n,
                      p=[0.9, 0.06, 0.03, 0.01]).astype(np.uint8)
    rec["error_kind"] = kind
    rec["status"] = np.where(kind == ErrorKind.HTTP, rng.choice([429, 503], n), np.where(kind == 0, 200, 0))
    rec["passages"] = rng.integers(1, 50, n)
    rec["query_tokens"] = rng.integers(5, 30, n)
    rec["passage_tokens"] = rec["passages"] * rng.integers(50, 200, n)
    return rec


def merged(rec: np.ndarray, batch: int = 997, open_loop: bool = False) -> SummaryMerger:
    """Each worker's rows through its own SummaryBuilder, in flush-sized batches, into one merger
    (open loop: with the intended send times, as an open-loop process gives them)."""
    merger = SummaryMerger()
    columns = LIVE_COLUMNS + (("intended_ns",) if open_loop else ())
    for w in np.unique(rec["worker"]).tolist():
        mine, builder = rec[rec["worker"] == w], SummaryBuilder(w)
        for i in range(0, mine.size, batch):
            part = mine[i : i + batch]
            builder.add_rows(part["phase"], part["error_kind"], part["start_ns"], part["end_ns"],
                             {c: part[c] for c in columns})
            assert merger.accept(f"node-{w}", builder.take_wire())
    return merger


def test_live_rows_match_the_exact_metrics_within_the_sketch_accuracy():
    rec = generated_records(60_000)
    prof = rec[rec["phase"] == PHASE_PROFILING]
    window = int(prof["end_ns"].max() - prof["start_ns"].min())
    exact = phase_metrics(prof, window, RunInfo("hf_tei_rankings", "", "/rerank", "m", 1, request_rate=RATE))
    summary = live_summary(merged(rec, open_loop=True), request_rate=RATE, arrival_pattern="poisson")
    live = summary.metrics
    assert summary.warnings == []  # the offered rate was achieved, the lag small
    for tag in ("request_count", "completed_request_count", "error_request_count"):
        assert live[tag].value == exact[tag].value, tag
    for tag in ("request_error_rate", "request_throughput", "passage_throughput", "pair_token_throughput",
                "offered_rate", "achieved_rate"):
        assert live[tag].value == pytest.approx(exact[tag].value, rel=1e-9), tag
    got, want = live["request_latency"].stats, exact["request_latency"].stats
    assert live["request_latency"].approximate and not exact["request_latency"].approximate
    assert (got.count, got.min, got.max) == (want.count, want.min, want.max)
    assert got.avg == pytest.approx(want.avg, rel=1e-9) and got.std == pytest.approx(want.std, rel=1e-6)
    for tag in ("request_latency", "intended_latency", "schedule_lag"):
        got, want = live[tag].stats, exact[tag].stats
        assert live[tag].approximate and (got.count, got.min, got.max) == (want.count, want.min, want.max), tag
        for p in ("p50", "p90", "p99"):  # the bound; the sketch's is 0.5 %
            assert abs(got.get(p) - want.get(p)) / want.get(p) <= 0.01, (tag, p)


def test_a_late_schedule_warns_live_as_at_the_end():
    rec = generated_records(20_000, lag_ms=40.0)  # sends up to 40 ms late: lag p99 above its limit
    prof = rec[rec["phase"] == PHASE_PROFILING]
    info = RunInfo("hf_tei_rankings", "", "/rerank", "m", 1, request_rate=RATE, arrival_pattern="poisson")
    exact = rate_warning(phase_metrics(prof, int(prof["end_ns"].max() - prof["start_ns"].min()), info), info, prof.size)
    [live] = live_summary(merged(rec, open_loop=True), request_rate=RATE, arrival_pattern="poisson").warnings
    assert exact is not None and "schedule lag p99" in exact
    assert live.split(" ms > ")[1] == exact.split(" ms > ")[1]  # the same reason; the p99 within the sketch's error
    closed = live_summary(merged(rec), request_rate=RATE)  # no intended times in the summaries: no such rows
    assert "schedule_lag" not in closed.metrics and "intended_latency" not in closed.metrics


def test_live_error_groups_count_each_kind_and_status_exactly():
    rec = generated_records(20_000, seed=3)
    prof = rec[rec["phase"] == PHASE_PROFILING]
    failed = prof[prof["error_kind"] != ErrorKind.OK]
    want: dict[str, int] = {}
    for kind, status in zip(failed["error_kind"].tolist(), failed["status"].tolist(), strict=True):
        label = error_label(kind, status)
        want[label] = want.get(label, 0) + 1
    groups = live_summary(merged(rec)).errors
    assert {g.label: g.count for g in groups} == want and set(want) == {"429", "503", "timeout", "connection"}
    assert [g.count for g in groups] == sorted(want.values(), reverse=True)
    assert next(g for g in groups if g.label == "429").type == "Too Many Requests"


class _State:
    master_config = {"values": {}}
    master_run = None

    def __init__(self, coordinator) -> None:
        self.coordinator = coordinator


@pytest.mark.parametrize("n", [2_000, 100_000])
def test_the_live_table_reads_no_record_at_any_size(n, monkeypatch):
    rec = generated_records(n, seed=n)
    coord = Coordinator(0, n, 0.0, lambda *a: None)
    for w in range(3):
        coord.expect(f"node-{w}", w)
    source = merged(rec)
    coord.summaries = source
    reads = []
    monkeypatch.setattr(coord, "records", lambda: reads.append(1) or (_ for _ in ()).throw(AssertionError("read")))
    rows = webui.RankingsTable(environment=None, state=_State(coord)).rows()
    measured = int((rec["phase"] == PHASE_PROFILING).sum())
    assert reads == []
    assert rows[0]["metric"] == f"Status: running: {measured} measured requests recorded so far"
    latency = next(r for r in rows if r["metric"].startswith("Request Latency (ms) [p50/p90/p99 approximate"))
    assert latency["count"] == str(source.ok[PHASE_PROFILING]) and "0.5% relative" in latency["metric"]
    # the merged state's size does not follow the request count: bounded buckets, one entry per error kind
    assert len(source.latency[PHASE_PROFILING].to_wire()["counts"]) < 2_000
    assert len(source.totals[PHASE_PROFILING].errors) == 4


def test_a_finished_run_gets_the_exact_table_from_the_records(monkeypatch):
    from rankperf_data.load import finish
    from rankperf_data.report import metrics
    from rankperf_data.report.metrics import Metric, Summary

    coord = Coordinator(0, 1, 0.0, lambda *a: None)
    built = []
    monkeypatch.setattr(finish, "build_result", lambda env, c, state, cancelled: built.append(cancelled) or (
        type("R", (), {"info": RunInfo("hf_tei_rankings", "", "/rerank", "m", 1)})(), None, None))
    monkeypatch.setattr(metrics, "summarize", lambda result: Summary(metrics={
        "request_latency": Metric("request_latency", "Request Latency", "ms",
                                  stats=live_summary(merged(generated_records(500))).metrics["request_latency"].stats)}))
    coord.finished = True
    rows = webui.RankingsTable(environment=None, state=_State(coord)).rows()
    assert built == [True]  # not complete: the same rule as the artifacts
    assert any(r["metric"] == "Request Latency (ms)" for r in rows)  # exact: no "approximate" label
    assert webui.LIVE_NOTE not in [r["metric"] for r in rows]


# ---- the running totals follow the summaries' merge rules -----------------------------------------
def one_wire(rec: np.ndarray, worker: int = 0, builder: SummaryBuilder | None = None,
             columns: tuple[str, ...] = LIVE_COLUMNS) -> dict:
    builder = builder or SummaryBuilder(worker)
    builder.add_rows(rec["phase"], rec["error_kind"], rec["start_ns"], rec["end_ns"], {c: rec[c] for c in columns})
    return builder.take_wire()


def test_a_duplicated_summary_adds_no_passages_tokens_or_errors():
    rec = generated_records(3_000)
    wire, merger = one_wire(rec), SummaryMerger()
    assert merger.accept("w", wire) and not merger.accept("w", copy.deepcopy(wire))
    ok = rec[(rec["phase"] == PHASE_PROFILING) & (rec["error_kind"] == ErrorKind.OK)]
    totals = merger.totals[PHASE_PROFILING]
    assert totals.passages == int(ok["passages"].sum())
    assert totals.pair_tokens == int((ok["query_tokens"].astype(np.int64) * ok["passages"] + ok["passage_tokens"]).sum())
    assert sum(totals.errors.values()) == merger.requests[PHASE_PROFILING] - merger.ok[PHASE_PROFILING]
    assert merger.duplicates == {"w": 1}


def test_late_and_lost_summaries_keep_the_totals_exact_and_named():
    rec = generated_records(3_000)
    builder, merger = SummaryBuilder(0), SummaryMerger()
    wires = [one_wire(part, builder=builder) for part in np.array_split(rec, 3)]
    merger.accept("w", wires[0])
    merger.accept("w", wires[2])
    ok = rec[(rec["phase"] == PHASE_PROFILING) & (rec["error_kind"] == ErrorKind.OK)]
    assert merger.totals[PHASE_PROFILING].passages < int(ok["passages"].sum())  # the lost one is missing...
    assert any("summaries [2] of w never arrived" in n for n in merger.final_notes())
    merger.accept("w", wires[1])  # ...until it comes late: merged, the sums are the same in any order
    assert merger.totals[PHASE_PROFILING].passages == int(ok["passages"].sum())
    assert live_summary(merger).metrics["passage_throughput"].value == pytest.approx(
        live_summary(merged(rec, batch=rec.size)).metrics["passage_throughput"].value, rel=1e-12)
    assert any("arrived out of order" in n for n in merger.final_notes())


def test_a_mismatched_or_malformed_summary_merges_no_totals_and_is_named():
    rec = generated_records(1_000)
    merger = SummaryMerger()
    bad_sketch = one_wire(rec, 1)
    bad_sketch["phases"][str(PHASE_PROFILING)]["request_latency"]["relative_accuracy"] = 0.02
    assert not merger.accept("w1", bad_sketch)
    bad_totals = one_wire(rec, 2)
    bad_totals["phases"][str(PHASE_PROFILING)][TOTALS]["errors"] = {"429": 3}  # not kind:status
    assert not merger.accept("w2", bad_totals)
    bad_lag = one_wire(rec, 3, columns=(*LIVE_COLUMNS, "intended_ns"))
    bad_lag["phases"][str(PHASE_PROFILING)][LAG]["unit"] = "s"
    assert not merger.accept("w3", bad_lag)
    assert merger.totals == {} and merger.requests == {} and merger.open_loop == {}  # nothing of any merged
    assert merger.rejected == {"w1": 1, "w2": 1, "w3": 1}
    notes = merger.final_notes()
    assert "(w1) was not merged: sketch parameters differ" in notes[0]
    assert "(w2) was not merged: malformed (ValueError" in notes[1]
    assert "(w3) was not merged: sketch parameters differ" in notes[2] and "'unit': 's'" in notes[2]


def test_a_summary_without_totals_is_merged_named_and_its_rates_left_out():
    rec = generated_records(2_000)
    merger = SummaryMerger()
    assert merger.accept("new", one_wire(rec[:1000], 0))
    old = one_wire(rec[1000:], 1)
    for phase in old["phases"].values():
        del phase[TOTALS]
    assert merger.accept("old", old)
    assert merger.requests[PHASE_PROFILING] == int((rec["phase"] == PHASE_PROFILING).sum())  # counts: exact
    live = live_summary(merger).metrics
    assert not {"request_throughput", "passage_throughput", "pair_token_throughput"} & set(live)  # no wrong rate
    assert live["request_latency"].stats.std is None  # the sum of squares lacks its requests
    assert merger.without_totals == {"old": 1}
    assert any("(old) carries no running totals" in n for n in merger.final_notes())


def test_a_report_with_records_kept_elsewhere_takes_every_figure_from_the_merged_sketches():
    """The master holds a third of the records (two workers kept theirs): its report's table is the
    whole run's, equal to the exact report on every record within the sketch's accuracy."""
    from rankperf_data.report.console import SKETCH_APPROXIMATE_NOTE, render_console
    from rankperf_data.report.metrics import summarize
    from rankperf_data.report.sketch_summary import merged_window
    from rankperf_data.report.stats import PERCENTILES
    from rankperf_data.results.merged_summaries import MergedSummaries
    from rankperf_data.results.run import RunResult

    rec = generated_records(30_000)
    prof = rec[rec["phase"] == PHASE_PROFILING]
    info = RunInfo("hf_tei_rankings", "", "/rerank", "m", 1, request_rate=RATE, arrival_pattern="poisson")
    start, end = int(prof["start_ns"].min()), int(prof["end_ns"].max())
    exact = summarize(RunResult(records=rec, messages=[], info=info, start_ns=start, end_ns=end))
    # through rankperf_sketches.json's form, as `rankperf report` reads it back
    state = MergedSummaries.from_dict(json.loads(json.dumps(merged(rec, open_loop=True).state().to_dict())))
    held = rec[rec["worker"] == 0]
    got = summarize(RunResult(records=held, messages=[], info=info, start_ns=start, end_ns=end,
                              partial=True, merged_summaries=state))
    assert merged_window(state) == (start, end) and (got.start_ns, got.end_ns) == (start, end)
    assert got.source == "sketches" and got.approximate and got.distribution is None and got.timeslices == []
    for tag in ("request_count", "completed_request_count", "error_request_count", "benchmark_duration"):
        assert got.metrics[tag].value == pytest.approx(exact.metrics[tag].value, rel=1e-12), tag
    for tag in ("request_throughput", "passage_throughput", "pair_token_throughput", "achieved_rate"):
        assert got.metrics[tag].value == pytest.approx(exact.metrics[tag].value, rel=1e-9), tag
    for tag in ("request_latency", "intended_latency", "schedule_lag"):
        mine, want = got.metrics[tag].stats, exact.metrics[tag].stats
        assert (mine.count, mine.min, mine.max) == (want.count, want.min, want.max), tag
        for p in PERCENTILES:  # every percentile the exports carry
            assert abs(mine.get(f"p{p}") - want.get(f"p{p}")) <= 0.01 * want.get(f"p{p}"), (tag, p)
    by_label: dict[str, int] = {}
    for g in exact.errors:  # the exact groups split a label by message; the totals know kind and status
        by_label[g.label] = by_label.get(g.label, 0) + g.count
    assert {g.label: g.count for g in got.errors} == by_label and len(by_label) == 4
    left_out = [n for n in got.notes if n.startswith("figures from every worker's merged counters")]
    assert len(left_out) == 1 and "Passages per Request" in left_out[0] and "Late" in left_out[0], got.notes
    text = render_console(got)
    assert SKETCH_APPROXIMATE_NOTE in text and f"{exact.metrics['request_count'].value:,.0f}" in text
