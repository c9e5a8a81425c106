"""Texts of exact token counts, cut from a random word stream, and the re-encoding fix when needed."""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

from rankperf_data.dataset.sampling import below, draw, word_indices
from rankperf_data.dataset.tokenizer import HFCounter
from rankperf_data.dataset.vocabulary import Vocabulary


def compose(vocab: Vocabulary, word_state: int, fill_state: int, targets: list[int]) -> list[str]:
    """One text per target token count, consecutive segments of the word stream at ``word_state``.

    A text takes stream words while its count stays within the target; the word that would overshoot
    starts the next text, and the remainder is filled from the fill stream (a word of exactly the
    missing count if there is one, else one-token words).
    """
    total = sum(targets)
    if vocab.uniform:
        idx = word_indices(word_state, 0, total + (total & 1), len(vocab.words))
        words = vocab.words_array[idx].tolist()
        texts = []
        s = 0
        for t in targets:
            texts.append(" ".join(words[s : s + t]))
            s += t
        return texts

    n_words = len(vocab.words)
    cont, first_extra = vocab.cont, vocab.first_extra
    size = (int(total / vocab.mean_count * 1.1) + 16 + 4 * len(targets)) & ~1
    idx = word_indices(word_state, 0, size, n_words)
    prefix = [0, *np.cumsum(cont[idx]).tolist()]
    words = vocab.words_array[idx].tolist()
    extra = first_extra[idx].tolist()
    fill = _Filler(vocab, fill_state)
    texts = []
    s = 0
    for t in targets:
        while True:
            budget = prefix[s] + t - extra[s] if s < size else -1
            e = bisect_right(prefix, budget) - 1 if s < size else size
            if e < size:
                break
            # Stream ran out (rare: the size estimate is generous): draw the next stretch of it.
            more = word_indices(word_state, size, size, n_words)
            prefix.extend((prefix[-1] + np.cumsum(cont[more])).tolist())
            words.extend(vocab.words_array[more].tolist())
            extra.extend(first_extra[more].tolist())
            size *= 2
        if e <= s:  # the first word alone is too long: start with a one-token word instead
            text = fill.first_word()
            if t > 1:
                text += " " + fill.words(t - 1)
            texts.append(text)
            continue
        text = " ".join(words[s:e])
        rest = budget - prefix[e]
        if rest:
            text += " " + fill.words(rest)
        texts.append(text)
        s = e
    return texts


class _Filler:
    """Fill words drawn from their own stream (slot by slot, so each request's fills are fixed)."""

    def __init__(self, vocab: Vocabulary, state: int) -> None:
        self.vocab = vocab
        self.state = state
        self.slot = 0

    def _pick(self, pool: np.ndarray) -> str:
        k = int(pool[below(draw(self.state, self.slot), len(pool))])
        self.slot += 1
        return self.vocab.words[k]

    def words(self, n: int) -> str:
        exact = self.vocab.by_count.get(n)
        if exact is not None and len(exact):
            return self._pick(exact)
        ones = self.vocab.by_count.get(1)
        if ones is None or not len(ones):  # unstable vocabulary: the fix path will make it exact
            return " ".join(self._pick(np.arange(len(self.vocab.words))) for _ in range(n))
        return " ".join(self._pick(ones) for _ in range(n))

    def first_word(self) -> str:
        pool = self.vocab.one_token_first
        return self._pick(pool if len(pool) else np.arange(len(self.vocab.words)))


def fit_text(counter: HFCounter, text: str, target: int, pad_words: list[str], attempts: int = 16) -> tuple[str, int]:
    """Make ``text`` encode to exactly ``target`` tokens: pad with words, cut at a word or character.

    Returns the text and its real count: ``target`` whenever some prefix of some padded text has
    that many tokens (any tokenizer seen so far); otherwise the closest found, so the recorded
    count stays honest either way.
    """
    if target < 1:
        return "", counter.count("")
    best = (text, counter.count(text))
    # The text itself first; then texts of padding words alone (some tokenizers merge across
    # spaces, so no prefix of a given text may have the right count).
    bases = [text] + [" ".join(pad_words[(k + j) % len(pad_words)] for j in range(target)) for k in range(4)]
    for base in bases:
        found = _fit_from(counter, base, target, pad_words, attempts)
        if found[1] == target:
            return found
        if abs(found[1] - target) < abs(best[1] - target):
            best = found
    return best


def _fit_from(counter: HFCounter, text: str, target: int, pad_words: list[str], attempts: int) -> tuple[str, int]:
    count = counter.count
    best = (text, count(text))
    for attempt in range(attempts):
        enc = counter.encode(text)
        n = len(enc.ids)
        if abs(n - target) < abs(best[1] - target):
            best = (text, n)
        if n == target:
            return text, n
        if n < target:
            # Pad past the target (a word may merge with its neighbour), then cut back.
            need = target - n + 1 + attempt
            pads = [pad_words[(attempt + j) % len(pad_words)] for j in range(need)]
            text = f"{text} {' '.join(pads)}" if text else " ".join(pads)
            continue
        end = enc.offsets[target - 1][1]  # where the target-th token ends
        shorter = ""
        for cut in _cuts(text, end):
            prefix = text[:cut].rstrip()
            c = count(prefix)
            if c == target:
                return prefix, c
            if c < target and len(prefix) > len(shorter):
                shorter = prefix
        text = shorter  # the longest prefix still short of the target: pad it next round
    return best


def _cuts(text: str, end: int) -> list[int]:
    """Cut positions to try around ``end``: word boundaries first (whole words read better), then characters."""
    cuts = [end]
    space = end
    for _ in range(3):
        space = text.rfind(" ", 0, space)
        if space <= 0:
            break
        cuts.append(space)
    nxt = text.find(" ", end)
    if nxt > 0:
        cuts.append(nxt)
    cuts += [k for d in range(1, 9) for k in (end - d, end + d) if 0 < k <= len(text)]
    return cuts
