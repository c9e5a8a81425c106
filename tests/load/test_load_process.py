"""LoadProcess without sockets: what it tells the coordinator when its share is done."""

from __future__ import annotations

import time

from rankperf_data.apis.errors import ErrorKind
from rankperf_data.load.process import LoadProcess
from rankperf_data.load.quota import Grant


def test_done_reports_the_indices_and_the_cpu_it_used_while_sending():
    sent: list[tuple[str, dict]] = []
    process = LoadProcess({"values": {"request_count": 3}, "seed": 1, "workers": 1}, 0,
                          lambda kind, data: sent.append((kind, data)))
    process.on_grant(Grant(0, 3).to_wire())
    process.on_grant(Grant(closed=True).to_wire())
    for _ in range(3):
        index, phase = process.take()
        token = process.begin(index, phase, 0, 0, (1, 1, 1, 1))
        spin_until = time.process_time() + 0.05  # CPU work the busy fraction must see
        while time.process_time() < spin_until:
            pass
        process.cancel(token, "test")
    assert process.take() is None
    [done] = [data for kind, data in sent if kind == "rankperf_done"]
    assert (done["issued"], done["completed"]) == (3, 3)
    assert done["cpu_s"] >= 0.15 and done["wall_s"] >= done["cpu_s"] * 0.9
    records = [data for kind, data in sent if kind == "rankperf_records"]
    assert sum(len(r["columns"]["index"]) for r in records) == 3
    assert set(records[0]["columns"]["error_kind"]) == {int(ErrorKind.CANCELLED)}


def test_a_process_that_never_sent_reports_no_cpu_figure():
    sent: list[tuple[str, dict]] = []
    process = LoadProcess({"values": {"request_count": 3}, "seed": 1, "workers": 1}, 0,
                          lambda kind, data: sent.append((kind, data)))
    process.on_grant(Grant(closed=True).to_wire())
    [done] = [data for kind, data in sent if kind == "rankperf_done"]
    assert done["issued"] == 0 and "cpu_s" not in done
