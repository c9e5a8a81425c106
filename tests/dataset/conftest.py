"""Dataset test fixtures: small real tokenizers trained on faker text, and a hermetic HF cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from rankperf_data.dataset import notices
from rankperf_data.dataset import tokenizer as tokenizer_mod
from rankperf_data.dataset.demo_tokenizers import (
    faker_corpus,
    train_bpe,
    train_unigram,
    train_unsplit_bpe,
    train_wordpiece,
)


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return faker_corpus(sentences=2000)


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tokenizers")


@pytest.fixture(scope="session")
def wordpiece_json(tokenizer_dir: Path, corpus: list[str]) -> Path:
    """BERT-style WordPiece with a small vocabulary: most words are 2-5 tokens."""
    return train_wordpiece(tokenizer_dir / "wordpiece.json", 400, corpus)


@pytest.fixture(scope="session")
def wordpiece_big_json(tokenizer_dir: Path, corpus: list[str]) -> Path:
    """BERT-style WordPiece with a large vocabulary: nearly every word is one token (like real BERT)."""
    return train_wordpiece(tokenizer_dir / "wordpiece_big.json", 30522, corpus)


@pytest.fixture(scope="session")
def bpe_json(tokenizer_dir: Path, corpus: list[str]) -> Path:
    """GPT-2-style byte-level BPE: a word costs differently at the start of a text."""
    return train_bpe(tokenizer_dir / "bpe.json", 600, corpus)


@pytest.fixture(scope="session")
def unigram_json(tokenizer_dir: Path, corpus: list[str]) -> Path:
    """XLM-R-style Unigram with Metaspace (the family of bge-reranker-base)."""
    return train_unigram(tokenizer_dir / "unigram.json", 500, corpus)


@pytest.fixture(scope="session")
def unsplit_json(tokenizer_dir: Path, corpus: list[str]) -> Path:
    """BPE whose merges cross spaces: counts do not add up, the exact-fit fallback must do the work."""
    return train_unsplit_bpe(tokenizer_dir / "unsplit.json", 800, corpus)


@pytest.fixture(autouse=True)
def hermetic_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the Hugging Face cache at an empty directory and keep the hub offline (no traffic ever
    leaves loopback: tokenizers come from this cache through huggingface_hub's own code), resolve
    tokenizers afresh and re-arm the once-per-run warnings."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(tokenizer_mod, "_counters", {})  # tokenizers resolved once per process
    monkeypatch.setattr(notices, "_said", set())  # notices said once per process
    return cache
