"""A tokenizer.json that pads to a fixed length and truncates (as many model repos ship) still counts
every text exactly: checked against an independent counter, the text's whitespace-separated words
(the fixture is word-level with a whitespace pre-tokenizer: one token per word, unknown words too)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.source import FileDataset, build_dataset
from rankperf_data.dataset.synthetic import SyntheticDataset
from rankperf_data.dataset.tokenizer import load_tokenizer_file

PADDED = Path(__file__).resolve().parents[1] / "fixtures" / "tokenizers" / "padded" / "tokenizer.json"
PAD_TO = 512


def words(text: str) -> int:
    return len(text.split())


def test_fixture_pads_and_truncates() -> None:
    """The trap is armed: loaded as it ships, the fixture turns every text into 512 tokens."""
    tok = Tokenizer.from_file(str(PADDED))
    assert tok.padding["length"] == PAD_TO and tok.truncation["max_length"] == PAD_TO
    assert len(tok.encode("alone", add_special_tokens=False).ids) == PAD_TO
    assert len(tok.encode(" ".join(["word"] * 700), add_special_tokens=False).ids) == PAD_TO


@pytest.mark.parametrize("n", [1, 3, 40, 511, 513, 700])
def test_counter_counts_words_not_padding(n: int) -> None:
    counter = load_tokenizer_file(PADDED)
    text = " ".join((["time", "People", "zzunknownzz"] * n)[:n])
    assert counter.count(text) == words(text) == n


@pytest.mark.parametrize("shape", [
    {},  # AIPerf's defaults: 10 passages x 128 tokens, query 32
    {"rankings_passages_mean": 3, "rankings_passages_prompt_token_mean": 600,  # beyond truncation
     "rankings_passages_prompt_token_stddev": 50, "rankings_query_prompt_token_mean": 5,
     "rankings_query_prompt_token_stddev": 2},
], ids=["defaults", "long-passages"])
def test_synthetic_sizes_are_words(shape: dict) -> None:
    d = build_dataset(DatasetConfig.from_options({"random_seed": 5, "tokenizer": str(PADDED), **shape}))
    assert isinstance(d, SyntheticDataset)
    query_mean = shape.get("rankings_query_prompt_token_mean", 32)
    queries = []
    for i in range(20):
        r = d.get(i)
        assert r.query_tokens == words(r.query), (i, r.query_tokens)
        assert list(r.passage_tokens) == [words(p) for p in r.passages], i
        queries.append(r.query_tokens)
    if not shape:  # stddev 0: every size is the one asked for
        assert set(queries) == {32}
        assert {t for i in range(20) for t in d.get(i).passage_tokens} == {128}
    else:
        assert abs(sum(queries) / len(queries) - query_mean) < 2


def test_input_file_counts_are_words(tmp_path: Path) -> None:
    lines = [{"query": "what is the time", "passages": ["people", "a " * 600 + "end", "Zzunknown? word."]},
             {"query": "x", "passages": ["one two three"]}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    d = build_dataset(DatasetConfig.from_options({"random_seed": 1, "tokenizer": str(PADDED), "input_file": str(path)}))
    assert isinstance(d, FileDataset)
    for i, line in enumerate(lines):
        r = d.get(i)
        assert r.query_tokens == words(line["query"])
        assert list(r.passage_tokens) == [words(p) for p in line["passages"]]
