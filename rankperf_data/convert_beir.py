"""`rankperf convert-beir`: a BEIR-style dataset plus a first-stage run -> labelled rankperf JSONL."""

from __future__ import annotations

import argparse
import sys

from rankperf_data.argtypes import positive_int


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("beir_dir", metavar="BEIR_DIR",
                        help="Folder with queries.jsonl, corpus.jsonl and qrels/<split>.tsv.")
    parser.add_argument("--run", required=True, metavar="RUN_FILE",
                        help="First-stage TREC run file (qid Q0 docid rank score tag): the candidates to rerank.")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.jsonl",
                        help="Labelled JSONL to write (for --input-file).")
    parser.add_argument("--split", default="test", help="qrels/<split>.tsv to read (default: %(default)s).")
    parser.add_argument("--depth", type=positive_int, default=100,
                        help="Candidates per query, the run's best first (default: %(default)s).")


def run_convert(args: argparse.Namespace) -> int:
    from rankperf_data.dataset.beir import convert_beir
    from rankperf_data.dataset.errors import InputError

    try:
        done = convert_beir(args.beir_dir, args.run, args.output, args.split, args.depth)
    except InputError as exc:
        sys.stderr.write(f"rankperf: error: {exc}\n")
        return 2
    print(f"rankperf: wrote {done.lines:,} labelled requests to {args.output} "
          f"({done.skipped_no_candidates:,} judged queries without candidates in the run left out; "
          f"{done.unlisted_relevant:,} relevant documents outside the candidates kept as relevance_unlisted)")
    return 0 if done.lines else 2
