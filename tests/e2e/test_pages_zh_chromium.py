"""Every page a person opens, in a real headless Chromium whose language is Chinese
(`--lang=zh-CN`, as on the county's PCs), against a real running system (embedded backend):
the landing page links every page by role; `/board/` lists hospitals instead of a JSON
404; the board ages out an ambulance that arrived days ago and collapses handed-over cards;
the region view draws the shipped county map with units' heading and age in minutes; the
KPI report takes a date-only `as_of`, explains a bad one on a page, shows values and n on
bars and a row per station; `/docs` and `/redoc` render with nothing fetched from
elsewhere. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
import pytest

from services.server import Server
from tests.e2e.chromium import browser_errors, screenshot, until
from tests.integration.test_hospital_board import HOSPITAL, stemi_incident
from tests.integration.test_incident_ecg import append

pytestmark = pytest.mark.e2e

# A run of two English words a Chinese page should not show (ids, codes, units and the
# product name aside: they are lower-case tokens joined by - or digits, not sentences).
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{3,} [a-z]{3,} [a-z]{3,}\b")
ROLE_LINKS = {
    "role-crew": "/crew/",
    "role-dispatch": "/region/",
    "role-hospital": "/board/",
    "role-reader": "/reading/",
    "role-quality": "/kpi/report",
    "role-it": "/docs",
}


def visible_text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "body").text)


def assert_chinese_page(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    text = visible_text(driver)
    assert re.search(r"[\u4e00-\u9fff]", text), "no Chinese on the page"
    english = ENGLISH_SENTENCE.findall(text)
    assert not english, f"untranslated English: {english}"


def only_this_server(driver: Any, base_url: str) -> list[str]:
    """URLs the page loaded from anywhere but this server (a CDN would fail offline)."""
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [u for u in urls if not (u.startswith(base_url) or u.startswith("data:"))]


def test_landing_page_links_every_page_by_role_in_chinese(
    server: Server,
    browser: Any,
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server.base_url}/")
    assert_chinese_page(browser)
    assert "急救车组" in visible_text(browser) and "质控人员" in visible_text(browser)
    for section, href in ROLE_LINKS.items():
        links = browser.find_elements(By.CSS_SELECTOR, f"#{section} a")
        assert any(a.get_attribute("href").endswith(href) for a in links), section
    screenshot(browser, "zh-landing")
    # The user's choice of English sticks (a cookie) on the next page.
    browser.find_element(By.ID, "switch-lang").click()
    until(lambda: browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en", "en")
    assert "Ambulance crew" in visible_text(browser)
    browser.get(f"{server.base_url}/region/")
    assert "Units in the region" in visible_text(browser)
    browser.get(f"{server.base_url}/?lang=zh-CN")
    assert_chinese_page(browser)
    assert browser_errors(browser) == []


def test_board_index_ages_out_stale_cards_and_collapses_handed_over_ones(
    server: Server,
    client: httpx.Client,
    browser: Any,
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server.base_url}/board/")
    assert_chinese_page(browser)
    field = browser.find_element(By.ID, "hospital-id")
    field.send_keys(HOSPITAL)
    field.submit()
    until(lambda: browser.current_url.endswith(f"/board/{HOSPITAL}"), "the typed hospital's board")
    screenshot(browser, "zh-board-index-typed")

    # One ambulance arrived days ago (the fixture's clock is in November): aged out.
    old = stemi_incident(server)
    append(
        server,
        old,
        "UnitStatusChanged",
        30,
        unit_id="A12",
        status="AT_DESTINATION",
        position={"latitude": 34.27, "longitude": 108.95, "address": None},
    )
    # One coming now, handed over at once: collapsed to its summary line.
    fresh = stemi_incident(server)
    until(
        lambda: any(
            c["incident_id"] == fresh and c["handover"]
            for c in client.get(f"/board/{HOSPITAL}.json").json()["incoming"]
        ),
        "fresh",
    )
    accepted = client.post(
        f"/board/{HOSPITAL}/incidents/{fresh}/accept", json={"accepted_by": "张医生"}
    )
    assert accepted.status_code == 202
    browser.get(f"{server.base_url}/board/{HOSPITAL}")
    assert_chinese_page(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, f'article[data-incident-id="{old}"]')
    assert "1 张较早的卡片" in browser.find_element(By.ID, "aged-out").text
    card = browser.find_element(
        By.CSS_SELECTOR, f'#handed-over article[data-incident-id="{fresh}"]'
    )
    details = card.find_element(By.TAG_NAME, "details")
    assert details.get_attribute("open") is None  # collapsed
    assert "张医生" in card.text and "交接时间" in card.text
    assert not card.find_element(By.CSS_SELECTOR, ".atmist").is_displayed()
    card.find_element(By.TAG_NAME, "summary").click()
    assert card.find_element(By.CSS_SELECTOR, ".atmist").is_displayed()
    times = [t.text for t in card.find_elements(By.CSS_SELECTOR, ".atmist time")]
    assert times and all(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d", t) for t in times)
    screenshot(browser, "zh-board-handed-over-opened")
    assert browser_errors(browser) == []


def test_region_map_shows_the_county_and_units_with_heading_and_minutes(
    server: Server,
    client: httpx.Client,
    browser: Any,
) -> None:
    from selenium.webdriver.common.by import By

    three_min_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3, seconds=5)
    batch = {
        "positions": [
            {
                "event_id": str(uuid.uuid4()),
                "unit_id": "amb-07",
                "station_id": "station-01",
                "occurred_at": three_min_ago.isoformat(),
                "latitude": 34.30,
                "longitude": 108.99,
                "speed_kmh": 48,
                "heading_deg": 90,
            }
        ]
    }
    assert client.post("/ingest/positions", json=batch).status_code in (200, 202)
    browser.get(f"{server.base_url}/region/")
    assert_chinese_page(browser)
    row = until(
        lambda: browser.find_element(By.CSS_SELECTOR, '#units tr[data-unit-id="amb-07"]'), "unit"
    )
    assert "3 分钟前" in row.text and "东 90°" in row.text
    svg = browser.find_element(By.ID, "region-map")
    assert svg.find_elements(By.CSS_SELECTOR, "path.county")  # the shipped outline
    assert "城关镇" in svg.text
    arrow = svg.find_element(By.CSS_SELECTOR, 'g.dot[data-unit-id="amb-07"] path.arrow')
    assert arrow.get_attribute("transform") == "rotate(90)"
    assert "分钟前" in svg.find_element(By.CSS_SELECTOR, 'g.dot[data-unit-id="amb-07"]').text
    assert "示意底图" in visible_text(browser)
    screenshot(browser, "zh-region-map")
    assert browser_errors(browser) == []


def test_kpi_report_in_chinese_with_date_only_as_of_and_a_readable_error(
    server: Server,
    client: httpx.Client,
    browser: Any,
) -> None:
    from selenium.webdriver.common.by import By

    from services.simulate.region import plan, play
    from tests.integration.test_kpi_asof import CONFIG

    play(client, plan(CONFIG).steps)
    browser.get(f"{server.base_url}/kpi/report?as_of=2099-01-01&by=station")
    assert_chinese_page(browser)
    as_of = browser.find_element(By.ID, "as-of")
    assert as_of.get_attribute("data-as-of") == "2099-01-01T23:59:59.999999+08:00"
    assert "2099年1月1日 23:59" in as_of.text
    rows = browser.find_elements(By.CSS_SELECTOR, 'table.groups[data-kpi="response_time"] tbody tr')
    assert sorted(r.get_attribute("data-group") for r in rows) == ["station-01", "station-02"]
    bar = browser.find_element(By.CSS_SELECTOR, 'svg.groups[data-kpi="response_time"] rect.bar')
    n = bar.get_attribute("data-n")
    labels = browser.find_element(By.CSS_SELECTOR, 'svg.groups[data-kpi="response_time"]').text
    assert f"n={n}" in labels and "%" in labels  # values and n on the bars
    screenshot(browser, "zh-kpi-report-by-station")

    browser.get(f"{server.base_url}/kpi/report?as_of=yesterday")
    assert_chinese_page(browser)
    error = browser.find_element(By.ID, "error")
    assert "yesterday" in error.text and "不是日期" in error.text
    assert browser.find_element(By.NAME, "as_of").get_attribute("value") == "yesterday"
    screenshot(browser, "zh-kpi-report-bad-as-of")
    # The page's own 400 status is logged by the browser; nothing else may be.
    assert [e for e in browser_errors(browser) if "400 (Bad Request)" not in e] == []


def test_docs_and_redoc_render_from_packaged_assets(
    server: Server,
    browser: Any,
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server.base_url}/docs")
    until(lambda: browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"), "Swagger UI")
    assert only_this_server(browser, server.base_url) == []
    screenshot(browser, "zh-docs-swagger")
    browser.get(f"{server.base_url}/redoc")
    until(
        lambda: browser.find_elements(By.CSS_SELECTOR, "[role=navigation], .menu-content"), "ReDoc"
    )
    assert only_this_server(browser, server.base_url) == []
    screenshot(browser, "zh-docs-redoc")
