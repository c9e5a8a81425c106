"""hooks.py when Locust's events come in an unusual order (no sockets: a stand-in worker runner)."""

from __future__ import annotations

from types import SimpleNamespace

from locust.runners import WorkerRunner

from rankperf_data.load import hooks


class StandInWorker(WorkerRunner):
    """A WorkerRunner that is never connected: it only records what registers with it."""

    def __init__(self) -> None:  # noqa: D107 (no Locust set-up: nothing is connected)
        self.registered: dict[str, object] = {}
        self.greenlet = None  # Runner.__del__ looks at it

    def register_message(self, msg_type, listener, concurrent=False) -> None:
        self.registered[msg_type] = listener


def test_a_spawn_that_beats_init_starts_the_load_process_from_init(monkeypatch):
    # A worker joining a running test can get its first spawn while Locust is still connecting:
    # test_start fires before the environment has its runner and before init.
    started = []
    monkeypatch.setattr(hooks, "_start_process", started.append)
    monkeypatch.setattr(hooks.STATE, "start_before_init", False)
    monkeypatch.setattr(hooks.STATE, "environment", None)
    hooks._on_test_start(SimpleNamespace(runner=None))
    assert started == [] and hooks.STATE.start_before_init
    environment = SimpleNamespace(runner=StandInWorker(), web_ui=None, parsed_options=None)
    hooks._on_init(environment)
    assert started == [environment] and not hooks.STATE.start_before_init
    assert {"rankperf_config", "rankperf_grant", "rankperf_close"} <= set(environment.runner.registered)


def test_init_in_the_usual_order_starts_nothing(monkeypatch):
    started = []
    monkeypatch.setattr(hooks, "_start_process", started.append)
    monkeypatch.setattr(hooks.STATE, "start_before_init", False)
    monkeypatch.setattr(hooks.STATE, "environment", None)
    hooks._on_init(SimpleNamespace(runner=StandInWorker(), web_ui=None, parsed_options=None))
    assert started == []  # the process starts with test_start, once the master sends work
