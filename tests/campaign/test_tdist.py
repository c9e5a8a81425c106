"""Student-t critical values against published two-sided table values (to 4 decimals)."""

import math

import pytest

from rankperf_data.campaign.confidence import confidence_stats
from rankperf_data.campaign.tdist import t_critical, two_sided_mass

# (confidence, degrees of freedom, table value): standard Student-t tables
TABLE = [
    (0.95, 1, 12.7062), (0.95, 2, 4.3027), (0.95, 3, 3.1824), (0.95, 4, 2.7764), (0.95, 5, 2.5706),
    (0.95, 9, 2.2622), (0.95, 10, 2.2281), (0.95, 30, 2.0423), (0.90, 1, 6.3138), (0.90, 5, 2.0150),
    (0.90, 9, 1.8331), (0.99, 1, 63.6567), (0.99, 2, 9.9248), (0.99, 4, 4.6041), (0.99, 9, 3.2498),
    (0.80, 7, 1.4149),
]


@pytest.mark.parametrize("confidence,nu,expected", TABLE)
def test_t_critical_matches_tables(confidence, nu, expected):
    assert t_critical(confidence, nu) == pytest.approx(expected, abs=6e-5)


def test_mass_is_the_closed_form_for_one_and_two_degrees():
    # nu=1 is Cauchy: P(|T|<t) = 2 atan(t) / pi; nu=2: t / sqrt(2 + t^2)
    for t in (0.1, 1.0, 3.0, 40.0):
        assert two_sided_mass(t, 1) == pytest.approx(2 * math.atan(t) / math.pi, rel=1e-12)
        assert two_sided_mass(t, 2) == pytest.approx(t / math.sqrt(2 + t * t), rel=1e-12)


def test_large_degrees_approach_the_normal():
    assert t_critical(0.95, 2000) == pytest.approx(1.95996, abs=2e-3)


def test_confidence_stats_definitions():
    s = confidence_stats([1.0, 2.0, 3.0, None, float("nan")], 0.95)
    assert s["mean"] == 2.0 and s["std"] == pytest.approx(1.0)  # sample std, ddof=1
    assert s["se"] == pytest.approx(1 / math.sqrt(3))
    assert s["t_critical"] == pytest.approx(4.302653, abs=1e-6)
    assert s["ci_low"] == pytest.approx(2 - 4.302653 / math.sqrt(3), abs=1e-6)
    assert s["ci_high"] == pytest.approx(2 + 4.302653 / math.sqrt(3), abs=1e-6)
    assert s["cv"] == pytest.approx(0.5) and (s["min"], s["max"]) == (1.0, 3.0)


def test_one_value_degrades_to_a_point():
    s = confidence_stats([5.0], 0.95)
    assert (s["std"], s["se"], s["ci_low"], s["ci_high"]) == (0.0, 0.0, 5.0, 5.0)
    assert math.isnan(s["t_critical"])
    assert confidence_stats([None], 0.95) is None
