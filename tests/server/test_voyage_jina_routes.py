"""Voyage and Jina on the reference server: their own /v1/rerank, under a prefix in --api all, answers
the client's validators accept, and each API's error shape."""

from __future__ import annotations

import pytest
from server_http import Client

from rankperf_data.apis import jina, voyage
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.server.testing import start_server

QUERY = "capital of france"
DOCS = ["Berlin is the capital of Germany.", "Paris is the capital of France.", "Bananas are yellow."]
REQ = RankingRequest(index=0, query=QUERY, passages=tuple(DOCS))


@pytest.fixture(scope="module")
def own_routes(server_env):
    """One server per API, each on its real route /v1/rerank."""
    with start_server(["--api", "voyage", "--zero-latency"], env=server_env) as v, \
            start_server(["--api", "jina", "--zero-latency"], env=server_env) as j:
        clients = {"voyage": Client(v.url), "jina": Client(j.url)}
        yield clients
        for c in clients.values():
            c.close()


@pytest.mark.parametrize(("api", "path"), [(voyage, "/voyage/v1/rerank"), (jina, "/jina/v1/rerank")])
@pytest.mark.parametrize("top_n", [0, 2])
def test_all_serves_both_under_a_prefix_and_the_client_accepts_the_answer(client, api, path, top_n):
    r = client.request("POST", path, body=api.encode(REQ, "m", None, top_n), headers={"Content-Type": "application/json"})
    assert r.status == 200, r.body
    verdict = api.validate(r.status, r.body, REQ, top_n or None)
    assert verdict.ok, verdict
    assert verdict.results == (top_n or 3) and verdict.order[0] == 1  # Paris first


def test_all_keeps_v1_rerank_for_cohere(client):
    body = client.post("/v1/rerank", {"query": QUERY, "documents": DOCS}).json()
    assert body["meta"]["api_version"]["version"] == "1"


def test_voyage_answer_shape(own_routes):
    c = own_routes["voyage"]
    r = c.post("/v1/rerank", {"model": "rerank-2.5", "query": QUERY, "documents": DOCS, "top_k": 2})
    body = r.json()
    assert set(body) == {"object", "data", "model", "usage"} and body["object"] == "list"
    assert body["model"] == "rerank-2.5" and body["usage"]["total_tokens"] > 0
    assert [d["index"] for d in body["data"]] == [1, 0] and all(set(d) == {"index", "relevance_score"}
                                                               for d in body["data"])
    docs = c.post("/v1/rerank", {"model": "m", "query": QUERY, "documents": DOCS, "return_documents": True}).json()
    assert docs["data"][0]["document"] == DOCS[1]  # a plain string, as Voyage returns it


def test_jina_answer_shape_and_return_documents_default(own_routes):
    c = own_routes["jina"]
    body = c.post("/v1/rerank", {"model": "j", "query": QUERY, "documents": DOCS, "top_n": 1,
                                 "return_documents": False}).json()
    assert set(body) == {"model", "usage", "results"} and body["results"] == [
        {"index": 1, "relevance_score": body["results"][0]["relevance_score"]}]
    # absent: the documented default (true), which is why rankperf always sends it
    body = c.post("/v1/rerank", {"model": "j", "query": QUERY, "documents": [{"text": DOCS[0]}, DOCS[1]]}).json()
    assert [r["document"] for r in body["results"]] == [{"text": DOCS[1]}, {"text": DOCS[0]}]


@pytest.mark.parametrize(("api", "body", "status", "needle"), [
    ("voyage", {"query": QUERY, "documents": DOCS}, 400, "model is required"),
    ("voyage", {"model": "m", "query": QUERY, "documents": [{"text": "x"}]}, 400, "list of strings"),
    ("voyage", {"model": "m", "query": QUERY, "documents": DOCS, "top_k": 0}, 400, "top_k"),
    ("voyage", {"model": "m", "query": QUERY, "documents": ["d"] * 1001}, 400, "at most 1000"),
    ("voyage", {"model": "m", "query": QUERY, "documents": DOCS, "truncation": "no"}, 400, "truncation"),
    ("jina", {"model": "m", "query": QUERY}, 422, "documents is required"),
    ("jina", {"model": "m", "query": QUERY, "documents": DOCS, "return_documents": "no"}, 422, "return_documents"),
    ("jina", {"model": "m", "query": QUERY, "documents": [3]}, 422, "strings or objects"),
])
def test_bad_requests_get_each_apis_error_shape(own_routes, api, body, status, needle):
    r = own_routes[api].post("/v1/rerank", body)
    assert r.status == status, r.body
    assert set(r.json()) == {"detail"} and needle in r.json()["detail"]


def test_voyage_without_truncation_refuses_an_over_long_pair(own_routes):
    long_doc = "word " * 2000
    r = own_routes["voyage"].post("/v1/rerank", {"model": "m", "query": QUERY, "documents": [long_doc],
                                                 "truncation": False})
    assert r.status == 400 and "truncation" in r.json()["detail"]
    ok = own_routes["voyage"].post("/v1/rerank", {"model": "m", "query": QUERY, "documents": [long_doc]})
    assert ok.status == 200
