"""The reference server's `--api infinity`: infinity-emb 0.0.78's /rerank as seen on the real server.

The expected bodies below were read off a real Infinity 0.0.78 (torch, CPU); tests/real_server
checks the two side by side whenever that server can run.
"""

from __future__ import annotations

import pytest
from server_http import Client

QUERY = "capital of france"
DOCS = ["Berlin is the capital of Germany.", "Paris is the capital of France.", "Bananas are yellow."]


@pytest.fixture(scope="module")
def inf_server(server_env):
    from rankperf_data.server.testing import start_server

    with start_server(["--zero-latency", "--api", "infinity", "--model-id", "tiny"], env=server_env) as srv:
        yield srv


@pytest.fixture
def c(inf_server):
    client = Client(inf_server.url)
    yield client
    client.close()


def test_success_body_documents_null_unless_asked(c):
    r = c.post("/rerank", {"query": QUERY, "documents": DOCS})
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    data = r.json()
    assert sorted(data) == ["created", "id", "model", "object", "results", "usage"]
    assert data["object"] == "rerank" and data["id"].startswith("infinity-") and data["model"] == "tiny"
    assert [x["index"] for x in data["results"]][0] == 1
    assert all(set(x) == {"relevance_score", "index", "document"} and x["document"] is None for x in data["results"])
    assert "retry-after" not in r.headers
    docs = c.post("/rerank", {"query": QUERY, "documents": DOCS, "return_documents": True, "top_n": 2}).json()
    assert [x["document"] for x in docs["results"]] == [DOCS[x["index"]] for x in docs["results"]]  # plain strings
    assert len(docs["results"]) == 2


def test_raw_scores_are_logits_and_empty_query_is_served(c):
    raw = c.post("/rerank", {"query": QUERY, "documents": DOCS, "raw_scores": True}).json()["results"]
    assert min(x["relevance_score"] for x in raw) < 0  # a sigmoid would be in (0, 1)
    assert c.post("/rerank", {"query": "", "documents": ["a"]}).status == 200


@pytest.mark.parametrize("body, detail", [
    ({"query": "q", "documents": DOCS, "top_n": 0},
     [{"type": "greater_than", "loc": ["body", "top_n"], "msg": "Input should be greater than 0", "input": 0,
       "ctx": {"gt": 0}}]),
    ({"query": "q", "documents": []},
     [{"type": "too_short", "loc": ["body", "documents"],
       "msg": "List should have at least 1 item after validation, not 0", "input": [],
       "ctx": {"field_type": "List", "min_length": 1, "actual_length": 0}}]),
    ({"query": "q"}, [{"type": "missing", "loc": ["body", "documents"], "msg": "Field required",
                       "input": {"query": "q"}}]),
    ({"query": "q", "documents": [{"text": "a"}]},
     [{"type": "string_type", "loc": ["body", "documents", 0], "msg": "Input should be a valid string",
       "input": {"text": "a"}}]),
    ({"query": 5, "documents": ["a"]},
     [{"type": "string_type", "loc": ["body", "query"], "msg": "Input should be a valid string", "input": 5}]),
    ({"query": "q", "documents": ["a"], "top_n": "x"},
     [{"type": "int_parsing", "loc": ["body", "top_n"],
       "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "x"}]),
])
def test_validation_errors_are_fastapi_422(c, body, detail):
    r = c.post("/rerank", body)
    assert r.status == 422
    assert r.json() == {"detail": detail}


def test_bad_json_and_content_type_are_422_not_400(c):
    r = c.post("/rerank", body=b'{"query":', headers={"Content-Type": "application/json"})
    assert r.status == 422
    assert r.json() == {"detail": [{"type": "json_invalid", "loc": ["body", 9], "msg": "JSON decode error",
                                    "input": {}, "ctx": {"error": "Expecting value"}}]}
    for headers in ({"Content-Type": "text/plain"}, {}):
        r = c.post("/rerank", body=b'{"query":"q","documents":["a"]}', headers=headers)
        assert r.status == 422 and r.json()["detail"][0]["type"] == "model_attributes_type"


def test_limits_2048_documents_and_122880_query_chars(c):
    assert c.post("/rerank", {"query": "q", "documents": ["a"] * 2048}).status == 200
    r = c.post("/rerank", {"query": "q", "documents": ["a"] * 2049})
    assert r.status == 422 and r.json()["detail"][0]["type"] == "too_long"
    r = c.post("/rerank", {"query": "q" * 122_881, "documents": ["a"]})
    assert r.status == 422 and r.json()["detail"][0]["type"] == "string_too_long"
    assert c.post("/rerank", {"query": "q", "documents": ["word " * 3000]}).status == 200  # truncated, never refused


def test_health_models_and_http_requests_total(inf_server, c):
    assert set(c.get("/health").json()) == {"unix"}
    (model,) = c.get("/models").json()["data"]
    assert model["id"] == "tiny" and model["capabilities"] == ["rerank"]
    assert c.get("/info").status == 404 and c.post("/v2/rerank", {}).json() == {"detail": "Not Found"}
    r = c.get("/rerank")
    assert (r.status, r.headers["allow"], r.json()) == (405, "POST", {"detail": "Method Not Allowed"})
    before = inf_server.metrics()
    c.post("/rerank", {"query": "q", "documents": ["a"]})
    c.post("/rerank", {"query": "q", "documents": []})
    after = inf_server.metrics()
    for status, n in (("2xx", 1), ("4xx", 1)):
        key = f'http_requests_total{{handler="/rerank",method="POST",status="{status}"}}'
        assert after[key] - before.get(key, 0.0) == n


def test_overload_is_openai_style_429_without_retry_after(fresh_server):
    srv = fresh_server("--zero-latency", "--api", "infinity", "--model-id", "tiny", "--max-concurrent-requests", "2")
    c = Client(srv.url)
    r = c.post("/rerank", {"query": QUERY, "documents": DOCS})
    assert r.status == 429 and "retry-after" not in r.headers
    assert r.json() == {"error": {"message": "model tiny is currently overloaded", "type": None, "param": None,
                                  "code": 429}}
    c.close()


def test_bad_key_is_401_detail(fresh_server, server_env):
    srv = fresh_server("--zero-latency", "--api", "infinity", env={**server_env, "RANKPERF_SERVER_API_KEY": "k3y-1234"})
    c = Client(srv.url)
    r = c.post("/rerank", {"query": "q", "documents": ["a"]}, headers={"Authorization": "Bearer nope"})
    assert (r.status, r.json(), r.headers["www-authenticate"]) == (401, {"detail": "Unauthorized"}, "Bearer")
    ok = c.post("/rerank", {"query": "q", "documents": ["a"]}, headers={"Authorization": "Bearer k3y-1234"})
    assert ok.status == 200
    c.close()
