"""`rankperf plot` for a campaign: latency against throughput, one dot per point, CI bars, the SLA line."""

from __future__ import annotations

from pathlib import Path

from rankperf_data.campaign.aggregate import confidence_metrics
from rankperf_data.campaign.rebuild import Rebuilt
from rankperf_data.campaign.runs import RunValues
from rankperf_data.campaign.sla import LATENCY_TAGS
from rankperf_data.report.plots import _pyplot, _save


def _series(result: Rebuilt) -> list[tuple[str, list[RunValues], bool | None]]:
    if result.manifest.kind == "search":
        return [(f"{it['value']:g}", it["runs"], it["feasible"]) for it in result.iterations]
    verdicts = {}
    if result.sweep:
        verdicts = {tuple(sorted(r["parameters"].items())): r.get("feasible")
                    for r in result.sweep["per_combination_metrics"]}
    return [(p.label or "all runs", runs, verdicts.get(tuple(sorted(p.parameters.items()))))
            for p, runs in result.cells if runs]


def latency_vs_throughput(result: Rebuilt, out_dir: Path) -> Path:
    """p99 latency (ms) against passages/s, means over trials with their confidence intervals."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    latency = "request_latency"
    for label, runs, feasible in _series(result):
        if any(r.request_rate for r in runs):
            latency = "intended_latency"
        m = confidence_metrics(runs, result.manifest.confidence)
        x, y = m.get("passage_throughput_avg"), m.get(f"{latency}_p99")
        if x is None or y is None:
            continue
        color = "tab:blue" if feasible is None else "tab:green" if feasible else "tab:red"
        ax.errorbar(x["mean"], y["mean"], xerr=[[x["mean"] - x["ci_low"]], [x["ci_high"] - x["mean"]]],
                    yerr=[[y["mean"] - y["ci_low"]], [y["ci_high"] - y["mean"]]], fmt="o", color=color, capsize=3)
        ax.annotate(label, (x["mean"], y["mean"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    for f in result.manifest.filters:
        if f.metric_tag in LATENCY_TAGS and not f.per_passage:
            ax.axhline(f.lookup[2], color="tab:red", linestyle="--", label=f"SLA {f.stat} < {f.lookup[2]:g} ms")
            ax.legend(loc="upper left")
    ax.set_xlabel("passages/s (mean over trials, CI bars)")
    ax.set_ylabel(f"{latency.replace('_', ' ')} p99 (ms)")
    ax.set_title("Latency vs throughput")
    ax.grid(True, alpha=0.3)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = _save(fig, out_dir / "latency_vs_throughput.png")
    plt.close(fig)
    return path
