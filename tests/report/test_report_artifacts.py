"""artifacts.py: AIPerf's directory naming rule and redaction of secrets in every written file."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_factory import build_records, fail, make_result

from rankperf_data.options import API_KEY_ENV
from rankperf_data.redact import REDACTED, redact_headers, redact_text, redact_value
from rankperf_data.report.artifacts import default_artifact_dir, write_artifacts
from rankperf_data.results.outcomes import ErrorKind

SECRET = "sk-live-9f8e7d6c5b4a"


@pytest.mark.parametrize(("args", "kwargs", "expected"), [
    (("BAAI/bge-reranker-base", "hf_tei_rankings", 1, None), {},
     "artifacts/BAAI_bge-reranker-base-openai-hf_tei_rankings-concurrency1"),
    (("BAAI/bge-reranker-base", "cohere_rankings", 8, 0.0), {},
     "artifacts/BAAI_bge-reranker-base-openai-cohere_rankings-concurrency8"),
    (("BAAI/bge-reranker-base", "hf_tei_rankings", 4, 100), {},
     "artifacts/BAAI_bge-reranker-base-openai-hf_tei_rankings-request_rate100.0"),
    (("m", "nim_rankings", 4, 12.5), {"concurrency_explicit": True},
     "artifacts/m-openai-nim_rankings-concurrency4-request_rate12.5"),
    (("a/b,c/d", "hf_tei_rankings", None, None), {"root": "out"},
     "out/a_b_multi-openai-hf_tei_rankings-concurrency1"),
])
def test_default_artifact_dir(args, kwargs, expected):
    assert default_artifact_dir(*args, **kwargs) == Path(expected)


@pytest.mark.parametrize(("text", "expected"), [
    ("rankperf profile --api-key sk-abc -m x", f"rankperf profile --api-key {REDACTED} -m x"),
    ("rankperf profile --api-key='sk abc' -m x", f"rankperf profile --api-key={REDACTED} -m x"),
    ("--header 'Authorization: Bearer abc.def' -m x", f"--header 'Authorization: {REDACTED}' -m x"),
    ('{"x-api-key": "abc", "a": 1}', f'{{"x-api-key": "{REDACTED}", "a": 1}}'),
    ("http://user:pw123@host:8080/rerank", f"http://user:{REDACTED}@host:8080/rerank"),
    ("http://host/rerank?api_key=abc&x=1", f"http://host/rerank?api_key={REDACTED}&x=1"),
    ("nothing secret here: 42", "nothing secret here: 42"),
])
def test_redact_text_rules(text, expected):
    assert redact_text(text) == expected


def test_redact_text_known_secret_anywhere():
    assert redact_text(f"server said: bad key {SECRET}!", [SECRET]) == f"server said: bad key {REDACTED}!"


def test_redact_headers_shapes():
    assert redact_headers({"Authorization": "Bearer x", "X-Trace": "1"}) == {"Authorization": REDACTED,
                                                                              "X-Trace": "1"}
    assert redact_headers(["api-key: abc", "X-Foo: bar"]) == [f"api-key: {REDACTED}", "X-Foo: bar"]
    assert redact_headers("X-Api-Key:abc") == f"X-Api-Key: {REDACTED}"
    assert REDACTED in redact_headers('{"Authorization": "Bearer x"}')


def test_redact_value_walks_options():
    options = {"api_key": SECRET, "header": ["Authorization: Bearer t0k3n-xyz"], "url": "http://h",
               "nested": {"token": "abcd"}, "n": 3}
    clean = redact_value(options, [SECRET])
    assert clean["api_key"] == REDACTED and clean["nested"]["token"] == REDACTED
    assert clean["header"] == [f"Authorization: {REDACTED}"] and clean["n"] == 3 and clean["url"] == "http://h"


def test_no_secret_reaches_any_written_file(tmp_path, monkeypatch):
    env_secret = "envkey-5e6f7a8b9c"
    monkeypatch.setenv(API_KEY_ENV, env_secret)
    rec = build_records(range(1, 21))
    fail(rec, [1, 2], ErrorKind.HTTP, 401, 0)
    result = make_result(
        rec, [f"invalid api key {SECRET} (and {env_secret})"],
        cli_command=f"rankperf profile --api-key {SECRET} --header 'X-Api-Key: hdr-val-1234' --url http://127.0.0.1",
        options={"api_key": SECRET, "header": ["X-Api-Key: hdr-val-1234", "Authorization: Bearer bear-5678"],
                 "url": "http://127.0.0.1"},
        url="http://admin:pass-word-99@127.0.0.1:8080",
    )
    result.notes.append(f"worker saw {SECRET}")
    paths = write_artifacts(result, tmp_path / "run")
    assert paths
    for path in (tmp_path / "run").rglob("*"):
        data = path.read_bytes()
        for secret in (SECRET, env_secret, "hdr-val-1234", "bear-5678", "pass-word-99"):
            assert secret.encode() not in data, (path.name, secret)
    assert REDACTED.encode() in paths["json"].read_bytes()
