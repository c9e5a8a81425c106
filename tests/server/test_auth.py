"""Bearer auth on the reference server: per-API 401 shapes, public routes, and the key never printed."""

from __future__ import annotations

import pytest
from server_http import Client

KEY = "s3cret-key-7f1c9a"
TEI = ("/rerank", {"query": "q", "texts": ["a"]})
COHERE = ("/v2/rerank", {"model": "m", "query": "q", "documents": ["a"]})
NIM = ("/v1/ranking", {"model": "m", "query": {"text": "q"}, "passages": [{"text": "a"}]})


@pytest.fixture(scope="module")
def auth_server(server_env):
    from rankperf_data.server.testing import start_server

    with start_server(["--zero-latency", "--log-level", "debug"],
                      env={**server_env, "RANKPERF_SERVER_API_KEY": KEY}) as srv:
        yield srv


@pytest.fixture
def c(auth_server):
    client = Client(auth_server.url)
    yield client
    client.close()


GOOD = {"Authorization": f"Bearer {KEY}"}


@pytest.mark.parametrize("path, body", [TEI, COHERE, NIM])
def test_right_key_is_served(c, path, body):
    assert c.post(path, body, headers=GOOD).status == 200


def test_tei_401_has_an_empty_body(c):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": KEY}, {"Authorization": f"bearer {KEY}"}):
        r = c.post(*TEI, headers=headers)
        assert (r.status, r.body) == (401, b"")


def test_cohere_401_messages(c):
    r = c.post(*COHERE)
    assert (r.status, r.json()) == (401, {"message": "no api key supplied"})
    r = c.post(*COHERE, headers={"Authorization": "Bearer nope"})
    assert (r.status, r.json()) == (401, {"message": "invalid api token"})


def test_nim_401(c):
    r = c.post(*NIM, headers={"Authorization": "Bearer nope"})
    assert r.status == 401 and "detail" in r.json()


def test_info_and_models_need_the_key_health_and_metrics_do_not(c):
    assert c.get("/info").status == 401
    assert c.get("/info", headers=GOOD).status == 200
    assert c.get("/v1/models").status == 401
    for path in ("/health", "/ping", "/", "/metrics", "/v1/health/ready"):
        assert c.get(path).status == 200, path


def test_auth_is_checked_before_the_body_is_parsed(c):
    assert c.post("/rerank", body=b"garbage", headers={"Content-Type": "application/json"}).status == 401


def test_key_from_the_command_line_works_too(fresh_server):
    srv = fresh_server("--zero-latency", "--api-key", "cli-key-42")
    c = Client(srv.url)
    assert c.post(*TEI).status == 401
    assert c.post(*TEI, headers={"Authorization": "Bearer cli-key-42"}).status == 200
    c.close()
    out, err = srv.output()
    assert "cli-key-42" not in out + err


def test_without_a_key_nothing_is_guarded(client):
    assert client.post(*TEI).status == 200
    assert client.post(*TEI, headers={"Authorization": "Bearer whatever"}).status == 200
    assert client.get("/info").status == 200


def test_the_key_never_reaches_stdout_or_stderr(auth_server, c):
    c.post(*TEI, headers=GOOD)
    c.post(*TEI, headers={"Authorization": "Bearer wrong"})
    c.get("/metrics")
    assert KEY not in c.get("/metrics").body.decode()
    auth_server.stop()
    out, err = auth_server.output()
    assert "auth on" in err  # the debug log ran, and still no key
    assert KEY not in out and KEY not in err
