"""Token counting: a Hugging Face tokenizer.json, or a word-level estimate.

A tokenizer is a file, a directory holding ``tokenizer.json``, or a hub repo name loaded through
huggingface_hub: from the local cache first, downloaded only when the hub is reachable (never with
``HF_HUB_OFFLINE=1``). Without ``--tokenizer`` the ``--model``'s repo is tried the same way, and any
failure falls back to the word estimate, said once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

from rankperf_data.dataset.errors import InputError
from rankperf_data.dataset.notices import say_once

log = logging.getLogger("rankperf")

TOKENIZER_FILE = "tokenizer.json"
# How a WordCounter's description starts: reports read it back from run.json to say counts are estimates.
WORD_ESTIMATE = "word-level estimate"
# One hub probe, no retries: huggingface_hub's own download retries a failed first call with a
# backoff (about 23 s measured with no network), too slow for a fallback users did not ask for.
HUB_PROBE_TIMEOUT_S = 3.0
_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
_TRUE = ("1", "true", "yes", "on")
_counters: dict[tuple, TokenCounter] = {}  # resolved once per process (the hub is asked at most once)


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
    """The Hugging Face hub cache, resolved the way huggingface_hub does (env vars first).

    Read at call time: huggingface_hub reads these variables once, when it is imported.
    """
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def _offline_env() -> bool:
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set, now or when huggingface_hub was imported."""
    from huggingface_hub import constants

    return _offline_env() or bool(constants.HF_HUB_OFFLINE)


def _probe_timeout() -> float:
    """HF_HUB_ETAG_TIMEOUT when the user set it, else a short one."""
    raw = os.environ.get("HF_HUB_ETAG_TIMEOUT", "")
    try:
        return float(raw) if raw.strip() else HUB_PROBE_TIMEOUT_S
    except ValueError:
        return HUB_PROBE_TIMEOUT_S


@contextlib.contextmanager
def _hub_logs_quiet() -> Iterator[None]:
    """huggingface_hub logs each failed call as a warning; rankperf says what happened itself."""
    hub_log = logging.getLogger("huggingface_hub")
    level = hub_log.level
    hub_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hub_log.setLevel(level)


def fetch_from_hub(name: str) -> tuple[Path | None, str]:
    """``tokenizer.json`` of hub repo ``name``: the cached copy, else a download when online.

    Returns ``(path, "")``, or ``(None, why)`` on any failure. Tokens (HF_TOKEN, ``hf auth login``),
    HF_ENDPOINT and the cached ``refs/main`` revision are huggingface_hub's own handling.
    """
    if not _HUB_NAME.match(name):
        return None, "not a Hugging Face hub repo name"
    import huggingface_hub as hub  # imported here: runs with a tokenizer file never pay for it

    cache = str(hf_cache_dir())
    with _hub_logs_quiet():
        try:
            return Path(hub.hf_hub_download(name, TOKENIZER_FILE, cache_dir=cache, local_files_only=True)), ""
        except Exception:  # not cached (or not a valid repo id): maybe online
            pass
        if hub_offline():
            return None, f"not in the local Hugging Face cache ({cache}) and HF_HUB_OFFLINE is set"
        timeout = _probe_timeout()
        try:
            hub.get_hf_file_metadata(hub.hf_hub_url(name, TOKENIZER_FILE), timeout=timeout)  # one try
            path = hub.hf_hub_download(name, TOKENIZER_FILE, cache_dir=cache, etag_timeout=timeout)
        except Exception as exc:  # unreachable hub, unknown or gated repo, no tokenizer.json: all the same here
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return None, f"not in the local Hugging Face cache ({cache}), and the hub did not provide it: {reason}"
    return Path(path), ""


def load_tokenizer_file(path: Path) -> HFCounter:
    """Load a tokenizer.json; InputError naming --tokenizer if it is not one."""
    from tokenizers import Tokenizer  # imported here: only runs that use a tokenizer pay for it

    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exception subclasses for bad files
        raise InputError(f"--tokenizer: not a valid Hugging Face tokenizer.json ({exc})", path=str(path)) from exc
    return HFCounter(tok, str(path))


def resolve_counter(tokenizer: str, model: str) -> TokenCounter:
    """The counter for ``--tokenizer`` (path, directory or hub name), else ``--model``'s, else words.

    An explicit ``--tokenizer`` that cannot be loaded is an InputError; a model whose tokenizer
    cannot be loaded falls back to the word estimate, said once per run. Resolved once per process
    for the same names, cache and offline setting.
    """
    key = (tokenizer, model, str(hf_cache_dir()), _offline_env())
    if key not in _counters:
        _counters[key] = _resolve(tokenizer, model)
    return _counters[key]


def _resolve(tokenizer: str, model: str) -> TokenCounter:
    if tokenizer:
        path = Path(tokenizer).expanduser()
        if path.is_file():
            return load_tokenizer_file(path)
        if path.is_dir():
            if (path / TOKENIZER_FILE).is_file():
                return load_tokenizer_file(path / TOKENIZER_FILE)
            raise InputError(f"--tokenizer {tokenizer!r}: directory has no tokenizer.json")
        found, why = fetch_from_hub(tokenizer)
        if found is not None:
            return load_tokenizer_file(found)
        raise InputError(
            f"--tokenizer {tokenizer!r}: not a tokenizer.json file, a directory holding one, or a Hugging Face "
            f"hub repo with a tokenizer.json ({why})"
        )
    why = "no --model given"
    if model:
        local = Path(model).expanduser()
        if local.is_dir() and (local / TOKENIZER_FILE).is_file():
            return load_tokenizer_file(local / TOKENIZER_FILE)
        found, why = fetch_from_hub(model)
        if found is not None:
            return load_tokenizer_file(found)
    return word_fallback(model, why)


def word_fallback(model: str, why: str = "") -> WordCounter:
    """The word estimate, with its warning (once per run: the master's, not each worker's)."""
    name = model or "the model"
    say_once(
        "tokenizer-fallback",
        "no tokenizer for %s (%s): token counts are a word-level estimate (one token per word). "
        "Pass --tokenizer PATH/TO/tokenizer.json for exact counts.",
        name,
        why or "not found",
    )
    return WordCounter(f"{WORD_ESTIMATE} (no tokenizer found for {name})")
