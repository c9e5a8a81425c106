"""Every load process's summaries merged: per phase counts, latency sketches and running totals.

What the master knows of a run without reading a record (load/summaries.SummaryMerger builds it;
report/sketch_summary.py turns it into the live table, or the whole report when some records
stayed on workers' hosts). It round-trips through ``rankperf_sketches.json`` so that `rankperf
report` can rebuild such a report from the run's folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rankperf_data.results.phase_totals import PhaseTotals
from rankperf_data.results.sketches import LatencySketch

LATENCY = "request_latency"  # successful requests, end - start, ms
# open loop only (the process gives its intended send times): two more sketches per phase, ms
INTENDED = "intended_latency"  # successful requests, end - intended
LAG = "schedule_lag"  # every request, start - intended
OPEN_LOOP_SKETCHES = (INTENDED, LAG)


@dataclass
class MergedSummaries:
    """Per phase (results.records' phase numbers): requests, successes, the successes' latency
    sketch, open-loop sketches, running totals; ``totals_complete`` False when some merged summary
    carried no totals (then the sums and times lack its requests)."""

    requests: dict[int, int] = field(default_factory=dict)
    ok: dict[int, int] = field(default_factory=dict)
    latency: dict[int, LatencySketch] = field(default_factory=dict)
    totals: dict[int, PhaseTotals] = field(default_factory=dict)
    open_loop: dict[int, dict[str, LatencySketch]] = field(default_factory=dict)
    totals_complete: bool = True

    def to_dict(self) -> dict:
        """JSON-able: counts, the sketches in their wire form, the totals."""
        phases = sorted(set(self.requests) | set(self.latency) | set(self.totals))
        return {"totals_complete": self.totals_complete, "phases": {str(p): {
            "requests": self.requests.get(p, 0), "ok": self.ok.get(p, 0),
            LATENCY: self.latency[p].to_wire() if p in self.latency else None,
            "totals": self.totals[p].to_wire() if p in self.totals else None,
            **{k: v.to_wire() for k, v in self.open_loop.get(p, {}).items()}} for p in phases}}

    @classmethod
    def from_dict(cls, data: dict) -> MergedSummaries:
        """Raises KeyError/TypeError/ValueError on a malformed dict."""
        out = cls(totals_complete=bool(data["totals_complete"]))
        for key, phase in data["phases"].items():
            p = int(key)
            out.requests[p], out.ok[p] = int(phase["requests"]), int(phase["ok"])
            if phase.get(LATENCY) is not None:
                out.latency[p] = LatencySketch.from_wire(phase[LATENCY])
            if phase.get("totals") is not None:
                out.totals[p] = PhaseTotals.from_wire(phase["totals"])
            sketches = {k: LatencySketch.from_wire(phase[k]) for k in OPEN_LOOP_SKETCHES if phase.get(k) is not None}
            if sketches:
                out.open_loop[p] = sketches
        return out
