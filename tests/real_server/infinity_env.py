"""Build (once) and find the cached virtual environment that runs Infinity with CPU torch.

Infinity pins numpy<2 and old sentence-transformers, so it lives in its own venv, outside the
project's, under ~/.cache/rankperf/infinity-<hash of the requirements>. Run as a script to build
it ahead of the tests (``python tests/real_server/infinity_env.py``); prints the venv path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# torch first and pinned: the CPU wheel that lies on this machine's disk. A bare `torch` asked for
# by infinity's extras would otherwise pull a multi-GB CUDA build.
TORCH = "torch==2.13.0"
INFINITY = "infinity-emb[server,torch]==0.0.78"
REQUIREMENTS = (TORCH, INFINITY)
# What the server needs at run time: imported in the venv to prove the build is whole.
SMOKE_IMPORTS = "import torch, sentence_transformers, fastapi, uvicorn, infinity_emb"


def cache_root() -> Path:
    base = os.environ.get("RANKPERF_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rankperf"
    )
    return Path(base)


def env_dir() -> Path:
    """The venv's directory: a hash of the requirements and the Python version names it."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    key = "\n".join((*REQUIREMENTS, version)).encode()
    return cache_root() / f"infinity-{hashlib.sha256(key).hexdigest()[:12]}"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def infinity_exe(venv: Path) -> Path:
    return venv / "bin" / "infinity_emb"


def is_ready(venv: Path) -> bool:
    """A finished build leaves a stamp as its last step; a half-built venv has none."""
    return (venv / ".rankperf-ready").is_file() and infinity_exe(venv).is_file()


def _pip(venv: Path, *args: str, log) -> None:
    cmd = [str(venv_python(venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
    subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)


def build(venv: Path, log=None) -> Path:
    """Create the venv at ``venv`` (replacing a half-built one); returns it. Raises on failure."""
    # Built in place (a venv's scripts hold absolute paths); the stamp, written last, marks it whole.
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    # The base interpreter, so the new venv does not nest inside the project's.
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    base_python = os.path.join(sys.base_exec_prefix, "bin", f"python{version}")
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, stdout=log, stderr=subprocess.STDOUT)
    _pip(venv, TORCH, log=log)
    # The constraint keeps pip from swapping the CPU torch for another build while resolving infinity.
    constraints = venv / "constraints.txt"
    constraints.write_text(TORCH + "\n")
    _pip(venv, "-c", str(constraints), INFINITY, log=log)
    probe = f"{SMOKE_IMPORTS}; print(torch.__version__, torch.version.cuda)"
    out = subprocess.run([str(venv_python(venv)), "-c", probe], check=True, capture_output=True, text=True)
    torch_version, cuda = out.stdout.split()[-2:]
    if not torch_version.startswith(TORCH.split("==")[1]) or cuda != "None":
        raise RuntimeError(f"{venv}: expected CPU {TORCH}, found torch {torch_version} (cuda {cuda})")
    (venv / ".rankperf-ready").write_text(f"{torch_version} cuda={cuda}\n")
    return venv


def ensure(log=None) -> Path:
    """The ready venv, built if missing; a lock keeps two builders (CI step, test session) apart."""
    import fcntl

    venv = env_dir()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_name(venv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_ready(venv):
            build(venv, log=log)
    return venv


if __name__ == "__main__":
    start = time.monotonic()
    path = ensure(log=sys.stderr)
    print(path)
    print(f"infinity env ready in {time.monotonic() - start:.1f} s", file=sys.stderr)
