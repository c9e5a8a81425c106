"""What scraping the server's /metrics costs the process that does it (the master, or a local run's load process).

    python benchmarks/scrape_cost.py [--seconds S] [--reps N] [--interval I]

Starts the reference server (TEI's metric names: ~400 lines, ~22 KB per scrape), sends it some
requests so that every series exists, then, in this process, lets gevent idle for S seconds
without a scraper and with one scraping every I seconds (AIPerf's 0.333 s by default). The CPU
time difference over the wall time is the scraper's share of one core during a run. Each scrape
is parsed and folded as it comes; what ``finish`` still costs is reported apart (``end_parse``:
on main, before the fold, the bodies were parsed there).
Prints one JSON object; the median over the repetitions is the figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import gevent  # noqa: E402

from rankperf_data.load.server_scrape import ServerScraper  # noqa: E402
from rankperf_data.server.testing import start_server  # noqa: E402

BODY = json.dumps({"query": "what is rerank", "texts": [f"passage {i} about ranking" for i in range(16)]}).encode()


def _warm(url: str, n: int = 200) -> None:
    for _ in range(n):
        req = urllib.request.Request(url + "/rerank", BODY, {"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()


def _idle_cpu(seconds: float) -> float:
    c0 = time.process_time()
    gevent.sleep(seconds)
    return time.process_time() - c0


def one_rep(url: str, seconds: float, interval: float) -> dict:
    idle = _idle_cpu(seconds)
    scraper = ServerScraper([url + "/metrics"], interval_s=interval)
    c0, w0 = time.process_time(), time.monotonic()
    scraper.start()
    gevent.sleep(seconds)
    c1, w1 = time.process_time(), time.monotonic()
    scraper.stop()
    c2 = time.process_time()
    data = scraper.finish()
    parse_s = time.process_time() - c2
    scrapes = len(data["scrapes"])
    return {"wall_s": w1 - w0, "scrapes": scrapes, "cpu_s": c1 - c0, "idle_cpu_s": idle,
            "core_pct": 100.0 * (c1 - c0 - idle) / (w1 - w0),
            "end_parse_ms_total": parse_s * 1e3, "end_parse_ms_per_scrape": parse_s * 1e3 / max(1, scrapes)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.333)
    args = parser.parse_args()
    with start_server(["--api", "tei"]) as server:
        _warm(server.url)
        size = len(urllib.request.urlopen(server.url + "/metrics", timeout=10).read())
        reps = [one_rep(server.url, args.seconds, args.interval) for _ in range(args.reps)]
    result = {"interval_s": args.interval, "seconds": args.seconds, "body_bytes": size, "reps": reps,
              "median_core_pct": statistics.median(r["core_pct"] for r in reps),
              "median_end_parse_ms_per_scrape": statistics.median(r["end_parse_ms_per_scrape"] for r in reps)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
