"""Reference-server fixtures: shared servers (started once per session) and clients."""

from __future__ import annotations

import os

import pytest
from server_http import Client  # tests/server is on sys.path (pytest's default rootdir-relative import)

from rankperf_data.server.testing import ServerProcess, start_server


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("RANKPERF_", "LOCUST_"))}


@pytest.fixture(scope="session")
def server_env() -> dict[str, str]:
    return _env()


@pytest.fixture(scope="session")
def zero_server(server_env) -> ServerProcess:
    """All APIs, no model latency. Shared: don't assert absolute counters against it."""
    with start_server(["--zero-latency", "--seed", "1"], env=server_env) as srv:
        yield srv


@pytest.fixture
def client(zero_server) -> Client:
    c = Client(zero_server.url)
    yield c
    c.close()


@pytest.fixture
def fresh_server(server_env):
    """Factory for a dedicated server; stopped after the test."""
    started: list[ServerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
        srv = start_server(list(args), env=env or server_env)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()
