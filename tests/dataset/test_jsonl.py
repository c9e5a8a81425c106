"""JSONL input: both line formats, wrap-around and strategies, token counts, and every bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.errors import InputError
from rankperf_data.dataset.jsonl import read_jsonl
from rankperf_data.dataset.source import FileDataset, build_dataset

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "aiperf_samples" / "rankings.jsonl"


def _aiperf(query: str, passages: list[str], **more) -> dict:
    return {"texts": [{"name": "query", "contents": [query]}, {"name": "passages", "contents": passages}], **more}


def _write(tmp_path: Path, lines: list, name: str = "rankings.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def _file_dataset(path: Path, **values) -> FileDataset:
    d = build_dataset(DatasetConfig.from_options({"random_seed": 3, "input_file": str(path), **values}))
    assert isinstance(d, FileDataset)
    return d


def test_reference_sample() -> None:
    entries = read_jsonl(SAMPLE)
    assert [e.query for e in entries] == [f"What is AI topic {k}?" for k in range(5)]
    assert entries[2].passages == ("AI passage 2",)


def test_formats_extra_and_wrap_around(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            _aiperf("q one", ["a b", "c"]),
            "",
            "   ",
            {"query": "q two", "passages": ["d e f"], "extra": {"truncate": True}},
            {"texts": [
                {"name": "queries", "contents": ["q three", "ignored second query"]},
                {"name": "passages", "contents": ["p1"]},
                {"name": "passages", "contents": ["p2", "p3"]},
            ]},
        ],
    )
    d = _file_dataset(path)
    assert d.entries == 3
    rs = [d.get(i) for i in range(7)]
    assert [r.query for r in rs] == ["q one", "q two", "q three"] * 2 + ["q one"]
    assert [r.index for r in rs] == list(range(7))
    assert rs[2].passages == ("p1", "p2", "p3")
    assert rs[1].extra == {"truncate": True} and rs[0].extra is None
    rs[1].extra["truncate"] = False  # a consumer's change must not leak into the next request
    assert d.get(4).extra == {"truncate": True}
    assert rs[0].query_tokens == 2 and rs[0].passage_tokens == (2, 1)  # word estimate
    assert "word-level estimate" in d.tokenizer_description
    assert d.describe() == {
        "name": "main",
        "type": "file",
        "path": str(path),
        "format": "single_turn",
        "entries": 3,
        "random_seed": 3,
        "tokenizer": d.tokenizer_description,
        "sampling_strategy": "sequential",
        "labelled": False,
    }


def test_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "win.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"query": "q", "passages": ["p"]}\r\n{"query": "r", "passages": ["s"]}\r\n')
    assert [e.query for e in read_jsonl(path)] == ["q", "r"]


def test_unknown_text_names_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    line = _aiperf("q", ["p"])
    line["texts"].append({"name": "context", "contents": ["x"]})
    with caplog.at_level(logging.WARNING, logger="rankperf"):
        read_jsonl(_write(tmp_path, [line, line]))
    assert caplog.text.count("'context'") == 1


@pytest.mark.parametrize("strategy", ["random", "shuffle"])
def test_strategies(tmp_path: Path, strategy: str) -> None:
    path = _write(tmp_path, [{"query": f"q{k}", "passages": ["p"]} for k in range(6)])
    d = _file_dataset(path, dataset_sampling_strategy=strategy)
    seq = [int(d.get(i).query[1:]) for i in range(36)]
    assert seq == [int(_file_dataset(path, dataset_sampling_strategy=strategy).get(i).query[1:]) for i in range(36)]
    assert seq[:6] != list(range(6))
    if strategy == "shuffle":
        assert all(sorted(seq[p : p + 6]) == list(range(6)) for p in range(0, 36, 6))
    assert d.describe()["sampling_strategy"] == strategy


def test_exact_counts_with_tokenizer(tmp_path: Path, bpe_json: Path) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(bpe_json))
    path = _write(tmp_path, [_aiperf("what is the hospital policy", ["the administration of treatment", "x"])])
    d = _file_dataset(path, tokenizer=str(bpe_json))
    r = d.get(0)
    assert r.query_tokens == len(tok.encode(r.query, add_special_tokens=False).ids)
    assert r.passage_tokens == tuple(len(tok.encode(p, add_special_tokens=False).ids) for p in r.passages)
    assert d.tokenizer_description == str(bpe_json)


# -- bad input: (lines, line number, field, words in the problem)
BAD = [
    (["{not json"], 1, None, "invalid JSON"),
    ([{"query": "q", "passages": ["p"]}, "[1, 2]"], 2, None, "must be a JSON object"),
    (["\"just a string\""], 1, None, "must be a JSON object"),
    ([{"passages": ["p"]}], 1, "query", "missing"),
    ([{"query": 5, "passages": ["p"]}], 1, "query", "must be a string"),
    ([{"query": "  ", "passages": ["p"]}], 1, "query", "must not be empty"),
    ([{"query": "q"}], 1, "passages", "missing"),
    ([{"query": "q", "passages": []}], 1, "passages", "non-empty list of strings"),
    ([{"query": "q", "passages": "p"}], 1, "passages", "non-empty list of strings"),
    ([{"query": "q", "passages": ["p", 3]}], 1, "passages[1]", "must be a string"),
    ([{"query": "q", "passages": ["p", ""]}], 1, "passages[1]", "must not be empty"),
    ([{"query": "q", "passages": ["p"], "extra": [1]}], 1, "extra", "object"),
    ([{"texts": {"name": "query"}}], 1, "texts", "must be a list"),
    ([{"texts": ["query"]}], 1, "texts[0]", "must be an object"),
    ([{"texts": [{"contents": ["q"]}]}], 1, "texts[0].name", "missing"),
    ([{"texts": [{"name": 1, "contents": ["q"]}]}], 1, "texts[0].name", "must be a string"),
    ([{"texts": [{"name": "query"}]}], 1, "texts[0].contents", "missing"),
    ([{"texts": [{"name": "query", "contents": "q"}]}], 1, "texts[0].contents", "list of strings"),
    ([{"texts": [{"name": "query", "contents": ["q", 2]}]}], 1, "texts[0].contents[1]", "must be a string"),
    ([{"texts": [{"name": "query", "contents": []}]}], 1, "texts[0].contents", "empty list"),
    ([{"texts": [{"name": "passages", "contents": ["p"]}]}], 1, "query", "missing"),
    ([{"texts": [{"name": "query", "contents": ["q"]}]}], 1, "passages", "missing"),
    ([_aiperf("q", [])], 1, "passages", "non-empty list"),
    ([_aiperf("q", ["ok", " "])], 1, "texts[1].contents[1]", "must not be empty"),
    ([{"texts": [], "query": "q", "passages": ["p"]}], 1, "texts", "not both"),
    ([{"text": "q"}], 1, "text", "no query"),
    ([{"other": 1}], 1, "query", "missing"),
    (["", {"query": "q", "passages": ["p"]}, "", "{\"query\": \"q\", \"passages\": [1]}"], 4, "passages[0]", "string"),
]


@pytest.mark.parametrize(("lines", "line", "field", "words"), BAD)
def test_bad_input(tmp_path: Path, lines: list, line: int, field: str | None, words: str) -> None:
    path = _write(tmp_path, lines)
    with pytest.raises(InputError) as info:
        _file_dataset(path)
    e = info.value
    assert (e.path, e.line, e.field) == (str(path), line, field)
    assert words in e.problem
    msg = str(e)
    assert msg.startswith(f"{path}:{line}: ")
    if field:
        assert f"field '{field}'" in msg


def test_invalid_json_quotes_the_parser(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"query": "q", "passages": ["p"]}, '{"query": "q", "passages": ["p"'])
    with pytest.raises(InputError) as info:
        read_jsonl(path)
    assert info.value.line == 2 and "invalid JSON:" in str(info.value) and len(info.value.problem) > len("invalid JSON: ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(InputError) as info:
        _file_dataset(path)
    assert info.value.path == str(path) and info.value.line is None and "no such file" in str(info.value)


def test_directory_as_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory"):
        read_jsonl(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\r\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_jsonl(path)
    assert info.value.path == str(path) and "empty" in info.value.problem


def test_non_utf8_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"query": "q", "passages": ["p"]}\n{"query": "caf\xe9", "passages": ["p"]}\n')
    with pytest.raises(InputError) as info:
        read_jsonl(path)
    assert info.value.line == 2 and "UTF-8" in info.value.problem and "0xe9" in info.value.problem


# -- properties

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30).filter(
    lambda s: s.strip() != ""
)
_line = st.tuples(_text, st.lists(_text, min_size=1, max_size=5), st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_line, min_size=1, max_size=8))
def test_round_trip(tmp_path: Path, lines: list) -> None:
    path = tmp_path / "gen.jsonl"
    body = []
    for query, passages, plain in lines:
        obj = {"query": query, "passages": passages} if plain else _aiperf(query, passages)
        body.append(orjson.dumps(obj))
    path.write_bytes(b"\n".join(body) + b"\n")
    entries = read_jsonl(path)
    assert [(e.query, list(e.passages)) for e in entries] == [(q, p) for q, p, _ in lines]


_json_ish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["query", "queries", "passages", "texts", "name", "contents", "extra", "x"]), children, max_size=4
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.binary(max_size=60), _json_ish.map(lambda v: json.dumps(v).encode())), min_size=0, max_size=6))
def test_arbitrary_input_only_raises_input_error(tmp_path: Path, lines: list[bytes]) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines))
    try:
        entries = read_jsonl(path)
    except InputError as e:
        assert e.path == str(path)
        assert e.line is None or 1 <= e.line <= max(1, len(b"\n".join(lines).split(b"\n")))
    else:
        assert entries and all(isinstance(e.query, str) and e.passages for e in entries)


def test_each_build_reads_the_file_as_it_is_now(tmp_path):
    # no module cache: a changed file is never served stale (a run reads its input once because
    # the master starts with the dataset it validated, see load.hooks._start_coordinator)
    path = _write(tmp_path, [_aiperf("q one", ["a b", "c"]), _aiperf("q two", ["d e f"])])
    config = {"input_file": str(path), "custom_dataset_type": "single_turn"}
    first = build_dataset(DatasetConfig.from_options({**config, "random_seed": 1}))
    second = build_dataset(DatasetConfig.from_options({**config, "random_seed": 2}))  # same file, other order
    assert sorted(first.get(i).query for i in range(2)) == sorted(second.get(i).query for i in range(2))
    assert {second.get(i).query for i in range(2)} == {"q one", "q two"}
    path.write_text(json.dumps(_aiperf("q three", ["g"])) + "\n", encoding="utf-8")
    third = build_dataset(DatasetConfig.from_options({**config, "random_seed": 1}))
    assert third.get(0).query == "q three" and third.entries == 1
