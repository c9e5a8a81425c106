"""The reference server's `--api infinity` answers like the real Infinity: the same requests to both.

Scores differ (a random tiny model vs a lexical stand-in), so results are compared by shape: status,
Content-Type, keys, `document` types, result counts under top_n, pydantic error details, /health,
/models, and the http_requests_total counter both expose.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from rankperf_data.server.testing import start_server

pytestmark = [pytest.mark.real_server, pytest.mark.slow]

DOCS = ["x is a letter", "hello world", "the query of a document", "abc"]
JSON_CT = "application/json"


def body(**fields) -> bytes:
    return json.dumps({"query": "what is x", "documents": DOCS, **fields}).encode()


# name -> (raw body, Content-Type)
CASES = {
    "plain": (body(), JSON_CT),
    "top_n": (body(top_n=2), JSON_CT),
    "top_n_above_count": (body(top_n=9), JSON_CT),
    "top_n_numeric_string": (body(top_n="2"), JSON_CT),
    "return_documents": (body(top_n=3, return_documents=True), JSON_CT),
    "raw_scores": (body(raw_scores=True), JSON_CT),
    "unknown_model_and_extra_field": (body(model="nope", foo=1), JSON_CT),
    "empty_query": (json.dumps({"query": "", "documents": ["a"]}).encode(), JSON_CT),
    "over_long_document": (json.dumps({"query": "q", "documents": ["word " * 3000, "b"]}).encode(), JSON_CT),
    "no_content_type": (body(), None),
    "top_n_zero": (body(top_n=0), JSON_CT),
    "top_n_negative": (body(top_n=-1), JSON_CT),
    "top_n_word": (body(top_n="x"), JSON_CT),
    "top_n_fraction": (body(top_n=1.5), JSON_CT),
    "empty_documents": (json.dumps({"query": "q", "documents": []}).encode(), JSON_CT),
    "missing_documents": (json.dumps({"query": "q"}).encode(), JSON_CT),
    "missing_both": (b"{}", JSON_CT),
    "document_objects": (json.dumps({"query": "q", "documents": [{"text": "a"}]}).encode(), JSON_CT),
    "query_not_string": (json.dumps({"query": 5, "documents": ["a"]}).encode(), JSON_CT),
    "documents_not_list": (json.dumps({"query": "q", "documents": "a"}).encode(), JSON_CT),
    "too_many_documents": (json.dumps({"query": "q", "documents": ["a"] * 2049}).encode(), JSON_CT),
    "query_too_long": (json.dumps({"query": "q" * 122_881, "documents": ["a"]}).encode(), JSON_CT),
    "return_documents_not_bool": (body(return_documents="maybe"), JSON_CT),
    "bad_json": (b'{"query":', JSON_CT),
    "json_array": (b"[1, 2]", JSON_CT),
    "text_plain": (body(), "text/plain"),
}


def request(url: str, method: str, path: str, payload: bytes | None = None,
            content_type: str | None = None) -> tuple[int, str, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        if content_type:
            conn.putheader("Content-Type", content_type)
        if payload is not None:
            conn.putheader("Content-Length", str(len(payload)))
        conn.endheaders(payload)
        resp = conn.getresponse()
        return resp.status, resp.getheader("content-type", ""), resp.read()
    finally:
        conn.close()


def shape(status: int, content_type: str, raw: bytes, sent: list) -> dict:
    """What must match: everything but the scores, ids, times, model names and token counts.
    `sent` is the request's documents: a returned `document` must be the one at its index."""
    data = json.loads(raw)
    out: dict = {"status": status, "content_type": content_type}
    if status == 200:
        out["keys"] = sorted(data)
        out["object"] = data["object"]
        out["id_prefix"] = data["id"].split("-", 1)[0]
        out["usage"] = sorted(data["usage"])
        out["results"] = [(sorted(r), type(r["document"]).__name__, type(r["relevance_score"]).__name__)
                          for r in data["results"]]
        out["indices"] = sorted(r["index"] for r in data["results"]) if len(data["results"]) == len(sent) else None
        out["documents_match"] = all(r["document"] is None or r["document"] == sent[r["index"]]
                                     for r in data["results"])
    elif "detail" in data:
        out["detail"] = [(d["type"], d["loc"], d["msg"], d.get("ctx")) for d in data["detail"]]
    else:
        out["body"] = data
    return out


@pytest.fixture(scope="module")
def reference(clean_env):
    with start_server(["--api", "infinity", "--zero-latency", "--model-id", "tiny"], env=clean_env) as srv:
        yield srv


def rerank_counts(url: str) -> dict[str, float]:
    _, _, raw = request(url, "GET", "/metrics")
    counts = {}
    for line in raw.decode().splitlines():
        if line.startswith('http_requests_total{handler="/rerank",method="POST"'):
            status = line.split('status="', 1)[1][:3]
            counts[status] = float(line.rsplit(" ", 1)[1])
    return counts


def test_rerank_answers_match_in_shape(infinity, reference):
    real_before, ref_before = rerank_counts(infinity.url), rerank_counts(reference.url)
    mismatches = {}
    for name, (payload, content_type) in CASES.items():
        try:
            sent = json.loads(payload)["documents"]
        except (ValueError, KeyError, TypeError):
            sent = []
        real = shape(*request(infinity.url, "POST", "/rerank", payload, content_type), sent)
        ours = shape(*request(reference.url, "POST", "/rerank", payload, content_type), sent)
        if real != ours:
            mismatches[name] = {"infinity": real, "reference": ours}
    assert not mismatches, json.dumps(mismatches, indent=1, default=str)[:6000]
    # Both count the same answers by status class on /metrics (prometheus-fastapi-instrumentator's series).
    real_after, ref_after = rerank_counts(infinity.url), rerank_counts(reference.url)
    real_delta = {k: v - real_before.get(k, 0.0) for k, v in real_after.items()}
    ref_delta = {k: v - ref_before.get(k, 0.0) for k, v in ref_after.items()}
    assert real_delta == ref_delta and real_delta["2xx"] > 0 and real_delta["4xx"] > 0


def test_top_n_and_ties_keep_request_order(infinity, reference):
    """Equal scores (the same document three times): both answer in request order, cut to top_n."""
    payload = json.dumps({"query": "q", "documents": ["same", "same", "same"], "top_n": 2}).encode()
    for url in (infinity.url, reference.url):
        status, _, raw = request(url, "POST", "/rerank", payload, JSON_CT)
        assert status == 200
        assert [r["index"] for r in json.loads(raw)["results"]] == [0, 1], url


def test_health_and_models(infinity, reference):
    for path in ("/health", "/models"):
        real = request(infinity.url, "GET", path)
        ours = request(reference.url, "GET", path)
        assert (real[0], real[1]) == (ours[0], ours[1]) == (200, JSON_CT), path
        real_data, our_data = json.loads(real[2]), json.loads(ours[2])
        assert sorted(real_data) == sorted(our_data), path
    models = json.loads(request(reference.url, "GET", "/models")[2])["data"][0]
    real_models = json.loads(request(infinity.url, "GET", "/models")[2])["data"][0]
    assert sorted(models) == sorted(real_models) and models["capabilities"] == real_models["capabilities"]


def test_unknown_path_and_wrong_method(infinity, reference):
    for method, path in (("POST", "/v2/rerank"), ("GET", "/rerank"), ("GET", "/info")):
        real = request(infinity.url, method, path, b"{}" if method == "POST" else None, JSON_CT)
        ours = request(reference.url, method, path, b"{}" if method == "POST" else None, JSON_CT)
        assert real == ours, (method, path)
