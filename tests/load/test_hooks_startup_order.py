"""hooks.py when Locust's events come in an unusual order (a stand-in worker runner, no sockets).

Importing hooks imports Locust, which monkey-patches the standard library (gevent): that must not
happen inside the pytest process, so each case runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys

from rankperf_data.load import messages

STAND_IN = """
import json
from types import SimpleNamespace

from locust.runners import WorkerRunner

from rankperf_data.load import hooks


class StandInWorker(WorkerRunner):
    # never connected: it only records what registers with it
    def __init__(self):
        self.registered = {}
        self.greenlet = None  # Runner.__del__ looks at it

    def register_message(self, msg_type, listener, concurrent=False):
        self.registered[msg_type] = listener


started = []
hooks._start_process = started.append
"""

SPAWN_BEFORE_INIT = STAND_IN + """
hooks._on_test_start(SimpleNamespace(runner=None))
flag_after_spawn = hooks.STATE.start_before_init
started_after_spawn = len(started)
environment = SimpleNamespace(runner=StandInWorker(), web_ui=None, parsed_options=None)
hooks._on_init(environment)
print(json.dumps({"flag_after_spawn": flag_after_spawn, "started_after_spawn": started_after_spawn,
                  "started_with_env": started == [environment], "flag_after_init": hooks.STATE.start_before_init,
                  "registered": sorted(environment.runner.registered)}))
"""

USUAL_ORDER = STAND_IN + """
hooks._on_init(SimpleNamespace(runner=StandInWorker(), web_ui=None, parsed_options=None))
print(json.dumps({"started": len(started)}))
"""


def run_script(script: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_spawn_that_beats_init_starts_the_load_process_from_init():
    # A worker joining a running test can get its first spawn while Locust is still connecting:
    # test_start fires before the environment has its runner and before init.
    got = run_script(SPAWN_BEFORE_INIT)
    assert got["flag_after_spawn"] is True and got["started_after_spawn"] == 0
    assert got["started_with_env"] is True and got["flag_after_init"] is False
    assert {messages.CONFIG, messages.GRANT, messages.CLOSE, messages.ADOPT} <= set(got["registered"])


def test_init_in_the_usual_order_starts_nothing():
    # the process starts with test_start, once the master sends work
    assert run_script(USUAL_ORDER) == {"started": 0}
