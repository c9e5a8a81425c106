"""Locust's own final CSVs and HTML report, rewritten at the true end of the run.

The periodic CSVs can be a second stale, and Locust writes its HTML before it stops its users.
"""

from __future__ import annotations

import csv
import logging
import weakref
from pathlib import Path

log = logging.getLogger("rankperf")


def write_locust_csvs(environment) -> None:
    """Rewrite Locust's --csv files from the final numbers (the periodic writer can be stale)."""
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if not prefix:
        return
    from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for suffix, method in (("stats", writer.requests_csv), ("failures", writer.failures_csv),
                           ("exceptions", writer.exceptions_csv)):
        with open(f"{prefix}_{suffix}.csv", "w", newline="") as fh:
            method(csv.writer(fh))


def write_locust_html(environment) -> None:
    """Rewrite Locust's --html report from the final numbers."""
    options = environment.parsed_options
    if not getattr(options, "html_file", None):
        return
    from locust.html import get_html_report, process_html_filename

    process_html_filename(options)  # Locust's own placeholder expansion; a no-op once done
    Path(options.html_file).parent.mkdir(parents=True, exist_ok=True)
    Path(options.html_file).write_text(get_html_report(environment, show_download_link=False), encoding="utf-8")


_FINAL_REWRITE = weakref.WeakSet()  # environments whose Locust files are rewritten at `quit`


def rewrite_locust_files_at_quit(environment) -> None:
    """Write Locust's CSVs and HTML again on the `quit` event, the true end of the process.

    finalize runs at `quitting` (or a web UI stop); after `quitting`, Locust still stops its users
    and, on a master, takes the workers' last stats reports (runner.quit()), then prints its own
    final summary and fires `quit`. Its HTML was written even before `quitting`. Files written at
    `quit` hold every request Locust's summary counts.
    """
    if environment in _FINAL_REWRITE:
        return
    _FINAL_REWRITE.add(environment)

    def rewrite(**_kw) -> None:
        import gevent  # only ever runs inside Locust; the module itself stays importable without it

        try:
            write_locust_html(environment)  # the slow one (a large page) first
            # Locust's periodic CSV writer (every second) may be due after that: let it run now,
            # on the final numbers, rather than after Locust has closed its files (it then
            # fails with "I/O operation on closed file")...
            gevent.sleep(0)
            write_locust_csvs(environment)  # ...and have the last word
            _stop_locust_csv_writer()
        except Exception:  # the process is exiting: say so, never mask the run's exit code
            log.exception("rankperf: could not rewrite Locust's final CSV/HTML files")

    environment.events.quit.add_listener(rewrite)


def _stop_locust_csv_writer() -> None:
    """Stop Locust's periodic CSV writer: Locust closes its files right after `quit` and the writer,
    still ticking every second, could then write to them ("I/O operation on closed file"). The
    final files are written; nothing may write after them. Locust keeps no handle to the greenlet."""
    import gc

    import gevent

    for obj in gc.get_objects():
        if isinstance(obj, gevent.Greenlet) and not obj.dead and \
                getattr(getattr(obj, "_run", None), "__name__", "") == "stats_writer":
            obj.kill(block=False)
