"""The fast exposition parser gives prometheus_client's families, or hands the text over to it.

Checked on real pages (TEI scrapes kept in fixtures, the reference server's /metrics in every API
flavour, prometheus_client's own output with awkward label values) and on generated pages with
the odd spellings the text format allows (tabs, timestamps, escapes, quotes in braces, bad values).
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    generate_latest,
)

from rankperf_data.report.promtext import NotPrometheus, parse_exposition, reference_families
from rankperf_data.report.promtext_lines import parse_families
from rankperf_data.server.testing import serve_in_thread

FIXTURES = Path(__file__).parent / "fixtures"


def _same_value(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or float(a) == float(b)


def _assert_same_families(text: str) -> bool:
    """True when the fast path answered (and then equals prometheus_client), False when it handed over."""
    fast = parse_families(text)
    try:
        ref = reference_families(text)
    except Exception:  # noqa: BLE001 (the fast path must not accept what prometheus_client refuses)
        assert fast is None, f"accepted what prometheus_client refuses:\n{text!r}"
        return False
    if fast is None:
        return False
    assert [(f.name, f.type, f.documentation) for f in fast] == [(f.name, f.type, f.documentation) for f in ref]
    for mine, theirs in zip(fast, ref, strict=True):
        assert [(n, dict(lab)) for n, lab, _ in mine.samples] == [(n, dict(lab)) for n, lab, _ in theirs.samples]
        assert all(_same_value(a[2], b[2]) for a, b in zip(mine.samples, theirs.samples, strict=True))
    return True


@pytest.mark.parametrize("name", ["tei_scrape_0.txt", "tei_scrape_1.txt", "tei_scrape_2.txt"])
def test_kept_tei_pages_take_the_fast_path_and_match(name):
    assert _assert_same_families((FIXTURES / name).read_text())


@pytest.mark.parametrize("api", ["all", "tei", "infinity"])
def test_reference_server_pages_take_the_fast_path_and_match(api):
    import urllib.request

    with serve_in_thread(["--api", api]) as server:
        text = urllib.request.urlopen(server.url + "/metrics", timeout=10).read().decode()
    assert _assert_same_families(text)


def test_prometheus_client_output_with_awkward_labels_matches():
    reg = CollectorRegistry()
    c = Counter("jobs_total", "Jobs done.\nSecond line \\ backslash", ["path"], registry=reg)
    for value in ['a"b', "back\\slash", "new\nline", "brace}{", "comma,=", "uni \u2028 \x85 é", ""]:
        c.labels(value).inc(3)
    Gauge("temp", "t", registry=reg).set(float("nan"))
    Gauge("inf_gauge", "i", registry=reg).set(float("-inf"))
    h = Histogram("lat_seconds", "latency", ["model"], buckets=(0.005, 0.1, 1, 2.5), registry=reg)
    h.labels("m/1").observe(0.05)
    Summary("sizes", "s", registry=reg).observe(3)
    Info("build", "b", registry=reg).info({"version": "1.2"})
    Enum("state", "e", states=["up", "down"], registry=reg).state("up")
    text = generate_latest(reg).decode()
    assert _assert_same_families(text)
    parsed = parse_exposition(text)
    assert parsed["jobs"]["series"][0]["labels"] == {"path": 'a"b'} and parsed["jobs"]["series"][0]["value"] == 3.0
    assert set(parsed["lat_seconds"]["series"][0]["buckets"]) == {"0.005", "0.1", "1.0", "2.5", "+Inf"}
    assert "sizes" not in parsed and "jobs_created" not in parsed  # summaries and _created dropped


@pytest.mark.parametrize("text", [
    'm{__name__="x"} 1\n',  # the name in the braces
    'm{ a="1" } 1\n',  # spaces inside the braces
    'm{a="1"}1\n',  # no space before the value
    "m 1 1700000000000\n",  # a timestamp
    "m\t1\n" "#\tTYPE m gauge\n",  # tabs in a comment
    '# TYPE "quoted.name" gauge\n"quoted.name" 1\n',  # a UTF-8 name
    "#HELP m glued\nm 1\n",  # a comment that only looks like HELP
    "# HELP  m two spaces\nm 1\n",
])
def test_unusual_spellings_are_handed_to_prometheus_client_with_the_same_answer(text):
    assert parse_families(text) is None
    _assert_same_families(text)


@pytest.mark.parametrize("text", [
    'm{a="1",a="2"} 1\n',  # a duplicate label
    "m 1_000\n",  # prometheus_client refuses underscores in values
    "m one\n",
    "# TYPE m wibble\nm 1\n",  # an unknown type
    '# TYPE m\nm 1\n',  # a type missing
    'm{a="1"b="2"} 1\n',  # no comma between labels
])
def test_what_prometheus_client_refuses_is_not_prometheus(text):
    assert parse_families(text) is None
    with pytest.raises(NotPrometheus):
        parse_exposition(text)


_NAMES = ["m", "m_total", "h", "s", "te_x:y"]
_LABEL_VALUES = st.text(alphabet='ab\\"n}{,= \u2028é\t', max_size=6)
_HELP_TEXT = st.text(alphabet='ab \\n"', max_size=8)
_VALUES = st.sampled_from(["1", "0", "-2.5", "1e3", "+Inf", "-Inf", "NaN", "3_0", "x", "", "1 2", "17 1700000000"])


@st.composite
def _sample_lines(draw) -> str:
    base = draw(st.sampled_from(_NAMES))
    name = base + draw(st.sampled_from(["", "", "_bucket", "_sum", "_count", "_created", "_total"]))
    pairs = draw(st.lists(st.tuples(st.sampled_from(["a", "le", "b", "__x"]), _LABEL_VALUES), max_size=3))
    body = ",".join(f'{k}="{v}"' for k, v in pairs)
    labels = draw(st.sampled_from(["{" + body + "}", "{" + body + ",}", "", "{ " + body + " }"])) if pairs or draw(st.booleans()) else ""
    sep = draw(st.sampled_from([" ", " ", "\t", "  "]))
    return f"{name}{labels}{sep}{draw(_VALUES)}"


@st.composite
def _comment_lines(draw) -> str:
    kind = draw(st.sampled_from(["HELP", "TYPE", "other"]))
    name = draw(st.sampled_from(_NAMES))
    if kind == "TYPE":
        return f"# TYPE {name} {draw(st.sampled_from(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'info', 'bogus', '']))}"
    if kind == "HELP":
        sep = draw(st.sampled_from([" ", "  ", "\t"]))
        return f"# HELP {name}{sep}{draw(_HELP_TEXT)}"
    return "# " + draw(st.text(alphabet="ab HELPTYPE", max_size=10))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_sample_lines(), _comment_lines(), st.just("")), max_size=12))
def test_generated_pages_fast_path_equals_prometheus_client(lines):
    _assert_same_families("\n".join(lines) + "\n")


def test_generated_pages_exercise_both_paths():
    """The property above must see the fast path answer as well as hand over, else it proves little."""
    rng = random.Random(7)
    values = ["1", "-2.5", "+Inf", "NaN", "3_0", "1 2"]
    answered = handed = 0
    for _ in range(300):
        lines = []
        for _ in range(5):
            name = rng.choice(_NAMES) + rng.choice(["", "_bucket", "_sum", "_count"])
            labels = rng.choice(["", '{a="x"}', '{le="0.5",a="\\""}', '{ a="1" }', '{a="1",a="2"}'])
            lines.append(rng.choice([f"{name}{labels} {rng.choice(values)}",
                                     f"# TYPE {rng.choice(_NAMES)} {rng.choice(['counter', 'histogram', 'gauge'])}"]))
        if _assert_same_families("\n".join(lines) + "\n"):
            answered += 1
        else:
            handed += 1
    assert answered > 30 and handed > 30
