"""The receiving hospital's board in a real headless Chromium, against a real running system
(embedded backend) over HTTP: a STEMI ambulance appears live (its events are appended
after the page loaded), with the ECG strip and its automatic class; the clinician types
their name and accepts the handover; the card moves to "handed over" and the log holds one
HandoverAccepted for the board's hospital. Then the region view shows the unit.

Needs Chromium, chromedriver and selenium (tests/e2e/chromium.py, fixtures in conftest.py).
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from services.server import Server
from stream_processors.fhir_projector.incident.encounter import encounter_id
from tests.e2e.chromium import browser_errors, screenshot, until
from tests.integration.test_hospital_board import HOSPITAL, logged_acceptances, stemi_incident
from tests.integration.test_incident_ecg import append, ecg_acquired

pytestmark = pytest.mark.e2e

CLINICIAN = "Dr Wang Fang"
STEMI_RED = "rgba(198, 40, 40, 1)"


def test_stemi_appears_live_and_the_handover_is_accepted_on_the_board(
    server: Server,  # first: torn down after the browser
    client: httpx.Client,
    browser: Any,
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server.base_url}/board/{HOSPITAL}")
    until(lambda: browser.find_element(By.ID, "live-text").text == "实时", "the live stream")
    assert "暂无急救车前来" in browser.find_element(By.ID, "incoming").text

    # The crew's events arrive after the page loaded: the card must appear by itself.
    incident = stemi_incident(server)
    ecg_id = f"amb-{uuid.uuid4().hex[:6]}"
    ecg_acquired(server, incident, ecg_id, 11, st_uv=250)
    selector = f'#incoming article.card[data-incident-id="{incident}"]'
    card = until(lambda: browser.find_element(By.CSS_SELECTOR, selector), "the STEMI card, live")
    kind = card.find_element(By.CSS_SELECTOR, ".kind")
    assert kind.text == "STEMI" and kind.value_of_css_property("background-color") == STEMI_RED
    until(
        lambda: browser.find_element(
            By.CSS_SELECTOR, f'{selector} figure.ecg[data-class="critical"] svg.ecg-thumb'
        ),
        "the ECG strip with its automatic class",
    )
    card = browser.find_element(By.CSS_SELECTOR, selector)
    assert "自动分诊：危急" in card.text
    assert "ST elevation II, III, aVF" in card.find_element(By.CSS_SELECTOR, ".atmist").text
    hr = card.find_element(By.CSS_SELECTOR, '.vital[data-loinc="8867-4"]').text
    assert "96" in hr and "/min" in hr
    assert "分钟" in card.find_element(By.CSS_SELECTOR, ".eta").text
    screenshot(browser, "board-incoming-stemi")

    # Transfer of care.
    card.find_element(By.CSS_SELECTOR, "form.accept input[name=accepted_by]").send_keys(CLINICIAN)
    card.find_element(By.CSS_SELECTOR, "form.accept button").click()
    done = until(
        lambda: browser.find_element(
            By.CSS_SELECTOR, f'#handed-over article.card[data-incident-id="{incident}"]'
        ),
        "the card in the handed-over section",
    )
    assert done.find_element(By.CSS_SELECTOR, ".accepted-by").text == CLINICIAN
    assert "交接时间" in done.text
    assert not browser.find_elements(By.CSS_SELECTOR, selector)
    screenshot(browser, "board-handed-over")
    assert browser_errors(browser) == []

    (event,) = logged_acceptances(server, incident)
    assert (event["hospital_id"], event["accepted_by"]) == (HOSPITAL, CLINICIAN)
    assert event["meta"]["source"]["channel"] == "board"
    board = client.get(f"/board/{HOSPITAL}.json").json()
    assert board["handed_over"][0]["accepted"]["by"] == CLINICIAN
    # The transfer-of-care time lands in the ambulance Encounter.
    accepted_at = event["meta"]["occurred_at"].isoformat()[:19]
    encounter_url = f"/fhir/Encounter/{encounter_id(incident)}"
    for _ in range(100):
        encounter = client.get(encounter_url).json()
        if encounter.get("status") == "finished":
            break
        time.sleep(0.1)
    assert encounter["status"] == "finished"
    assert encounter["period"]["end"][:19] == accepted_at

    # The region view: the unit that brought the patient, live too.
    append(
        server,
        incident,
        "UnitStatusChanged",
        40,
        unit_id="A12",
        status="AT_DESTINATION",
        position={"latitude": 31.2304, "longitude": 121.4737, "address": "County Hospital"},
    )
    browser.get(f"{server.base_url}/region/")
    row = until(
        lambda: browser.find_element(
            By.CSS_SELECTOR, '#units tr[data-unit-id="A12"][data-status="AT_DESTINATION"]'
        ),
        "unit A12 at the hospital",
    )
    assert incident in row.text
    assert browser.find_elements(By.CSS_SELECTOR, '#region-map g.dot[data-unit-id="A12"]')
    screenshot(browser, "region-units")
    assert browser_errors(browser) == []
