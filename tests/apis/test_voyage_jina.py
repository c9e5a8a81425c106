"""Voyage and Jina: their bodies (top_k / top_n, return_documents) and every verdict on their answers."""

import orjson
import pytest

from rankperf_data.apis import cohere, jina, voyage
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.results.outcomes import ErrorKind

REQ = RankingRequest(index=0, query="rotate TLS certificates", passages=("certbot", "pasta", "key rotation"))


def test_voyage_body_sends_top_k_only_when_asked():
    assert orjson.loads(voyage.encode(REQ, "rerank-2.5", None)) == {
        "model": "rerank-2.5", "query": REQ.query, "documents": list(REQ.passages)}
    body = orjson.loads(voyage.encode(REQ, "rerank-2.5", None, top_n=2))
    assert body["top_k"] == 2 and "top_n" not in body


def test_jina_body_always_says_return_documents_false():
    assert orjson.loads(jina.encode(REQ, "jina-reranker-v2", None)) == {
        "model": "jina-reranker-v2", "query": REQ.query, "documents": list(REQ.passages), "return_documents": False}
    body = orjson.loads(jina.encode(REQ, "jina-reranker-v2", None, top_n=2))
    assert body["top_n"] == 2 and body["return_documents"] is False


def test_extra_inputs_and_line_fields_override_the_defaults():
    req = RankingRequest(index=1, query="q", passages=("a",), extra={"truncation": False})
    body = orjson.loads(voyage.encode(req, "m", {"truncation": True, "return_documents": True}))
    assert body["truncation"] is False and body["return_documents"] is True
    assert orjson.loads(jina.encode(REQ, "m", {"return_documents": True}))["return_documents"] is True


def test_cohere_bodies_are_unchanged_by_the_new_apis():
    # the byte layout of Cohere's body is what existing runs were measured with
    assert cohere.encode(REQ, "m", None, top_n=2) == (
        b'{"model":"m","query":"rotate TLS certificates","documents":["certbot","pasta","key rotation"],"top_n":2}')


def ranked(key: str, items: list[tuple[int, float]], **extra) -> bytes:
    return orjson.dumps({**extra, key: [{"index": i, "relevance_score": s} for i, s in items]})


ALL = [(2, 0.9), (0, 0.5), (1, 0.1)]


@pytest.mark.parametrize(("api", "key"), [(voyage, "data"), (jina, "results")])
@pytest.mark.parametrize(("status", "body", "top_n", "kind", "needle"), [
    (200, "{ok}", None, ErrorKind.OK, ""),
    (200, "{top2}", 2, ErrorKind.OK, ""),
    (200, "{top2}", None, ErrorKind.VALIDATION, "expected 3 results, got 2"),
    (200, "{other}", None, ErrorKind.INVALID_RESPONSE, "expected an object with"),
    (200, b"[]", None, ErrorKind.INVALID_RESPONSE, "expected an object with"),
    (200, b"not json", None, ErrorKind.INVALID_RESPONSE, "not JSON"),
    (401, b'{"detail":"Provided API key is invalid."}', None, ErrorKind.HTTP, "Provided API key is invalid."),
    (429, b"", None, ErrorKind.HTTP, "HTTP 429"),
    (200, "{unsorted}", None, ErrorKind.VALIDATION, "not sorted by relevance_score"),
    (200, "{duplicate}", None, ErrorKind.VALIDATION, "duplicate index 0"),
])
def test_answers(api, key, status, body, top_n, kind, needle):
    other = "results" if key == "data" else "data"
    bodies = {"{ok}": ranked(key, ALL, model="m"), "{top2}": ranked(key, ALL[:2]),
              "{other}": ranked(other, ALL),  # the other API's list key is not this API's answer
              "{unsorted}": ranked(key, [(0, 0.1), (2, 0.9), (1, 0.5)]),
              "{duplicate}": ranked(key, [(0, 0.9), (0, 0.5), (1, 0.1)])}
    verdict = api.validate(status, bodies.get(body, body), REQ, top_n)
    assert verdict.kind == kind, verdict
    assert needle in verdict.message
    if kind == ErrorKind.OK:
        assert verdict.results == (top_n or 3) and verdict.order == tuple(i for i, _ in ALL[:verdict.results])


def test_voyage_errors_show_their_detail_and_other_bodies_stay_raw():
    detail = orjson.dumps({"detail": "Request to model 'rerank-2.5' failed. The max allowed tokens per query is 8000."})
    assert voyage.validate(400, detail, REQ).message == (
        "Request to model 'rerank-2.5' failed. The max allowed tokens per query is 8000.")
    assert voyage.validate(502, b"<html>bad gateway</html>", REQ).message == "<html>bad gateway</html>"
    assert voyage.validate(500, b'{"detail": ""}', REQ).message == '{"detail": ""}'
    assert voyage.validate(503, b"", REQ).message == "HTTP 503"
    # Jina documents no error schema: its body is kept as it came
    assert jina.validate(400, b'{"detail":"bad"}', REQ).message == '{"detail":"bad"}'
