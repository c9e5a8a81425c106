"""TEI routes of the reference server: answers, headers and every error shape (TEI 1.9.3 semantics)."""

from __future__ import annotations

import math

import pytest

QUERY = "what is deep learning"
TEXTS = ["Bananas are yellow.", "What is deep learning? Deep learning is machine learning.", "The sky is blue."]
X_HEADERS = ("x-compute-type", "x-compute-time", "x-total-time", "x-compute-characters", "x-compute-tokens",
             "x-tokenization-time", "x-queue-time", "x-inference-time")


def test_rerank_answers_a_sorted_bare_array_with_probabilities(client):
    r = client.post("/rerank", {"query": QUERY, "texts": TEXTS})
    assert r.status == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert isinstance(body, list) and len(body) == 3
    assert sorted(item["index"] for item in body) == [0, 1, 2]
    scores = [item["score"] for item in body]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 < s < 1.0 for s in scores)
    assert body[0]["index"] == 1  # the passage that repeats the query
    assert all(set(item) == {"index", "score"} for item in body)


def test_success_headers_are_all_integer_strings(client):
    r = client.post("/rerank", {"query": QUERY, "texts": TEXTS})
    for name in X_HEADERS[1:]:
        assert r.headers[name].isdigit(), name
    assert r.headers["x-compute-type"] == "gpu+optimized"
    chars = len(QUERY) * len(TEXTS) + sum(map(len, TEXTS))
    assert int(r.headers["x-compute-characters"]) == chars
    assert int(r.headers["x-compute-tokens"]) > 0


def test_raw_scores_are_logits_and_return_text_adds_text(client):
    probs = client.post("/rerank", {"query": QUERY, "texts": TEXTS}).json()
    raw = client.post("/rerank", {"query": QUERY, "texts": TEXTS, "raw_scores": True, "return_text": True}).json()
    assert [i["index"] for i in raw] == [i["index"] for i in probs]
    for p, r in zip(probs, raw, strict=True):
        assert math.isclose(1 / (1 + math.exp(-r["score"])), p["score"], rel_tol=1e-9)
        assert r["text"] == TEXTS[r["index"]]


def test_ties_put_the_higher_index_first(client):
    body = client.post("/rerank", {"query": "q", "texts": ["same text", "same text", "same text"]}).json()
    assert [i["index"] for i in body] == [2, 1, 0]


@pytest.mark.parametrize("path", ["/", "/invocations"])
def test_sagemaker_paths_are_rerank(client, path):
    r = client.post(path, {"query": QUERY, "texts": TEXTS})
    assert r.status == 200 and len(r.json()) == 3


@pytest.mark.parametrize("path", ["/", "/health", "/ping"])
def test_health_routes_answer_200_empty(client, path):
    r = client.get(path)
    assert (r.status, r.body) == (200, b"")


def test_info_has_every_field_tei_client_needs(client):
    info = client.get("/info").json()
    for key in ("version", "sha", "docker_label", "model_id", "model_dtype", "model_type", "max_concurrent_requests",
                "max_input_length", "max_batch_tokens", "max_batch_requests", "max_client_batch_size",
                "tokenization_workers", "auto_truncate"):
        assert key in info
    assert "reranker" in info["model_type"]
    assert info["model_id"] == "BAAI/bge-reranker-base"
    assert (info["max_client_batch_size"], info["max_concurrent_requests"], info["auto_truncate"]) == (32, 512, True)


def _json_error(r, status: int, error_type: str, message: str | None = None) -> None:
    assert r.status == status
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error", "error_type"}
    assert body["error_type"] == error_type
    if message is not None:
        assert body["error"] == message
    for name in X_HEADERS:
        assert name not in r.headers


def test_empty_texts_is_400_empty(client):
    _json_error(client.post("/rerank", {"query": "q", "texts": []}), 400, "Empty", "`texts` cannot be empty")


def test_oversize_batch_is_422_validation(client):
    r = client.post("/rerank", {"query": "q", "texts": ["t"] * 33})
    _json_error(r, 422, "Validation", "batch size 33 > maximum allowed batch size 32")
    assert client.post("/rerank", {"query": "q", "texts": ["t"] * 32}).status == 200


def test_empty_query_and_text_is_400_empty(client):
    r = client.post("/rerank", {"query": "", "texts": ["a", ""]})
    _json_error(r, 400, "Empty", "Input validation error: `inputs` cannot be empty")


def _plain_error(r, status: int, prefix: str) -> None:
    assert r.status == status
    assert r.headers["content-type"].startswith("text/plain")
    assert r.body.decode().startswith(prefix), r.body


def test_wrong_content_type_is_415_plain_text(client):
    r = client.post("/rerank", body=b'{"query":"q","texts":["a"]}', headers={"Content-Type": "text/plain"})
    _plain_error(r, 415, "Expected request with `Content-Type: application/json`")
    r = client.post("/rerank", body=b'{"query":"q","texts":["a"]}')
    _plain_error(r, 415, "Expected request with `Content-Type: application/json`")


def test_json_content_type_with_charset_is_accepted(client):
    r = client.post("/rerank", body=b'{"query":"q","texts":["a"]}',
                    headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 200


def test_malformed_json_is_400_plain_text(client):
    r = client.post("/rerank", body=b'{"query": "q", "texts": [', headers={"Content-Type": "application/json"})
    _plain_error(r, 400, "Failed to parse the request body as JSON: ")


def test_missing_field_is_422_plain_text(client):
    r = client.post("/rerank", {"query": "q"})
    _plain_error(r, 422, "Failed to deserialize the JSON body into the target type: missing field `texts`")


@pytest.mark.parametrize("body, fragment", [
    ({"query": 1, "texts": ["a"]}, "query: invalid type: integer `1`, expected a string"),
    ({"query": "q", "texts": "a"}, 'texts: invalid type: string "a", expected a sequence'),
    ({"query": "q", "texts": ["a", 2]}, "texts[1]: invalid type: integer `2`, expected a string"),
    ({"query": "q", "texts": ["a"], "raw_scores": None}, "raw_scores: invalid type: null, expected a boolean"),
    ({"query": "q", "texts": ["a"], "truncation_direction": "up"}, "truncation_direction: unknown variant `up`"),
    ([1, 2], "invalid type: sequence, expected struct RerankRequest"),
])
def test_wrong_types_are_422_plain_text(client, body, fragment):
    r = client.post("/rerank", body)
    _plain_error(r, 422, "Failed to deserialize the JSON body into the target type: ")
    assert fragment in r.body.decode()


@pytest.mark.parametrize("direction", ["Right", "Left", "right", "left"])
def test_truncation_directions_are_accepted(client, direction):
    r = client.post("/rerank", {"query": "q", "texts": ["a"], "truncation_direction": direction,
                                "truncate": None, "unknown": 1})
    assert r.status == 200


def test_long_pairs_follow_truncate_and_the_server_default(client):
    long_text = "word " * 1000  # ~1250 estimated tokens > 512
    r = client.post("/rerank", {"query": "q", "texts": [long_text]})
    assert r.status == 200  # auto-truncate is on by default
    assert int(r.headers["x-compute-tokens"]) == 512
    r = client.post("/rerank", {"query": "q", "texts": [long_text], "truncate": False})
    _json_error(r, 422, "Validation")
    assert r.json()["error"].startswith("Input validation error: `inputs` must have less than 512 tokens. Given: ")


def test_no_auto_truncate_and_legacy_413(fresh_server):
    from server_http import Client

    srv = fresh_server("--zero-latency", "--no-auto-truncate", "--legacy-413", "--max-client-batch-size", "4")
    c = Client(srv.url)
    long_text = "word " * 1000
    r = c.post("/rerank", {"query": "q", "texts": [long_text]})
    _json_error(r, 422, "Validation")
    assert c.post("/rerank", {"query": "q", "texts": [long_text], "truncate": True}).status == 200
    r = c.post("/rerank", {"query": "q", "texts": ["a"] * 5})
    _json_error(r, 413, "Validation", "batch size 5 > maximum allowed batch size 4")
    r = c.post("/rerank", {"query": "q", "texts": ["x" * 130_000]})
    _json_error(r, 422, "Validation")
    assert "characters. Given: 130001" in r.json()["error"]
    info = c.get("/info").json()
    assert info["auto_truncate"] is False and info["max_client_batch_size"] == 4
    c.close()


LONG = "word " * 1000  # ~1250 estimated tokens > 512


@pytest.mark.parametrize("query, texts, status", [
    ("q", [LONG], 422),  # the only pair got a permit, then fails its length check
    ("q", [LONG, "a"], 422),  # pair 0's error comes first in text order
    ("q", ["a", LONG], 429),  # pair 1 got no permit: refused before its length is looked at
    ("", ["", "a"], 400),
    ("", ["a", ""], 429),  # same for the empty-input check
])
def test_permit_check_comes_before_the_per_pair_checks(fresh_server, query, texts, status):
    from server_http import Client

    # One permit: with zero latency nothing stays in flight, so each request gets exactly one.
    srv = fresh_server("--zero-latency", "--no-auto-truncate", "--max-concurrent-requests", "1")
    c = Client(srv.url)
    r = c.post("/rerank", {"query": query, "texts": texts})
    c.close()
    error_type = {400: "Empty", 422: "Validation", 429: "Overloaded"}[status]
    _json_error(r, status, error_type)
    reason = "overloaded" if status == 429 else "validation"
    assert srv.metric("te_request_failure", err=reason) == 1


def test_exhausted_permits_turn_an_invalid_request_into_429(fresh_server):
    import threading
    import time

    from server_http import Client

    from rankperf_data.server.testing import wait_until

    srv = fresh_server("--fixed-latency-ms", "300", "--no-auto-truncate", "--max-concurrent-requests", "3")
    holder = threading.Thread(target=lambda: Client(srv.url).post("/rerank", {"query": "q", "texts": ["a"] * 3}))
    holder.start()
    assert wait_until(lambda: srv.metric("rankperf_pairs_in_flight") == 3)
    c = Client(srv.url)
    t0 = time.perf_counter()
    _json_error(c.post("/rerank", {"query": "q", "texts": [LONG]}), 429, "Overloaded")
    assert time.perf_counter() - t0 < 0.25  # refused at once, not after the holder's 300 ms
    holder.join(5)
    # With permits, the pair's own check fails; TEI still waits for the other admitted pairs to be
    # computed (one future per pair, all joined) before it answers with the first error.
    t0 = time.perf_counter()
    r = c.post("/rerank", {"query": "q", "texts": ["a", LONG, "b"]})
    elapsed = time.perf_counter() - t0
    _json_error(r, 422, "Validation")
    assert 0.29 < elapsed < 1.0
    t0 = time.perf_counter()
    assert c.post("/rerank", {"query": "q", "texts": [LONG]}).status == 422
    assert time.perf_counter() - t0 < 0.25  # no other pair to wait for: at once
    c.close()
    assert srv.metric("rankperf_pairs_in_flight") == 0  # the invalid pairs' permits were given back
