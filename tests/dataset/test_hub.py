"""Tokenizers from a Hugging Face hub, online: a fake hub on loopback, reached through HF_ENDPOINT.

Each case runs in a child process: huggingface_hub reads HF_ENDPOINT, HF_HUB_OFFLINE and the
timeouts once, when it is imported. The children also get a dead loopback proxy for anything that
is not loopback, so a stray request could never leave the machine.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rankperf_data.ports import free_port

REPO = "org/reranker"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

_CHILD = """
import json, logging, sys, time
logging.basicConfig(format="rankperf: %(message)s", level=logging.WARNING)
from rankperf_data.dataset.tokenizer import resolve_counter
started = time.monotonic()
counter = resolve_counter(sys.argv[1], sys.argv[2])
print(json.dumps({"exact": counter.exact, "description": counter.description,
                  "seconds": time.monotonic() - started}))
"""


class FakeHub:
    """Answers ``/{repo}/resolve/main/tokenizer.json`` like the hub (HEAD, then GET), 404 otherwise;
    or, with ``hang``, accepts connections and never answers."""

    def __init__(self, files: dict[str, bytes], hang: bool = False) -> None:
        self.requests: list[str] = []
        self.release = threading.Event()
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, with_body: bool) -> None:
                hub.requests.append(f"{self.command} {self.path}")
                if hang:
                    hub.release.wait(30)
                    return
                body = files.get(self.path.split("?")[0])
                if body is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "RepoNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", '"' + hashlib.sha1(body).hexdigest() + '"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_HEAD(self) -> None:  # noqa: N802 (stdlib naming)
                self._answer(with_body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(with_body=True)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub_files(bpe_json: Path) -> dict[str, bytes]:
    return {f"/{REPO}/resolve/main/tokenizer.json": bpe_json.read_bytes()}


@pytest.fixture
def serve() -> Iterator:
    hubs: list[FakeHub] = []

    def start(files: dict[str, bytes], hang: bool = False) -> FakeHub:
        hubs.append(FakeHub(files, hang))
        return hubs[-1]

    yield start
    for hub in hubs:
        hub.close()


def resolve_in_child(hub: FakeHub, cache: Path, tokenizer: str, model: str,
                     **env: str) -> tuple[dict | None, subprocess.CompletedProcess]:
    """``resolve_counter`` in a fresh process whose hub is ``hub`` (online unless env says otherwise)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING", "TRANSFORMERS_", "RANKPERF_"))}
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    child_env = {
        **base,
        "HF_ENDPOINT": hub.url,
        "HF_HUB_CACHE": str(cache),
        "HF_HOME": str(cache.parent / "hf-home"),  # no token of this machine
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HTTP_PROXY": dead_proxy, "HTTPS_PROXY": dead_proxy, "ALL_PROXY": dead_proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        **env,
    }
    proc = subprocess.run([sys.executable, "-c", _CHILD, tokenizer, model], env=child_env,
                          capture_output=True, text=True, timeout=60)
    result = json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else None
    return result, proc


def test_model_tokenizer_downloaded_once_then_used_offline(serve, hub_files, hermetic_hf_cache: Path) -> None:
    hub = serve(hub_files)
    online, proc = resolve_in_child(hub, hermetic_hf_cache, "", REPO)
    assert online is not None and online["exact"], proc.stderr
    assert online["description"].startswith(str(hermetic_hf_cache / "models--org--reranker" / "snapshots" / COMMIT))
    assert (hermetic_hf_cache / "models--org--reranker" / "refs" / "main").read_text() == COMMIT
    assert any(r.startswith("GET ") for r in hub.requests) and "rankperf:" not in proc.stderr

    hub.requests.clear()
    offline, proc = resolve_in_child(hub, hermetic_hf_cache, "", REPO, HF_HUB_OFFLINE="1")
    assert offline is not None and offline["exact"] and offline["description"] == online["description"]
    assert hub.requests == []  # from the cache, without asking


def test_explicit_tokenizer_name_is_downloaded_too(serve, hub_files, hermetic_hf_cache: Path) -> None:
    result, proc = resolve_in_child(serve(hub_files), hermetic_hf_cache, REPO, "some/other-model")
    assert result is not None and result["exact"], proc.stderr


def test_offline_never_asks_the_hub(serve, hub_files, hermetic_hf_cache: Path) -> None:
    hub = serve(hub_files)
    result, proc = resolve_in_child(hub, hermetic_hf_cache, "", REPO, HF_HUB_OFFLINE="1")
    assert result is not None and not result["exact"], proc.stderr
    assert hub.requests == []
    assert proc.stderr.count("rankperf: no tokenizer for org/reranker") == 1
    assert "HF_HUB_OFFLINE is set" in proc.stderr and "word-level estimate" in proc.stderr


def test_unknown_repo_falls_back_after_one_request(serve, hermetic_hf_cache: Path) -> None:
    hub = serve({})
    result, proc = resolve_in_child(hub, hermetic_hf_cache, "", "org/unknown")
    assert result is not None and not result["exact"], proc.stderr
    assert hub.requests == ["HEAD /org/unknown/resolve/main/tokenizer.json"]  # no retries
    assert result["seconds"] < 5
    warning = [line for line in proc.stderr.splitlines() if line.startswith("rankperf:")]
    assert len(warning) == 1 and "org/unknown" in warning[0] and "the hub did not provide it" in warning[0]


def test_unresponsive_hub_is_given_up_quickly(serve, hermetic_hf_cache: Path) -> None:
    """A hub that never answers costs one short probe, not huggingface_hub's retries (about 23 s)."""
    hub = serve({}, hang=True)
    started = time.monotonic()
    result, proc = resolve_in_child(hub, hermetic_hf_cache, "", "org/slow", HF_HUB_ETAG_TIMEOUT="1")
    assert result is not None and not result["exact"], proc.stderr
    assert 0.9 < result["seconds"] < 4 and time.monotonic() - started < 20
    assert len(hub.requests) == 1


def test_explicit_tokenizer_the_hub_lacks_is_an_error(serve, hermetic_hf_cache: Path) -> None:
    hub = serve({})
    result, proc = resolve_in_child(hub, hermetic_hf_cache, "org/missing", "m")
    assert result is None and proc.returncode != 0
    assert "InputError: --tokenizer 'org/missing'" in proc.stderr and "the hub did not provide it" in proc.stderr
