"""The word vocabulary synthetic texts are built from, with each word's token count, measured once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from rankperf_data.dataset.tokenizer import HFCounter, TokenCounter

log = logging.getLogger("rankperf")

_ANCHOR = "the"  # continuation counts are measured after this word: "the word" - "the"
_CHECK_SEQUENCES = 48
_CHECK_WORDS = 40


def english_words() -> list[str]:
    """Lower-case alphabetic English words (faker's en_US list), in a fixed order."""
    from faker.providers.lorem.en_US import Provider  # the list only: calling faker per word is slow

    seen: set[str] = set()
    words: list[str] = []
    for w in Provider.word_list:
        if w.isascii() and w.isalpha() and w.islower() and w not in seen:
            seen.add(w)
            words.append(w)
    return words


@dataclass
class Vocabulary:
    """Words and their token counts, arranged for fast composition.

    ``cont[k]`` = tokens word k adds after a space; ``first_extra[k]`` = what it costs more (or less)
    at the start of a text. ``by_count[n]`` = indices of words with ``cont == n`` (for exact fills).
    ``stable`` is False when composed counts cannot be trusted without re-encoding every text.
    """

    words: list[str]
    cont: np.ndarray
    first_extra: np.ndarray
    by_count: dict[int, np.ndarray]
    one_token_first: np.ndarray
    stable: bool
    uniform: bool  # every word is one token wherever it stands: plain slicing suffices
    words_array: np.ndarray = field(init=False, repr=False)
    mean_count: float = field(init=False)

    def __post_init__(self) -> None:
        self.words_array = np.array(self.words, dtype=object)
        self.mean_count = float(self.cont.mean()) if len(self.cont) else 1.0

    @property
    def pad_words(self) -> list[str]:
        """Words of one token after a space (what the exact-fit fallback pads with)."""
        ones = self.by_count.get(1)
        if ones is not None and len(ones):
            return [self.words[k] for k in ones[:64]]
        order = np.argsort(self.cont, kind="stable")[:64]
        return [self.words[k] for k in order]


def _arrange(words: list[str], cont: list[int], first: list[int], stable: bool) -> Vocabulary:
    cont_a = np.array(cont, dtype=np.int64)
    first_a = np.array(first, dtype=np.int64)
    by_count = {int(n): np.flatnonzero(cont_a == n) for n in np.unique(cont_a)}
    one_first = np.flatnonzero(first_a == 1)
    # A composition needs 1-token words to fill any remainder exactly.
    stable = stable and 1 in by_count and len(one_first) > 0
    uniform = bool((cont_a == 1).all() and (first_a == 1).all())
    return Vocabulary(words, cont_a, first_a - cont_a, by_count, one_first, stable, uniform)


def build_vocabulary(counter: TokenCounter, words: list[str] | None = None) -> Vocabulary:
    """Measure each word once; keep only words whose counts add up when joined with spaces."""
    words = list(words if words is not None else english_words())
    if not isinstance(counter, HFCounter):
        ones = [1] * len(words)
        return _arrange(words, ones, ones, stable=True)

    count = counter.count
    base = count(_ANCHOR)
    first = [count(w) for w in words]
    cont = [count(f"{_ANCHOR} {w}") - base for w in words]
    keep = [k for k in range(len(words)) if first[k] >= 1 and cont[k] >= 1]
    words = [words[k] for k in keep]
    first = [first[k] for k in keep]
    cont = [cont[k] for k in keep]
    n = len(words)
    if n < 2:
        log.warning("Tokenizer %s: too few usable words; every text will be re-encoded", counter.description)
        return _arrange(words or ["a"], cont or [1], first or [1], stable=False)

    # Each word between two others, and at the start of a text: counts must simply add up.
    bad: set[int] = set()
    for k in range(n):
        x, y = (k * 7 + 3) % n, (k * 13 + 5) % n
        between = count(f"{words[x]} {words[k]} {words[y]}") == first[x] + cont[k] + cont[y]
        if not between or count(f"{words[k]} {words[y]}") != first[k] + cont[y]:
            bad.add(k)
    stable = True
    # Longer runs: a pair that misbehaves loses both words; a run that fails with no bad pair
    # (an interaction across more than two words) makes every text be re-encoded.
    rng = np.random.default_rng(20240601)  # fixed: the vocabulary must be the same in every process
    good = [k for k in range(n) if k not in bad]
    for _ in range(_CHECK_SEQUENCES):
        if len(good) < 2:
            break
        seq = [good[j] for j in rng.integers(0, len(good), size=_CHECK_WORDS)]
        text = " ".join(words[k] for k in seq)
        if count(text) == first[seq[0]] + sum(cont[k] for k in seq[1:]):
            continue
        pair_bad = False
        for a, b in zip(seq, seq[1:], strict=False):
            if count(f"{words[a]} {words[b]}") != first[a] + cont[b]:
                bad.update((a, b))
                pair_bad = True
        if not pair_bad:
            stable = False
        good = [k for k in good if k not in bad]
    if bad:
        log.debug("Tokenizer %s: dropped %d words whose counts depend on neighbours", counter.description, len(bad))
    keep = [k for k in range(n) if k not in bad] or list(range(n))
    if len(keep) < n // 4:
        stable = False  # most words misbehave: do not trust composition at all
        keep = list(range(n))
    return _arrange([words[k] for k in keep], [cont[k] for k in keep], [first[k] for k in keep], stable)
