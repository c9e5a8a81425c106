"""What each user class puts on the wire for every request option, through real Locust runs.

A small capture server records the path, headers and JSON body of every request and answers in
the shape of the API it was asked (TEI list, Cohere/Jina results, Voyage data, NIM rankings).
"""

from __future__ import annotations

import csv
import http.server
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from e2e_support import REPO, load_records, locust_cmd, run

# What every request carries besides the documented options (the client's own headers).
BASE_HEADERS = {"host", "content-type", "accept", "accept-encoding", "user-agent"}
AUTH_LIKE = {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie"}


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]
    body: dict


def _answer(body: dict) -> bytes:
    """A valid ranking in the shape of the API the body belongs to."""
    if "texts" in body:
        n = len(body["texts"])
        return orjson.dumps([{"index": i, "score": 1.0 - i / (n + 1)} for i in range(n)])
    if "documents" in body:
        n = min(body.get("top_n") or body.get("top_k") or len(body["documents"]), len(body["documents"]))
        items = [{"index": i, "relevance_score": 1.0 - i / (n + 1)} for i in range(n)]
        if "top_k" in body:  # only Voyage limits with top_k; its list is `data`
            return orjson.dumps({"object": "list", "data": items})
        return orjson.dumps({"id": "x", "results": items})
    n = len(body["passages"])
    return orjson.dumps({"rankings": [{"index": i, "logit": float(n - i)} for i in range(n)]})


class CaptureServer:
    """Records every request (path, lower-cased headers, JSON body); stdlib threads on loopback."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        seen, lock = self.seen, threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (stdlib naming)
                body = orjson.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with lock:
                    seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                answer = _answer(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> list[Seen]:
        taken = list(self.seen)
        self.seen.clear()
        return taken

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def capture():
    server = CaptureServer()
    yield server
    server.close()


@pytest.fixture
def env(clean_env):
    return {**clean_env, "HF_HUB_OFFLINE": "1"}


def run_class(capture: CaptureServer, env: dict, tmp_path: Path, user_class: str, *args: str,
              locustfile: str | None = None) -> list[Seen]:
    where = {"locustfile": locustfile} if locustfile else {}
    proc = run(locust_cmd(capture.url, "-u", "1", "-r", "1", "--rankings-passages-mean", "3",
                          "--artifact-dir", str(tmp_path / "run"), *args, user_class, **where), env, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return capture.take()


def successes(tmp_path: Path) -> int:
    """Requests the run judged valid (the answer had the API's shape and count)."""
    records = load_records(tmp_path / "run")
    return int((records["error_kind"] == 0).sum())


def only(values: list) -> object:
    """The one value every request had."""
    assert values and all(v == values[0] for v in values[1:]), values
    return values[0]


def headers_of(seen: list[Seen]) -> dict[str, str]:
    """The headers every request carried (Content-Length follows each body, so it is left out)."""
    return only([{k: v for k, v in s.headers.items() if k != "content-length"} for s in seen])


def test_tei_options_on_the_wire(capture, env, tmp_path):
    seen = run_class(capture, env, tmp_path, "TeiRerankUser", "--request-count", "3",
                     "--endpoint", "/custom/tei", "--model", "m-tei", "--top-n", "2",
                     "--extra-inputs", "truncate:true", "--extra-inputs", '{"raw_scores": false}',
                     "--header", "X-One:1", "--header", "X-Two: two words", "--api-key", "cli-key")
    assert len(seen) == 3
    assert only([s.path for s in seen]) == "/custom/tei"
    # TEI serves one model and has no top_n: neither is sent
    assert only([sorted(s.body) for s in seen]) == ["query", "raw_scores", "texts", "truncate"]
    assert only([(s.body["truncate"], s.body["raw_scores"]) for s in seen]) == (True, False)
    headers = headers_of(seen)
    assert set(headers) == BASE_HEADERS | {"authorization", "x-one", "x-two"}
    assert (headers["x-one"], headers["x-two"], headers["authorization"]) == ("1", "two words", "Bearer cli-key")
    assert headers["content-type"] == "application/json"


def test_cohere_v2_by_default_with_key_count_and_model_from_the_environment(capture, env, tmp_path):
    # custom options read RANKPERF_<DEST> variables (Locust's LOCUST_* names are for its own options)
    env = {**env, "RANKPERF_API_KEY": "env-key", "RANKPERF_REQUEST_COUNT": "7", "RANKPERF_MODEL": "m-env"}
    seen = run_class(capture, env, tmp_path, "CohereRerankUser", "--top-n", "2")
    assert len(seen) == 7
    assert only([s.path for s in seen]) == "/v2/rerank"
    assert only([sorted(s.body) for s in seen]) == ["documents", "model", "query", "top_n"]
    assert only([(s.body["model"], s.body["top_n"]) for s in seen]) == ("m-env", 2)
    headers = headers_of(seen)
    assert set(headers) & AUTH_LIKE == {"authorization"}  # the key travels once, as a bearer token
    assert headers["authorization"] == "Bearer env-key"
    assert set(headers) == BASE_HEADERS | {"authorization"}


def test_cohere_v1_and_environment_key_wins_over_the_option(capture, env, tmp_path):
    env = {**env, "RANKPERF_API_KEY": "env-key"}
    seen = run_class(capture, env, tmp_path, "CohereRerankUser", "--request-count", "2",
                     "--cohere-api-version", "v1", "--model", "m-v1", "--api-key", "cli-key")
    assert only([s.path for s in seen]) == "/v1/rerank"
    assert only([sorted(s.body) for s in seen]) == ["documents", "model", "query"]  # no top_n: all results
    assert only([s.headers["authorization"] for s in seen]) == "Bearer env-key"


def test_nim_options_on_the_wire(capture, env, tmp_path):
    seen = run_class(capture, env, tmp_path, "NimRankingUser", "--request-count", "2", "--model", "m-nim",
                     "--extra-inputs", "truncate:END", "--header", '{"X-Json": "j"}', "--header", "X-Plain:p")
    assert only([s.path for s in seen]) == "/v1/ranking"
    body = seen[0].body
    assert sorted(body) == ["model", "passages", "query", "truncate"]
    assert (body["model"], body["truncate"]) == ("m-nim", "END")
    assert isinstance(body["query"]["text"], str) and all(set(p) == {"text"} for p in body["passages"])
    headers = headers_of(seen)
    assert set(headers) == BASE_HEADERS | {"x-json", "x-plain"}  # no key given: no auth header at all


def test_voyage_sends_top_n_as_top_k_to_v1_rerank(capture, env, tmp_path):
    seen = run_class(capture, env, tmp_path, "VoyageRerankUser", "--request-count", "3", "--top-n", "2",
                     "--model", "voyage-model", "--api-key", "cli-key", locustfile=str(REPO / "locustfiles" / "voyage.py"))
    assert len(seen) == 3 and successes(tmp_path) == 3
    assert only([s.path for s in seen]) == "/v1/rerank"
    assert only([sorted(s.body) for s in seen]) == ["documents", "model", "query", "top_k"]
    assert only([(s.body["model"], s.body["top_k"]) for s in seen]) == ("voyage-model", 2)
    assert all(isinstance(d, str) for s in seen for d in s.body["documents"])  # plain strings
    assert headers_of(seen)["authorization"] == "Bearer cli-key"


@pytest.mark.parametrize(("top_n", "keys"), [
    ([], ["documents", "model", "query", "return_documents"]),
    (["--top-n", "2"], ["documents", "model", "query", "return_documents", "top_n"]),
])
def test_jina_always_sends_return_documents_false(capture, env, tmp_path, top_n, keys):
    seen = run_class(capture, env, tmp_path, "JinaRerankUser", "--request-count", "2", "--model", "jina-m", *top_n,
                     locustfile=str(REPO / "locustfiles" / "jina.py"))
    assert len(seen) == 2 and successes(tmp_path) == 2
    assert only([s.path for s in seen]) == "/v1/rerank"
    assert only([sorted(s.body) for s in seen]) == keys
    assert only([s.body["return_documents"] for s in seen]) is False
    assert only([s.body.get("top_n") for s in seen]) == (2 if top_n else None)


def test_warmup_requests_reach_the_server_but_no_locust_statistic(capture, env, tmp_path):
    prefix = tmp_path / "locust"
    seen = run_class(capture, env, tmp_path, "TeiRerankUser", "--request-count", "4",
                     "--warmup-request-count", "3", "--csv", str(prefix))
    assert len(seen) == 7
    with open(f"{prefix}_stats.csv", newline="") as fh:
        counts = {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(fh)}
    assert counts == {"/rerank": 4, "Aggregated": 4}


@pytest.mark.parametrize(("host", "shown"), [
    # the password in the URL stays out of the message
    ("http://user:hunter2@127.0.0.1:notaport", "'http://user:<redacted>@127.0.0.1:notaport': bad port"),
    ("ftp://127.0.0.1:8080", "'ftp://127.0.0.1:8080': unsupported scheme 'ftp://'"),
])
def test_a_host_no_user_could_post_to_is_refused_before_the_run(env, tmp_path, host, shown):
    """Before: the user's error was only logged and the run idled with no users until killed;
    then the run stopped when its users failed to start; now it never starts (exit 2)."""
    t0 = time.monotonic()
    proc = run(locust_cmd(host, "-u", "2", "-r", "2", "--request-count", "5",
                          "--artifact-dir", str(tmp_path / "run"), "TeiRerankUser"), env, timeout=60)
    assert proc.returncode == 2
    assert f"rankperf: error: -H/--host {shown}" in proc.stderr, proc.stderr[-3000:]
    assert "hunter2" not in proc.stdout + proc.stderr
    assert time.monotonic() - t0 < 45
