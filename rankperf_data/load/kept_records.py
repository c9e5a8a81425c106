"""A worker's ``--records-dir``: its record file stays on its host; the master hears counts and sketches only.

Locust overwrites a worker's custom options with the master's when a test starts, so the value is
taken once, at init, on the worker. The master never reads a kept file (it may be on another
host): its report names the worker, and ``rankperf report RUN DIR...`` merges the collected file.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

FLAG = "--records-dir"
DEST = "worker_records_dir"
HELP = ("On a --worker: append this process's records to DIR/process-N.records on this host and send "
        "the master only counts and latency sketches; the master's report names the worker, and "
        "`rankperf report RUN_DIR DIR...` merges the collected files into one exact report.")

_kept: dict[str, str] = {}  # this worker's folder and host name, once captured


class KeptRecordsError(ValueError):
    """--records-dir given where it cannot be used."""


def add_argument(parser: Any) -> None:
    parser.add_argument(FLAG, dest=DEST, default="", metavar="DIR", help=HELP, include_in_web_ui=False)


def capture(parsed: Any, is_worker: bool) -> None:
    """Remember this worker's folder (created here); refuse the flag on a master or a local run."""
    raw = str(getattr(parsed, DEST, "") or "")
    if not raw:
        return
    if not is_worker:
        raise KeptRecordsError(f"{FLAG} keeps a worker's records on its host: give it to `locust --worker`")
    folder = Path(raw).expanduser().resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KeptRecordsError(f"{FLAG} {raw}: cannot create the folder ({exc.strerror})") from None
    _kept.update(dir=str(folder), host=socket.gethostname())


SKETCH_NOTE = "every worker's measured requests, from the merged sketches"


def sketch_note(kept_workers: list[int], report: dict) -> list[str]:
    """The report's word on the whole run when some records are kept elsewhere: the merged counts
    and latency percentiles cover every worker, within the sketches' relative accuracy."""
    prof = (report.get("phases") or {}).get("profiling")
    if not kept_workers or not prof:
        return []
    ms = ", ".join(f"{q} {prof[q]:.2f} ms" for q in ("p50", "p90", "p99") if prof.get(q) is not None)
    return [f"{SKETCH_NOTE} (workers {', '.join(map(str, kept_workers))} kept their records; "
            f"percentiles within {report['relative_accuracy']:.1%}): {prof['requests']} requests, "
            f"{prof['ok']} succeeded, request latency {ms}"]


def worker_config(config: dict) -> dict:
    """The run's configuration as this process uses it: its own records folder when it keeps one."""
    if not _kept:
        return config
    return {**config, "records_dir": _kept["dir"], "records_kept": _kept["host"]}
