"""convert-beir on a tiny BEIR-shaped fixture: lines, labels, trec_eval's order, errors, the command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rankperf_data.dataset.beir import convert_beir, read_qrels, read_run
from rankperf_data.dataset.errors import InputError
from rankperf_data.dataset.jsonl import read_jsonl
from rankperf_data.report.quality import judge

TINY = Path(__file__).parent / "beir_tiny"


def test_converts_judged_queries_with_candidates(tmp_path: Path) -> None:
    out = tmp_path / "labelled.jsonl"
    done = convert_beir(TINY, TINY / "run.trec", out)
    assert (done.lines, done.skipped_no_candidates, done.unlisted_relevant) == (3, 1, 1)
    q1, q2, q3 = read_jsonl(out)  # what --input-file accepts
    assert q1.query == "how do rivers form"
    assert q1.passages[:2] == ("The Amazon is the largest river by discharge.",
                               "River formation Rivers form where rain and melt water gather and run downhill.")
    assert q1.relevance == (0, 2, 1, 0) and q1.relevance_unlisted == (1,)  # d9 was never retrieved
    assert q2.relevance == (0, 2, 0) and q2.relevance_unlisted == ()
    assert q3.passages[0].startswith("Cellos")  # equal scores: document id descending, as trec_eval


def test_depth_cuts_the_candidates_and_keeps_the_rest_as_unlisted(tmp_path: Path) -> None:
    out = tmp_path / "labelled.jsonl"
    convert_beir(TINY, TINY / "run.trec", out, depth=2)
    q1 = read_jsonl(out)[0]
    assert len(q1.passages) == 2 and q1.relevance == (0, 2)
    assert sorted(q1.relevance_unlisted) == [1, 1]


@pytest.mark.parametrize("depth", [2, 100])
def test_first_stage_quality_matches_trec_eval(tmp_path: Path, depth: int) -> None:
    """Ranked in the run's own order, the converted lines score what trec_eval gives the run."""
    ir_measures = pytest.importorskip("ir_measures")
    from ir_measures import RR, R, nDCG

    out = tmp_path / "labelled.jsonl"
    convert_beir(TINY, TINY / "run.trec", out, depth=depth)
    qrels = read_qrels(TINY / "qrels" / "test.tsv")
    run = {q: {d: float(-r) for r, d in enumerate(docs)} for q, docs in read_run(TINY / "run.trec", depth).items()}
    run = {q: docs for q, docs in run.items() if q in qrels}
    expected = {(m.query_id, str(m.measure)): m.value for m in ir_measures.iter_calc([nDCG @ 3, RR @ 3, R @ 3],
                                                                                    qrels, run)}
    for q, line in zip(("q1", "q2", "q3"), read_jsonl(out), strict=True):
        got = judge(list(range(len(line.passages))), line.relevance, 3, line.relevance_unlisted)
        assert got == pytest.approx((expected[(q, "nDCG@3")], expected[(q, "RR@3")], expected[(q, "R@3")]))


@pytest.mark.parametrize(("file", "content", "where"), [
    ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\ttwo\n", "qrels/test.tsv:2: field 'score'"),
    ("qrels/test.tsv", "q1\td1\n", "qrels/test.tsv:1: expected"),
    ("run.trec", "q1 Q0 d1 1 high bm25\n", "run.trec:1: field 'rank/score'"),
    ("corpus.jsonl", '{"_id": "d1", "title": "", "text": ""}\n', "corpus.jsonl:1: field 'text': empty"),
    ("corpus.jsonl", '{"title": "x"}\n', "corpus.jsonl:1: field '_id'"),
    ("queries.jsonl", "{not json\n", "queries.jsonl:1: invalid JSON"),
])
def test_bad_inputs_name_file_line_and_field(tmp_path: Path, file: str, content: str, where: str) -> None:
    root = tmp_path / "beir"
    shutil.copytree(TINY, root)
    (root / file).write_text(content)
    with pytest.raises(InputError) as caught:
        convert_beir(root, root / "run.trec", tmp_path / "out.jsonl")
    assert str(caught.value).startswith(str(root / where.split(":")[0])) and where.split(":", 1)[1] in str(caught.value)


def test_command_writes_the_file_and_exits_2_on_bad_input(tmp_path: Path, bin_dir: Path, clean_env) -> None:
    out = tmp_path / "out.jsonl"
    ok = subprocess.run([str(bin_dir / "rankperf"), "convert-beir", str(TINY), "--run", str(TINY / "run.trec"),
                         "-o", str(out), "--depth", "3"], capture_output=True, text=True, env=clean_env, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "wrote 3 labelled requests" in ok.stdout and len(read_jsonl(out)) == 3
    bad = subprocess.run([str(bin_dir / "rankperf"), "convert-beir", str(TINY), "--run", str(tmp_path / "none"),
                          "-o", str(out)], capture_output=True, text=True, env=clean_env, timeout=60)
    assert bad.returncode == 2 and "none: no such file" in bad.stderr
