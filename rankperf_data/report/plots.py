"""PNG plots of a run's records (matplotlib, imported lazily with the Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rankperf_data.report import stats
from rankperf_data.report.latency_model import model_of_records, passage_groups
from rankperf_data.report.metrics import is_open_loop
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.results.run import RunResult

INSTALL_HINT = ("matplotlib is needed for plots: in a clone of rankperf, pip install -e '.[plot]' "
                "(or just pip install matplotlib)")


class PlotDependencyError(ImportError):
    """matplotlib is not installed."""


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:
        raise PlotDependencyError(INSTALL_HINT) from exc
    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def latency_histogram(plt, ms: np.ndarray, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.hist(ms, bins=min(100, max(10, int(np.sqrt(ms.size)))), color="#4477aa")
    for q, style in ((50, "--"), (99, ":")):
        value = stats.percentile(ms, q)
        ax.axvline(value, color="black", linestyle=style, label=f"p{q} {value:,.2f} ms")
    ax.set(title="Request latency (successes)", xlabel="ms", ylabel="requests")
    ax.legend()
    return _save(fig, path)


def latency_over_time(plt, t_ns: np.ndarray, ms: np.ndarray, origin: int, path: Path,
                      intended_ms: np.ndarray | None) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.scatter((t_ns - origin) / 1e9, ms, s=2, alpha=0.3, color="#4477aa", label="request")
    bins = stats.time_bins(t_ns, ms, origin)
    mid = bins.start_s + 0.5
    ax.plot(mid, bins.p50, color="black", label="p50 per second")
    ax.plot(mid, bins.p99, color="#cc3311", label="p99 per second")
    if intended_ms is not None:
        ib = stats.time_bins(t_ns, intended_ms, origin)
        ax.plot(mid, ib.p99, color="#ee7733", linestyle="--", label="p99 from intended send")
    ax.set(title="Latency over time (by completion)", xlabel="seconds since first send", ylabel="ms")
    ax.legend(loc="upper left")
    return _save(fig, path)


def throughput_over_time(plt, prof: np.ndarray, origin: int, end_ns: int, path: Path,
                         offered: float | None) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ok = prof["error_kind"] == ErrorKind.OK
    for mask, label, color in ((ok, "successes/s", "#228833"), (~ok, "errors/s", "#cc3311")):
        if mask.any():
            bins = stats.time_bins(prof["end_ns"][mask], np.zeros(int(mask.sum())), origin, end_ns=end_ns)
            ax.stairs(bins.rate, np.append(bins.start_s, bins.start_s[-1] + bins.covered_s[-1]),
                      color=color, label=label)
    if offered:
        ax.axhline(offered, color="black", linestyle="--", label=f"offered {offered:,.2f}/s")
    ax.set(title="Throughput over time (1-s bins by completion)", xlabel="seconds since first send",
           ylabel="requests/sec")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    return _save(fig, path)


def latency_by_passages(plt, passages: np.ndarray, ms: np.ndarray, path: Path, model=None) -> Path:
    boxes, labels, centres = [], [], []
    for label, mask in passage_groups(passages):
        s = stats.record_stats(ms[mask])
        if s is None:
            continue
        # Box p25-p75, median p50, whiskers p5-p95: computed by stats, drawn by bxp.
        boxes.append({"med": s.p50, "q1": s.p25, "q3": s.p75, "whislo": s.p5, "whishi": s.p95,
                      "mean": s.avg, "fliers": [], "label": label})
        labels.append(label)
        centres.append(float(passages[mask].mean()))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.bxp(boxes, showmeans=True, showfliers=False)
    if model is not None:  # the fitted line at each box's mean passage count (boxes sit at 1..N)
        fitted = [model.intercept_ms + model.per_passage_ms * c for c in centres]
        ax.plot(range(1, len(centres) + 1), fitted, color="#cc3311", label=f"fit: {model.line()}")
        ax.legend(loc="upper left")
    if len(boxes) > 12:
        ax.tick_params(axis="x", labelrotation=45)
    ax.set(title="Latency by passages per request (box p25-p75, whiskers p5-p95)",
           xlabel="passages", ylabel="ms")
    return _save(fig, path)


def write_plots(result: RunResult, out_dir: str | Path) -> list[Path]:
    """Write the PNGs for the profiling phase; returns their paths."""
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prof = result.records[result.records["phase"] == PHASE_PROFILING]
    ok = prof[prof["error_kind"] == ErrorKind.OK]
    origin = int(prof["start_ns"].min()) if prof.size else result.start_ns
    ms = (ok["end_ns"] - ok["start_ns"]) / 1e6
    intended = (ok["end_ns"] - ok["intended_ns"]) / 1e6 if is_open_loop(result.info) else None
    paths = []
    try:
        if prof.size:
            end = max(result.end_ns, int(prof["end_ns"].max()))
            paths.append(throughput_over_time(plt, prof, origin, end, out / "throughput_over_time.png",
                                              result.info.request_rate or None))
        if ok.size:
            paths.append(latency_histogram(plt, ms, out / "latency_histogram.png"))
            paths.append(latency_over_time(plt, ok["end_ns"], ms, origin, out / "latency_over_time.png", intended))
            model = model_of_records(ok)[0]
            if model is not None and model.per_pair_token_us is not None:
                model = None  # the line needs tokens too: shown in the report, not drawn per passage
            paths.append(latency_by_passages(plt, ok["passages"], ms, out / "latency_by_passages.png", model))
    finally:
        plt.close("all")
    return paths
