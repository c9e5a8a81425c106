"""Small real tokenizers (BERT-style WordPiece, GPT-2-style byte-level BPE) trained on faker text.

For tests, benchmarks and demos where no hub tokenizer is at hand: they are real ``tokenizers``
models, so exact-count code runs against the same machinery as with a downloaded tokenizer.json.
"""

from __future__ import annotations

from pathlib import Path


def faker_corpus(sentences: int = 4000, seed: int = 7) -> list[str]:
    """English-like sentences from faker (seeded, so the trained tokenizers are reproducible)."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    lines = [fake.sentence(nb_words=14) for _ in range(sentences)]
    lines += [fake.text(max_nb_chars=300) for _ in range(sentences // 10)]
    return lines


def train_wordpiece(path: str | Path, vocab_size: int = 2000, corpus: list[str] | None = None) -> Path:
    """A BERT-like uncased WordPiece tokenizer (lowercase normaliser, BertPreTokenizer) saved as JSON."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        show_progress=False,
    )
    tok.train_from_iterator(corpus or faker_corpus(), trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    path = Path(path)
    tok.save(str(path))
    return path


def train_bpe(path: str | Path, vocab_size: int = 1000, corpus: list[str] | None = None) -> Path:
    """A GPT-2-like byte-level BPE tokenizer saved as JSON."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        show_progress=False,
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus or faker_corpus(), trainer=trainer)
    path = Path(path)
    tok.save(str(path))
    return path


def train_unigram(path: str | Path, vocab_size: int = 600, corpus: list[str] | None = None) -> Path:
    """A SentencePiece-like Unigram tokenizer with Metaspace (as XLM-R, e.g. bge-reranker-base) saved as JSON."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=["<s>", "</s>", "<unk>"], unk_token="<unk>", show_progress=False
    )
    tok.train_from_iterator(corpus or faker_corpus(), trainer=trainer)
    path = Path(path)
    tok.save(str(path))
    return path


def train_unsplit_bpe(path: str | Path, vocab_size: int = 800, corpus: list[str] | None = None) -> Path:
    """A BPE without a pre-tokenizer: merges cross spaces, so word counts do not simply add up.

    A deliberately awkward case for exact-count code (its fallback path must still be exact).
    """
    from tokenizers import Tokenizer, models, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer = trainers.BpeTrainer(show_progress=False, vocab_size=vocab_size, special_tokens=["<unk>"])
    tok.train_from_iterator(corpus or faker_corpus(), trainer=trainer)
    path = Path(path)
    tok.save(str(path))
    return path
