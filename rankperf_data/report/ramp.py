"""Measured requests sent during the ramp-up (before Locust had started every user), from the records."""

from __future__ import annotations

import numpy as np

from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.results.run import RunResult


def ramp_up(result: RunResult) -> dict | None:
    """The ramp-up facts for the report, or None when the run did not record them (older runs, CSVs).

    ``measured_during_ramp_up``: profiling requests sent before the last user was running (all of
    them when the run ended first).
    """
    clock = result.info.ramp_up
    if not clock or not clock.get("started_ns"):
        return None
    prof = result.records[result.records["phase"] == PHASE_PROFILING]
    done_ns = int(clock.get("done_ns") or 0)
    during = int(prof.size) if not done_ns else int(np.count_nonzero(prof["start_ns"] < done_ns))
    return {
        "users": int(clock.get("users") or 0),
        "finished": bool(done_ns),
        "duration_s": (done_ns - int(clock["started_ns"])) / 1e9 if done_ns else None,
        "measured_during_ramp_up": during,
        "measured_requests": int(prof.size),
    }


def ramp_up_note(facts: dict | None) -> str | None:
    """One line for the console when measured requests were sent while users were still starting."""
    if not facts or not facts["measured_during_ramp_up"]:
        return None
    during, total, users = facts["measured_during_ramp_up"], facts["measured_requests"], facts["users"]
    if facts["finished"]:
        when = f"all {users} users were running {facts['duration_s']:.2f} s after the start"
    else:
        when = f"the run ended before all {users} users were started"
    return (f"ramp-up: {during:,} of {total:,} measured requests were sent while users were still starting "
            f"({when}); set the spawn rate (-r) to the user count or above, or use --warmup-request-count, "
            "to measure at full concurrency only")
