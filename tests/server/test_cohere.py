"""Cohere v1/v2 (and vLLM's Cohere-style /rerank) on the reference server, raw and through the official SDK."""

from __future__ import annotations

import uuid

import pytest
from server_http import Client

QUERY = "capital of france"
DOCS = ["Berlin is the capital of Germany.", "Paris is the capital of France.", "Bananas are yellow."]


def _check_response(body: dict, version: str, n: int) -> list[dict]:
    uuid.UUID(body["id"])
    assert body["meta"]["api_version"]["version"] == version
    assert body["meta"]["billed_units"]["search_units"] == 1
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0
    results = body["results"]
    assert len(results) == n
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    return results


@pytest.mark.parametrize("path, version", [("/v1/rerank", "1"), ("/v2/rerank", "2")])
def test_rerank_shape_and_order(client, path, version):
    r = client.post(path, {"model": "rerank-v3.5", "query": QUERY, "documents": DOCS})
    assert r.status == 200
    results = _check_response(r.json(), version, 3)
    assert results[0]["index"] == 1
    assert sorted(x["index"] for x in results) == [0, 1, 2]
    assert all("document" not in x for x in results)


@pytest.mark.parametrize("top_n, expected", [(None, 3), (0, 3), (1, 1), (2, 2), (10, 3)])
def test_top_n_zero_or_absent_means_all(client, top_n, expected):
    body = {"model": "m", "query": QUERY, "documents": DOCS}
    if top_n is not None:
        body["top_n"] = top_n
    results = client.post("/v2/rerank", body).json()["results"]
    assert len(results) == expected
    assert results[0]["index"] == 1


def test_return_documents_and_object_documents_on_v1(client):
    docs = [{"text": DOCS[0], "id": "a"}, DOCS[1]]
    r = client.post("/v1/rerank", {"query": QUERY, "documents": docs, "return_documents": True})
    assert r.status == 200
    results = r.json()["results"]
    by_index = {x["index"]: x["document"] for x in results}
    assert by_index[0] == {"text": DOCS[0], "id": "a"}
    assert by_index[1] == {"text": DOCS[1]}


def test_v1_rank_fields_pick_the_text(client):
    docs = [{"title": "Paris", "body": "capital of france"}, {"title": "Bananas", "body": "yellow fruit"}]
    results = client.post("/v1/rerank", {"query": QUERY, "documents": docs, "rank_fields": ["title", "body"]}).json()
    assert results["results"][0]["index"] == 0


def test_max_tokens_per_doc_and_explicit_nulls_are_accepted(client):
    r = client.post("/v2/rerank", {"model": "m", "query": QUERY, "documents": DOCS, "max_tokens_per_doc": 4,
                                   "top_n": None})
    assert r.status == 200
    r = client.post("/v2/rerank", {"model": "m", "query": QUERY, "documents": DOCS, "max_tokens_per_doc": None})
    assert r.status == 200


def _error(r, status: int, message: str | None = None) -> str:
    assert r.status == status, r.body
    body = r.json()
    assert set(body) == {"message"}
    if message is not None:
        assert body["message"] == message
    return body["message"]


@pytest.mark.parametrize("path", ["/v1/rerank", "/v2/rerank"])
def test_empty_query_or_documents_are_400(client, path):
    _error(client.post(path, {"model": "m", "query": "  ", "documents": DOCS}), 400,
           "invalid request: query must not be empty or be only whitespace")
    _error(client.post(path, {"model": "m", "query": QUERY, "documents": []}), 400,
           "invalid request: list of documents must not be empty")


@pytest.mark.parametrize("path, body", [
    ("/v2/rerank", {"query": QUERY, "documents": DOCS}),  # model required on v2
    ("/v2/rerank", {"model": "m", "query": QUERY, "documents": [{"text": "x"}]}),  # v2: strings only
    ("/v1/rerank", {"query": 5, "documents": DOCS}),
    ("/v1/rerank", {"query": QUERY, "documents": "one"}),
    ("/v1/rerank", {"query": QUERY, "documents": DOCS, "top_n": "2"}),
    ("/v1/rerank", {"query": QUERY, "documents": [{"no_text": 1}]}),
    ("/v1/rerank", {"documents": DOCS}),
])
def test_wrong_types_or_missing_fields_are_422(client, path, body):
    assert _error(client.post(path, body), 422).startswith("invalid request: ")


def test_bad_json_and_content_type_are_400(client):
    _error(client.post("/v1/rerank", body=b"{nope", headers={"Content-Type": "application/json"}), 400)
    _error(client.post("/v1/rerank", body=b"{}", headers={"Content-Type": "text/plain"}), 400)
    _error(client.post("/v1/rerank", {"query": QUERY, "documents": DOCS, "top_n": -1}), 400)


def test_api_cohere_serves_vllm_style_rerank_path(fresh_server):
    srv = fresh_server("--zero-latency", "--api", "cohere")
    c = Client(srv.url)
    r = c.post("/rerank", {"query": QUERY, "documents": DOCS, "top_n": 0})
    assert r.status == 200
    results = _check_response(r.json(), "1", 3)
    assert all(x["document"]["text"] == DOCS[x["index"]] for x in results)  # vLLM always returns them
    assert c.post("/v2/rerank", {"model": "m", "query": QUERY, "documents": DOCS}).status == 200
    assert c.post("/v1/ranking", {}).status == 404
    assert c.get("/info").status == 404
    assert c.get("/health").status == 200
    assert c.get("/v1/models").json()["data"][0]["id"] == "BAAI/bge-reranker-base"
    c.close()


def test_overload_is_429_with_retry_after(fresh_server):
    srv = fresh_server("--zero-latency", "--max-concurrent-requests", "2")
    c = Client(srv.url)
    r = c.post("/v2/rerank", {"model": "m", "query": QUERY, "documents": DOCS})
    _error(r, 429)
    assert r.headers["retry-after"] == "1"
    assert c.post("/v2/rerank", {"model": "m", "query": QUERY, "documents": DOCS[:2]}).status == 200
    c.close()


@pytest.mark.parametrize("path, body, status, message", [
    ("/v2/rerank", {"model": "m", "query": QUERY, "documents": DOCS, "max_tokens_per_doc": -1}, 400,
     "invalid request: max_tokens_per_doc must be a non-negative integer"),
    ("/v1/rerank", {"query": QUERY, "documents": [{"title": "Paris"}], "rank_fields": "title"}, 422,
     "invalid request: rank_fields must be a list of strings"),
    ("/v1/rerank", {"query": QUERY, "documents": [{"title": "Paris"}], "rank_fields": ["title", 3]}, 422,
     "invalid request: rank_fields must be a list of strings"),
])
def test_bad_option_values(client, path, body, status, message):
    _error(client.post(path, body), status, message)


@pytest.mark.parametrize("path", ["/v1/rerank", "/v2/rerank"])
def test_over_long_pair_is_400_without_auto_truncate(fresh_server, path):
    srv = fresh_server("--zero-latency", "--no-auto-truncate")
    c = Client(srv.url)
    long_doc = "word " * 1000  # 1,250 tokens + 8 for the query and specials: over 512
    message = _error(c.post(path, {"model": "m", "query": QUERY, "documents": [DOCS[0], long_doc]}), 400)
    assert message.startswith("invalid request: This model's maximum context length is 512 tokens. "
                              "However, your prompt contains 1258 input tokens.")
    # max_tokens_per_doc truncates the document itself, so the pair fits
    r = c.post(path, {"model": "m", "query": QUERY, "documents": [long_doc], "max_tokens_per_doc": 100})
    assert r.status == 200
    c.close()
