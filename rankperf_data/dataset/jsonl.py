"""Read and validate a JSONL file of ranking requests (AIPerf single_turn lines, or plain query/passages).

Accepted lines (blank lines are skipped):

- AIPerf: ``{"texts": [{"name": "query", "contents": ["..."]}, {"name": "passages", "contents": [...]}]}``;
  ``queries`` works for ``query`` (its first content is used), several ``passages`` texts concatenate.
- plain: ``{"query": "...", "passages": ["...", ...]}``.

Either may carry ``"extra": {...}`` (body fields merged top-level) and ``"relevance": [2, 0, 1, ...]``
(graded labels, one number per passage, for the quality metrics; every line or none), with an optional
``"relevance_unlisted": [...]``: labels of the query's judged passages the line does not carry. Any problem is an InputError
naming the file, the 1-based line, the field and what is wrong.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from rankperf_data.dataset.errors import InputError

log = logging.getLogger("rankperf")

_QUERY_NAMES = ("query", "queries")


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One line's request, as read."""

    line: int
    query: str
    passages: tuple[str, ...]
    extra: dict | None = None
    relevance: tuple[float, ...] | None = None
    relevance_unlisted: tuple[float, ...] = ()


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def read_jsonl(path: str | Path) -> list[FileEntry]:
    """Every request in the file, validated; InputError for the first problem found."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("--input-file: no such file", path=name) from None
    except IsADirectoryError:
        raise InputError("--input-file: is a directory, not a JSONL file", path=name) from None
    except OSError as exc:
        raise InputError(f"--input-file: cannot read ({exc.strerror or exc})", path=name) from None
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark some editors write
        data = data[3:]

    entries: list[FileEntry] = []
    ignored: set[str] = set()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})", path=name, line=number
            ) from None
        if not text.strip():
            continue
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            # The parser's own "line 1" would mislead: the file line is ours, the column is its.
            raise InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=name, line=number) from None
        entries.append(_entry(obj, name, number, ignored))
    if not entries:
        raise InputError("--input-file: empty (no requests: every line is blank)", path=name)
    _check_labels_everywhere(entries, name)
    if ignored:
        log.warning(
            "%s: ignored texts named %s (rankings use 'query'/'queries' and 'passages')",
            name,
            ", ".join(repr(n) for n in sorted(ignored)),
        )
    return entries


def _entry(obj: Any, path: str, line: int, ignored: set[str]) -> FileEntry:
    def fail(field: str | None, problem: str) -> InputError:
        return InputError(problem, path=path, line=line, field=field)

    if not isinstance(obj, dict):
        raise fail(None, f"must be a JSON object, got {_kind(obj)}")
    extra = obj.get("extra")
    if extra is not None and not isinstance(extra, dict):
        raise fail("extra", f"must be an object of body fields, got {_kind(extra)}")
    if "texts" in obj:
        if "query" in obj or "passages" in obj:
            raise fail("texts", "use either 'texts' (AIPerf single_turn) or 'query' and 'passages', not both")
        query, passages = _from_texts(obj["texts"], fail, ignored)
    elif "query" in obj or "passages" in obj:
        query, passages = _from_plain(obj, fail)
    elif "text" in obj:
        raise fail("text", "unnamed text has no query: use 'texts' with a 'query' and a 'passages' entry")
    else:
        raise fail("query", "missing: expected 'texts' (AIPerf single_turn) or 'query' and 'passages'")
    relevance = _check_relevance(obj["relevance"], "relevance", len(passages), fail) if "relevance" in obj else None
    unlisted: tuple[float, ...] = ()
    if "relevance_unlisted" in obj:
        if relevance is None:
            raise fail("relevance_unlisted", "needs 'relevance' on the same line")
        unlisted = _check_relevance(obj["relevance_unlisted"], "relevance_unlisted", None, fail)
    return FileEntry(line, query, passages, extra, relevance, unlisted)


def _check_relevance(value: Any, field: str, n_passages: int | None, fail) -> tuple[float, ...]:
    if not isinstance(value, list):
        raise fail(field, f"must be a list of numbers, got {_kind(value)}")
    if n_passages is not None and len(value) != n_passages:
        raise fail(field, f"has {len(value)} labels for {n_passages} passages (one per passage)")
    for k, label in enumerate(value):
        if not isinstance(label, (int, float)) or isinstance(label, bool) or not math.isfinite(label):
            raise fail(f"{field}[{k}]", f"must be a finite number, got {_kind(label)} {label!r}"[:120])
    return tuple(float(v) for v in value)


def _check_labels_everywhere(entries: list[FileEntry], path: str) -> None:
    """Quality means are over every request: a file labels all its lines or none."""
    labelled = [e for e in entries if e.relevance is not None]
    if labelled and len(labelled) != len(entries):
        first_with = labelled[0]
        odd = next(e for e in entries if e.relevance is None)
        raise InputError(f"missing, but line {first_with.line} has labels (label every line or none)",
                         path=path, line=odd.line, field="relevance")


def _check_query(value: Any, field: str, fail) -> str:
    if not isinstance(value, str):
        raise fail(field, f"must be a string, got {_kind(value)}")
    if not value.strip():
        raise fail(field, "must not be empty")
    return value


def _check_passages(value: Any, field: str, fail) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        got = "an empty list" if value == [] else _kind(value)
        raise fail(field, f"must be a non-empty list of strings, got {got}")
    for k, p in enumerate(value):
        if not isinstance(p, str):
            raise fail(f"{field}[{k}]", f"must be a string, got {_kind(p)}")
        if not p.strip():
            raise fail(f"{field}[{k}]", "must not be empty (servers reject empty documents)")
    return tuple(value)


def _from_plain(obj: dict, fail) -> tuple[str, tuple[str, ...]]:
    if "query" not in obj:
        raise fail("query", "missing")
    query = _check_query(obj["query"], "query", fail)
    if "passages" not in obj:
        raise fail("passages", "missing")
    return query, _check_passages(obj["passages"], "passages", fail)


def _from_texts(texts: Any, fail, ignored: set[str]) -> tuple[str, tuple[str, ...]]:
    if not isinstance(texts, list):
        raise fail("texts", f"must be a list of {{'name', 'contents'}} objects, got {_kind(texts)}")
    query: str | None = None
    passages: list[str] = []
    saw_passages = False
    for k, text in enumerate(texts):
        where = f"texts[{k}]"
        if not isinstance(text, dict):
            raise fail(where, f"must be an object with 'name' and 'contents', got {_kind(text)}")
        if "name" not in text:
            raise fail(f"{where}.name", "missing")
        name = text["name"]
        if not isinstance(name, str):
            raise fail(f"{where}.name", f"must be a string, got {_kind(name)}")
        if "contents" not in text:
            raise fail(f"{where}.contents", "missing")
        contents = text["contents"]
        if not isinstance(contents, list):
            raise fail(f"{where}.contents", f"must be a list of strings, got {_kind(contents)}")
        for j, c in enumerate(contents):
            if not isinstance(c, str):
                raise fail(f"{where}.contents[{j}]", f"must be a string, got {_kind(c)}")
        if name in _QUERY_NAMES:
            if query is None:
                if not contents:
                    raise fail(f"{where}.contents", "must hold the query, got an empty list")
                query = _check_query(contents[0], f"{where}.contents[0]", fail)
        elif name == "passages":
            saw_passages = True
            for j, c in enumerate(contents):
                if not c.strip():
                    raise fail(f"{where}.contents[{j}]", "must not be empty (servers reject empty documents)")
            passages.extend(contents)
        else:
            ignored.add(name)
    if query is None:
        raise fail("query", "missing: no text named 'query' or 'queries' in 'texts'")
    if not saw_passages:
        raise fail("passages", "missing: no text named 'passages' in 'texts'")
    if not passages:
        raise fail("passages", "must be a non-empty list of strings, got an empty list")
    return query, tuple(passages)
