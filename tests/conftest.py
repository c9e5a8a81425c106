"""Shared fixtures: free loopback ports, artifact dirs, and the reference server as a real process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from rankperf_data.ports import free_port as pick_free_port

# No test may reach the Hugging Face hub (or anything off loopback); child processes inherit this.
os.environ["HF_HUB_OFFLINE"] = "1"

# CI replays the same examples every run (a red build must be reproducible); locally each run
# explores new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def free_port() -> int:
    return pick_free_port()


@pytest.fixture
def artifacts_dir(tmp_path: Path) -> Path:
    path = tmp_path / "artifacts"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def python_exe() -> str:
    return sys.executable


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    """Where the venv's console scripts (rankperf, locust) live."""
    return Path(sys.executable).parent


@pytest.fixture(scope="session")
def clean_env() -> dict[str, str]:
    """The environment for child processes, without any inherited API key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANKPERF_", "LOCUST_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env
