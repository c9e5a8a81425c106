"""--score-drift: a request alone gets exact scores; requests in flight together get moved ones."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from rankperf_data.server.scoring import drifted, relevance_logits
from rankperf_data.server.testing import serve_in_thread

QUERY = "river mountain ocean"
TEXTS = ["river bank", "mountain ocean river", "castle", "ocean", "river mountain", "desert winter"]


def _scores(url: str) -> dict[int, float]:
    body = json.dumps({"query": QUERY, "texts": TEXTS, "raw_scores": True}).encode()
    req = urllib.request.Request(url + "/rerank", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return {item["index"]: item["score"] for item in json.loads(resp.read())}


def test_drift_is_bounded_and_deterministic():
    logits = relevance_logits(QUERY, TEXTS)
    assert drifted(logits, TEXTS, 0, 0.5) == logits
    moved = drifted(logits, TEXTS, 3, 0.5)
    assert moved == drifted(logits, TEXTS, 3, 0.5) and moved != logits
    assert max(abs(a - b) for a, b in zip(moved, logits, strict=True)) <= 0.5


def test_alone_exact_together_moved():
    exact = relevance_logits(QUERY, TEXTS)
    with serve_in_thread(["--batch-overhead-ms", "20", "--per-token-us", "0", "--score-drift", "0.5"]) as srv:
        alone = _scores(srv.url)
        assert [alone[i] for i in range(len(TEXTS))] == exact  # raw scores are the logits
        with ThreadPoolExecutor(6) as pool:
            together = list(pool.map(lambda _: _scores(srv.url), range(6)))
    moved = [t for t in together if [t[i] for i in range(len(TEXTS))] != exact]
    assert moved  # 20 ms batches: the six requests overlap
    for t in moved:
        assert max(abs(t[i] - exact[i]) for i in range(len(TEXTS))) <= 0.5
