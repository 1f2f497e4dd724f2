"""The command page in a real headless Chromium against a running system (embedded): a
bus crash declared and tagged after the page loaded shows up by itself, in Chinese, with
the tag counts by colour (the tiles in the national tag colours), the hospitals' capacity
against what was assigned, and the escorts and alerts sections. Screenshot in
test-artifacts/."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.server import Server
from tests.e2e.chromium import browser_errors, screenshot, until
from tests.integration.test_command_centre import _incident_event, declare_bus_crash

pytestmark = pytest.mark.e2e

RED = "rgba(198, 40, 40, 1)"  # the red tag's tile (written from the page's palette)


def test_the_command_page_shows_a_bus_crash_live(
    server: Server,
    client: httpx.Client,
    browser: Any,
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server.base_url}/command/")
    assert "当前无群体伤事件" in browser.find_element(By.ID, "mcis").text
    assert "指挥中心" in browser.title

    mci = f"MCI-{uuid.uuid4().hex[:6]}"
    beds = [{"category": "red", "available": 1}, {"category": "yellow", "available": 2}]
    client.put(
        "/command/capacity/hospital-a",
        json={
            "beds": beds,
            "surgical_teams": 1,
            "cath_lab_open": True,
            "ed_status": "normal",
            "reported_by": "护士长",
        },
    ).raise_for_status()
    declare_bus_crash(client, mci, estimated_casualties=12).raise_for_status()
    for n, tag in enumerate(["RED", "RED", "YELLOW", "GREEN", "BLACK"]):
        client.post(
            f"/command/incidents/{mci}/casualties",
            json={
                "casualty_id": f"T{n}",
                "tag": tag,
                "station_id": "station-a",
                "triaged_by": "crew-7",
            },
        ).raise_for_status()
    article = f'article.mci[data-mci="{mci}"]'
    red = until(lambda: _tile(browser, article, "RED", "2"), "the MCI with 2 red tags, live")
    # the duty officer applies the distribution plan from the page
    form = until(
        lambda: browser.find_element(By.CSS_SELECTOR, f"{article} form.apply"), "the apply button"
    )
    form.find_element(By.NAME, "assigned_by").send_keys("调度员王")
    form.find_element(By.TAG_NAME, "button").click()
    red = until(lambda: _tile(browser, article, "RED", "2"), "the page again")
    assert red.value_of_css_property("background-color") == RED
    assert "立即（红）" in red.text
    for colour, n in (("YELLOW", "1"), ("GREEN", "1"), ("BLACK", "1")):
        assert _tile(browser, article, colour, n) is not None
    row = until(lambda: _assigned_row(browser), "hospital-a with its assignments")
    assert "red 1 / 1 / 0" in row.text  # reported / assigned / left
    assert "一键护航" in browser.find_element(By.ID, "escorts").text

    # a cluster of carbon-monoxide calls raises an alert; the officer acknowledges it
    for n in range(6):
        _incident_event(
            server,
            f"CO-{uuid.uuid4().hex[:6]}",
            "IncidentOpened",
            n,
            dispatch_reason="carbon monoxide",
            priority="1",
            station_id="station-b",
            unit_id="B1",
            scene=None,
        )
    alert = until(
        lambda: browser.find_element(By.CSS_SELECTOR, "#alerts tr.alert.open"), "the alert, live"
    )
    assert "carbon monoxide" in alert.text and "未确认" in alert.text
    screenshot(browser, "command-page-bus-crash")
    alert.find_element(By.NAME, "acknowledged_by").send_keys("值班员李")
    alert.find_element(By.TAG_NAME, "button").click()
    done = until(
        lambda: browser.find_element(By.CSS_SELECTOR, "#alerts tr.alert.done"),
        "the acknowledged alert",
    )
    assert "值班员李 已确认" in done.text
    assert browser_errors(browser) == []  # no script error, no CSP refusal


def _tile(driver: Any, article: str, colour: str, count: str) -> Any:
    from selenium.common.exceptions import NoSuchElementException
    from selenium.webdriver.common.by import By

    try:
        tile = driver.find_element(By.CSS_SELECTOR, f'{article} .tag[data-colour="{colour}"]')
    except NoSuchElementException:
        return None
    return tile if tile.find_element(By.TAG_NAME, "b").text == count else None


def _assigned_row(driver: Any) -> Any:
    from selenium.common.exceptions import NoSuchElementException
    from selenium.webdriver.common.by import By

    try:
        row = driver.find_element(By.CSS_SELECTOR, '#hospitals tr[data-hospital="hospital-a"]')
    except NoSuchElementException:
        return None
    return row if "red 1 / 1 / 0" in row.text else None
