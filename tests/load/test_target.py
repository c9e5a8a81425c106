"""The target check (base URL + endpoint path): what is refused before any load, and what is not."""

from __future__ import annotations

import pytest

from rankperf_data import apis
from rankperf_data.dataset.errors import InputError
from rankperf_data.load.target import check_target, check_targets, endpoint_path


@pytest.mark.parametrize(("base", "path", "needle"), [
    ("htp://x", "/rerank", "unsupported scheme 'htp://'"),
    ("127.0.0.1:8000", "/rerank", "no scheme; write it as http://127.0.0.1:8000"),
    ("http://127.0.0.1:99999", "/rerank", "bad port (Port out of range 0-65535)"),
    ("http://127.0.0.1:abc", "/rerank", "bad port"),
    ("http://127.0.0.1:0", "/rerank", "port 0"),
    ("http://:8000", "/rerank", "no host name"),
    ("http://h:8000/rerank", "/rerank", "requests would go to /rerank/rerank"),
    ("http://h:8000/rerank/", "/rerank", "requests would go to /rerank/rerank"),
    ("http://h:8000/v1/rerank", "/v2/rerank", "ends with the API path /v1/rerank"),
    ("http://h:8000/gw/v1/ranking", "/rerank", "ends with the API path /v1/ranking"),
])
def test_refused_targets_name_the_problem(base, path, needle):
    with pytest.raises(InputError) as refused:
        check_target(base, path)
    assert needle in str(refused.value) and str(refused.value).startswith("--url ")


@pytest.mark.parametrize(("base", "path", "custom"), [
    ("http://127.0.0.1:8000", "/rerank", False),
    ("https://rerank.example:443", "/v2/rerank", False),
    ("http://[::1]:8000", "/v1/ranking", False),
    ("http://gateway:80/models/bge", "/rerank", False),  # a server mounted under a path of its own
    ("http://gateway:80/v1/rerank", "/score", True),  # a custom --endpoint: only an exact doubling is refused
])
def test_usable_targets_pass(base, path, custom):
    check_target(base, path, custom_endpoint=custom)


def test_a_password_in_the_url_is_never_in_the_message():
    with pytest.raises(InputError) as refused:
        check_target("http://user:hunter2@h:8000/rerank", "/rerank", flag="-H/--host")
    text = str(refused.value)
    assert "hunter2" not in text and "user:<redacted>@h:8000" in text and text.startswith("-H/--host ")


def test_each_api_is_checked_with_its_own_path():
    assert endpoint_path(apis.cohere, "", "v1") == "/v1/rerank"
    assert endpoint_path(apis.nim, "/custom", "v2") == "/custom"
    check_targets("http://h:1/v2", [apis.tei], "", "v2", "--url")  # /v2 + /rerank is no API route
    with pytest.raises(InputError, match="/v2/rerank/v2/rerank"):
        check_targets("http://h:1/v2/rerank", [apis.cohere], "", "v2", "--url")
    with pytest.raises(InputError, match="/v1/rerank/v1/rerank"):  # Cohere's v1 route, asked for
        check_targets("http://h:1/v1/rerank", [apis.cohere], "", "v1", "--url")
