"""Latency model: least squares per passage (and per pair token where identifiable), CIs, R^2, the table."""

from __future__ import annotations

import numpy as np
import pytest
from report_factory import build_records, make_result

from rankperf_data.report.console import render_console
from rankperf_data.report.export import to_aiperf_json
from rankperf_data.report.latency_model import fit, latency_by_passages
from rankperf_data.report.metrics import summarize


def test_exact_line_is_recovered_with_r2_one_and_pair_tokens_collinear():
    passages = np.array([1, 2, 4, 8, 16, 32] * 5)
    rec = build_records((4.0 + 1.5 * passages).tolist(), passages=passages.tolist())  # fixed 128 tokens/passage
    s = summarize(make_result(rec))
    m = s.latency_model
    assert m.intercept_ms == pytest.approx(4.0, abs=1e-6) and m.per_passage_ms == pytest.approx(1.5, abs=1e-7)
    assert m.r2 == pytest.approx(1.0) and m.n == 30
    assert m.per_pair_token_us is None and m.ci95["per_pair_token_us"] is None  # 160 x passages: collinear
    out = to_aiperf_json(s, "id")["rankperf"]
    assert out["latency_model"]["per_pair_token_us"] is None
    assert [row["passages"] for row in out["latency_by_passages"]] == ["1", "2", "4", "8", "16", "32"]
    assert out["latency_by_passages"][3]["p50_ms"] == pytest.approx(16.0)
    assert "latency model: 4 ms + 1.5 ms per passage, R^2 1.00 (n 30" in render_console(s)


def test_noisy_fit_has_intervals_that_cover_the_truth():
    rng = np.random.default_rng(7)
    p = rng.integers(1, 50, 400)
    y = 3.0 + 0.8 * p + rng.normal(0, 2.0, p.size)
    m = fit(y, p)
    lo, hi = m.ci95["per_passage_ms"]
    assert lo < 0.8 < hi and hi - lo < 0.1
    lo, hi = m.ci95["intercept_ms"]
    assert lo < 3.0 < hi
    assert 0.9 < m.r2 < 1.0


def test_pair_token_term_is_fitted_when_tokens_vary_apart_from_passages():
    rng = np.random.default_rng(3)
    p = rng.integers(1, 40, 300)
    tokens = p * rng.integers(50, 300, p.size)  # tokens per passage vary per request
    y = 2.0 + 1.0 * p + 0.005 * tokens  # 5 us per pair token
    m = fit(y, p, tokens)
    assert m.per_pair_token_us == pytest.approx(5.0, rel=1e-6)
    assert m.per_passage_ms == pytest.approx(1.0, rel=1e-6)


def test_no_model_when_passages_do_not_vary():
    assert fit(np.array([5.0, 6.0, 7.0]), np.array([10, 10, 10])) is None
    s = summarize(make_result(build_records([5.0, 6.0, 7.0], passages=10)))
    assert s.latency_model is None and "latency model" not in render_console(s)


def test_table_groups_many_counts_into_ranges():
    p = np.arange(1, 101)
    rows = latency_by_passages(p.astype(float), p)
    assert len(rows) <= 24 and rows[0]["passages"] == "1-5" and rows[0]["count"] == 5
    assert rows[0]["p50_ms"] == pytest.approx(3.0)
