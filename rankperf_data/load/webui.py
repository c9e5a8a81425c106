"""The Locust web UI extension: a live "Rankings" tab and downloads of the run's exports.

Built only on Locust's own extension points (notes §5.1): ``template_args`` entries for the tab,
its table and the download links; one ``after_request`` hook that adds ``extended_stats`` to the
``/stats/requests`` JSON; and a few routes, all behind ``auth_required_if_enabled``:

- ``GET /rankings/csv``: the Rankings table as it is now, as CSV;
- ``GET /rankings/artifacts/<name>``: one export of the last finished run (a fixed list of names).

While a run goes, the table comes from the coordinator's merged counters, running totals and
latency sketches (``live_rows.live_summary``): its cost does not grow with the request count, and
its percentiles are labelled approximate. When the run has been written out, the exact table is
computed once from the records (``finish.build_result`` + ``report.metrics.summarize``) and kept.
Either is computed at most once every ``MIN_INTERVAL_S`` (longer when computing is slow). A
failure is logged and shows an empty table; it never breaks ``/stats/requests``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from pathlib import Path

from rankperf_data.redact import collect_secrets, redact_text, redact_value
from rankperf_data.results.sketches import RELATIVE_ACCURACY

log = logging.getLogger("rankperf")

TAB_KEY = "rankings"
TAB_TITLE = "Rankings"
MIN_INTERVAL_S = 1.5  # the live table is recomputed at most this often...
SLOW_FACTOR = 5.0  # ...or every SLOW_FACTOR x the last computation time, when that is longer
MESSAGE_CHARS = 60  # error message pattern shown in an error row
LAST_SLICES = 5  # with --slice-duration, the tab shows this many most recent slices

COLUMNS: tuple[tuple[str, str], ...] = (
    ("metric", "Metric"),
    ("avg", "avg"),
    ("min", "min"),
    ("max", "max"),
    ("p50", "p50"),
    ("p90", "p90"),
    ("p99", "p99"),
    ("std", "std"),
    ("count", "count"),
)
STAT_COLUMNS = ("avg", "min", "max", "p50", "p90", "p99", "std")
# while running: the latency percentiles come from merged sketches (the other columns are exact)
APPROXIMATE_SUFFIX = f" [p50/p90/p99 approximate: merged sketches, {RELATIVE_ACCURACY * 100:g}% relative]"
LIVE_NOTE = ("Live: counts, avg, min, max and std exact; percentiles from merged sketches; "
             "the exact table (all rows) when the run ends")

# name -> (mimetype, link title). Only these names are ever served from the artifacts directory.
ARTIFACTS: dict[str, tuple[str, str]] = {
    "profile_export_aiperf.json": ("application/json", "Download rankperf JSON export (profile_export_aiperf.json)"),
    "profile_export_aiperf.csv": ("text/csv", "Download rankperf CSV export (profile_export_aiperf.csv)"),
    "profile_export.jsonl": ("application/x-ndjson", "Download rankperf per-request records (profile_export.jsonl)"),
    "profile_export_console.txt": ("text/plain", "Download rankperf console table (profile_export_console.txt)"),
    "inputs.json": ("application/json", "Download rankperf request bodies (inputs.json)"),
}


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _row(metric: str, **cells: str) -> dict[str, str]:
    row = {key: "" for key, _ in COLUMNS}
    row["metric"] = metric
    row.update(cells)
    return row


# ---- rows (pure: a Summary in, table rows out) ---------------------------------------------------
def summary_rows(summary, *, finished: bool = False, complete: bool = False, secrets=()) -> list[dict[str, str]]:
    """The Rankings table: the console table's metrics, error counts and groups, warnings."""
    from rankperf_data.report.console import ROWS

    metrics = summary.metrics
    rows: list[dict[str, str]] = []
    done = metrics.get("completed_request_count")
    sent = int(done.value) if done is not None and done.value is not None else 0
    if finished:  # an incomplete run says why in its notes, below
        status = ("finished" if complete else "stopped") + ": exports in the Download Data tab"
    else:
        status = f"running: {sent} measured requests recorded so far"
    rows.append(_row("Status: " + status))
    for tag in ROWS:
        metric = metrics.get(tag)
        if tag == "error_request_count" and metric is None and sent:
            rows.append(_row("Error Request Count (requests)", avg=_num(0.0)))
            continue
        if metric is None:
            continue
        if metric.stats is not None:
            label = metric.label + (APPROXIMATE_SUFFIX if getattr(metric, "approximate", False) else "")
            rows.append(_row(label, count=str(metric.stats.count),
                             **{c: _num(metric.stats.get(c)) for c in STAT_COLUMNS}))
        else:
            rows.append(_row(metric.label, avg=_num(metric.value)))
    quality = getattr(summary, "quality", None)
    for metric in quality.metrics.values() if quality is not None else ():  # labelled inputs
        rows.append(_row(metric.label, count=str(metric.stats.count),
                         **{c: _num(metric.stats.get(c)) for c in STAT_COLUMNS}))
    rows.extend(slice_rows(summary))
    for group in summary.errors:
        message = redact_text(group.message, secrets)
        if message.lower().startswith(group.label.lower() + ":"):  # "cancelled: cancelled: ..." reads badly
            message = message[len(group.label) + 1 :].strip()
        if len(message) > MESSAGE_CHARS:
            message = message[: MESSAGE_CHARS - 1] + "…"
        label = f"errors: {group.label}"
        if group.type and group.type != group.label:
            label += f" {group.type}"
        if message:
            label += f": {message}"
        rows.append(_row(label, count=str(group.count)))
    for warning in summary.warnings:
        rows.append(_row(redact_text(warning, secrets)))
    if finished:
        rows.extend(_row("Note: " + redact_text(note, secrets)) for note in summary.notes)
    return rows


def slice_rows(summary, last: int = LAST_SLICES) -> list[dict[str, str]]:
    """With --slice-duration: the request latency of the last slices, and each slice's throughput."""
    slices = getattr(summary, "timeslices", None) or []
    if not slices:
        return []
    origin = slices[0].start_ns
    rows = []
    for s in slices[-last:]:
        latency = s.metrics.get("request_latency")
        rate = s.metrics.get("request_throughput")
        label = f"Slice {(s.start_ns - origin) / 1e9:,.1f}-{(s.end_ns - origin) / 1e9:,.1f} s"
        label += "" if s.is_complete else " (partial)"
        label += f": {rate.value:,.2f} requests/sec, latency (ms)" if rate is not None else ": latency (ms)"
        cells = {c: _num(latency.stats.get(c)) for c in STAT_COLUMNS} if latency is not None else {}
        rows.append(_row(label, count=str(latency.stats.count) if latency is not None else "0", **cells))
    return rows


def rows_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in COLUMNS])
    for row in rows:
        writer.writerow([row.get(key, "") for key, _ in COLUMNS])
    return out.getvalue()


# ---- the live table, memoised --------------------------------------------------------------------
class RankingsTable:
    """Rows for the Rankings tab, recomputed at most every MIN_INTERVAL_S and frozen when written out."""

    def __init__(self, environment, state, clock=time.monotonic) -> None:
        self.environment = environment
        self.state = state
        self.clock = clock
        self._coord = None
        self._finished = False
        self._rows: list[dict[str, str]] = []
        self._at = float("-inf")
        self._interval = MIN_INTERVAL_S
        self._last_error = ""
        self._ok = False

    def rows(self) -> list[dict[str, str]]:
        # A start refused for bad input (hooks keep the reason in state.start_error, when they do)
        error = getattr(self.state, "start_error", "")
        if error:
            return [_row("Status: not started: " + redact_text(str(error)))]
        coord = self.state.coordinator
        if coord is None:
            return []
        finished = bool(coord.finished)
        same = coord is self._coord and finished == self._finished
        now = self.clock()
        if same and ((finished and self._ok) or now - self._at < self._interval):
            return self._rows  # the final table is kept for good, unless computing it failed
        started = time.perf_counter()
        rows = self._compute(coord, finished)
        self._ok = rows is not None
        self._rows = rows or []
        elapsed = time.perf_counter() - started
        self._coord, self._finished, self._at = coord, finished, self.clock()
        self._interval = max(MIN_INTERVAL_S, SLOW_FACTOR * elapsed)
        return self._rows

    def _compute(self, coord, finished: bool) -> list[dict[str, str]] | None:
        """The rows, or None when they could not be computed (logged once per distinct failure)."""
        from rankperf_data.load import finish
        from rankperf_data.report.metrics import summarize

        try:
            if not self.state.master_config:
                return []
            if not finished:  # from the merged summaries: no record is read while the run goes
                return live_table(coord, self.state)
            # the same rule as the artifacts written at the stop (hooks: finish.finalize)
            cancelled = finished and (bool(getattr(coord, "cancelled", False)) or not coord.complete)
            result, _dataset, _api = finish.build_result(self.environment, coord, self.state, cancelled=cancelled)
            secrets = collect_secrets(result.info)
            return summary_rows(summarize(result), finished=finished, complete=not cancelled, secrets=secrets)
        except Exception as exc:  # never let the tab break /stats/requests
            text = f"{type(exc).__name__}: {exc}"
            if text != self._last_error:  # once per distinct failure, not every poll
                log.exception("rankperf: the Rankings tab could not be computed (shown empty)")
                self._last_error = text
            return None


def live_table(coord, state) -> list[dict[str, str]]:
    """The rows while the run goes: counters, running totals and merged sketches (no records)."""
    from rankperf_data.load.live_rows import live_summary

    run = getattr(state, "master_run", None)
    settings = getattr(run, "settings", None)
    open_loop = settings is not None and settings.open_loop
    rate, pattern = (settings.rate, settings.pattern) if open_loop else (None, None)
    rows = summary_rows(live_summary(coord.summaries, request_rate=rate, arrival_pattern=pattern))
    rows.insert(1, _row(LIVE_NOTE))
    return rows


# ---- form: keep credentials out of the page -------------------------------------------------------
def _hide_credentials_in_form(web_ui) -> None:
    """Drop from the start form any custom parameter whose current value holds a credential.

    Locust embeds each UI option's current value (command line, config file, environment) in the
    page (notes §3.2), so e.g. ``--header "Authorization: Bearer ..."`` would be readable by anyone
    who can load it. Such a field is left out of the form: the configured value is still used, as
    /swarm only changes the options the form sends.
    """
    original = web_ui.update_template_args
    warned: set[str] = set()

    def update_template_args() -> None:
        original()
        extra = web_ui.template_args.get("extra_options") or {}
        for dest in list(extra):
            value = extra[dest].get("default_value")
            if value is not None and redact_value({dest: value}) != {dest: value}:
                del extra[dest]
                if dest not in warned:
                    warned.add(dest)
                    log.warning("rankperf: --%s holds a credential: left out of the web UI form "
                                "(the configured value is used)", dest.replace("_", "-"))

    web_ui.update_template_args = update_template_args


# ---- installation --------------------------------------------------------------------------------
def install(environment, state) -> None:
    """Add the Rankings tab, its data and the download routes to Locust's web UI (master/local)."""
    from rankperf_data.load import webauth

    web_ui = environment.web_ui
    if web_ui is None:
        return
    webauth.install(environment)  # no-op without --web-login; exits when login is on but unconfigured
    table = RankingsTable(environment, state)
    _add_tab(web_ui)
    _hide_credentials_in_form(web_ui)
    _add_rows_to_stats(web_ui.app, table)
    _add_download_routes(environment, state, table)


def _add_tab(web_ui) -> None:
    """The Rankings tab, its table's columns and its download links, in Locust's template."""
    web_ui.template_args = {
        **web_ui.template_args,
        "extended_tabs": [*web_ui.template_args.get("extended_tabs", []), {"title": TAB_TITLE, "key": TAB_KEY}],
        "extended_tables": [*web_ui.template_args.get("extended_tables", []),
                            {"key": TAB_KEY, "structure": [{"key": k, "title": t} for k, t in COLUMNS]}],
        "extended_csv_files": [
            *web_ui.template_args.get("extended_csv_files", []),
            {"href": "./rankings/csv", "title": "Download rankperf Rankings table CSV (live)"},
            *({"href": f"./rankings/artifacts/{name}", "title": title} for name, (_m, title) in ARTIFACTS.items()),
        ],
    }


def _add_rows_to_stats(app, table: RankingsTable) -> None:
    """The Rankings rows ride along in Locust's /stats/requests answer (as extended_stats)."""
    from flask import Response, request

    from rankperf_data.load import sweep

    @app.after_request
    def _add_rankings(response):
        if request.endpoint != "locust.request_stats" or response.status_code != 200 or not response.is_json:
            return response
        try:
            data = json.loads(response.get_data())
            rows = table.rows() + sweep.rankings_rows()  # a sweep: one row per finished point
        except Exception:
            log.exception("rankperf: could not add the Rankings rows to /stats/requests")
            return response
        extended = [e for e in data.get("extended_stats") or [] if e.get("key") != TAB_KEY]
        data["extended_stats"] = [*extended, {"key": TAB_KEY, "data": rows}]
        # a new response: Locust memoises the original object for ~2 s
        fresh = Response(json.dumps(data), status=response.status_code, mimetype="application/json")
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "content-type"):
                fresh.headers[name] = value
        return fresh


def _same_origin_only(response):
    """Locust's CORS setup lets any web page read any route; rankperf's own routes opt out.

    flask-cors leaves a response alone when it already names an allowed origin: naming this
    server's own origin means a page from any other origin cannot read the body.
    """
    from flask import request

    response.headers["Access-Control-Allow-Origin"] = request.host_url.rstrip("/")
    response.headers["Vary"] = "Origin"
    return response


def _add_download_routes(environment, state, table: RankingsTable) -> None:
    """The live Rankings CSV and the last finished run's artifacts (a fixed list of files)."""
    from flask import Response, abort, send_file

    web_ui = environment.web_ui
    app = web_ui.app

    @app.route(_path(environment, "/rankings/csv"))
    @web_ui.auth_required_if_enabled
    def rankings_csv():
        body = rows_csv(table.rows())
        return _same_origin_only(Response(body, mimetype="text/csv", headers={
            "Content-Disposition": "attachment; filename=rankperf_rankings.csv"}))

    @app.route(_path(environment, "/rankings/artifacts/<name>"))
    @web_ui.auth_required_if_enabled
    def rankings_artifact(name: str):
        if name not in ARTIFACTS:  # a fixed list: no other file, no path, is ever served
            abort(404)
        directory = state.last_artifacts
        if directory is None:
            return _same_origin_only(Response("no finished rankperf run yet\n", status=404, mimetype="text/plain"))
        path = Path(directory) / name
        if not path.is_file():
            return _same_origin_only(Response(f"{name} was not written for the last run\n", status=404,
                                              mimetype="text/plain"))
        mimetype, _title = ARTIFACTS[name]
        return _same_origin_only(send_file(path.resolve(), mimetype=mimetype, as_attachment=True,
                                           download_name=name, max_age=0))


def _path(environment, route: str) -> str:
    base = getattr(environment.parsed_options, "web_base_path", "") or ""
    return base.rstrip("/") + route
