"""README's "What differs from AIPerf's files" lists exactly what differs from AIPerf 0.13.0's sample files."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
from report_factory import build_records, fail, make_result

from rankperf_data.report.console import TITLE, render_console
from rankperf_data.report.export import to_aiperf_json
from rankperf_data.report.metrics import summarize
from rankperf_data.results.outcomes import ErrorKind

TESTS = Path(__file__).resolve().parents[1]
README = TESTS.parent / "README.md"
SAMPLE_JSON = TESTS / "fixtures" / "aiperf_0.13.0_sample_export.json"
SAMPLE_CONSOLE = TESTS / "fixtures" / "aiperf_0.13.0_sample_console.txt"


def section() -> str:
    text = README.read_text()
    start = text.index("### What differs from AIPerf's files")
    return " ".join(text[start:text.index("```", start)].split()).replace(" - ", "\n- ")


def bullet(starts: str) -> str:
    items = re.split(r"\n- ", section())
    return next(item for item in items if item.startswith(starts))


def listed(starts: str) -> set[str]:
    after_title = bullet(starts).split("**", 2)[2]
    return set(re.findall(r"`([a-z_0-9]+)`", after_title))


def ours_like_the_sample() -> dict:
    """The AIPerf sample is a run with errors, no goodput, no warmup: the same kind of run here."""
    rec = build_records(range(1, 31))
    fail(rec, [2, 5, 8], ErrorKind.HTTP, 500, 0)
    summary = summarize(make_result(rec, ['{"error": "injected failure"}']))
    return orjson.loads(orjson.dumps(to_aiperf_json(summary, "0" * 12), option=orjson.OPT_SERIALIZE_NUMPY))


def test_omitted_aiperf_keys_are_listed_exactly():
    theirs, ours = orjson.loads(SAMPLE_JSON.read_bytes()), ours_like_the_sample()
    assert listed("**JSON, AIPerf keys rankperf does not write**") == set(theirs) - set(ours)
    assert (listed("**JSON, `input_config` sections rankperf does not write**")
            == set(theirs["input_config"]) - set(ours["input_config"]))


def test_added_keys_are_named():
    theirs, ours = orjson.loads(SAMPLE_JSON.read_bytes()), ours_like_the_sample()
    added = set(ours) - set(theirs)
    text = bullet("**JSON, keys added**")
    # each added key is named, or is one of rankperf's own metrics (an object with a "unit")
    unnamed = {k for k in added if f"`{k}`" not in text and not (isinstance(ours[k], dict) and "unit" in ours[k])}
    assert unnamed == set()
    assert f"`{ours['aiperf_version']}`" in bullet("**Same names, said where they differ**")


def test_console_title_and_rows_left_out():
    aiperf = SAMPLE_CONSOLE.read_text()
    text = bullet("**Console**")
    assert f"`{TITLE}`" in text and "`NVIDIA AIPerf | Ranking Metrics`" in text and "NVIDIA AIPerf | Ranking Metrics" in aiperf
    rec = build_records(range(1, 31))
    fail(rec, [2, 5, 8], ErrorKind.HTTP, 500, 0)
    ours = render_console(summarize(make_result(rec, ["x"])))
    assert "`Effective` and `Active` tables" in text
    for row in ("Effective Concurrency", "Effective Latency", "Output Sequence Length",
                "Request Latency (error-adjusted)", "Active Prefill Throughput", "Tokens In Flight"):
        assert row in aiperf and row not in ours, row
    for row in ("Effective Concurrency", "Effective Latency", "Output Sequence Length",
                "Request Latency (error-adjusted)"):
        assert row in text, row
