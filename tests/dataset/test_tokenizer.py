"""Finding a tokenizer: file, directory, hub repo through huggingface_hub (offline here: a fake
cache), or the word estimate."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from rankperf_data.dataset import notices
from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.errors import InputError
from rankperf_data.dataset.source import build_dataset
from rankperf_data.dataset.tokenizer import HFCounter, WordCounter, fetch_from_hub, resolve_counter


def _cache_model(cache: Path, name: str, tokenizer_json: Path, revision: str = "abc123", main: bool = True) -> Path:
    """The hub cache layout huggingface_hub reads: models--org--name/snapshots/<rev>/, refs/main."""
    repo = cache / ("models--" + name.replace("/", "--"))
    snap = repo / "snapshots" / revision
    snap.mkdir(parents=True)
    shutil.copy(tokenizer_json, snap / "tokenizer.json")
    if main:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(revision)
    return (snap / "tokenizer.json").resolve()


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
    assert fetch_from_hub("org/reranker") == (path, "")
    counter = resolve_counter("org/reranker", "other")
    assert isinstance(counter, HFCounter) and counter.description == str(path)


def test_hub_name_missing_is_an_error(hermetic_hf_cache: Path) -> None:
    with pytest.raises(InputError) as info:
        resolve_counter("org/not-here", "m")
    msg = str(info.value)
    assert "--tokenizer" in msg and "org/not-here" in msg
    assert str(hermetic_hf_cache) in msg and "HF_HUB_OFFLINE is set" in msg


def test_model_found_in_cache(hermetic_hf_cache: Path, unigram_json: Path, caplog: pytest.LogCaptureFixture) -> None:
    _cache_model(hermetic_hf_cache, "BAAI/bge-reranker-base", unigram_json)
    with caplog.at_level(logging.WARNING, logger="rankperf"):
        d = build_dataset(DatasetConfig.from_options({"random_seed": 1}))
    assert "models--BAAI--bge-reranker-base" in d.tokenizer_description
    assert not caplog.records


def test_cached_revision_is_the_one_refs_main_names(hermetic_hf_cache: Path, bpe_json: Path, wordpiece_json: Path) -> None:
    _cache_model(hermetic_hf_cache, "org/two", bpe_json, revision="old", main=False)
    current = _cache_model(hermetic_hf_cache, "org/two", wordpiece_json, revision="new")
    old = hermetic_hf_cache / "models--org--two" / "snapshots" / "old" / "tokenizer.json"
    old.touch()  # the newest file on disk is not what main points to
    assert fetch_from_hub("org/two") == (current, "")


def test_snapshot_without_ref_is_not_main(hermetic_hf_cache: Path, bpe_json: Path) -> None:
    _cache_model(hermetic_hf_cache, "solo", bpe_json, main=False)
    found, why = fetch_from_hub("solo")
    assert found is None and "HF_HUB_OFFLINE" in why


def test_cache_from_hf_home(tmp_path: Path, bpe_json: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    path = _cache_model(tmp_path / "home" / "hub", "org/homed", bpe_json)
    assert resolve_counter("", "org/homed").description == str(path)


def test_not_a_repo_name_never_asks_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")  # the name alone is enough to skip the hub
    found, why = fetch_from_hub("my served model:latest")
    assert found is None and "not a Hugging Face hub repo name" in why


def test_local_model_directory(tmp_path: Path, bpe_json: Path) -> None:
    shutil.copy(bpe_json, tmp_path / "tokenizer.json")
    assert isinstance(resolve_counter("", str(tmp_path)), HFCounter)


def test_fallback_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rankperf"):
        a = build_dataset(DatasetConfig.from_options({"random_seed": 1, "model": "org/absent"}))
        b = build_dataset(DatasetConfig.from_options({"random_seed": 2, "model": "org/absent"}))
        c = resolve_counter("", "other/absent")
    warnings = [r for r in caplog.records if r.name == "rankperf"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    message = warnings[0].getMessage()
    assert "org/absent" in message and "--tokenizer" in message and "word-level estimate" in message
    assert "HF_HUB_OFFLINE is set" in message  # and why
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


def _as_locust_process(monkeypatch: pytest.MonkeyPatch, worker: bool) -> None:
    """Look, to the dataset code, like a Locust process of this role, as rankperf's hooks tell it."""
    monkeypatch.setattr(notices, "_in_worker", False)  # restored after the test
    notices.set_worker_process(worker)


def test_worker_process_logs_the_fallback_at_debug(caplog: pytest.LogCaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A Locust worker's master has said it already: the worker keeps it for --loglevel DEBUG."""
    _as_locust_process(monkeypatch, worker=True)
    assert notices.in_worker_process()
    with caplog.at_level(logging.DEBUG, logger="rankperf"):
        resolve_counter("", "org/absent")
    records = [r for r in caplog.records if r.name == "rankperf"]
    assert [r.levelno for r in records] == [logging.DEBUG] and "word-level estimate" in records[0].getMessage()


def test_master_and_local_processes_warn(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    _as_locust_process(monkeypatch, worker=False)  # MasterRunner, LocalRunner: not workers
    assert not notices.in_worker_process()
    with caplog.at_level(logging.DEBUG, logger="rankperf"):
        resolve_counter("", "org/absent")
    assert [r.levelno for r in caplog.records if r.name == "rankperf"] == [logging.WARNING]
