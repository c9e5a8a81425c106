"""Does AIPerf 0.13.0 accept an export? Its JSON Schema (committed) always; its own pydantic model in its own venv.

    from aiperf_check import assert_schema_accepts, assert_aiperf_accepts

``assert_schema_accepts(paths)`` is fast (jsonschema against tests/fixtures/aiperf_0.13.0_export_schema.json).
``assert_aiperf_accepts(paths)`` also loads every file with AIPerf's own
``JsonExportData.model_validate`` in one subprocess of a venv holding aiperf==0.13.0 (built on
first use under ~/.cache/rankperf/aiperf-0.13.0, about 70 s, 1.2 GB); mark such tests
``@pytest.mark.aiperf``. Without that venv they skip, unless RANKPERF_REQUIRE_AIPERF=1 (.ci/run),
when they fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import jsonschema
import pytest

AIPERF_VERSION = "0.13.0"
TESTS = Path(__file__).resolve().parent
SCHEMA_PATH = TESTS / "fixtures" / f"aiperf_{AIPERF_VERSION}_export_schema.json"
SCRIPT = TESTS.parent / "scripts" / "aiperf_export_schema.py"
REQUIRE_ENV = "RANKPERF_REQUIRE_AIPERF"
VENV_ENV = "RANKPERF_AIPERF_VENV"  # a venv of your own holding aiperf==0.13.0, instead of the cache
INSTALL_TIMEOUT_S = 1200
VALIDATE_TIMEOUT_S = 300

# Runs in AIPerf's venv: {path: [error, ...]} for every file given, one pydantic import for all.
_VALIDATE = r"""
import json, sys
from pydantic import ValidationError
from aiperf.common.models.export_models import JsonExportData
out = {}
for path in sys.argv[1:]:
    try:
        JsonExportData.model_validate_json(open(path, "rb").read())
        out[path] = []
    except ValidationError as exc:
        out[path] = [".".join(map(str, e["loc"])) + ": " + e["msg"] for e in exc.errors()]
print(json.dumps(out))
"""


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def _leaf_messages(error: jsonschema.ValidationError) -> list[str]:
    """The innermost reasons: a union ("BenchmarkConfig or null", dataset kinds) hides them in its context."""
    if not error.context:
        where = ".".join(map(str, error.absolute_path)) or "(top)"
        return [f"{where}: {error.message[:300]}"]
    branches: dict = defaultdict(list)
    for e in error.context:
        branches[e.relative_schema_path[0]].append(e)
    # a branch whose discriminator ("type": const) does not match is not the one meant...
    live = [errs for errs in branches.values() if not any(e.validator == "const" for e in errs)]
    # ...and of the rest, the one that got deepest into the document ("null" fails at the top)
    best = max(live or list(branches.values()), key=lambda errs: max(len(e.absolute_path) for e in errs))
    return [msg for e in best for msg in _leaf_messages(e)]


def schema_errors(data: dict) -> list[str]:
    """Why AIPerf's export schema rejects data (empty when it accepts it)."""
    return [msg for e in _validator().iter_errors(data) for msg in _leaf_messages(e)]


def _paths(paths: Iterable[Path | str]) -> list[Path]:
    found = [Path(p) for p in paths]
    assert found, "no export to check"
    return found


def assert_schema_accepts(paths: Iterable[Path | str]) -> None:
    """Every file is accepted by AIPerf 0.13.0's export JSON Schema."""
    bad = {str(p): errs for p in _paths(paths) if (errs := schema_errors(json.loads(Path(p).read_text())))}
    assert not bad, f"AIPerf's export schema rejects: {json.dumps(bad, indent=1)}"


def _venv() -> Path:
    if os.environ.get(VENV_ENV):
        return Path(os.environ[VENV_ENV])
    return Path.home() / ".cache" / "rankperf" / f"aiperf-{AIPERF_VERSION}"


def _installed(venv: Path) -> bool:
    probe = "import importlib.metadata as m, aiperf.common.models.export_models; print(m.version('aiperf'))"
    python = venv / "bin" / "python"
    if not python.exists():
        return False
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=120)
    return out.returncode == 0 and out.stdout.strip() == AIPERF_VERSION


def _build(venv: Path) -> str | None:
    """Create venv with exactly aiperf==0.13.0; an error text when that fails."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time (parallel pytest sessions)
        if _installed(venv):
            return None
        steps = [[sys.executable, "-m", "venv", "--clear", str(venv)],
                 [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                  f"aiperf=={AIPERF_VERSION}"]]
        for cmd in steps:
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
            except (OSError, subprocess.SubprocessError) as exc:
                return f"{' '.join(cmd[:4])}: {exc}"
            if proc.returncode != 0:
                return f"{' '.join(cmd[:4])} exited {proc.returncode}: {proc.stderr[-2000:]}"
        return None if _installed(venv) else f"aiperf=={AIPERF_VERSION} installed but not importable in {venv}"


@cache
def _aiperf_python_or_error() -> tuple[Path | None, str]:
    venv = _venv()
    if _installed(venv):
        return venv / "bin" / "python", ""
    if os.environ.get(VENV_ENV):
        return None, f"{VENV_ENV}={venv} holds no aiperf=={AIPERF_VERSION}"
    error = _build(venv)
    return (None, error) if error else (venv / "bin" / "python", "")


def aiperf_python() -> Path:
    """The Python of a venv holding aiperf==0.13.0 (built once); skips, or fails under RANKPERF_REQUIRE_AIPERF=1."""
    python, error = _aiperf_python_or_error()
    if python is None:
        message = f"no venv with aiperf=={AIPERF_VERSION}: {error}"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return python


def model_errors(paths: Iterable[Path | str]) -> dict[str, list[str]]:
    """AIPerf's own JsonExportData.model_validate over every file, in one subprocess: {path: errors}."""
    files = [str(p) for p in _paths(paths)]
    proc = subprocess.run([str(aiperf_python()), "-c", _VALIDATE, *files], capture_output=True, text=True,
                          timeout=VALIDATE_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def assert_aiperf_accepts(paths: Iterable[Path | str]) -> None:
    """AIPerf 0.13.0 accepts every file: its export schema and its own pydantic model (mark the test `aiperf`)."""
    files = _paths(paths)
    assert_schema_accepts(files)
    bad = {p: errs for p, errs in model_errors(files).items() if errs}
    assert not bad, f"AIPerf's JsonExportData rejects: {json.dumps(bad, indent=1)}"
