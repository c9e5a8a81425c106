"""The official `cohere` SDK against the reference server: v1 and v2 rerank, and 401 as UnauthorizedError."""

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
