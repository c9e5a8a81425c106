"""NIM /v1/ranking and its side routes on the reference server, plus routing (404/405)."""

from __future__ import annotations

import pytest
from server_http import Client

QUERY = {"text": "which way should i go"}
PASSAGES = [{"text": "bananas are yellow"}, {"text": "which way should i go? take the road less travelled"},
            {"text": "two roads diverged in a yellow wood"}]


def test_ranking_returns_raw_logits_sorted(client):
    r = client.post("/v1/ranking", {"model": "nvidia/nv-rerankqa-mistral-4b-v3", "query": QUERY,
                                    "passages": PASSAGES, "truncate": "END"})
    assert r.status == 200
    body = r.json()
    rankings = body["rankings"]
    assert [set(x) for x in rankings] == [{"index", "logit"}] * 3
    logits = [x["logit"] for x in rankings]
    assert logits == sorted(logits, reverse=True)
    assert rankings[0]["index"] == 1
    assert min(logits) < 0  # raw logits, not probabilities
    assert body["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("body, loc", [
    ({"query": QUERY, "passages": PASSAGES}, ["body", "model"]),
    ({"model": "m", "query": "plain string", "passages": PASSAGES}, ["body", "query"]),
    ({"model": "m", "query": QUERY, "passages": [{"txt": "x"}]}, ["body", "passages", 0, "text"]),
    ({"model": "m", "query": QUERY, "passages": []}, ["body", "passages"]),
    ({"model": "m", "query": QUERY, "passages": PASSAGES, "truncate": "START"}, ["body", "truncate"]),
])
def test_invalid_requests_are_422_with_detail(client, body, loc):
    r = client.post("/v1/ranking", body)
    assert r.status == 422
    detail = r.json()["detail"]
    assert detail[0]["loc"] == loc


def test_truncate_none_refuses_long_passages(client):
    body = {"model": "m", "query": QUERY, "passages": [{"text": "word " * 1000}], "truncate": "NONE"}
    r = client.post("/v1/ranking", body)
    assert r.status == 400
    assert "exceeds maximum allowed token size 512" in r.json()["detail"]
    body["truncate"] = "END"
    assert client.post("/v1/ranking", body).status == 200


def test_models_and_health(client):
    assert client.get("/v1/models").json()["data"][0]["id"] == "BAAI/bge-reranker-base"
    ready = client.get("/v1/health/ready")
    assert ready.status == 200 and ready.json()["status"] == "ready"
    assert client.get("/v1/health/live").json()["object"] == "health.response"


def test_unknown_route_404_and_wrong_method_405(client):
    assert client.get("/nope").status == 404
    assert client.post("/v1/rankings", {}).status == 404
    r = client.get("/rerank")
    assert r.status == 405 and r.headers["allow"] == "POST"
    assert client.request("DELETE", "/").status == 405
    assert client.post("/metrics", {}).status == 405


def test_api_nim_serves_only_nim(fresh_server):
    srv = fresh_server("--zero-latency", "--api", "nim", "--model-id", "nvidia/llama-3.2-nv-rerankqa-1b-v2")
    c = Client(srv.url)
    assert c.post("/v1/ranking", {"model": "m", "query": QUERY, "passages": PASSAGES}).status == 200
    assert c.post("/rerank", {"query": "q", "texts": ["a"]}).status == 404
    assert c.post("/v1/rerank", {"query": "q", "documents": ["a"]}).status == 404
    assert c.get("/v1/models").json()["data"][0]["id"] == "nvidia/llama-3.2-nv-rerankqa-1b-v2"
    assert c.get("/metrics").status == 200
    c.close()
    assert "api=nim" in srv.output()[0]


@pytest.mark.parametrize("body, content_type, kind", [
    (b'{"model": "m", "query": {"text": "q"}, "passages": [', "application/json", "json_invalid"),
    (b'{"model": "m", "query": {"text": "q"}, "passages": [{"text": "a"}]}', "text/plain", "model_attributes_type"),
])
def test_malformed_json_or_wrong_content_type_are_422(client, body, content_type, kind):
    r = client.post("/v1/ranking", body=body, headers={"Content-Type": content_type})
    assert r.status == 422 and r.headers["content-type"] == "application/json"
    detail = r.json()["detail"]
    assert detail[0]["type"] == kind and detail[0]["loc"] == ["body"]


def test_overload_is_429_with_detail(fresh_server):
    srv = fresh_server("--zero-latency", "--max-concurrent-requests", "2")
    c = Client(srv.url)
    three = c.post("/v1/ranking", {"model": "m", "query": QUERY, "passages": PASSAGES})
    assert three.status == 429 and three.json() == {"detail": "Too many requests: model is overloaded"}
    assert c.post("/v1/ranking", {"model": "m", "query": QUERY, "passages": PASSAGES[:2]}).status == 200
    c.close()
    assert srv.metric("rankperf_responses_total", route="/v1/ranking", status=429) == 1
    assert srv.metric("te_request_failure", err="overloaded") == 1


def test_body_over_the_payload_limit_is_413_before_it_is_read(fresh_server):
    srv = fresh_server("--zero-latency", "--payload-limit", "1000")
    c = Client(srv.url)
    big = {"model": "m", "query": QUERY, "passages": [{"text": "x" * 1000}]}
    r = c.post("/v1/ranking", big)
    assert r.status == 413 and r.json() == {"detail": "Request body too large"}
    # the body was skipped, not parsed as the next request: the connection still works
    assert c.post("/v1/ranking", {"model": "m", "query": QUERY, "passages": PASSAGES[:1]}).status == 200
    c.close()
