"""Bad options and input files are refused before any request, through `rankperf profile` and `locust`.

The children run with HF_HUB_OFFLINE=1: without --tokenizer, the model's tokenizer is looked up
through huggingface_hub, and no test may send traffic off loopback.
"""

from __future__ import annotations

import subprocess
import time

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


# ---- bad targets: refused before any load, by name -------------------------------------------------
BAD_URLS = {  # case -> (URL or a template on the server's port, what the message must name)
    "port-out-of-range": ("http://127.0.0.1:99999", "bad port (Port out of range 0-65535)"),
    "misspelt-scheme": ("htp://127.0.0.1:{port}", "unsupported scheme 'htp://'"),
    "path-doubles-the-endpoint": ("http://127.0.0.1:{port}/rerank",
                                  "already ends with the endpoint path /rerank: requests would go to /rerank/rerank"),
    "path-is-another-api-route": ("http://127.0.0.1:{port}/v1/ranking", "ends with the API path /v1/ranking"),
}
TARGET_REFUSAL_BOUND_S = 30.0  # the whole command: interpreter and Locust start included, no run


@pytest.mark.parametrize("case", sorted(BAD_URLS))
def test_bad_target_is_refused_before_any_load(fast_server, tmp_path, env, case):
    template, needle = BAD_URLS[case]
    url = template.format(port=fast_server.port)
    before = fast_server.metrics()
    t0 = time.monotonic()
    prof = subprocess.run([str(BIN / "rankperf"), "profile", "--url", url, "--request-count", "5",
                           "--artifact-dir", str(tmp_path / "a")], env=env, capture_output=True, text=True, timeout=60)
    prof_s = time.monotonic() - t0
    t0 = time.monotonic()
    loc = run(locust_cmd(url, "--request-count", "5", "--artifact-dir", str(tmp_path / "b"), "TeiRerankUser"),
              env, timeout=60)
    loc_s = time.monotonic() - t0
    for proc, flag, took in ((prof, "--url", prof_s), (loc, "-H/--host", loc_s)):
        assert proc.returncode == 2, proc.stdout[-1000:] + proc.stderr[-1000:]
        line = next(x for x in proc.stderr.splitlines() if x.startswith("rankperf: error: "))
        assert line.startswith(f"rankperf: error: {flag} ") and needle in line, line
        assert "Traceback" not in proc.stderr
        assert took < TARGET_REFUSAL_BOUND_S, took
    # nothing reached the server: no request on any route (its own /metrics reads apart)
    after = fast_server.metrics()
    changed = {k for k in after if k.startswith("rankperf_requests_received_total") and after[k] != before.get(k)}
    assert changed <= {'rankperf_requests_received_total{route="/metrics"}'}, changed
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # no run, no artifacts


def test_plain_locust_without_a_scheme_is_told_how_to_write_it(fast_server, tmp_path, env):
    # rankperf profile adds http:// itself (AIPerf's rule); Locust's -H is taken as given
    before = received(fast_server)
    loc = run(locust_cmd(f"127.0.0.1:{fast_server.port}", "--request-count", "5", "--artifact-dir",
                         str(tmp_path / "b"), "TeiRerankUser"), env, timeout=60)
    assert loc.returncode == 2, loc.stderr[-1000:]
    assert f"rankperf: error: -H/--host '127.0.0.1:{fast_server.port}': no scheme; write it as " \
           f"http://127.0.0.1:{fast_server.port}" in loc.stderr
    assert received(fast_server) == before


# ---- a friendly command line ------------------------------------------------------------------------
def test_a_mistyped_option_gets_the_closest_one_in_one_line(fast_server, tmp_path, env):
    before = received(fast_server)
    prof = subprocess.run([str(BIN / "rankperf"), "profile", "--url", fast_server.url, "--request-cout", "5",
                           "--artifact-dir", str(tmp_path / "a")], env=env, capture_output=True, text=True, timeout=60)
    assert prof.returncode == 2
    assert prof.stderr.splitlines() == ["rankperf profile: error: unknown option --request-cout; did you mean "
                                        "--request-count? (see rankperf profile --help)"]
    # plain locust says the same of rankperf's options (its parser knows them)
    loc = run(locust_cmd(fast_server.url, "--request-cout", "5", "TeiRerankUser"), env, timeout=60)
    assert loc.returncode == 2 and "Did you mean '--request-count'?" in loc.stderr, loc.stderr[-1000:]
    assert received(fast_server) == before


@pytest.mark.parametrize("args", [["--concurrency", "0"], ["--request-rate", "fast"], ["--endpoint-type", "x"],
                                  ["--connect-timeout-seconds", "0"], ["--concurrency"]])
def test_a_bad_value_is_one_line_and_a_pointer_to_help(tmp_path, env, args):
    prof = subprocess.run([str(BIN / "rankperf"), "profile", "--url", "http://127.0.0.1:9", *args,
                           "--artifact-dir", str(tmp_path / "a")], env=env, capture_output=True, text=True, timeout=60)
    assert prof.returncode == 2
    lines = prof.stderr.splitlines()
    assert len(lines) == 1 and "usage:" not in prof.stderr, prof.stderr
    assert lines[0].startswith(f"rankperf profile: error: argument {args[0]}: ")
    assert lines[0].endswith("(see rankperf profile --help)")


@pytest.fixture
def no_tokenizer_env(env, tmp_path) -> dict[str, str]:
    """No tokenizer to be found (an empty hub cache, offline): the word-level notice is due."""
    return {**env, "HF_HUB_CACHE": str(tmp_path / "empty-hf-cache"), "HF_HOME": str(tmp_path / "hf-home")}


@pytest.mark.parametrize("case", ["missing-file", "bad-line"])
def test_an_input_error_comes_alone_without_the_tokenizer_notice(fast_server, tmp_path, no_tokenizer_env, case):
    path = tmp_path / "in.jsonl"
    if case == "bad-line":
        path.write_text(GOOD + '{"query": "q", "passages": []}\n')
    before = received(fast_server)
    prof = subprocess.run([str(BIN / "rankperf"), "profile", "--url", fast_server.url, "--input-file", str(path),
                           "--request-count", "1", "--artifact-dir", str(tmp_path / "a")],
                          env=no_tokenizer_env, capture_output=True, text=True, timeout=60)
    loc = run(locust_cmd(fast_server.url, "--input-file", str(path), "--request-count", "1", "--artifact-dir",
                         str(tmp_path / "b"), "TeiRerankUser"), no_tokenizer_env, timeout=60)
    for proc in (prof, loc):
        assert proc.returncode == 2, proc.stderr[-1000:]
        errors = [x for x in proc.stderr.splitlines() if x.startswith("rankperf: ")]
        assert len(errors) == 1 and errors[0].startswith(f"rankperf: error: {path}"), proc.stderr[-1000:]
        assert "tokenizer" not in proc.stderr.lower()
    assert received(fast_server) == before


def test_the_tokenizer_notice_is_still_said_when_the_input_is_good(fast_server, tmp_path, no_tokenizer_env):
    path = tmp_path / "in.jsonl"
    path.write_text(GOOD)
    prof = subprocess.run([str(BIN / "rankperf"), "profile", "--url", fast_server.url, "--input-file", str(path),
                           "--request-count", "1", "--artifact-dir", str(tmp_path / "a")],
                          env=no_tokenizer_env, capture_output=True, text=True, timeout=90)
    assert prof.returncode == 0, prof.stderr[-1000:]
    notices = [x for x in prof.stderr.splitlines() if "word-level estimate" in x]
    assert len(notices) == 1 and notices[0].startswith("rankperf: no tokenizer for "), prof.stderr[-1000:]


def test_an_artifact_dir_that_cannot_be_made_is_one_line_before_any_load(fast_server, tmp_path, no_tokenizer_env):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    before = received(fast_server)
    prof = subprocess.run([str(BIN / "rankperf"), "profile", "--url", fast_server.url, "--request-count", "1",
                           "--artifact-dir", str(blocker / "run")],
                          env=no_tokenizer_env, capture_output=True, text=True, timeout=60)
    assert prof.returncode == 2
    assert prof.stderr.splitlines() == [f"rankperf: error: --artifact-dir '{blocker / 'run'}': cannot create it "
                                        f"({blocker} is not a writable directory)"]
    assert received(fast_server) == before


@pytest.mark.parametrize(("args", "suggestion"), [(["profil"], "did you mean profile?"),
                                                  (["profile", "--ui-type", "dashbord"], "did you mean dashboard?")])
def test_a_mistyped_command_or_choice_gets_the_closest_one(env, args, suggestion):
    proc = subprocess.run([str(BIN / "rankperf"), *args], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and suggestion in lines[0] and lines[0].endswith("--help)"), proc.stderr
