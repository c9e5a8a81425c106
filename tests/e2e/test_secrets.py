"""An API key given by option or environment appears in no artifact, log or console output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from e2e_support import BIN, export_json, locust_cmd, run

from rankperf_data.server.testing import start_server

KEY = "sk-rankperf-Secret-7f3a91"


def every_file_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("how", ["option", "env"])
def test_profile_never_leaks_the_key(tmp_path, clean_env, how):
    artifacts = tmp_path / "run"
    env = dict(clean_env)
    extra = []
    if how == "option":
        extra = ["--api-key", KEY]
    else:
        env["RANKPERF_API_KEY"] = KEY
    with start_server(["--zero-latency", "--api-key", KEY]) as server:
        proc = subprocess.run(
            [str(BIN / "rankperf"), "profile", "--url", server.url, "--endpoint-type", "cohere_rankings",
             "--request-count", "20", "--concurrency", "2", "--workers", "2", "-H", f"Authorization: Bearer {KEY}",
             "--artifact-dir", str(artifacts), *extra],
            env=env, capture_output=True, text=True, timeout=120)
        server_out = "".join(server.output())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert export_json(artifacts)["request_count"]["avg"] == 20  # the key did authenticate
    for text in (proc.stdout, proc.stderr, every_file_text(artifacts), server_out):
        assert KEY not in text
    assert "<redacted>" in (artifacts / "profile_export_aiperf.json").read_text()


def test_plain_locust_with_key_on_the_command_line(tmp_path, clean_env):
    artifacts = tmp_path / "run"
    with start_server(["--zero-latency", "--api-key", KEY]) as server:
        proc = run(locust_cmd(server.url, "-u", "2", "--request-count", "10", "--api-key", KEY,
                              "--csv", str(artifacts / "locust"), "--html", str(artifacts / "report.html"),
                              "--artifact-dir", str(artifacts), "NimRankingUser"), clean_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert export_json(artifacts)["request_count"]["avg"] == 10
    for text in (proc.stdout, proc.stderr, every_file_text(artifacts)):
        assert KEY not in text
