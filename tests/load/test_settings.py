"""Option parsing for the load side: headers, extra inputs, goodput, with precise errors."""

import pytest

from rankperf_data import options
from rankperf_data.dataset.errors import InputError
from rankperf_data.load.settings import LoadSettings, parse_extra_inputs, parse_goodput, parse_headers


def test_headers_from_pairs_and_json():
    assert parse_headers(["X-A: 1", '{"X-B": 2}']) == {"X-A": "1", "X-B": "2"}
    assert parse_headers(None) == {}


@pytest.mark.parametrize("bad", ["no-colon", ":value", "{not json", "[1]"])
def test_bad_header_names_the_option(bad):
    with pytest.raises(InputError, match="--header"):
        parse_headers([bad])


def test_extra_inputs_parse_json_values():
    assert parse_extra_inputs(["truncate:true", "raw_scores:false", "name:abc", '{"top": 3}']) == {
        "truncate": True, "raw_scores": False, "name": "abc", "top": 3}


def test_goodput():
    assert parse_goodput("request_latency:250") == {"request_latency": 250.0}
    with pytest.raises(InputError, match="--goodput"):
        parse_goodput("ttft:5")
    with pytest.raises(InputError, match="number"):
        parse_goodput("request_latency:fast")


def test_defaults_are_the_declared_ones():
    s = LoadSettings.from_values({})
    assert s.model == options.DEFAULT_MODEL
    assert s.timeout == options.BY_DEST["request_timeout_seconds"].default
    assert not s.open_loop and s.request_count == 0


def test_to_locust_argv_skips_defaults_and_secrets():
    argv = options.to_locust_argv({"request_count": 5, "api_key": "sk-secret", "header": ["A:b"],
                                   "insecure": True, "model": options.DEFAULT_MODEL})
    assert argv == ["--header=A:b", "--insecure", "--request-count=5"]
