"""Bad options and input files are refused before any request, through `rankperf profile` and `locust`."""

from __future__ import annotations

import subprocess

import pytest
from e2e_support import BIN, locust_cmd, received, run

GOOD = '{"texts":[{"name":"query","contents":["q"]},{"name":"passages","contents":["p"]}]}\n'
FILES = {
    "invalid-json": (GOOD + '{"texts": [\n', ":2:", "JSON"),
    "empty-passages": (GOOD + '{"query": "q", "passages": []}\n', ":2:", "passages"),
    "missing-query": ('{"texts":[{"name":"passages","contents":["p"]}]}\n', ":1:", "query"),
    "empty-file": ("\n\n", "", "empty"),
    "non-utf8": (GOOD + '{"query": "caf\xe9"}\n', ":2:", "UTF-8"),
}
OPTIONS = {
    "isl-with-rankings": (["--isl", "100"], "--prompt-input-tokens-mean"),
    "file-with-synthetic": (["--input-file", "{good}", "--rankings-passages-mean", "3"], "--input-file"),
    "bad-header": (["--header", "no-colon-here"], "--header"),
    "bad-goodput": (["--goodput", "request_latency:fast"], "--goodput"),
    "missing-file": (["--input-file", "{missing}"], "no such file"),
}


def write(path, text: str) -> None:
    path.write_bytes(text.encode("latin-1") if "\xe9" in text else text.encode())


@pytest.mark.parametrize("case", sorted(FILES))
def test_bad_file_through_profile_and_locust(fast_server, tmp_path, clean_env, case):
    text, where, what = FILES[case]
    path = tmp_path / f"{case}.jsonl"
    write(path, text)
    before = received(fast_server)
    prof = subprocess.run([str(BIN / "rankperf"), "profile", "--url", fast_server.url, "--input-file", str(path),
                           "--request-count", "5", "--artifact-dir", str(tmp_path / "a")],
                          env=clean_env, capture_output=True, text=True, timeout=60)
    loc = run(locust_cmd(fast_server.url, "--input-file", str(path), "--request-count", "5",
                         "--artifact-dir", str(tmp_path / "b"), "TeiRerankUser"), clean_env, timeout=60)
    for proc in (prof, loc):
        assert proc.returncode == 2, proc.stdout[-1000:] + proc.stderr[-1000:]
        assert f"{path}{where}" in proc.stderr and what.lower() in proc.stderr.lower()
        assert "Traceback" not in proc.stderr
    assert received(fast_server) == before  # nothing was sent


@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_bad_options_through_profile_and_locust(fast_server, tmp_path, clean_env, case):
    good = tmp_path / "good.jsonl"
    good.write_text(GOOD)
    args = [a.format(good=good, missing=tmp_path / "missing.jsonl") for a in OPTIONS[case][0]]
    needle = OPTIONS[case][1]
    before = received(fast_server)
    prof = subprocess.run([str(BIN / "rankperf"), "profile", "--url", fast_server.url, "--request-count", "5",
                           "--artifact-dir", str(tmp_path / "a"), *args],
                          env=clean_env, capture_output=True, text=True, timeout=60)
    loc = run(locust_cmd(fast_server.url, "--request-count", "5", "--artifact-dir", str(tmp_path / "b"), *args,
                         "TeiRerankUser"), clean_env, timeout=60)
    for proc in (prof, loc):
        assert proc.returncode == 2, proc.stdout[-1000:] + proc.stderr[-1000:]
        assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert received(fast_server) == before
