"""Request generation speed: rankperf's synthetic data, 10 x 128-token passages and a 32-token query.

The table measures that shape through rankperf_data.dataset: with the word-level estimate (no
tokenizer), and with real ``tokenizers`` models (WordPiece, byte-level BPE, Unigram) trained on
faker text, where every text is composed to an exact token count and a sample is re-encoded to
check it. The "x vs AIPerf" column divides by 270.3 requests/s, AIPerf 0.13.0's rate measured once
by hand (3,000 requests in 11.1 s; shared/reference/aiperf-rankings.md section 3); the harness
measures AIPerf itself, with the same tokenizer, in benchmarks/aiperf_generation.py.

    python benchmarks/generation.py [--requests 5000]
    python benchmarks/generation.py --tokenizer DIR --requests 3000 --json   # one case, one JSON line
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

AIPERF_REQUESTS_PER_S = 3000 / 11.1  # 270.3: a cross-check only (measured by hand, see above)


def _generate(values: dict, requests: int) -> dict:
    """Build the dataset (tokenizer load, calibration), then time ``requests`` distinct requests."""
    from rankperf_data.dataset.config import DatasetConfig
    from rankperf_data.dataset.source import build_dataset

    t0 = time.perf_counter()
    dataset = build_dataset(DatasetConfig.from_options({"random_seed": 42, **values}))
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    chars = 0
    for i in range(requests):
        r = dataset.get(i)
        chars += len(r.query) + sum(len(p) for p in r.passages)
    elapsed = time.perf_counter() - t0
    return {"requests": requests, "setup_s": round(built, 4), "generate_s": round(elapsed, 4),
            "req_s": requests / elapsed, "req_s_with_setup": requests / (built + elapsed),
            "text_bytes_per_request": chars / requests}


def _run(label: str, values: dict, requests: int) -> None:
    m = _generate(values, requests)
    built, rate, chars = m["setup_s"], m["req_s"], m["text_bytes_per_request"] * requests
    print(
        f"{label:<44} build {built * 1000:7.1f} ms   {rate:9,.0f} requests/s   "
        f"x{rate / AIPERF_REQUESTS_PER_S:6.1f} vs AIPerf   ({chars / requests / 1024:.1f} KiB text/request)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per case (default 5000)")
    parser.add_argument("--tokenizer", help="measure only this tokenizer (tokenizer.json or its directory)")
    parser.add_argument("--json", action="store_true", help="with --tokenizer: print one JSON line")
    args = parser.parse_args()
    logging.getLogger("rankperf").setLevel(logging.ERROR)  # the word-estimate warning is expected here
    if args.tokenizer:
        result = _generate({"tokenizer": args.tokenizer}, args.requests)
        if args.json:
            print(json.dumps({"tool": "rankperf", "tokenizer": args.tokenizer, **result}))
        else:
            print(f"{args.tokenizer}: {result['req_s']:,.0f} requests/s ({result['setup_s']:.2f} s set-up)")
        return

    from rankperf_data.dataset.demo_tokenizers import faker_corpus, train_bpe, train_unigram, train_wordpiece

    shape = "10 passages x 128 tokens, query 32"
    print(f"Generation of {args.requests:,} requests ({shape}); AIPerf 0.13.0: {AIPERF_REQUESTS_PER_S:.1f} requests/s")
    _run("word-level estimate (no tokenizer)", {}, args.requests)
    _run("word-level, passages/tokens with stddev", {
        "rankings_passages_stddev": 3,
        "rankings_passages_prompt_token_stddev": 32,
        "rankings_query_prompt_token_stddev": 8,
    }, args.requests)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = faker_corpus()
        cases = [
            ("WordPiece, BERT-style, 30522 vocab (exact)", train_wordpiece(Path(tmp) / "wp.json", 30522, corpus)),
            ("WordPiece, 400 vocab: multi-token words", train_wordpiece(Path(tmp) / "wp400.json", 400, corpus)),
            ("byte-level BPE, GPT-2-style, 1000 vocab", train_bpe(Path(tmp) / "bpe.json", 1000, corpus)),
            ("Unigram + Metaspace, XLM-R-style, 600 vocab", train_unigram(Path(tmp) / "uni.json", 600, corpus)),
        ]
        for label, path in cases:
            _run(label, {"tokenizer": str(path)}, args.requests)


if __name__ == "__main__":
    main()
