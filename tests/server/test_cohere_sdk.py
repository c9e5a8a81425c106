"""The official `cohere` SDK against the reference server: v1 and v2 rerank, 401 as UnauthorizedError, and
max_retries=0 really sending one request per call (503 and 429 are retried by default)."""

from __future__ import annotations

import pytest

cohere = pytest.importorskip("cohere")

QUERY = "capital of france"
DOCS = ["Berlin is the capital of Germany.", "Paris is the capital of France.", "Bananas are yellow."]



def _sdk_clients(url: str, key: str):
    try:
        return (cohere.Client(base_url=url, api_key=key, max_retries=0),
                cohere.ClientV2(base_url=url, api_key=key, max_retries=0), None)
    except TypeError:  # 5.x: no constructor argument; per request instead
        return cohere.Client(base_url=url, api_key=key), cohere.ClientV2(base_url=url, api_key=key), \
            {"max_retries": 0}


def test_cohere_sdk_v1_and_v2_rerank(fresh_server, server_env):
    srv = fresh_server("--zero-latency", env={**server_env, "RANKPERF_SERVER_API_KEY": "sdk-key-123"})
    v1, v2, options = _sdk_clients(srv.url, "sdk-key-123")
    kw = {"request_options": options} if options else {}
    res1 = v1.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS, top_n=2, return_documents=True, **kw)
    assert [r.index for r in res1.results][0] == 1 and len(res1.results) == 2
    assert res1.results[0].document.text == DOCS[1]
    res2 = v2.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS, **kw)
    assert [r.index for r in res2.results][0] == 1 and len(res2.results) == 3
    assert res2.meta.api_version.version == "2"
    assert all(0 <= r.relevance_score <= 1 for r in res2.results)

    bad1, bad2, options = _sdk_clients(srv.url, "wrong-key")
    kw = {"request_options": options} if options else {}
    with pytest.raises(cohere.errors.UnauthorizedError):
        bad2.rerank(model="m", query=QUERY, documents=DOCS, **kw)
    with pytest.raises(cohere.errors.UnauthorizedError):
        bad1.rerank(model="m", query=QUERY, documents=DOCS, **kw)
    # retries really are off: one request per failed call
    assert srv.metric("rankperf_responses_total", route="/v2/rerank", status=401) == 1


@pytest.mark.parametrize("status, error", [(503, "ServiceUnavailableError"), (429, "TooManyRequestsError")])
def test_cohere_sdk_with_max_retries_0_sends_each_call_once(fresh_server, status, error):
    # The SDK retries 429 and 5xx twice by default (429 after our Retry-After: 1): a load tester that
    # left retries on would count one failure for three requests.
    srv = fresh_server("--zero-latency", "--fault", f"{status}:1")
    v1 = cohere.Client(base_url=srv.url, api_key="k", max_retries=0)
    v2 = cohere.ClientV2(base_url=srv.url, api_key="k", max_retries=0)
    expected = getattr(cohere.errors, error)
    calls = (("/v1/rerank", lambda: v1.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS)),
             ("/v2/rerank", lambda: v2.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS)))
    for route, call in calls:
        for n in (1, 2):
            with pytest.raises(expected) as caught:
                call()
            assert caught.value.status_code == status
            assert srv.metric("rankperf_requests_received_total", route=route) == n
            assert srv.metric("rankperf_faults_injected_total", kind=str(status), route=route) == n
