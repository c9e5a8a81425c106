"""What server-metrics scrapes cost the scraping process in memory and CPU: kept bodies (main) vs folded.

    python benchmarks/scrape_memory.py [--counts 300 3000] [--json]

Takes one real /metrics body from the reference server (TEI's names) after some requests, then
feeds N scrapes of it (each body with its counters moved on, so zlib sees different bodies) to:
``kept``, what ServerScraper does on main (zlib-compress each body during the run, parse them all
and compute both windows at the end), and ``fold`` (this branch: parse each body as it comes, fold
it into report/server_fold.FoldedScrapes and append it to the spool file; windows at the end).
Per path: the tracemalloc peak over the whole feed and end (MB), the CPU per scrape during the
run (ms) and at the end (s), in a second pass without tracemalloc. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import tracemalloc
import urllib.request
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rankperf_data.report.promtext import parse_exposition  # noqa: E402
from rankperf_data.report.server_fold import FoldedScrapes  # noqa: E402
from rankperf_data.report.server_metrics import ServerScrapes, compute_window  # noqa: E402
from rankperf_data.report.server_scrapes_file import SPOOL_FILE, ScrapeSpool  # noqa: E402
from rankperf_data.server.testing import start_server  # noqa: E402

URL = "http://127.0.0.1:9/metrics"
BODY = json.dumps({"query": "what is rerank", "texts": [f"passage {i} about ranking" for i in range(16)]}).encode()
SAMPLE = re.compile(rb"^([a-z_:]+(?:_bucket|_count|_sum)?(?:\{[^}]*\})?) (\d+(?:\.\d+)?)$", re.M)


def real_body() -> bytes:
    with start_server(["--api", "tei"]) as server:
        for _ in range(200):
            req = urllib.request.Request(server.url + "/rerank", BODY, {"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=10).read()
        return urllib.request.urlopen(server.url + "/metrics", timeout=10).read()


def body_at(template: bytes, i: int) -> str:
    """The template with every sample value grown by i times itself / 100: counters keep going up."""
    return SAMPLE.sub(lambda m: m.group(1) + b" " + repr(float(m.group(2)) * (1 + i / 100)).encode(),
                      template).decode()


def _kind(i: int, n: int) -> str:
    return "baseline" if i == 0 else "profiling_start" if i == n // 10 else "final" if i == n - 1 else "periodic"


def kept(bodies: list[str]) -> tuple[float, float]:
    """main's path: compress during the run, parse everything and compute the windows at the end."""
    n, raw, t0 = len(bodies), [], time.process_time()
    for i, text in enumerate(bodies):
        raw.append(({"endpoint_url": URL, "timestamp_ns": i, "kind": _kind(i, n)}, zlib.compress(text.encode(), 1)))
    t1 = time.process_time()
    data = ServerScrapes(configured=[URL], successful=[URL],
                         scrapes=[{**s, "families": parse_exposition(zlib.decompress(b).decode())} for s, b in raw])
    compute_window(data, "profiling", 60.0)
    compute_window(data, "warmup", None)
    return (t1 - t0) / n, time.process_time() - t1


def fold(bodies: list[str]) -> tuple[float, float]:
    """Parse each body as it comes, fold it and append it to the spool (as ServerScraper does); windows at the end."""
    n, folded = len(bodies), FoldedScrapes()
    with tempfile.TemporaryDirectory() as tmp:
        spool, t0 = ScrapeSpool(Path(tmp) / SPOOL_FILE), time.process_time()
        for i, text in enumerate(bodies):
            scrape = {"endpoint_url": URL, "timestamp_ns": i, "kind": _kind(i, n), "families": parse_exposition(text)}
            folded.add(scrape)
            spool.append(scrape)
        spool.close()
    t1 = time.process_time()
    folded.window("profiling", 60.0)
    folded.window("warmup", None)
    return (t1 - t0) / n, time.process_time() - t1


def measure(path, template: bytes, n: int) -> dict:
    bodies = (body_at(template, i) for i in range(n))  # made on the fly: not counted against either path
    tracemalloc.start()
    path(_Lazy(bodies, n))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    run_ms, end_s = path([body_at(template, i) for i in range(n)])
    return {"scrapes": n, "peak_mb": round(peak / 1e6, 2), "run_cpu_ms_per_scrape": round(run_ms * 1e3, 3),
            "end_cpu_s": round(end_s, 3)}


class _Lazy:
    """len() and one pass of iteration over bodies made on demand (a list of N bodies would be the peak)."""

    def __init__(self, items, n: int) -> None:
        self._items, self._n = items, n

    def __len__(self) -> int:
        return self._n

    def __iter__(self):
        return iter(self._items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[300, 3000])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    template = real_body()
    result = {"body_bytes": len(template), "runs": []}
    for n in args.counts:
        for name, path in (("kept", kept), ("fold", fold)):
            result["runs"].append({"path": name, **measure(path, template, n)})
            if not args.json:
                print(result["runs"][-1], file=sys.stderr)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
