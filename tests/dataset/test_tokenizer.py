"""Finding a tokenizer: file, directory, local HF cache (never the network), or the word estimate."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.errors import InputError
from rankperf_data.dataset.source import build_dataset
from rankperf_data.dataset.tokenizer import HFCounter, WordCounter, find_in_hf_cache, resolve_counter


def _cache_model(cache: Path, name: str, tokenizer_json: Path, revision: str = "abc123") -> Path:
    repo = cache / ("models--" + name.replace("/", "--"))
    snap = repo / "snapshots" / revision
    snap.mkdir(parents=True)
    shutil.copy(tokenizer_json, snap / "tokenizer.json")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    return snap / "tokenizer.json"


def test_file_and_directory(wordpiece_json: Path, tmp_path: Path) -> None:
    assert isinstance(resolve_counter(str(wordpiece_json), "m"), HFCounter)
    d = tmp_path / "tok"
    d.mkdir()
    shutil.copy(wordpiece_json, d / "tokenizer.json")
    counter = resolve_counter(str(d), "m")
    assert isinstance(counter, HFCounter) and counter.description == str(d / "tokenizer.json")


def test_directory_without_tokenizer_json(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--tokenizer.*no tokenizer.json"):
        resolve_counter(str(tmp_path), "m")


def test_not_a_tokenizer_file(tmp_path: Path) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    with pytest.raises(InputError) as info:
        resolve_counter(str(bad), "m")
    assert info.value.path == str(bad) and "--tokenizer" in str(info.value)


def test_hub_name_from_cache(hermetic_hf_cache: Path, bpe_json: Path) -> None:
    path = _cache_model(hermetic_hf_cache, "org/reranker", bpe_json)
    assert find_in_hf_cache("org/reranker") == path
    counter = resolve_counter("org/reranker", "other")
    assert isinstance(counter, HFCounter) and counter.description == str(path)


def test_hub_name_missing_is_an_error(hermetic_hf_cache: Path) -> None:
    with pytest.raises(InputError) as info:
        resolve_counter("org/not-here", "m")
    msg = str(info.value)
    assert "--tokenizer" in msg and "org/not-here" in msg and "never downloads" in msg


def test_model_found_in_cache(hermetic_hf_cache: Path, unigram_json: Path, caplog: pytest.LogCaptureFixture) -> None:
    _cache_model(hermetic_hf_cache, "BAAI/bge-reranker-base", unigram_json)
    with caplog.at_level(logging.WARNING, logger="rankperf"):
        d = build_dataset(DatasetConfig.from_options({"random_seed": 1}))
    assert "models--BAAI--bge-reranker-base" in d.tokenizer_description
    assert not caplog.records


def test_snapshot_without_ref(hermetic_hf_cache: Path, bpe_json: Path) -> None:
    path = _cache_model(hermetic_hf_cache, "solo", bpe_json)
    (path.parents[2] / "refs" / "main").unlink()
    assert find_in_hf_cache("solo") == path


def test_local_model_directory(tmp_path: Path, bpe_json: Path) -> None:
    shutil.copy(bpe_json, tmp_path / "tokenizer.json")
    assert isinstance(resolve_counter("", str(tmp_path)), HFCounter)


def test_fallback_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rankperf"):
        a = build_dataset(DatasetConfig.from_options({"random_seed": 1, "model": "org/absent"}))
        b = build_dataset(DatasetConfig.from_options({"random_seed": 2, "model": "org/absent"}))
        c = resolve_counter("", "other/absent")
    warnings = [r for r in caplog.records if r.name == "rankperf"]
    assert len(warnings) == 1
    assert "org/absent" in warnings[0].getMessage() and "--tokenizer" in warnings[0].getMessage()
    assert a.tokenizer_description == b.tokenizer_description == "word-level estimate (no tokenizer found for org/absent)"
    assert isinstance(c, WordCounter)


def test_truncation_in_tokenizer_json_is_ignored(wordpiece_json: Path, tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(wordpiece_json))
    tok.enable_truncation(max_length=8)
    path = tmp_path / "truncating.json"
    tok.save(str(path))
    d = build_dataset(DatasetConfig.from_options({"random_seed": 1, "tokenizer": str(path)}))
    r = d.get(0)
    assert r.passage_tokens[0] == 128
    assert d.counter.count(r.passages[0]) == 128  # type: ignore[attr-defined]
