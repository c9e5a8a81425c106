"""network_adjusted_request_latency: the run's mean RTT off every latency, clamped at 0 (AIPerf's rule)."""

from __future__ import annotations

import pytest
from report_factory import build_records, make_result

from rankperf_data.report.metrics import summarize


def test_adjusted_latency_subtracts_the_mean_and_clamps_at_zero():
    s = summarize(make_result(build_records([1.0, 5.0, 10.0]), network_rtt_ms=2.0))
    adjusted = s.metrics["network_adjusted_request_latency"].stats
    assert (adjusted.min, adjusted.max) == (0.0, 8.0) and adjusted.avg == pytest.approx((0 + 3 + 8) / 3)
    assert s.metrics["network_rtt"].value == 2.0
    assert "network_rtt" not in summarize(make_result(build_records([1.0]))).metrics
