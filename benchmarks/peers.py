"""Install and locate the peers (AIPerf 0.13.0 in its own venv, wrk, nginx, GNU time) and the shared tokenizer."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from common import ENV_DIR, VENV, VENV_PY

AIPERF_VERSION = "0.13.0"
AIPERF_VENV = ENV_DIR / "aiperf"
AIPERF = AIPERF_VENV / "bin" / "aiperf"
DEBS = {"wrk": "wrk", "nginx": "nginx-light", "time": "time"}
HF_HOME = ENV_DIR / "hf"
TOKENIZER_REPO = "rankperf-bench/wordpiece-30k"  # a local-only "hub" name in HF_HOME's cache
TOKENIZER_REVISION = "0" * 40
TOKENIZER_DIR = HF_HOME / "hub" / "models--rankperf-bench--wordpiece-30k" / "snapshots" / TOKENIZER_REVISION


def ensure_debs() -> None:
    """apt-get install wrk, nginx-light and GNU time when any is missing."""
    missing = [pkg for exe, pkg in DEBS.items() if not (shutil.which(exe) or Path(f"/usr/bin/{exe}").exists())]
    if missing:
        print(f"installing {' '.join(missing)} (apt-get update, apt-get install)", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        # a fresh image has empty package lists: install alone would fail with "Unable to locate package"
        subprocess.run(["apt-get", "update", "-q"], check=True, timeout=600, stdout=subprocess.DEVNULL, env=env)
        subprocess.run(["apt-get", "install", "-y", *missing], check=True, timeout=600,
                       stdout=subprocess.DEVNULL, env=env)


def installed_aiperf_version() -> str | None:
    """The aiperf version installed in benchmarks/.env/aiperf (None when there is none)."""
    python = AIPERF_VENV / "bin" / "python"
    if not python.exists():
        return None
    probe = "import importlib.metadata as m; print(m.version('aiperf'))"
    try:
        out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def ensure_aiperf() -> str | None:
    """benchmarks/.env/aiperf with exactly aiperf==0.13.0 (created or reinstalled); an error text when that fails."""
    found = installed_aiperf_version()
    if found == AIPERF_VERSION and AIPERF.exists():
        return None
    print(f"installing aiperf=={AIPERF_VERSION} into {AIPERF_VENV} (found: {found or 'none'})", flush=True)
    try:
        if not (AIPERF_VENV / "bin" / "pip").exists():
            subprocess.run([sys.executable, "-m", "venv", str(AIPERF_VENV)], check=True, timeout=300)
        subprocess.run([str(AIPERF_VENV / "bin" / "pip"), "install", "-q", f"aiperf=={AIPERF_VERSION}"],
                       check=True, timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"could not install aiperf=={AIPERF_VERSION}: {exc}"
    found = installed_aiperf_version()
    if found != AIPERF_VERSION:
        return f"aiperf=={AIPERF_VERSION} was installed but the venv reports {found or 'no aiperf'}"
    return None if AIPERF.exists() else "aiperf installed but its console script is missing"


_TRAIN = r"""
import json, sys
from pathlib import Path
from rankperf_data.dataset.demo_tokenizers import faker_corpus, train_wordpiece
out, shakespeare = Path(sys.argv[1]), sys.argv[2]
corpus = faker_corpus()
if shakespeare:
    corpus += [line for line in Path(shakespeare).read_text().splitlines() if line.strip()]
out.mkdir(parents=True, exist_ok=True)
train_wordpiece(out / "tokenizer.json", 30522, corpus)
config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512, "unk_token": "[UNK]",
          "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
(out / "tokenizer_config.json").write_text(json.dumps(config))
"""


def _shakespeare() -> str:
    found = list(AIPERF_VENV.glob("lib/python*/site-packages/aiperf/dataset/generator/assets/shakespeare.txt"))
    return str(found[0]) if found else ""


def ensure_tokenizer() -> Path:
    """A BERT-style WordPiece (30,522 vocab) trained on faker text + AIPerf's corpus, laid out as an HF cache entry.

    AIPerf 0.13.0 with HF_HUB_OFFLINE=1 resolves every --tokenizer through the hub cache
    (a plain directory path fails with HFValidationError), so the same files are also a cached
    "model" ``rankperf-bench/wordpiece-30k`` under benchmarks/.env/hf. rankperf reads the directory.
    """
    if not (TOKENIZER_DIR / "tokenizer.json").exists():
        print("training the shared WordPiece tokenizer", flush=True)
        subprocess.run([str(VENV_PY), "-c", _TRAIN, str(TOKENIZER_DIR), _shakespeare()], check=True, timeout=300)
        refs = TOKENIZER_DIR.parents[1] / "refs"
        refs.mkdir(parents=True, exist_ok=True)
        (refs / "main").write_text(TOKENIZER_REVISION)
    return TOKENIZER_DIR


def aiperf_env() -> dict:
    """Environment for AIPerf runs: offline hub, the local cache holding the tokenizer, no colour."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(HF_HOME), "TRANSFORMERS_OFFLINE": "1",
            "NO_COLOR": "1", "COLUMNS": "160"}


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return "missing"
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


CODE_PATHS = ("rankperf_data", "locustfiles", "pyproject.toml")  # what decides rankperf's own figures


def _git(*args: str) -> str:
    from common import REPO

    out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise OSError(out.stderr.strip() or f"git {args[0]} failed")
    return out.stdout


def git_state() -> dict:
    """The commit measured and whether the working tree differed from it (rankperf's code, and anywhere)."""
    try:
        commit = _git("rev-parse", "HEAD").strip()
        branch = _git("rev-parse", "--abbrev-ref", "HEAD").strip()
        changed = [line[3:] for line in _git("status", "--porcelain", "--untracked-files=no").splitlines()]
    except (OSError, subprocess.SubprocessError) as exc:
        return {"commit": None, "error": str(exc)}
    code = [path for path in changed if path.startswith(CODE_PATHS)]
    return {"commit": commit, "short": commit[:7], "branch": branch, "dirty": bool(changed),
            "code_dirty": bool(code), "changed_code_paths": code, "changed_paths": len(changed)}


def _git_state() -> str:
    """One line for versions.rankperf_git: HEAD, plus how many of rankperf's code files were uncommitted."""
    state = git_state()
    if not state.get("commit"):
        return "unknown"
    code = state["changed_code_paths"]
    return f"{state['short']} + {len(code)} uncommitted change(s) in {'/'.join(CODE_PATHS)}" if code else state["short"]


def versions() -> dict:
    """Versions of everything measured, for results.json."""
    pip = AIPERF_VENV / "bin" / "pip"
    aiperf = "missing"
    if pip.exists():
        frozen = subprocess.run([str(pip), "freeze"], capture_output=True, text=True, timeout=120).stdout
        pins = {line.split("==")[0].lower(): line.split("==")[-1] for line in frozen.splitlines() if "==" in line}
        aiperf = {k: pins.get(k) for k in ("aiperf", "aiohttp", "uvloop", "transformers", "tokenizers", "pyzmq")}
    probe = ("import importlib.metadata as m, json; print(json.dumps({k: m.version(k) for k in "
             "('rankperf', 'locust', 'gevent', 'geventhttpclient', 'orjson', 'numpy')}))")
    rankperf = json.loads(subprocess.run([str(VENV_PY), "-c", probe], capture_output=True, text=True,
                                         timeout=60).stdout or "{}")
    return {
        "rankperf_git": _git_state(),
        "rankperf_env": rankperf,
        "aiperf_env": aiperf,
        "wrk": _version(["wrk", "-v"]),
        "nginx": _version(["nginx", "-v"]),
        "harness_python": platform.python_version(),
        "venv": str(VENV),
    }
