"""--goodput: AIPerf's fixed bound and the per-passage bound, one parser for the CLI, the locustfile and reports."""

from __future__ import annotations

import pytest
from report_factory import build_records, make_result

from rankperf_data.dataset.errors import InputError
from rankperf_data.load import settings
from rankperf_data.report import metrics
from rankperf_data.report.export import to_aiperf_json
from rankperf_data.report.goodput import parse_goodput
from rankperf_data.report.metrics import summarize


def test_per_passage_bound_is_judged_by_each_requests_passages():
    # latency 30 ms for every request; passages 2, 10, 20: bounds 20+1.5p = 23, 35, 50 ms
    rec = build_records([30.0, 30.0, 30.0], passages=[2, 10, 20])
    s = summarize(make_result(rec, goodput=parse_goodput("request_latency:20+1.5*passages")))
    assert s.metrics["good_request_count"].value == 2
    assert s.metrics["good_request_fraction"].value == pytest.approx(2 / 3)
    window = s.metrics["benchmark_duration"].value
    assert s.metrics["goodput"].value == pytest.approx(2 / window)


def test_fixed_and_per_passage_forms_parse_to_json_values():
    assert parse_goodput("request_latency:250") == {"request_latency": 250.0}
    assert parse_goodput("request_latency:20 + 1.5*passages, intended_latency:400") == {
        "request_latency": "20+1.5*passages", "intended_latency": 400.0}


@pytest.mark.parametrize("spec", ["request_latency:20+", "request_latency:1.5*tokens", "ttft:5",
                                  "request_latency", "request_latency:-3", "request_latency:1 request_latency:2"])
def test_bad_goodput_is_one_line_naming_the_flag(spec):
    with pytest.raises(InputError) as err:
        settings.parse_goodput(spec)
    assert "--goodput" in str(err.value) and "\n" not in str(err.value)


def test_one_parser_serves_settings_and_reports():
    assert settings.parse_goodput("request_latency:20+1.5*passages") == metrics.parse_goodput(
        "request_latency:20+1.5*passages")


def test_per_passage_slo_lives_under_rankperf_and_fixed_in_input_config():
    rec = build_records([10.0, 10.0], passages=[1, 2])
    s = summarize(make_result(rec, goodput=parse_goodput("request_latency:5+4*passages intended_latency:100")))
    out = to_aiperf_json(s, "id")
    assert out["input_config"]["slos"] == {"intended_latency": 100.0}
    assert out["rankperf"]["goodput_slos"] == {"request_latency": "5+4*passages", "intended_latency": 100.0}
    assert out["good_request_count"]["avg"] == 1  # 10 ms > 9 ms for 1 passage; <= 13 ms for 2
