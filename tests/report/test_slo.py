"""The latency-bound parser shared by --goodput and the SLA flags."""

import numpy as np
import pytest

from rankperf_data.report.slo import LatencyBound, parse_latency_bound


@pytest.mark.parametrize(("text", "base", "per"), [
    ("250", 250.0, 0.0),
    ("20+1.5*passages", 20.0, 1.5),
    (" 50 + 2 * passages ", 50.0, 2.0),
    ("passages*2+50", 50.0, 2.0),
    ("3*passages", 0.0, 3.0),
    ("passages", 0.0, 1.0),
    ("1e2", 100.0, 0.0),
])
def test_parses(text, base, per):
    assert parse_latency_bound(text) == LatencyBound(base, per)


@pytest.mark.parametrize("text", ["", "abc", "20+", "-5", "0", "2*3", "20+tokens*2", "1*passages+2*passages",
                                  "1+2", "nan", "inf"])
def test_refuses(text):
    with pytest.raises(ValueError):
        parse_latency_bound(text)


def test_limit_per_request():
    bound = parse_latency_bound("20+1.5*passages")
    assert bound.limit_ms(10) == pytest.approx(35.0)
    assert np.allclose(bound.limit_ms(np.array([0, 2, 4])), [20.0, 23.0, 26.0])
    assert str(bound) == "20+1.5*passages"
    assert bound.to_json() == {"base_ms": 20.0, "per_passage_ms": 1.5}
    fixed = parse_latency_bound("250")
    assert np.allclose(fixed.limit_ms(np.array([1, 50])), [250.0, 250.0])
    assert fixed.to_json() == 250.0 and str(fixed) == "250"
