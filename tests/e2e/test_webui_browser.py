"""The Rankings tab in a real browser: headless Debian Chromium driven by Playwright.

No browser is downloaded: Playwright launches /usr/bin/chromium. The test fills Locust's start
form as a person would (class picker, users, host, rankperf custom parameters), opens the
"Rankings" tab, waits for live rows while the status says running, clicks Stop, and keeps a
screenshot at tests/_artifacts/webui-rankings.png.
"""

from __future__ import annotations

import os
import time

import pytest
from e2e_support import REPO
from test_webui import LocustWebUI, rankings, received, row, ui_args

from rankperf_data.server.testing import start_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
SCREENSHOT = REPO / "tests" / "_artifacts" / "webui-rankings.png"
UI_TIMEOUT_MS = 15_000
REQUESTS = 3000  # ~30 s at 20 ms per request and 2 users: still running when Stop is clicked
PASSAGES = 4
REQUIRE_ENV = "RANKPERF_REQUIRE_BROWSER"  # set by .ci/run: a missing browser fails the test there


def _missing(reason: str) -> None:
    """Skip where a browser is optional (a developer's machine); fail where CI requires one."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires the browser test to run")
    pytest.skip(reason)


def _playwright():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing(f"{CHROMIUM} not installed (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is not installed")
    return sync_playwright


def test_rankings_tab_renders_live_rows(clean_env, tmp_path):
    sync_playwright = _playwright()
    env = {**clean_env, "HOME": str(tmp_path)}
    with start_server(["--fixed-latency-ms", "20"]) as server, \
            LocustWebUI(ui_args(), env, tmp_path) as ui, sync_playwright() as pw:
        before = received(server)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(ui.base + "/")
            # the class picker starts with TeiRerankUser alone ticked (load/classes.py)
            for name in ("CohereRerankUser", "NimRankingUser"):
                assert not page.locator("tr", has_text=name).locator("input[type=checkbox]").is_checked()
            assert page.locator("tr", has_text="TeiRerankUser").locator("input[type=checkbox]").is_checked()
            page.fill("input[name=userCount]", "2")
            page.fill("input[name=spawnRate]", "2")
            page.fill("input[name=host]", server.url)
            page.get_by_text("Custom parameters").click()
            assert page.input_value("input[name=requestCount]") == "0"  # rankperf's default
            page.fill("input[name=requestCount]", str(REQUESTS))
            page.fill("input[name=rankingsPassagesMean]", str(PASSAGES))
            page.get_by_role("button", name="Start").click()

            page.get_by_role("tab", name="Rankings").click()
            count_cell = page.get_by_role("cell", name="Request Count (requests)", exact=True)
            count_cell.wait_for()
            live = count_cell.locator("xpath=following-sibling::td[1]").inner_text()
            assert float(live) > 0
            status = page.get_by_role("cell", name="Status: ", exact=False).first
            assert status.inner_text().startswith("Status: running"), status.inner_text()
            page.get_by_role("button", name="Stop").click()
            deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
            while time.monotonic() < deadline and "running" in status.inner_text():
                page.wait_for_timeout(250)
            page.get_by_role("button", name="New").wait_for()  # Locust's own header says stopped too
            final_status = status.inner_text()
            assert final_status.startswith("Status: stopped"), final_status  # stopped by hand, not finished
            shown = int(float(count_cell.locator("xpath=following-sibling::td[1]").inner_text()))
            passages = page.get_by_role("cell", name="Passages per Request (passages)", exact=True)
            assert passages.locator("xpath=following-sibling::td[1]").inner_text() == f"{PASSAGES}.00"
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            # the form's values reached the run: the export records the request count typed in
            exported = page.request.get(ui.base + "/rankings/artifacts/profile_export_aiperf.json").json()
            assert exported["rankperf"]["options"]["request_count"] == REQUESTS
            assert exported["was_cancelled"] is True
        finally:
            browser.close()
        rows = rankings(ui.get_json("/stats/requests"))
        assert 0 < shown < REQUESTS
        assert row(rows, "Request Count (requests)")["avg"] == f"{shown}.00"
        assert received(server) - before < REQUESTS
    assert SCREENSHOT.stat().st_size > 10_000


def test_start_with_two_classes_ticked_is_refused_in_the_form(clean_env, tmp_path):
    sync_playwright = _playwright()
    env = {**clean_env, "HOME": str(tmp_path)}
    with start_server(["--api", "all", "--fixed-latency-ms", "5"]) as server, \
            LocustWebUI(ui_args(), env, tmp_path) as ui, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(ui.base + "/")
            page.locator("tr", has_text="CohereRerankUser").locator("input[type=checkbox]").check()
            page.fill("input[name=host]", server.url)
            page.get_by_role("button", name="Start").click()
            page.get_by_text("2 user classes would run together (CohereRerankUser, TeiRerankUser)",
                             exact=False).wait_for()
            assert ui.get_json("/stats/requests")["state"] == "ready"
        finally:
            browser.close()
        total = sum(received(server, route) for route in ("/rerank", "/v2/rerank", "/v1/ranking"))
        assert total == 0
