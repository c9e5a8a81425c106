"""`rankperf report DIR` / `rankperf plot DIR` on a campaign folder (one holding campaign.json)."""

from __future__ import annotations

import sys
from pathlib import Path

from rankperf_data.campaign.manifest import MANIFEST, read_manifest
from rankperf_data.campaign.rebuild import rebuild


def is_campaign_dir(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def report_campaign(base: str | Path) -> int:
    """Rebuild every aggregate from the run folders and print the table and the answer."""
    from rankperf_data.campaign.runner import print_result

    base = Path(base).resolve()
    manifest = read_manifest(base)
    if manifest.status == "running":
        manifest.status = "interrupted"  # nothing runs it now: it ended without finishing
    result = rebuild(base, manifest)
    print_result(result, base)
    return 0


def plot_campaign(base: str | Path, out_dir: str | Path | None) -> int:
    from rankperf_data.campaign.plot import latency_vs_throughput
    from rankperf_data.report.plots import PlotDependencyError

    base = Path(base).resolve()
    manifest = read_manifest(base)
    result = rebuild(base, manifest)
    try:
        path = latency_vs_throughput(result, Path(out_dir) if out_dir else base / "plots")
    except PlotDependencyError as exc:
        print(f"rankperf plot: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0
