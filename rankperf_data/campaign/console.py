"""What a campaign prints: one row per point, a progress line per run, and the answer in one line."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from rankperf_data.campaign.plan import Point
from rankperf_data.campaign.runs import RunValues
from rankperf_data.campaign.sla import RATE_ACHIEVED, SlaFilter

OPS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _mean(runs: list[RunValues], tag: str, stat: str = "avg") -> float | None:
    vals = [r.values[tag][stat] for r in runs if r.successful and stat in r.values.get(tag, {})]
    return sum(vals) / len(vals) if vals else None


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def sla_text(filters: list[SlaFilter]) -> str:
    parts = []
    for f in filters:
        if f.metric_tag == RATE_ACHIEVED:
            continue
        unit = " ms" if "latency" in f.metric_tag else " %" if f.metric_tag == "request_error_rate" else ""
        name = {"request_latency": "latency", "intended_latency": "latency from intended send",
                "request_error_rate": "error rate"}.get(f.metric_tag, f.metric_tag)
        parts.append(f"{f.stat} {name} {OPS[f.op]} {f.threshold}{unit}")
    return " and ".join(parts)


def offered(run: RunValues) -> str:
    return f"{run.request_rate:g} req/s" if run.request_rate else f"concurrency {run.concurrency}"


def point_table(rows: list[tuple[str, list[RunValues], bool | None]]) -> Table:
    """rows: (label, finished runs, SLA verdict or None when no SLA)."""
    t = Table(title="Campaign: one row per point (means over trials)", title_justify="left")
    for name in ("Point", "Runs", "Offered", "Achieved req/s", "Passages/s", "p50 ms", "p99 ms", "Errors %", "SLA"):
        t.add_column(name, justify="left" if name in ("Point", "SLA") else "right")
    for label, runs, verdict in rows:
        ok = [r for r in runs if r.successful]
        open_loop = bool(ok and ok[0].request_rate)
        latency = "intended_latency" if open_loop else "request_latency"
        t.add_row(label, str(len(runs)), offered(runs[0]) if runs else "-",
                  _f(_mean(runs, "achieved_rate") if open_loop else _mean(runs, "request_throughput")),
                  _f(_mean(runs, "passage_throughput")), _f(_mean(runs, latency, "p50"), 2),
                  _f(_mean(runs, latency, "p99"), 2), _f(_mean(runs, "request_error_rate"), 2),
                  "-" if verdict is None else "pass" if verdict else "FAIL")
    return t


def render(table: Table, width: int = 140) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    return console.export_text()


def progress_line(n: int, total: int | None, label: str, run: RunValues, verdict: bool | None) -> str:
    of = f"/{total}" if total else ""
    ok = run.successful
    p99 = run.values.get("intended_latency" if run.request_rate else "request_latency", {}).get("p99")
    text = (f"rankperf: point {n}{of} {label}: "
            + (f"{_f(run.values.get('passage_throughput', {}).get('avg'))} passages/s, "
               f"{_f(run.values.get('request_throughput', {}).get('avg'))} req/s, p99 {_f(p99, 2)} ms"
               if ok else f"no successful request ({run.error or 'see its log'})"))
    if verdict is not None:
        text += ", SLA " + ("pass" if verdict else "FAIL")
    return text


def answer_sweep(rows: list[tuple[Point, list[RunValues], bool | None]], filters: list[SlaFilter]) -> str:
    scored = [(p, _mean(rs, "passage_throughput"), rs, v) for p, rs, v in rows if _mean(rs, "passage_throughput")]
    if not scored:
        return "no point finished with a successful request"
    if filters:
        feasible = [s for s in scored if s[3]]
        if not feasible:
            return f"no point meets {sla_text(filters)}"
        p, best, rs, _ = max(feasible, key=lambda s: s[1])
        return f"max {best:,.0f} passages/s at {sla_text(filters)}: {p.label or offered(rs[0])}"
    p, best, rs, _ = max(scored, key=lambda s: s[1])
    return (f"max {best:,.0f} passages/s ({_mean(rs, 'request_throughput'):,.1f} req/s) at "
            f"{p.label or offered(rs[0])}")


def answer_trials(data: dict) -> str:
    m = data["metrics"].get("passage_throughput_avg")
    if m is None:
        return "no run finished with a successful request"
    n = data["metadata"]["num_successful_runs"]
    if n < 2:
        return f"{m['mean']:,.0f} passages/s (one successful run: no confidence interval)"
    level = round(100 * data["metadata"]["confidence_level"])
    return (f"{m['mean']:,.0f} passages/s, {level}% CI {m['ci_low']:,.0f}-{m['ci_high']:,.0f} "
            f"over {n} runs (cv {m['cv']:.3f})")


def breach_text(breach: dict | None) -> str:
    """Why a point failed, in words."""
    if not breach:
        return "no successful request"
    if breach.get("metric_tag") == RATE_ACHIEVED:
        return "the offered rate was not achieved (client lag or in-flight cap: see its report)"
    if "metric_tag" not in breach:
        return breach.get("error", "no successful request")
    observed = breach["observed"]
    seen = "missing" if observed is None else f"{observed:,.2f}"
    limit = breach["threshold"]
    if isinstance(limit, dict):  # per-passage bound: what was compared is the margin over each request's bound
        bound = f"{limit['base_ms']:g}+{limit['per_passage_ms']:g}*passages"
        return f"{breach['stat']} of {breach['metric_tag']} over its own bound {bound} is {seen} ms, needs {OPS[breach['op']]} 0"
    limit = f"{limit:g}"
    return f"{breach['stat']} {breach['metric_tag']} {seen}, needs {OPS[breach['op']]} {limit}"


def answer_search(history: dict, filters: list[SlaFilter]) -> str:
    b = history["boundary_summary"]
    name = "concurrency" if b["swept_dim_path"].endswith("concurrency") else "rate"
    unit = "" if name == "concurrency" else " req/s"
    sla = sla_text(filters)
    fmax, imin = b["feasible_max"], b["infeasible_min"]
    if fmax is None:
        lo = history["config"]["search_space"][0]["lo"]
        first = history["iterations"][0]["first_breach"] if history["iterations"] else None
        return f"no {name} from {lo:g}{unit} meets {sla}: {breach_text(first)}"
    text = (f"max {fmax['passage_throughput'] or 0:,.0f} passages/s at {sla}, {name} {fmax['value']:g}{unit}")
    if imin is not None:
        text += f" ({name} {imin['value']:g}{unit} fails: {breach_text(imin['first_breach'])})"
    else:
        text += " (the top of the search range passed)"
    return text
