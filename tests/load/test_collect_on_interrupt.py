"""An interrupted distributed run collects the workers' last reports; a silent worker is named.

hooks.py imports Locust (gevent's monkey-patching), so the case runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys

CASE = """
import json

import gevent

from rankperf_data.load import hooks
from rankperf_data.load.coordinator import Coordinator

coord = Coordinator(warmup=0, measured=100, duration=0, send=lambda *a: None)
for i, node in enumerate(("answers", "silent")):
    coord.expect(node, i)
    coord.on_quota(node, {"want": 10})
# the first worker's last report arrives while the master waits; the second never answers
gevent.spawn_later(0.05, coord.on_done, "answers", {"issued": 0, "completed": 0, "returned": []})
hooks._collect_before_quit(coord, timeout=0.4)
print(json.dumps({"partial": coord.partial, "notes": coord.notes, "cancelled": coord.cancelled,
                  "lost": sorted(n for n, s in coord.nodes.items() if s.lost)}))
"""


def test_a_worker_silent_at_the_deadline_makes_the_report_partial_and_is_named():
    out = subprocess.run([sys.executable, "-c", CASE], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["cancelled"] is True
    assert got["lost"] == ["silent"]  # the one that answered in time is not blamed
    assert got["partial"] is True
    assert any("worker 1 (silent) sent no final report within 0.4 s" in n and "10 granted indices unaccounted" in n
               for n in got["notes"]), got["notes"]
