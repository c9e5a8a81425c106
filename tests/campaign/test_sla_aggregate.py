"""SLA verdicts (fixed and per-passage bounds) and the sweep aggregate's choices, on made-up runs."""

import pytest

from rankperf_data.campaign.aggregate import confidence_aggregate
from rankperf_data.campaign.plan import Point
from rankperf_data.campaign.runs import RunValues
from rankperf_data.campaign.sla import first_breach, parse_filter
from rankperf_data.campaign.sweep import sweep_aggregate, sweep_csv


def run(label, thr, p99, passages=None, err=0.0):
    values = {"request_throughput": {"avg": thr}, "request_count": {"avg": 10.0},
              "request_latency": {"p99": p99, "avg": p99 / 2}, "request_error_rate": {"avg": err},
              "passage_throughput": {"avg": passages if passages is not None else thr * 10}}
    return RunValues(label, values, {"request_throughput": "requests/sec", "request_latency": "ms"})


def test_fixed_filter_and_missing_metric():
    f = parse_filter("request_latency:p99:lt:250")
    assert first_breach([f], run("a", 1, 249.9).values) is None
    breach = first_breach([f], run("a", 1, 250.0).values)
    assert breach["observed"] == 250.0 and breach["threshold"] == 250.0
    assert first_breach([parse_filter("goodput:avg:gt:1")], run("a", 1, 1).values)["observed"] is None


def test_per_passage_filter_reads_the_margin_tag():
    f = parse_filter("request_latency:p99:lt:50+2*passages")
    tag, stat, limit = f.lookup
    assert (stat, limit) == ("p99", 0.0) and tag.startswith("request_latency_over_slo")
    assert first_breach([f], {tag: {"p99": -0.5}}) is None
    assert first_breach([f], {tag: {"p99": 3.0}})["observed"] == 3.0


def test_sweep_aggregate_best_and_pareto_with_one_trial_per_value():
    cells = [(Point(0, {"concurrency": 1}), [run("c1", 10, 50)]),
             (Point(1, {"concurrency": 4}), [run("c4", 30, 120)]),
             (Point(2, {"concurrency": 8}), [run("c8", 29, 300)])]
    data = sweep_aggregate(cells, 0.95, 1, "repeated", [], partial=False)
    best = data["best_configurations"]
    assert best["best_throughput"]["parameters"] == {"concurrency": 4}
    assert best["best_latency_p99"]["parameters"] == {"concurrency": 1}
    assert best["best_passage_throughput"]["metric"] == 300
    assert data["pareto_optimal"] == [{"concurrency": 1}, {"concurrency": 4}]
    row = data["per_combination_metrics"][1]["metrics"]["request_latency_p99"]
    assert (row["mean"], row["ci_low"], row["ci_high"], row["std"]) == (120, 120, 120, 0.0)
    assert sweep_csv(data).splitlines()[0].startswith("concurrency,passage_throughput_avg_mean,")


def test_sla_restricts_best_and_pareto_to_feasible_cells():
    cells = [(Point(0, {"concurrency": 1}), [run("c1", 10, 50)]),
             (Point(1, {"concurrency": 4}), [run("c4", 30, 120)])]
    data = sweep_aggregate(cells, 0.95, 1, "repeated", [parse_filter("request_latency:p99:lt:100")], True)
    assert data["metadata"]["sla_constraints"]["feasible_count"] == 1
    assert data["best_configurations"]["best_throughput"]["parameters"] == {"concurrency": 1}
    assert data["pareto_optimal"] == [{"concurrency": 1}]
    assert data["metadata"]["partial"] is True
    assert [r["feasible"] for r in data["per_combination_metrics"]] == [True, False]


def test_confidence_aggregate_counts_failed_runs_apart():
    bad = RunValues("run_0003", error="no records")
    data = confidence_aggregate([run("run_0001", 10, 50), run("run_0002", 12, 70), bad], 0.95, 1.5, False)
    meta = data["metadata"]
    assert meta["num_profile_runs"] == 3 and meta["num_successful_runs"] == 2
    assert meta["failed_runs"] == [{"label": "run_0003", "error": "no records"}]
    m = data["metrics"]["request_throughput_avg"]
    assert m["mean"] == 11 and m["t_critical"] == pytest.approx(12.7062, abs=1e-4) and m["unit"] == "requests/sec"


def test_the_search_answer_names_the_boundary_and_why_the_next_value_failed():
    from rankperf_data.campaign.console import answer_search

    f = parse_filter("request_latency:p99:lt:250")
    history = {"boundary_summary": {"swept_dim_path": "phases.profiling.concurrency",
                                    "feasible_max": {"value": 12, "passage_throughput": 1840.4},
                                    "infeasible_min": {"value": 13, "first_breach": {**f.to_json(), "observed": 262.0}}},
               "iterations": [], "config": {"search_space": [{"lo": 1}]}}
    assert answer_search(history, [f]) == ("max 1,840 passages/s at p99 latency < 250 ms, concurrency 12 "
                                           "(concurrency 13 fails: p99 request_latency 262.00, needs < 250)")
    history["boundary_summary"].update(feasible_max=None)
    history["iterations"] = [{"first_breach": {"metric_tag": "rate_achieved", "observed": 0.0}}]
    assert "offered rate was not achieved" in answer_search(history, [f])
