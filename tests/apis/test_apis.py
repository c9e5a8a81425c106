"""The API modules: bodies on the wire and every validation verdict."""

import math

import orjson
import pytest

from rankperf_data import apis
from rankperf_data.apis import cohere, nim, tei
from rankperf_data.apis._validate import check_rankings
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.results.outcomes import ErrorKind, error_label

REQ = RankingRequest(index=0, query="what is ai", passages=("ai is artificial intelligence", "bananas", "x"))


def test_bodies_match_each_api_shape():
    assert orjson.loads(tei.encode(REQ, "m", None)) == {"query": "what is ai", "texts": list(REQ.passages)}
    assert orjson.loads(cohere.encode(REQ, "m", None)) == {"model": "m", "query": "what is ai",
                                                           "documents": list(REQ.passages)}
    assert orjson.loads(cohere.encode(REQ, "m", None, top_n=2))["top_n"] == 2
    assert orjson.loads(nim.encode(REQ, "m", None)) == {
        "model": "m", "query": {"text": "what is ai"}, "passages": [{"text": p} for p in REQ.passages]}


def test_extra_inputs_merge_top_level_and_line_extra_wins():
    req = RankingRequest(index=1, query="q", passages=("a",), extra={"truncate": False})
    body = orjson.loads(tei.encode(req, "m", {"truncate": True, "raw_scores": True}))
    assert body["truncate"] is False and body["raw_scores"] is True


def test_lookup_tables():
    assert apis.BY_ENDPOINT_TYPE["cohere_rankings"] is cohere
    assert apis.BY_USER_CLASS["NimRankingUser"] is nim


def tei_body(items):
    return orjson.dumps(items)


@pytest.mark.parametrize(
    ("status", "body", "kind", "needle"),
    [
        (200, tei_body([{"index": 1, "score": 0.9}, {"index": 0, "score": 0.5}, {"index": 2, "score": 0.1}]),
         ErrorKind.OK, ""),
        (500, b'{"error":"boom"}', ErrorKind.HTTP, "boom"),
        (429, b"", ErrorKind.HTTP, "HTTP 429"),
        (200, b"<html>", ErrorKind.INVALID_RESPONSE, "not JSON"),
        (200, b'{"results": []}', ErrorKind.INVALID_RESPONSE, "expected a list"),
        (200, tei_body([{"index": 1, "score": 0.9}, {"index": 0, "score": 0.5}]), ErrorKind.VALIDATION,
         "expected 3 results, got 2"),
        (200, tei_body([{"index": 1, "score": 0.9}, {"index": 1, "score": 0.5}, {"index": 2, "score": 0.1}]),
         ErrorKind.VALIDATION, "duplicate index 1"),
        (200, tei_body([{"index": 7, "score": 0.9}, {"index": 0, "score": 0.5}, {"index": 2, "score": 0.1}]),
         ErrorKind.VALIDATION, "index 7 out of range"),
        (200, tei_body([{"index": 1, "score": 0.1}, {"index": 0, "score": 0.5}, {"index": 2, "score": 0.0}]),
         ErrorKind.VALIDATION, "not sorted"),
        (200, tei_body([{"index": 1, "score": "high"}]), ErrorKind.INVALID_RESPONSE, "numeric 'score'"),
        (200, b'[{"index":0,"score":NaN}]', ErrorKind.VALIDATION, "non-finite score at result 0"),
        (200, b'[{"index":1,"score":0.9},{"index":0,"score":-Infinity},{"index":2,"score":0.1}]',
         ErrorKind.VALIDATION, "non-finite score at result 1"),
        (200, b'[{"index":0,"score":NaN', ErrorKind.INVALID_RESPONSE, "not JSON"),
    ],
)
def test_tei_validation(status, body, kind, needle):
    verdict = tei.validate(status, body, REQ)
    assert verdict.kind == kind
    assert needle in verdict.message
    if kind == ErrorKind.OK:
        assert verdict.results == 3


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"1e999"])
def test_non_finite_score_is_a_validation_error(literal):
    # orjson refuses NaN/Infinity literals and numbers that overflow a double; the stdlib decoder
    # reads them, so the answer reaches the finite-score check instead of counting as "not JSON"
    body = b'[{"index":0,"score":%s},{"index":1,"score":0.5},{"index":2,"score":0.1}]' % literal
    verdict = tei.validate(200, body, REQ)
    assert verdict.kind == ErrorKind.VALIDATION
    assert verdict.message.startswith("non-finite score at result 0")
    cohere_body = b'{"results":[{"index":0,"relevance_score":0.9},{"index":1,"relevance_score":%s}]}' % literal
    assert "non-finite score at result 1" in cohere.validate(200, cohere_body, REQ, top_n=2).message
    nim_body = b'{"rankings":[{"index":2,"logit":%s},{"index":1,"logit":0.5},{"index":0,"logit":0.1}]}' % literal
    assert nim.validate(200, nim_body, REQ).kind == ErrorKind.VALIDATION


def test_non_finite_score_from_any_decoder_is_an_error():
    items = [{"index": 0, "score": math.inf}, {"index": 1, "score": 0.5}, {"index": 2, "score": 0.1}]
    verdict = check_rankings(items, "index", "score", 3, 3)
    assert verdict.kind == ErrorKind.VALIDATION and "non-finite" in verdict.message


def test_not_json_keeps_the_strict_decoder_message():
    verdict = tei.validate(200, b"<html>oops</html>", REQ)
    assert verdict.kind == ErrorKind.INVALID_RESPONSE
    assert verdict.message.startswith("response is not JSON (") and "<html>oops</html>" in verdict.message


def test_cohere_top_n_and_shape():
    results = [{"index": 2, "relevance_score": 0.8}, {"index": 0, "relevance_score": 0.3}]
    body = orjson.dumps({"id": "x", "results": results})
    assert cohere.validate(200, body, REQ, top_n=2).ok
    assert cohere.validate(200, body, REQ).kind == ErrorKind.VALIDATION  # all 3 expected without top_n
    assert cohere.validate(200, b"[]", REQ).kind == ErrorKind.INVALID_RESPONSE


def test_nim_logits_may_be_negative():
    body = orjson.dumps({"rankings": [{"index": 0, "logit": 2.5}, {"index": 2, "logit": -1.0},
                                      {"index": 1, "logit": -7.25}]})
    assert nim.validate(200, body, REQ).ok
    assert nim.validate(200, b'{"results": []}', REQ).kind == ErrorKind.INVALID_RESPONSE


def test_error_labels_are_stable():
    assert error_label(ErrorKind.HTTP, 503) == "503"
    assert error_label(ErrorKind.TIMEOUT, 0) == "timeout"
    assert error_label(ErrorKind.VALIDATION, 200) == "validation"
    assert error_label(ErrorKind.INVALID_RESPONSE, 200) == "invalid_response"
