"""The cardiologist's workstation in a real headless Chromium, against a real running system
(embedded backend) over HTTP: the queue shows the STEMI first, "Claim next" opens it, the
12 leads and the rhythm strip are drawn, and the signed report becomes a final FHIR
DiagnosticReport carrying the reader's text and SNOMED CT code. A reader who only ticks
boxes signs the words the page showed (Chinese on a Chinese page), while the record keeps the
stored English statements and SNOMED CT's display.

Needs Chromium, its matching chromedriver (Debian: `chromium chromium-driver`) and the
`selenium` package. Missing ones skip the test, or fail it when GOLDENHOUR_REQUIRE_SERVERS=1
(CI). Screenshots go to test-artifacts/ at the repository root.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from avro_schemas.catalogue import READING
from avro_schemas.events import READ_REPORTED
from kernel.codes import STANDARD_LEAD_ORDER
from kernel.jsontypes import Json
from services.server import Server
from tests.e2e.chromium import browser_errors, screenshot, until
from tests.ecg_payloads import ecg_payload
from tests.integration.test_ecg_slice import wait_for

pytestmark = pytest.mark.e2e

READER = "dr-li"
STEMI_SNOMED = "401303003"
# SNOMED CT's preferred term of 401303003: what a coding's display stays, on any page.
STEMI_DISPLAY = "Acute ST segment elevation myocardial infarction"
# The page's words for the ticked boxes and what joins them, per language (the zh-CN
# catalogue's wording; the device's statement is "Sinus rhythm").
SHOWN = {
    "zh-CN": {"stemi": "急性 ST 段抬高型心肌梗死", "sinus": "窦性心律", "sep": "。"},
    "en": {"stemi": STEMI_DISPLAY, "sinus": "Sinus rhythm", "sep": ". "},
}
CSS_PX_PER_MM = 96 / 25.4  # CSS reference pixel: the SVG is sized in mm


def submit(client: httpx.Client, **changes: Any) -> str:
    body = ecg_payload(**changes)
    resp = client.post("/ingest/ecg", json=body)
    assert resp.status_code == 202, resp.text
    wait_for(client, resp.headers["Location"])  # the Observation the ECG page draws
    return str(body["ecg_id"])


def routine_then_stemi(client: httpx.Client, routine_at: str) -> tuple[str, str]:
    """A routine ECG acquired at `routine_at`, then a STEMI; returns their ids once both are
    queued and measured by the ecg-measurer processor."""
    routine = submit(client, urgency="routine", acquired_at=routine_at)
    stemi = submit(client, urgency="stat", st_uv=250)

    def measured() -> bool:
        queue = client.get("/reading/queue").json()
        return len(queue) == 2 and all(i["measurements"] for i in queue)

    until(measured, "both ECGs, measured by the ecg-measurer processor")
    return routine, stemi


def test_reader_claims_the_stemi_first_and_signs_a_coded_report(
    browser: Any, server: Server, client: httpx.Client
) -> None:
    from selenium.webdriver.common.by import By

    older, stemi = routine_then_stemi(client, "2025-05-01T09:00:00+08:00")

    # The queue: the STEMI first, in red.
    browser.get(f"{server.base_url}/reading/")
    rows = until(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#queue-rows tr[data-ecg-id]"), "queue rows"
    )
    assert [r.get_attribute("data-ecg-id") for r in rows] == [stemi, older]
    badge = rows[0].find_element(By.CSS_SELECTOR, ".badge")
    assert (
        badge.text == "危急"
        and badge.value_of_css_property("background-color") == "rgba(198, 40, 40, 1)"
    )
    assert "王建国" in rows[0].text and "白杨镇卫生院" in rows[0].text and "前" in rows[0].text
    browser.find_element(By.ID, "reader-id").send_keys(READER)
    screenshot(browser, "workstation-queue")

    # Claim next: the most urgent ECG opens.
    browser.find_element(By.ID, "claim-next").click()
    until(lambda: browser.current_url.endswith(f"/reading/ecg/{stemi}"), "the STEMI's ECG page")
    svg = browser.find_element(By.ID, "ecg-current")
    labels = svg.find_elements(By.CSS_SELECTOR, "text.lead-label")
    assert sorted(t.text for t in labels[:12]) == sorted(STANDARD_LEAD_ORDER)
    assert len(svg.find_elements(By.CSS_SELECTOR, "path.trace:not(.missing)")) == 13
    assert (
        svg.find_element(By.CSS_SELECTOR, "g.rhythm path.trace").get_attribute("data-lead") == "II"
    )
    assert svg.size["width"] == pytest.approx(265 * CSS_PX_PER_MM, abs=1)  # 25 mm/s on screen
    until(lambda: "由您认领" in browser.find_element(By.ID, "lease-status").text, "lease shown")
    assert (
        browser.find_element(By.ID, "previous-link")
        .get_attribute("href")
        .endswith(f"/reading/ecg/{older}")
    )
    assert "王建国" in browser.find_element(By.ID, "patient").text
    assert browser.find_elements(By.CSS_SELECTOR, "#measurements table.st td.st-up")[
        0
    ].text.startswith("II +2.")

    # Report: confirm the device statement, code a STEMI, write, sign.
    browser.find_element(
        By.CSS_SELECTOR, '#computer-statements input[value="Sinus rhythm"]'
    ).click()
    browser.find_element(
        By.CSS_SELECTOR, '#computer-statements input[value^="ST elevation"]'
    ).click()
    browser.find_element(
        By.CSS_SELECTOR, f'#coded-statements input[value="{STEMI_SNOMED}"]'
    ).click()
    text = "Acute inferior STEMI (ST elevation II, III, aVF). Activate the cath lab."
    browser.find_element(By.ID, "interpretation").send_keys(text)
    screenshot(browser, "workstation-ecg")
    browser.find_element(By.ID, "sign").click()
    signed = until(
        lambda: (e := browser.find_element(By.ID, "signed")).is_displayed() and e,
        "the signed state",
    )
    screenshot(browser, "workstation-ecg-signed")
    report_ref = signed.get_attribute("data-report")
    assert browser.find_element(By.ID, "signed-text").text == text
    assert browser_errors(browser) == []
    browser.refresh()  # the signed state is the server's too, not only the script's
    assert browser.find_element(By.ID, "signed-text").text == text
    assert not browser.find_elements(By.ID, "report-form")

    # The same report, as hospital systems read it.
    report = wait_for(client, f"/fhir/{report_ref}").json()
    assert report["status"] == "final" and report["conclusion"] == text
    assert report["conclusionCode"][0]["coding"][0]["code"] == STEMI_SNOMED
    assert [i["ecg_id"] for i in client.get("/reading/queue").json()] == [older]


def test_api_errors_are_shown_and_the_queue_refreshes_by_itself(
    browser: Any, server: Server, client: httpx.Client
) -> None:
    from selenium.webdriver.common.by import By

    stemi = submit(client, urgency="stat", st_uv=250)
    until(lambda: client.get("/reading/queue").json(), "the ECG in the queue")
    assert client.post("/reading/claims", json={"reader_id": "dr-zhang"}).status_code == 200
    browser.get(f"{server.base_url}/reading/")
    browser.execute_script("localStorage.setItem('goldenhour.readerId', arguments[0])", READER)
    browser.refresh()
    browser.find_element(By.ID, "claim-next").click()
    error = until(
        lambda: (e := browser.find_element(By.ID, "error")).is_displayed() and e,
        "the OperationOutcome message",
    )
    assert "没有可认领的心电图" in error.text  # the API's OperationOutcome, in Chinese
    browser.get(f"{server.base_url}/reading/ecg/{stemi}")
    status = until(lambda: browser.find_element(By.ID, "lease-status").text, "lease status")
    assert "由 dr-zhang 认领" in status
    assert not browser.find_element(By.ID, "sign").is_enabled()

    browser.get(f"{server.base_url}/reading/")
    assert "dr-zhang" in browser.find_element(By.CSS_SELECTOR, "#queue-rows tr").text
    # Acquired later: a recording within minutes of the first would be shown as its repeat.
    later = submit(client, urgency="routine", acquired_at="2026-11-23T19:30:00+08:00")
    until(
        lambda: browser.find_elements(By.CSS_SELECTOR, f'#queue-rows tr[data-ecg-id="{later}"]'),
        "the new ECG to appear without a reload",
    )


def signed_events(server: Server, ecg_id: str) -> list[Json]:
    """The ReadReported events of `ecg_id`, straight from the log."""
    system, out = server.system, []
    for tp, end in system.log.end_offsets(READING).items():
        for record in system.log.read(READING, tp.partition, 0, end):
            name, event = system.codec.decode(record.value)
            if name == READ_REPORTED and event["ecg_id"] == ecg_id:
                out.append(event)
    return out


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_ticked_statements_sign_the_text_the_reader_saw_and_keep_the_record_canonical(
    browser: Any, server: Server, client: httpx.Client, lang: str
) -> None:
    """A reader who only ticks boxes signs the labels of the page's language (a Chinese
    reader, a Chinese report to the clinic); the confirmed statements stay the stored
    English ones and the SNOMED CT coding keeps the code system's display."""
    from selenium.webdriver.common.by import By

    stemi = submit(client, urgency="stat", st_uv=250)

    def st_reason() -> str | None:
        reasons = [r for i in client.get("/reading/queue").json() for r in i["reasons"]]
        return next((r for r in reasons if r.startswith("critical: ST elevation")), None)

    stored = until(st_reason, "the STEMI's ST elevation, measured").removeprefix("critical: ")
    browser.get(f"{server.base_url}/reading/?lang={lang}")  # the choice sticks (a cookie)
    browser.find_element(By.ID, "reader-id").send_keys(READER)
    browser.find_element(By.ID, "claim-next").click()
    until(lambda: browser.current_url.endswith(f"/reading/ecg/{stemi}"), "the STEMI's ECG page")
    until(lambda: browser.find_element(By.ID, "sign").is_enabled(), "the form, held by the reader")

    boxes = [
        browser.find_element(By.CSS_SELECTOR, f'#coded-statements input[value="{STEMI_SNOMED}"]'),
        browser.find_element(By.CSS_SELECTOR, '#computer-statements input[value="Sinus rhythm"]'),
        browser.find_element(By.CSS_SELECTOR, '#computer-statements input[value^="ST elevation"]'),
    ]
    # What the reader reads beside each box (the coded one ends with its code).
    seen = [b.find_element(By.XPATH, "..").text.removesuffix(STEMI_SNOMED).strip() for b in boxes]
    words = SHOWN[lang]
    assert seen[:2] == [words["stemi"], words["sinus"]]
    chinese = re.search(r"[\u4e00-\u9fff]", seen[2]) is not None
    assert chinese == (lang == "zh-CN") and "ST" in seen[2]
    assert (seen[2] == stored) == (lang == "en")
    for box in boxes:
        box.click()
    assert browser.find_element(By.ID, "interpretation").get_attribute("value") == ""
    browser.find_element(By.ID, "sign").click()
    signed = until(
        lambda: (e := browser.find_element(By.ID, "signed")).is_displayed() and e,
        "the signed state",
    )
    screenshot(browser, f"workstation-ticked-signed-{lang}")
    report_ref = signed.get_attribute("data-report")
    conclusion = words["sep"].join(seen)
    assert browser.find_element(By.ID, "signed-text").text == conclusion
    assert browser.find_element(By.ID, "signed-codes").text == f"{words['stemi']} {STEMI_SNOMED}"
    browser.refresh()  # the server's signed section says the same
    assert browser.find_element(By.ID, "signed-text").text == conclusion
    assert browser.find_element(By.ID, "signed-codes").text == f"{words['stemi']} {STEMI_SNOMED}"
    assert browser_errors(browser) == []

    # The clinic's copy: the reader's text; the coding as SNOMED CT states it.
    report = wait_for(client, f"/fhir/{report_ref}").json()
    assert report["conclusion"] == conclusion
    assert report["conclusionCode"] == [
        {
            "coding": [
                {"system": "http://snomed.info/sct", "code": STEMI_SNOMED, "display": STEMI_DISPLAY}
            ]
        }
    ]
    # The record: the stored English statements, the coding as SNOMED CT states it.
    [event] = signed_events(server, stemi)
    assert event["interpretation"] == conclusion
    assert event["confirmed_statements"] == ["Sinus rhythm", stored]
    assert [(c["code"], c["display"]) for c in event["codes"]] == [(STEMI_SNOMED, STEMI_DISPLAY)]
