"""Cost of one refresh of the web UI's Rankings table while a run goes: before and after issue 19.

Before: the table came from every record (the coordinator reads the record files, then
``report.metrics.summarize`` and the rows), as ``finish.build_result`` did on each poll.
After: from the coordinator's merged summaries (``webui.live_table``), no record read.
Both on the same generated run (3 load processes, their record files in a temporary folder,
their summaries merged as the master merges them). Also the size of one summary message.
Run: ``python benchmarks/webui_refresh.py [--counts 20000 200000] [--repeat 5] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import msgpack
import numpy as np

from rankperf_data.load import webui
from rankperf_data.load.coordinator import Coordinator
from rankperf_data.load.process import FLUSH_ROWS, LIVE_COLUMNS
from rankperf_data.load.summaries import TOTALS, SummaryBuilder
from rankperf_data.report.metrics import summarize
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.record_files import RecordFileWriter
from rankperf_data.results.records import FIELD_NAMES, PHASE_PROFILING, RECORD_DTYPE
from rankperf_data.results.run import RunInfo, RunResult

WORKERS = 3


def generated(n: int, seed: int = 1) -> np.ndarray:
    """A run at ~1,000 req/s: lognormal latencies around 40 ms, 3 % HTTP 429."""
    rng = np.random.default_rng(seed)
    rec = np.zeros(n, dtype=RECORD_DTYPE)
    rec["index"] = np.arange(n)
    rec["worker"] = np.arange(n) % WORKERS
    rec["start_ns"] = 1_700_000_000_000_000_000 + np.cumsum(rng.exponential(1e6, n)).astype(np.int64)
    rec["intended_ns"] = rec["start_ns"]
    rec["end_ns"] = rec["start_ns"] + (rng.lognormal(np.log(40), 0.6, n) * 1e6).astype(np.int64)
    failed = rng.random(n) < 0.03
    rec["error_kind"] = np.where(failed, ErrorKind.HTTP, ErrorKind.OK)
    rec["status"] = np.where(failed, 429, 200)
    rec["error_msg"] = -1
    rec["passages"] = rng.integers(1, 50, n)
    rec["query_tokens"] = rng.integers(5, 30, n)
    rec["passage_tokens"] = rec["passages"] * 120
    rec["results"] = rec["passages"]
    for name in ("server_queue_ms", "server_inference_ms", "server_tokenization_ms", "ndcg", "mrr", "recall",
                 "ref_tau", "ref_delta"):
        rec[name] = np.nan
    return rec


class _State:
    master_config = {"values": {}}
    master_run = None

    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator


def a_run(rec: np.ndarray, folder: Path) -> tuple[Coordinator, list[tuple[int, int]]]:
    """A coordinator as the master holds it mid-run: record files written, summaries merged.
    Returns it and the msgpack'd sizes of the summaries (one per FLUSH_ROWS-row batch), with and
    without their running totals."""
    coord = Coordinator(0, rec.size, 0.0, lambda *a: None)
    sizes = []
    for w in range(WORKERS):
        node, mine = f"node-{w}", rec[rec["worker"] == w]
        coord.expect(node, w)
        writer, builder = RecordFileWriter(folder / f"process-{w}.records"), SummaryBuilder(w)
        for i in range(0, mine.size, FLUSH_ROWS):
            part = mine[i : i + FLUSH_ROWS]
            writer.append({name: part[name] for name in FIELD_NAMES}, [])
            coord.on_records(node, {"file": str(writer.path), "rows": part.size, "profiling": part.size,
                                    "first_start_ns": int(part["start_ns"].min()),
                                    "last_end_ns": int(part["end_ns"].max())})
            builder.add_rows(part["phase"], part["error_kind"], part["start_ns"], part["end_ns"],
                             {c: part[c] for c in LIVE_COLUMNS})
            wire = builder.take_wire()
            bare = {**wire, "phases": {p: {k: v for k, v in d.items() if k != TOTALS} for p, d in wire["phases"].items()}}
            sizes.append((len(msgpack.packb(wire)), len(msgpack.packb(bare))))
            coord.on_summary(node, wire)
    return coord, sizes


def from_records(coord: Coordinator) -> list[dict[str, str]]:
    """The table as before: every record read and summarized (finish.build_result's heavy part)."""
    records, messages = coord.records()
    prof = records[records["phase"] == PHASE_PROFILING]
    result = RunResult(records=records, messages=messages, info=RunInfo("hf_tei_rankings", "", "/rerank", "m", 1),
                       start_ns=int(prof["start_ns"].min()), end_ns=int(prof["end_ns"].max()))
    return webui.summary_rows(summarize(result))


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def builder_us(rec: np.ndarray, totals: bool, repeat: int = 200) -> float:
    """A load process's cost to summarize one FLUSH_ROWS-row batch (median, microseconds)."""
    part = rec[:FLUSH_ROWS]
    extra = {c: part[c] for c in LIVE_COLUMNS} if totals else None
    builder = SummaryBuilder(0)

    def one() -> None:
        builder.add_rows(part["phase"], part["error_kind"], part["start_ns"], part["end_ns"], extra)
        builder.take_wire()

    return median_ms(one, repeat) * 1e3


def measure(n: int, repeat: int) -> dict:
    rec = generated(n)
    batch = {"builder_us_per_batch": round(builder_us(rec, True), 1),
             "builder_us_per_batch_without_totals": round(builder_us(rec, False), 1)}
    with tempfile.TemporaryDirectory() as tmp:
        coord, sizes = a_run(rec, Path(tmp))
        live_ms = median_ms(lambda: webui.live_table(coord, _State(coord)), repeat)
        records_ms = median_ms(lambda: from_records(coord), repeat)
    return {"records": n, "from_records_ms": round(records_ms, 2), "live_ms": round(live_ms, 3),
            "summary_bytes_median": int(statistics.median(s for s, _ in sizes)),
            "summary_bytes_without_totals_median": int(statistics.median(b for _, b in sizes)), **batch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [measure(n, args.repeat) for n in args.counts]
    if not args.json:
        for r in results:
            print(f"{r['records']:>9,} records: from the records {r['from_records_ms']:8.1f} ms/refresh, "
                  f"from the summaries {r['live_ms']:.3f} ms/refresh; summary message "
                  f"{r['summary_bytes_median']:,} B ({r['summary_bytes_without_totals_median']:,} B without its totals), "
                  f"built in {r['builder_us_per_batch']:,.0f} us per {FLUSH_ROWS}-row batch "
                  f"({r['builder_us_per_batch_without_totals']:,.0f} us without)")
    print(json.dumps({"webui_refresh": results}))


if __name__ == "__main__":
    main()
