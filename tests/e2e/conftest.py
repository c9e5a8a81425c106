"""End-to-end fixtures: the reference server as a real process on a free loopback port."""

import pytest

from rankperf_data.server.testing import start_server


@pytest.fixture(scope="module")
def fast_server():
    """The reference server with no model delay: the client is what is measured."""
    with start_server(["--api", "all", "--batch-overhead-ms", "0", "--per-token-us", "0"]) as server:
        yield server
