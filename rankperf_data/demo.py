"""`rankperf demo`: start the reference server and profile it with the ranking guide's two scenarios,
then with the labelled set shipped in rankperf_data/data (ranking quality and consistency)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# 30 hand-written queries, 7 passages each, graded 0-3 (see README, "Ranking quality")
LABELLED_SET = Path(__file__).parent / "data" / "labelled_rerank.jsonl"

# The five lines of the guide's rankings.jsonl (AIPerf single_turn format).
SEED_JSONL = "".join(
    f'{{"texts":[{{"name":"query","contents":["What is AI topic {i}?"]}},'
    f'{{"name":"passages","contents":["AI passage {i}"]}}]}}\n'
    for i in range(5)
)


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--artifact-root", default="artifacts",
                        help="Where the two runs' artifact directories go (default: %(default)s).")
    parser.add_argument("--request-count", type=int, default=10,
                        help="Requests per scenario (default: %(default)s, as in the guide).")


def scenarios(url: str, jsonl: Path, root: Path, count: int) -> list[tuple[str, list[str]]]:
    return [
        ("TEI rerank, synthetic inputs", [
            "profile", "-m", "BAAI/bge-reranker-base", "--endpoint-type", "hf_tei_rankings", "--url", url,
            "--request-count", str(count), "--rankings-passages-mean", "5", "--rankings-passages-stddev", "1",
            "--rankings-passages-prompt-token-mean", "32", "--rankings-passages-prompt-token-stddev", "8",
            "--rankings-query-prompt-token-mean", "16", "--rankings-query-prompt-token-stddev", "4",
            "--random-seed", "42", "--artifact-dir", str(root / "demo-hf_tei_rankings-synthetic"),
        ]),
        ("Cohere rerank (vLLM-style), custom JSONL inputs", [
            "profile", "-m", "BAAI/bge-reranker-v2-m3", "--endpoint-type", "cohere_rankings", "--url", url,
            "--input-file", str(jsonl), "--custom-dataset-type", "single_turn", "--request-count", str(count),
            "--artifact-dir", str(root / "demo-cohere_rankings-jsonl"),
        ]),
        ("NIM ranking, labelled inputs: NDCG/MRR/Recall@10 and answers checked against each sent alone", [
            "profile", "-m", "nvidia/llama-3.2-nv-rerankqa-1b-v2", "--endpoint-type", "nim_rankings", "--url", url,
            "--input-file", str(LABELLED_SET), "--request-count", str(max(count, 30)), "--concurrency", "4",
            "--check-consistency", "--artifact-dir", str(root / "demo-nim_rankings-labelled"),
        ]),
    ]


def run_demo(args: argparse.Namespace) -> int:
    from rankperf_data.cli import main as cli_main
    from rankperf_data.server.testing import start_server

    root = Path(args.artifact_root)
    root.mkdir(parents=True, exist_ok=True)
    jsonl = root / "rankings.jsonl"
    jsonl.write_text(SEED_JSONL)
    worst = 0
    with start_server(["--api", "all"]) as server:
        print(f"rankperf demo: reference server at {server.url} (TEI, Cohere/vLLM and NIM routes)\n", flush=True)
        for title, argv in scenarios(server.url, jsonl, root, args.request_count):
            print(f"== {title}\n$ rankperf {' '.join(argv)}\n", flush=True)
            code = cli_main(argv)
            worst = max(worst, code)
            print(flush=True)
    sys.stdout.flush()
    return worst
