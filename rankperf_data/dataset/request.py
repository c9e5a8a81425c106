"""One ranking request: a query and the passages to rank, with known token counts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RankingRequest:
    """What every API module encodes into a body.

    ``query_tokens`` / ``passage_tokens`` are -1 when unknown (custom input without a tokenizer).
    ``extra`` holds per-line body fields from a JSONL input (merged into the body top-level).
    ``relevance`` holds a labelled input's judgements (None: unlabelled); never sent.
    """

    index: int
    query: str
    passages: tuple[str, ...]
    query_tokens: int = -1
    passage_tokens: tuple[int, ...] = ()
    extra: dict | None = field(default=None, compare=False)
    relevance: tuple[float, ...] | None = field(default=None, compare=False)  # graded labels, one per passage
    relevance_unlisted: tuple[float, ...] = field(default=(), compare=False)  # judged passages not sent

    @property
    def total_passage_tokens(self) -> int:
        """Sum of passage tokens, or -1 when any count is unknown."""
        if len(self.passage_tokens) != len(self.passages) or any(t < 0 for t in self.passage_tokens):
            return -1
        return sum(self.passage_tokens)
