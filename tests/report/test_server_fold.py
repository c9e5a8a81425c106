"""Folding scrapes one at a time gives the exports compute_window gives on the kept scrapes, byte for byte;
the raw scrapes file streamed from the spool gives the in-memory dump's bytes."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from rankperf_data.redact import scrub_bytes
from rankperf_data.report import server_metrics_export as sme
from rankperf_data.report.export import dumps_pretty
from rankperf_data.report.promtext import parse_exposition
from rankperf_data.report.server_fold import FoldedScrapes
from rankperf_data.report.server_metrics import ServerScrapes, compute_window
from rankperf_data.report.server_rows import server_rows
from rankperf_data.report.server_scrapes_file import ScrapeSpool, write_raw_file

FIXTURES = Path(__file__).parent / "fixtures"
TEI = [(FIXTURES / f"tei_scrape_{i}.txt").read_text() for i in range(3)]
URLS = ["http://127.0.0.1:9/metrics", "http://127.0.0.1:10/metrics"]
BOUNDS = ("0.005", "0.01", "0.05", "0.1", "+Inf")


def _synthetic(rng: random.Random, i: int, state: dict) -> str:
    """vLLM-like text: two engines (the second shows up late), a counter that resets, gauges that come and go."""
    if i == state["restart"]:
        state.update(n0=0.0, n1=0.0, done=0.0)
    state["n0"] += rng.randint(0, 20)
    state["done"] += rng.randint(0, 20)
    out = ["# HELP vllm:e2e_request_latency_seconds e2e latency.", "# TYPE vllm:e2e_request_latency_seconds histogram"]
    for engine in ("0", "1") if i >= state["late"] else ("0",):
        n = state["n0"] if engine == "0" else state.setdefault("n1", 0.0) + i
        cum = 0.0
        for le in BOUNDS:
            cum = n if le == "+Inf" else min(n, cum + rng.randint(0, 5))
            out.append(f'vllm:e2e_request_latency_seconds_bucket{{engine="{engine}",le="{le}"}} {cum}')
        out += [f'vllm:e2e_request_latency_seconds_count{{engine="{engine}"}} {n}',
                f'vllm:e2e_request_latency_seconds_sum{{engine="{engine}"}} {n * rng.uniform(0.001, 0.2)}']
    out += ["# TYPE vllm:request_success_total counter", f'vllm:request_success_total{{engine="0"}} {state["done"]}']
    out += ["# TYPE vllm:num_requests_waiting gauge", f'vllm:num_requests_waiting{{engine="0"}} {rng.uniform(0, 50)}']
    if i % 3:
        out.append(f'vllm:num_requests_waiting{{engine="1"}} {rng.random()}')
    out += ["# TYPE process_open_fds untyped", f"process_open_fds {rng.randint(10, 99)}"]
    return "\n".join(out) + "\n"


def _run(n: int, warmup_at: int | None, seed: int) -> list[dict]:
    """n scrapes per endpoint as the scraper takes them: baseline, periodic, maybe profiling_start, final."""
    rng = random.Random(seed)
    states = [{"restart": n // 2, "late": n // 3, "n0": 0.0, "done": 0.0} for _ in URLS]
    scrapes = []
    for i in range(n):
        kind = "baseline" if i == 0 else "final" if i == n - 1 else "periodic"
        if i == warmup_at:
            kind = "profiling_start"
        for e, url in enumerate(URLS):
            text = TEI[min(i, 2)] if e == 1 and i < 3 else _synthetic(rng, i, states[e])
            scrapes.append({"endpoint_url": url, "timestamp_ns": 1_000 * i + e, "kind": kind,
                            "families": parse_exposition(text)})
    return scrapes


def _exports(data: ServerScrapes, profiling, warmup) -> tuple[bytes, str, dict | None]:
    rows = server_rows(profiling, 12.5, "/rerank")
    return (dumps_pretty(sme.to_json(data, profiling, warmup, "bid")), sme.to_csv(data, profiling),
            rows.to_dict() if rows else None)


@pytest.mark.parametrize(("n", "warmup_at"), [(40, None), (40, 7), (2, None), (1, None), (5, 4), (3, 0)])
def test_fold_exports_equal_the_kept_scrapes_exports(n, warmup_at):
    scrapes = _run(n, warmup_at, seed=n)
    data = ServerScrapes(configured=URLS, successful=URLS, scrapes=scrapes)
    fold = FoldedScrapes()
    for s in scrapes:
        fold.add(s)
    kept = _exports(data, compute_window(data, "profiling", 9.5), compute_window(data, "warmup", None))
    folded = _exports(data, fold.window("profiling", 9.5), fold.window("warmup", None))
    assert folded == kept
    assert fold.scrapes == len(scrapes)


def test_the_synthetic_scrapes_exercise_resets_late_series_and_warmup():
    # guards the test above against a stream too plain to tell a wrong fold from a right one
    data = ServerScrapes(configured=URLS, successful=URLS, scrapes=_run(40, 7, seed=40))
    window = compute_window(data, "profiling", 9.5)
    hist = window.families["vllm:e2e_request_latency_seconds"].series
    assert len(hist) == 4 and any(s.resets for s in hist)
    assert window.families["vllm:request_success"].series[0].resets == 1
    assert window.scrapes == 33 and compute_window(data, "warmup", None).scrapes == 8


def test_raw_file_from_the_spool_equals_the_in_memory_dump(tmp_path):
    scrapes = _run(12, 3, seed=1)
    data = ServerScrapes(configured=URLS, successful=URLS[:1], warnings=["a warning"], scrapes=scrapes)
    spool = ScrapeSpool(tmp_path / "spool.jsonl")
    for s in scrapes:
        spool.append(s)
    spool.close()
    out = tmp_path / "raw.json"
    write_raw_file(ServerScrapes(configured=URLS, successful=URLS[:1], warnings=["a warning"]).to_dict(),
                   spool.path, out, lambda b: b)
    assert out.read_bytes() == orjson.dumps(data.to_dict())


def test_no_scrape_spooled_gives_an_empty_list_and_secrets_are_scrubbed(tmp_path):
    out = tmp_path / "raw.json"
    head = ServerScrapes(configured=["http://u:hunter2@127.0.0.1:9/metrics"]).to_dict()
    write_raw_file(head, tmp_path / "never-written.jsonl", out, lambda b: scrub_bytes(b, ["hunter2"]))
    text = out.read_bytes()
    assert orjson.loads(text)["scrapes"] == [] and b"hunter2" not in text
