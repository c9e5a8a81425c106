"""The /metrics scraper against real loopback HTTP servers: TEI-style text with a restart, and bad endpoints."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import gevent
import orjson
import pytest

from rankperf_data.load.server_scrape import ServerScraper
from rankperf_data.report.server_metrics import ServerScrapes, compute_window
from rankperf_data.report.server_rows import server_rows

FIXTURES = Path(__file__).parents[1] / "report" / "fixtures"
SCRAPES = [(FIXTURES / f"tei_scrape_{i}.txt").read_bytes() for i in range(3)]
# te_request_duration increases over the three scrapes (a restart before the third):
# <= 1e-5*1.5^17 s: 10, <= 1e-5*1.5^18 s: 60, <= 1e-5*1.5^19 s: 90 (+Inf 90); sum 0.9 + 0.8 s.
B17, B18, B19 = 0.009852612533569336, 0.014778918800354006, 0.022168378200531007


class _Exposition(BaseHTTPRequestHandler):
    """/metrics: scrape 0, then 1, then 2 for ever; /html, /json, /missing: what non-Prometheus targets answer."""

    served = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/metrics":
            body, ctype = SCRAPES[min(type(self).served, 2)], "text/plain; version=0.0.4"
            type(self).served += 1
            status = 200
        elif self.path == "/html":
            status, body, ctype = 200, b"<!doctype html><html><body>Grafana</body></html>", "text/html"
        elif self.path == "/json":
            status, body, ctype = 200, b'{"status": "ok"}', "application/json"
        else:
            status, body, ctype = 404, b"not found", "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def exposition():
    handler = type("Handler", (_Exposition,), {"served": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()
    thread.join(5)


def _scrape_until(scraper: ServerScraper, handler, served: int) -> dict:
    scraper.start()
    for _ in range(200):  # bounded: 200 x 0.02 s
        if handler.served >= served:
            break
        gevent.sleep(0.02)
    return scraper.finish()


def test_tei_rows_from_windowed_buckets_across_a_restart(exposition):
    url, handler = exposition
    scraper = ServerScraper([url + "/metrics"], interval_s=0.02)
    data = ServerScrapes.from_dict(_scrape_until(scraper, handler, 3))
    assert data.successful == [url + "/metrics"] and data.warnings == []
    kinds = [s["kind"] for s in data.scrapes]
    assert kinds[0] == "baseline" and kinds[-1] == "final" and len(kinds) >= 3
    window = compute_window(data, "profiling", 2.0)
    rows = server_rows(window, 25.0, "/rerank")
    assert rows.flavour == "tei" and rows.resets >= 1
    by_tag = {m.tag: m for m in rows.rows}
    duration = by_tag["server_request_duration"].stats
    assert duration.count == 90
    assert duration.avg == pytest.approx(1.7 / 90 * 1e3)
    # p50: rank 45 in (B17, B18] with 10 below and 50 in it; p99: rank 89.1 in (B18, B19], 60 below, 30 in it
    assert duration.p50 == pytest.approx((B17 + (B18 - B17) * 35 / 50) * 1e3)
    assert duration.p99 == pytest.approx((B18 + (B19 - B18) * 29.1 / 30) * 1e3)
    p99 = rows.quantiles["server_request_duration"][0.99]
    assert (p99.lower, p99.upper) == (B18, B19)
    assert by_tag["server_pair_throughput"].value == pytest.approx((500 + 300) / 2.0)
    batch = by_tag["server_batch_size"].stats
    assert batch.count == 6 and batch.avg == pytest.approx(6.0) and batch.p50 == pytest.approx(5.0)
    assert rows.overhead_ms == pytest.approx(25.0 - 1.7 / 90 * 1e3)


@pytest.mark.parametrize("path, reason", [("/html", "not Prometheus text"), ("/json", "not Prometheus text"),
                                          ("/missing", "HTTP 404")])
def test_a_non_prometheus_endpoint_is_one_warning_and_dropped(exposition, path, reason):
    url, handler = exposition
    scraper = ServerScraper([url + path, url + "/metrics"], interval_s=0.02)
    data = ServerScrapes.from_dict(_scrape_until(scraper, handler, 3))
    assert data.successful == [url + "/metrics"]
    assert len(data.warnings) == 1 and url + path in data.warnings[0] and reason in data.warnings[0]
    assert {s["endpoint_url"] for s in data.scrapes} == {url + "/metrics"}


def test_unreachable_endpoint_is_one_warning(free_port):
    scraper = ServerScraper([f"http://127.0.0.1:{free_port}/metrics"], interval_s=0.02, timeout_s=2)
    data = ServerScrapes.from_dict(_scrape_until(scraper, type("H", (), {"served": 0}), 0))
    assert data.successful == [] and data.scrapes == [] and len(data.warnings) == 1


def test_a_password_in_the_url_never_reaches_the_data(exposition):
    url, handler = exposition
    secret_url = url.replace("http://", "http://user:hunter2@") + "/missing"
    scraper = ServerScraper([secret_url, "http://user:hunter2@127.0.0.1:notaport/metrics"], interval_s=0.02)
    data = _scrape_until(scraper, handler, 0)
    assert len(data["warnings"]) == 2
    assert "hunter2" not in repr(data)


def test_with_a_spool_nothing_is_kept_and_the_fold_matches_the_spooled_scrapes(exposition, tmp_path):
    url, handler = exposition
    spool = tmp_path / "records" / "server-scrapes.jsonl"
    spool.parent.mkdir()
    scraper = ServerScraper([url + "/metrics"], interval_s=0.02, warmup=1, spool=spool)
    scraper.start()
    gevent.sleep(0.1)
    scraper.profiling_started()
    for _ in range(200):  # bounded: 200 x 0.02 s
        if handler.served >= 8:
            break
        gevent.sleep(0.02)
    live = ServerScrapes.from_dict(scraper.finish())
    assert live.scrapes == [] and live.spool == str(spool)
    kept = ServerScrapes(configured=live.configured, successful=live.successful,
                         scrapes=[orjson.loads(line) for line in spool.read_bytes().splitlines()])
    kinds = [s["kind"] for s in kept.scrapes]
    assert kinds[0] == "baseline" and "profiling_start" in kinds and kinds[-1] == "final"
    assert live.scrape_times() == kept.scrape_times()
    for phase in ("profiling", "warmup"):
        got, want = compute_window(live, phase, 2.0), compute_window(kept, phase, 2.0)
        assert want is not None and got == want
