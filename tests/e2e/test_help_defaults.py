"""The help shows the six rankings options with their real (AIPerf-effective) defaults.

`rankperf profile --help` is checked as printed. Locust prints `locust -f ... --help` before it
imports the locustfile, so it cannot list rankperf's options (README, "Plain Locust"): the Locust
side is checked on the help of Locust's own parser with the locustfile's options registered (what
`--help` would print) and on the help texts the web UI form shows.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from e2e_support import BIN, REPO

# flag -> the default the help must print (the stddevs are floats: 0 or 0.0)
DEFAULTS = {
    "--rankings-passages-mean": "10",
    "--rankings-passages-stddev": "0",
    "--rankings-passages-prompt-token-mean": "128",
    "--rankings-passages-prompt-token-stddev": "0",
    "--rankings-query-prompt-token-mean": "32",
    "--rankings-query-prompt-token-stddev": "0",
}

_LOCUST_HELP = """
import json
import rankperf_data.load.hooks  # what importing locustfiles/rerank.py registers
from locust.argument_parser import get_parser, ui_extra_args_dict
print(json.dumps({"help": get_parser(default_config_files=()).format_help(),
                  "form": {k: v["help_text"] for k, v in ui_extra_args_dict([]).items()}}))
"""


def help_entry(text: str, flag: str) -> str:
    """The option's entry in argparse help: the line that starts with its flag and the help text
    wrapped below it, whitespace folded."""
    blocks = [" ".join(block.split()) for block in re.split(r"\n(?=  -)", text)]
    found = [b for b in blocks if b.startswith(flag + " ")]
    assert len(found) == 1, f"{flag}: {len(found)} entries"
    return found[0]


def printed_default(entry: str) -> str:
    found = re.findall(r"\(default: ([^)]*)\)", entry)
    assert len(found) == 1, entry
    return found[0]


@pytest.fixture(scope="module")
def env(clean_env) -> dict[str, str]:
    return {**clean_env, "HF_HUB_OFFLINE": "1", "COLUMNS": "80"}


def _same(printed: str, expected: str) -> bool:
    return printed in (expected, expected + ".0")


@pytest.fixture(scope="module")
def profile_help(env) -> str:
    proc = subprocess.run([str(BIN / "rankperf"), "profile", "--help"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("flag", sorted(DEFAULTS))
def test_profile_help_prints_each_default_beside_its_flag(profile_help, flag):
    entry = help_entry(profile_help, flag)
    assert _same(printed_default(entry), DEFAULTS[flag]), entry


def test_locust_parser_help_and_web_form_print_each_default(env):
    proc = subprocess.run([sys.executable, "-c", _LOCUST_HELP], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for flag, expected in DEFAULTS.items():
        entry = help_entry(out["help"], flag)
        assert _same(printed_default(entry), expected), entry
        form_help = out["form"][flag[2:].replace("-", "_")]
        assert _same(printed_default(form_help), expected), form_help


def test_plain_locust_help_runs(env):
    """`locust -f locustfiles/rerank.py --help` works (its list of options is Locust's own)."""
    proc = subprocess.run([str(BIN / "locust"), "-f", str(REPO / "locustfiles" / "rerank.py"), "--help"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Usage: locust" in proc.stdout, proc.stderr
