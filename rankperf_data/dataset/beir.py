"""Convert a BEIR-style dataset plus a first-stage TREC run into labelled rankperf JSONL lines.

Inputs: ``queries.jsonl`` ({"_id", "text"}), ``corpus.jsonl`` ({"_id", "title", "text"}),
``qrels/<split>.tsv`` (query-id, corpus-id, score; a header line is skipped) and a TREC run file
(``qid Q0 docid rank score tag``). Each judged query with candidates in the run becomes one line:
its top ``depth`` candidates in trec_eval's order (score descending) as passages ("title text"), their qrels labels (0 when
unjudged) as ``relevance``, and the labels of relevant judged documents the run did not retrieve as
``relevance_unlisted`` (trec_eval counts them in NDCG's ideal and in Recall).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from rankperf_data.dataset.errors import InputError


@dataclass(frozen=True)
class Converted:
    """What a conversion wrote."""

    lines: int
    skipped_no_candidates: int  # judged queries the run has nothing for
    unlisted_relevant: int  # relevant judged documents outside the candidates


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for number, text in enumerate(fh, start=1):
                if text.strip():
                    yield number, text.rstrip("\n")
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 ({exc.reason})", path=str(path)) from None


def _json_objects(path: Path, fields: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    for number, text in _lines(path):
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", path=str(path), line=number) from None
        if not isinstance(obj, dict):
            raise InputError("must be a JSON object", path=str(path), line=number)
        if not isinstance(obj.get("_id"), (str, int)) or isinstance(obj.get("_id"), bool):
            raise InputError("missing, or not a string", path=str(path), line=number, field="_id")
        for name in fields:
            if name != "_id" and not isinstance(obj.get(name, ""), (str, type(None))):
                raise InputError("must be a string", path=str(path), line=number, field=name)
        yield number, obj


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query id -> {document id: label}."""
    qrels: dict[str, dict[str, int]] = {}
    for number, text in _lines(path):
        parts = text.split("\t") if "\t" in text else text.split()
        if len(parts) == 4:  # TREC qrels: qid iteration docid label
            parts = [parts[0], parts[2], parts[3]]
        if len(parts) != 3:
            raise InputError(f"expected 'query-id<TAB>corpus-id<TAB>score', got {len(parts)} fields",
                             path=str(path), line=number)
        if number == 1 and parts[2].strip() == "score":
            continue  # BEIR's header
        try:
            label = int(parts[2])
        except ValueError:
            raise InputError(f"must be an integer label, got {parts[2]!r}", path=str(path), line=number,
                             field="score") from None
        qrels.setdefault(parts[0].strip(), {})[parts[1].strip()] = label
    return qrels


def read_run(path: Path, depth: int) -> dict[str, list[str]]:
    """query id -> its top ``depth`` document ids, in trec_eval's order."""
    rows: dict[str, list[tuple[float, int, str]]] = {}
    for number, text in _lines(path):
        parts = text.split()
        if len(parts) != 6:
            raise InputError(f"expected 'qid Q0 docid rank score tag', got {len(parts)} fields",
                             path=str(path), line=number)
        try:
            int(parts[3])
            score = float(parts[4])
        except ValueError:
            raise InputError("rank must be an integer and score a number", path=str(path), line=number,
                             field="rank/score") from None
        rows.setdefault(parts[0], []).append((score, parts[2]))
    # trec_eval's order: score descending, equal scores by document id descending (the rank column
    # is not used, as trec_eval does not use it)
    return {q: [doc for _, doc in sorted(found, reverse=True)[:depth]] for q, found in rows.items()}


def _texts(path: Path, wanted: set[str], fields: tuple[str, ...]) -> dict[str, str]:
    """id -> text of the wanted ids only (a corpus can be millions of documents)."""
    out: dict[str, str] = {}
    for number, obj in _json_objects(path, ("_id", *fields)):
        key = str(obj["_id"])
        if key in wanted:
            text = " ".join(str(obj.get(f) or "").strip() for f in fields if str(obj.get(f) or "").strip())
            if not text:
                raise InputError("empty text (servers reject empty documents)", path=str(path), line=number,
                                 field=fields[-1])
            out[key] = text
    return out


def convert_beir(root: str | Path, run_file: str | Path, output: str | Path, split: str = "test",
                 depth: int = 100) -> Converted:
    """Write the labelled JSONL; InputError (file:line:field) for any bad input."""
    base = Path(root)
    qrels = read_qrels(base / "qrels" / f"{split}.tsv")
    run = read_run(Path(run_file), depth)
    judged = [q for q in qrels if run.get(q)]
    docs = {d for q in judged for d in run[q]}
    queries = _texts(base / "queries.jsonl", set(judged), ("text",))
    corpus = _texts(base / "corpus.jsonl", docs, ("title", "text"))
    for q in judged:
        if q not in queries:
            raise InputError(f"query {q!r} of the qrels is not in queries.jsonl", path=str(base / "queries.jsonl"))
        missing = [d for d in run[q] if d not in corpus]
        if missing:
            raise InputError(f"document {missing[0]!r} of the run (query {q!r}) is not in corpus.jsonl",
                             path=str(base / "corpus.jsonl"))
    unlisted_total = 0
    with open(output, "wb") as fh:
        for q in judged:
            labels = qrels[q]
            candidates = run[q]
            line: dict = {"query": queries[q], "passages": [corpus[d] for d in candidates],
                          "relevance": [labels.get(d, 0) for d in candidates]}
            listed = set(candidates)
            unlisted = [label for d, label in labels.items() if label > 0 and d not in listed]
            if unlisted:
                line["relevance_unlisted"] = unlisted
                unlisted_total += len(unlisted)
            fh.write(orjson.dumps(line) + b"\n")
    return Converted(len(judged), len(qrels) - len(judged), unlisted_total)
