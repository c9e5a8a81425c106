"""InputError: its message shape and its attributes."""

from __future__ import annotations

import pickle

from rankperf_data.dataset.errors import InputError


def test_full_message() -> None:
    e = InputError("must be a non-empty list of strings", path="rankings.jsonl", line=3, field="passages")
    assert str(e) == "rankings.jsonl:3: field 'passages': must be a non-empty list of strings"
    assert (e.path, e.line, e.field, e.problem) == (
        "rankings.jsonl",
        3,
        "passages",
        "must be a non-empty list of strings",
    )
    assert isinstance(e, ValueError)


def test_parts_left_out_when_none() -> None:
    assert str(InputError("empty", path="a.jsonl")) == "a.jsonl: empty"
    assert str(InputError("bad", line=4)) == "line 4: bad"
    assert str(InputError("bad", field="query")) == "field 'query': bad"
    assert str(InputError("options conflict")) == "options conflict"


def test_pickles() -> None:
    e = pickle.loads(pickle.dumps(InputError("x", path="p", line=1, field="f")))
    assert (e.path, e.line, e.field, e.problem, str(e)) == ("p", 1, "f", "x", "p:1: field 'f': x")
