"""Token counting: a Hugging Face tokenizer.json found locally (never downloaded), or a word estimate."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from rankperf_data.dataset.errors import InputError

log = logging.getLogger("rankperf")

_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
_fallback_warned = False  # the word-estimate warning is said once per process


class WordCounter:
    """One token per whitespace-separated word: the estimate used when no tokenizer is at hand."""

    exact = False

    def __init__(self, description: str) -> None:
        self.description = description

    def count(self, text: str) -> int:
        return len(text.split())


class HFCounter:
    """Exact counts from a ``tokenizers.Tokenizer`` (no special tokens, no truncation, no padding)."""

    exact = True

    def __init__(self, tokenizer, description: str) -> None:
        tokenizer.no_truncation()  # a tokenizer.json may carry max_length 512: counts must not be cut
        tokenizer.no_padding()
        self.tokenizer = tokenizer
        self.description = description

    def count(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def encode(self, text: str):
        """The full encoding (ids and character offsets)."""
        return self.tokenizer.encode(text, add_special_tokens=False)


TokenCounter = WordCounter | HFCounter


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, resolved the way huggingface_hub does (env vars first)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def find_in_hf_cache(name: str) -> Path | None:
    """``tokenizer.json`` of hub repo ``name`` if it is in the local cache; never touches the network."""
    if not _HUB_NAME.match(name):
        return None
    repo = hf_cache_dir() / ("models--" + name.replace("/", "--"))
    ref = repo / "refs" / "main"
    if ref.is_file():
        candidate = repo / "snapshots" / ref.read_text().strip() / "tokenizer.json"
        if candidate.is_file():
            return candidate
    snapshots = sorted(repo.glob("snapshots/*/tokenizer.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    return snapshots[0] if snapshots else None


def load_tokenizer_file(path: Path) -> HFCounter:
    """Load a tokenizer.json; InputError naming --tokenizer if it is not one."""
    from tokenizers import Tokenizer  # imported here: only runs that use a tokenizer pay for it

    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exception subclasses for bad files
        raise InputError(f"--tokenizer: not a valid Hugging Face tokenizer.json ({exc})", path=str(path)) from exc
    return HFCounter(tok, str(path))


def resolve_counter(tokenizer: str, model: str) -> TokenCounter:
    """The counter for ``--tokenizer`` (path, directory or cached hub name), else ``--model``'s, else words.

    An explicit ``--tokenizer`` that cannot be found is an InputError; a model without a cached
    tokenizer falls back to the word estimate with one warning per process.
    """
    if tokenizer:
        path = Path(tokenizer).expanduser()
        if path.is_file():
            return load_tokenizer_file(path)
        if path.is_dir():
            if (path / "tokenizer.json").is_file():
                return load_tokenizer_file(path / "tokenizer.json")
            raise InputError(f"--tokenizer {tokenizer!r}: directory has no tokenizer.json")
        cached = find_in_hf_cache(tokenizer)
        if cached is not None:
            return load_tokenizer_file(cached)
        raise InputError(
            f"--tokenizer {tokenizer!r}: not a tokenizer.json file, a directory holding one, or a hub name "
            f"in the local Hugging Face cache ({hf_cache_dir()}); rankperf never downloads tokenizers"
        )
    if model:
        local = Path(model).expanduser()
        if local.is_dir() and (local / "tokenizer.json").is_file():
            return load_tokenizer_file(local / "tokenizer.json")
        cached = find_in_hf_cache(model)
        if cached is not None:
            return load_tokenizer_file(cached)
    return word_fallback(model)


def word_fallback(model: str) -> WordCounter:
    """The word estimate, with its warning (once per process)."""
    global _fallback_warned
    description = f"word-level estimate (no tokenizer found for {model or 'the model'})"
    if not _fallback_warned:
        _fallback_warned = True
        log.warning(
            "No tokenizer found for %s in the local Hugging Face cache (%s): token counts are a word-level "
            "estimate (one token per word). Pass --tokenizer PATH/TO/tokenizer.json for exact counts.",
            model or "the model",
            hf_cache_dir(),
        )
    return WordCounter(description)
