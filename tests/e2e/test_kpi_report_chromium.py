"""The quality report page in a real headless Chromium, against a real running system
(embedded backend) fed by the fixed-seed county scenario over HTTP: the summary table, a
histogram per interval indicator with its target line, compliance per month and per
station, door-to-balloon with no case (no hospital reported a PCI), no console or CSP errors. Screenshots go
to test-artifacts/ at the repository root."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.server import Server
from services.simulate.region import plan, play
from stream_processors.quality_kpis.definitions import INTERVAL, KPIS
from tests.e2e.chromium import browser_errors, screenshot, until
from tests.integration.test_kpi_asof import CONFIG

pytestmark = pytest.mark.e2e


def test_report_page_draws_the_plots_against_their_targets(browser: Any, server: Server) -> None:
    from selenium.webdriver.common.by import By

    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        play(client, plan(CONFIG).steps)
        api = client.get("/kpi", params={"by": "station"}).json()

    browser.get(f"{server.base_url}/kpi/report?by=station")
    rows = until(lambda: browser.find_elements(By.CSS_SELECTOR, "#summary tbody tr"), "summary")
    assert len(rows) == len(KPIS)
    c2d = browser.find_element(By.CSS_SELECTOR, '#summary tr[data-kpi="call_to_dispatch"]')
    assert c2d.find_elements(By.TAG_NAME, "td")[1].text == "4"  # cases, as the JSON says
    d2b = browser.find_element(By.CSS_SELECTOR, '#summary tr[data-kpi="door_to_balloon"]')
    assert d2b.find_elements(By.TAG_NAME, "td")[1].text == "0"  # no PCI reported: no case

    for kpi in (k for k in KPIS if k.kind == INTERVAL and k.available):
        hist = browser.find_element(By.CSS_SELECTOR, f'svg.histogram[data-kpi="{kpi.code}"]')
        bars = hist.find_elements(By.CSS_SELECTOR, "rect.bar")
        counted = sum(int(b.get_attribute("data-count")) for b in bars)
        want = next(k for k in api["kpis"] if k["code"] == kpi.code)["all"]["measured"]
        assert counted == want, kpi.code
        assert hist.find_elements(By.CSS_SELECTOR, "line.target"), kpi.code
        assert hist.size["width"] > 300 and hist.size["height"] > 100  # drawn, not collapsed
    stations = browser.find_elements(
        By.CSS_SELECTOR, 'svg.groups[data-kpi="response_time"] rect.bar'
    )
    assert sorted(b.get_attribute("data-group") for b in stations) == ["station-01", "station-02"]
    months = browser.find_elements(By.CSS_SELECTOR, 'svg.monthly[data-kpi="fmc_to_first_ecg"]')
    assert months and months[0].find_elements(By.CSS_SELECTOR, "line.target")  # 75 % line
    fill = browser.find_element(By.CSS_SELECTOR, "svg.histogram rect.bar").value_of_css_property(
        "fill"
    )
    assert fill in ("rgb(79, 131, 196)", "rgb(217, 83, 79)")  # the style sheet applied (CSP)
    assert browser_errors(browser) == []
    screenshot(browser, "kpi-report")

    # As of before the scenario: the same page, every count zero.
    browser.get(f"{server.base_url}/kpi/report?as_of=2020-01-01T00:00%2B08:00&by=station")
    as_of = until(lambda: browser.find_element(By.ID, "as-of"), "as-of")
    assert as_of.get_attribute("data-as-of") == "2020-01-01T00:00:00+08:00"
    assert "2020年1月1日 00:00" in as_of.text  # Beijing time, Chinese date
    c2d = browser.find_element(By.CSS_SELECTOR, '#summary tr[data-kpi="call_to_dispatch"]')
    assert c2d.find_elements(By.TAG_NAME, "td")[1].text == "0"
    screenshot(browser, "kpi-report-as-of-empty")
