"""Exact token counts with real (trained) WordPiece, byte-level BPE and Unigram tokenizers."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from rankperf_data.dataset.compose import fit_text
from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.source import build_dataset
from rankperf_data.dataset.synthetic import SyntheticDataset
from rankperf_data.dataset.tokenizer import load_tokenizer_file
from rankperf_data.dataset.vocabulary import build_vocabulary

SHAPES = [
    {},  # 10 x 128, query 32
    {
        "rankings_passages_mean": 5,
        "rankings_passages_stddev": 2,
        "rankings_passages_prompt_token_mean": 60,
        "rankings_passages_prompt_token_stddev": 30,
        "rankings_query_prompt_token_mean": 10,
        "rankings_query_prompt_token_stddev": 6,
    },
    {  # tiny texts: the first word alone often overshoots
        "rankings_passages_mean": 4,
        "rankings_passages_prompt_token_mean": 2,
        "rankings_passages_prompt_token_stddev": 1.5,
        "rankings_query_prompt_token_mean": 1,
        "rankings_query_prompt_token_stddev": 1,
    },
]


def _dataset(path: Path, **values) -> SyntheticDataset:
    d = build_dataset(DatasetConfig.from_options({"random_seed": 11, "tokenizer": str(path), **values}))
    assert isinstance(d, SyntheticDataset)
    return d


def _assert_exact(d: SyntheticDataset, path: Path, indices) -> None:
    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    for i in indices:
        r = d.get(i)
        n, q, lens = d.sizes(d._order.entry(i) if d._order else i)
        assert (len(r.passages), r.query_tokens, list(r.passage_tokens)) == (n, q, lens)
        assert len(tok.encode(r.query, add_special_tokens=False).ids) == q, (i, r.query)
        for p, t in zip(r.passages, lens, strict=True):
            assert len(tok.encode(p, add_special_tokens=False).ids) == t, (i, p)


@pytest.mark.parametrize("kind", ["wordpiece_json", "wordpiece_big_json", "bpe_json", "unigram_json"])
def test_every_text_exact(kind: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(kind)
    for shape in SHAPES:
        d = _dataset(path, **shape)
        assert d.vocab.stable, "these tokenizers split on spaces: composition should be trusted"
        assert not d._verify_all
        _assert_exact(d, path, range(200) if shape else range(60))
        assert d.tokenizer_description == str(path)
        assert d.describe()["tokenizer"] == str(path)


def test_vocabulary_counts_vary(wordpiece_json: Path, bpe_json: Path) -> None:
    wp = build_vocabulary(load_tokenizer_file(wordpiece_json))
    assert len(set(wp.cont.tolist())) > 3 and not wp.uniform  # multi-token words: a real test
    bpe = build_vocabulary(load_tokenizer_file(bpe_json))
    assert (bpe.first_extra != 0).any()  # GPT-2 style: a word costs differently at the start


def test_deterministic_across_partitions(bpe_json: Path) -> None:
    shape = SHAPES[1]
    a = _dataset(bpe_json, **shape)
    expected = [a.get(i) for i in range(150)]
    b, c = _dataset(bpe_json, **shape), _dataset(bpe_json, **shape)
    got = {i: (b if i % 3 else c).get(i) for i in reversed(range(150))}
    assert [got[i] for i in range(150)] == expected


def test_unsplit_tokenizer_still_exact(unsplit_json: Path) -> None:
    d = _dataset(unsplit_json, **SHAPES[2])
    assert d._verify_all  # composition not trusted: every text re-encoded and fitted
    _assert_exact(d, unsplit_json, range(40))


def test_calibration_catches_wrong_counts(wordpiece_json: Path, caplog: pytest.LogCaptureFixture) -> None:
    counter = load_tokenizer_file(wordpiece_json)
    vocab = build_vocabulary(counter)
    wrong = dataclasses.replace(vocab, cont=vocab.cont + (np.arange(len(vocab.cont)) % 3 == 0))
    config = DatasetConfig.from_options({"random_seed": 5, **SHAPES[1]})
    with caplog.at_level(logging.WARNING, logger="rankperf"):
        d = SyntheticDataset(config, counter, wrong)
    assert d._verify_all
    assert "re-encoded" in caplog.text
    _assert_exact(d, wordpiece_json, range(30))


def test_sampled_check_switches_to_checking_everything(
    wordpiece_json: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = load_tokenizer_file(wordpiece_json)
    vocab = build_vocabulary(counter)
    wrong = dataclasses.replace(vocab, cont=vocab.cont + (np.arange(len(vocab.cont)) % 3 == 0))
    monkeypatch.setattr(SyntheticDataset, "_calibrate", lambda self: True)
    d = SyntheticDataset(DatasetConfig.from_options({"random_seed": 5, **SHAPES[1]}), counter, wrong)
    assert not d._verify_all
    with caplog.at_level(logging.WARNING, logger="rankperf"):
        d.get(0)  # entry 0 is always checked: it is wrong, gets fixed, and the dataset stops trusting
    assert d._verify_all
    assert "entry 0" in caplog.text
    _assert_exact(d, wordpiece_json, [0, *range(100, 120)])


@pytest.mark.parametrize("kind", ["wordpiece_json", "bpe_json", "unigram_json", "unsplit_json"])
def test_fit_text(kind: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(kind)
    counter = load_tokenizer_file(path)
    pads = build_vocabulary(counter).pad_words
    text = "the quick administration of every possible hospital environment throughout history " * 3
    for target in [1, 2, 3, 7, 20, 60, 150]:
        fitted, n = fit_text(counter, text, target, pads)
        assert n == target == counter.count(fitted), (target, fitted)


def test_pool_with_tokenizer(unigram_json: Path) -> None:
    d = _dataset(unigram_json, num_dataset_entries=3, **SHAPES[1])
    assert [d.get(i).query for i in range(6)] == [d.get(i % 3).query for i in range(6)]
    _assert_exact(d, unigram_json, range(9))


def test_word_stream_extension_is_positional(wordpiece_json: Path) -> None:
    from rankperf_data.dataset.compose import compose

    vocab = build_vocabulary(load_tokenizer_file(wordpiece_json))
    short = dataclasses.replace(vocab)
    short.mean_count = 1000.0  # under-estimate the words needed: the stream must be extended
    targets = [9, 120, 3, 77, 1, 64]
    assert compose(short, 12345, 678, targets) == compose(vocab, 12345, 678, targets)
