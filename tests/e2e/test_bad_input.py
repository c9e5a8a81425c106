"""Bad options and input files are refused before any request, through `rankperf profile` and `locust`.

The children run with HF_HUB_OFFLINE=1: without --tokenizer, the model's tokenizer is looked up
through huggingface_hub, and no test may send traffic off loopback.
"""

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
    "wrong-type": (GOOD + '{"query": 5, "passages": ["a"]}\n', ":2: field 'query': must be a string, got a number",
                   "field 'query'"),
}
SYNTHETIC_WITH_FILE = ("rankperf: error: {flag} cannot be combined with --input-file: they shape synthetic data "
                       "only, and the file's lines are sent as they are")
ISL_WITH_RANKINGS = ("rankperf: error: {isl} cannot be combined with {rankings}: ranking requests take their sizes "
                     "from the --rankings-* options (the AIPerf input-length options are accepted alone, and ignored)")
OPTIONS = {
    "isl-with-rankings": (["--isl", "100", "--rankings-query-prompt-token-mean", "32"],
                          ISL_WITH_RANKINGS.format(isl="--prompt-input-tokens-mean",
                                                   rankings="--rankings-query-prompt-token-mean")),
    "isl-stddev-with-rankings": (["--prompt-input-tokens-stddev", "4", "--rankings-passages-prompt-token-stddev", "2"],
                                 ISL_WITH_RANKINGS.format(isl="--prompt-input-tokens-stddev",
                                                          rankings="--rankings-passages-prompt-token-stddev")),
    "file-with-synthetic": (["--input-file", "{good}", "--rankings-passages-mean", "3"],
                            SYNTHETIC_WITH_FILE.format(flag="--rankings-passages-mean")),
    # given explicitly, even at its default value
    "file-with-synthetic-default": (["--rankings-passages-stddev", "0", "--input-file", "{good}"],
                                    SYNTHETIC_WITH_FILE.format(flag="--rankings-passages-stddev")),
    "file-with-entries": (["--input-file", "{good}", "--num-dataset-entries", "5"],
                          "rankperf: error: --num-dataset-entries cannot be combined with --input-file: "
                          "the file's lines are the entries"),
    "bad-header": (["--header", "no-colon-here"], "--header"),
    "bad-goodput": (["--goodput", "request_latency:fast"], "--goodput"),
    "missing-file": (["--input-file", "{missing}"], "no such file"),
}


@pytest.fixture(scope="module")
def env(clean_env) -> dict[str, str]:
    return {**clean_env, "HF_HUB_OFFLINE": "1"}


def write(path, text: str) -> None:
    path.write_bytes(text.encode("latin-1") if "\xe9" in text else text.encode())


@pytest.mark.parametrize("case", sorted(FILES))
def test_bad_file_through_profile_and_locust(fast_server, tmp_path, env, case):
    text, where, what = FILES[case]
    path = tmp_path / f"{case}.jsonl"
    write(path, text)
    before = received(fast_server)
    prof = subprocess.run([str(BIN / "rankperf"), "profile", "--url", fast_server.url, "--input-file", str(path),
                           "--request-count", "5", "--artifact-dir", str(tmp_path / "a")],
                          env=env, capture_output=True, text=True, timeout=60)
    loc = run(locust_cmd(fast_server.url, "--input-file", str(path), "--request-count", "5",
                         "--artifact-dir", str(tmp_path / "b"), "TeiRerankUser"), env, timeout=60)
    for proc in (prof, loc):
        assert proc.returncode == 2, proc.stdout[-1000:] + proc.stderr[-1000:]
        assert f"{path}{where}" in proc.stderr and what.lower() in proc.stderr.lower()
        assert "Traceback" not in proc.stderr
    assert received(fast_server) == before  # nothing was sent


@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_bad_options_through_profile_and_locust(fast_server, tmp_path, env, case):
    good = tmp_path / "good.jsonl"
    good.write_text(GOOD)
    args = [a.format(good=good, missing=tmp_path / "missing.jsonl") for a in OPTIONS[case][0]]
    needle = OPTIONS[case][1]
    before = received(fast_server)
    prof = subprocess.run([str(BIN / "rankperf"), "profile", "--url", fast_server.url, "--request-count", "5",
                           "--artifact-dir", str(tmp_path / "a"), *args],
                          env=env, capture_output=True, text=True, timeout=60)
    loc = run(locust_cmd(fast_server.url, "--request-count", "5", "--artifact-dir", str(tmp_path / "b"), *args,
                         "TeiRerankUser"), env, timeout=60)
    for proc in (prof, loc):
        assert proc.returncode == 2, proc.stdout[-1000:] + proc.stderr[-1000:]
        if needle.startswith("rankperf: error: "):  # the whole message, on a line of its own
            assert needle in proc.stderr.splitlines(), proc.stderr[-1000:]
        assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert received(fast_server) == before
