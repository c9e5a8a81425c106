"""Labelled JSONL lines: 'relevance' on plain and AIPerf lines, and every bad label named file:line:field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.errors import InputError
from rankperf_data.dataset.jsonl import read_jsonl
from rankperf_data.dataset.source import build_dataset


def _write(tmp_path: Path, lines: list) -> Path:
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def _aiperf(query: str, passages: list[str], **more) -> dict:
    return {"texts": [{"name": "query", "contents": [query]}, {"name": "passages", "contents": passages}], **more}


def test_labels_on_both_line_formats_reach_the_request(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"query": "q", "passages": ["a", "b", "c"], "relevance": [2, 0, 1.5]},
                             _aiperf("r", ["x", "y"], relevance=[0, 3], relevance_unlisted=[2])])
    entries = read_jsonl(path)
    assert [e.relevance for e in entries] == [(2.0, 0.0, 1.5), (0.0, 3.0)]
    dataset = build_dataset(DatasetConfig.from_options({"random_seed": 1, "input_file": str(path)}))
    assert dataset.get(3).relevance == (0.0, 3.0) and dataset.get(3).relevance_unlisted == (2.0,)
    assert dataset.get(2).relevance_unlisted == ()
    assert dataset.entry_request(1).relevance == (0.0, 3.0)
    assert dataset.describe()["labelled"] is True


def test_unlabelled_file_has_no_labels(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"query": "q", "passages": ["a"]}])
    dataset = build_dataset(DatasetConfig.from_options({"random_seed": 1, "input_file": str(path)}))
    assert dataset.get(0).relevance is None and dataset.describe()["labelled"] is False


@pytest.mark.parametrize(
    ("lines", "line", "field", "words"),
    [
        ([{"query": "q", "passages": ["a", "b"], "relevance": [1]}], 1, "relevance", "1 labels for 2 passages"),
        ([{"query": "q", "passages": ["a"], "relevance": 1}], 1, "relevance", "must be a list of numbers"),
        ([{"query": "q", "passages": ["a", "b"], "relevance": [1, "2"]}], 1, "relevance[1]", "finite number"),
        ([{"query": "q", "passages": ["a"], "relevance": [True]}], 1, "relevance[0]", "finite number"),
        ([{"query": "q", "passages": ["a"], "relevance": [None]}], 1, "relevance[0]", "finite number"),
        ([_aiperf("q", ["a", "b"], relevance=[0, 1, 2])], 1, "relevance", "3 labels for 2 passages"),
        ([{"query": "q", "passages": ["a"], "relevance_unlisted": [1]}], 1, "relevance_unlisted", "needs 'relevance'"),
        ([{"query": "q", "passages": ["a"], "relevance": [0], "relevance_unlisted": ["x"]}], 1,
         "relevance_unlisted[0]", "finite number"),
        ([{"query": "q", "passages": ["a"], "relevance": [1]}, {"query": "q", "passages": ["a"]}],
         2, "relevance", "line 1 has labels"),
        ([{"query": "q", "passages": ["a"]}, {"query": "q", "passages": ["a"]},
          {"query": "q", "passages": ["a"], "relevance": [0]}], 1, "relevance", "line 3 has labels"),
    ],
)
def test_bad_labels(tmp_path: Path, lines: list, line: int, field: str, words: str) -> None:
    path = _write(tmp_path, lines)
    with pytest.raises(InputError) as caught:
        read_jsonl(path)
    err = caught.value
    assert (err.path, err.line, err.field) == (str(path), line, field)
    assert words in err.problem
    assert str(err).startswith(f"{path}:{line}: field '{field}'")
