"""The ambulance crew's tablet app in a real headless Chromium (a Chinese tablet: zh-CN),
against a real running system (embedded backend) over HTTP, with the network cut by
Chrome DevTools (`Network.emulateNetworkConditions`) and restored:

- offline, the crew records a whole incident (opening, timeline taps, patient with a
  resident ID, vitals, a medication, an intervention, the demo ECG, a STEMI pre-alert to
  a registry hospital, the ATMIST handover); the page is reloaded; once the network is
  back every entry reaches the incident's log exactly once and in the order recorded;
- a partner tablet writes while this one is offline: the sync gets 409 with the missed
  events, shows them, re-bases its outbox and ends with the log holding everything once
  (the status both tablets recorded, once).

Needs Chromium, chromedriver and selenium (tests/e2e/chromium.py).
Screenshots (Chinese UI) go to test-artifacts/.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.registry import seed
from services.server import Server
from tests.e2e.chromium import browser_errors, screenshot, start_chromium, until

pytestmark = pytest.mark.e2e

SEED = Path(__file__).resolve().parents[2] / "deploy" / "registry" / "seed.example.json"
STATION, UNIT, TABLET, HOSPITAL = "station-chengguan", "amb-07", "tablet-amb-07", "county-hospital"
RESIDENT_ID = "11010519491231002X"  # GB 11643's own example; check character X
# What a cut network makes Chromium log: expected here, unlike a script or CSP error.
NETWORK_NOISE = ("ERR_INTERNET_DISCONNECTED", "status of 409", "Failed to fetch")


@pytest.fixture
def tablet(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium set up as a Chinese tablet (Accept-Language zh-CN), its network
    under DevTools' control."""
    driver = start_chromium(tmp_path / "tablet-profile", window_size="1280,900")
    driver.execute_cdp_cmd("Network.enable", {})
    yield driver
    driver.quit()


def network(driver: Any, online: bool) -> None:
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": not online, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def load_registry(api: httpx.Client) -> None:
    """The county's registry: the app offers its hospitals; the API checks ids against it."""
    seed.post(api, seed.read(SEED))
    until(lambda: api.get("/crew/reference.json").json()["hospitals"], "hospitals folded")


def open_app(driver: Any, base: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/crew/")
    until(lambda: driver.find_element(By.CSS_SELECTOR, "body[data-ready=true]"), "the app")
    # The offline shell: the worker controls the page and holds the app in its cache.
    cached = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.serviceWorker.ready"
        ".then(() => caches.open('goldenhour-crew-v1')).then((c) => c.keys())"
        ".then((keys) => done(keys.map((r) => new URL(r.url).pathname)))"
    )
    assert {"/crew/", "/crew/static/app.js", "/crew/reference.json"} <= set(cached)


def tab(driver: Any, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f'#tabs button[data-tab="{name}"]').click()


def fill(driver: Any, form: str, values: dict[str, str]) -> None:
    from selenium.webdriver.common.by import By

    for name, value in values.items():
        field = driver.find_element(By.CSS_SELECTOR, f'{form} [name="{name}"]')
        field.clear()
        field.send_keys(value)


def submit(driver: Any, form: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"{form} button[type=submit]").click()


def shot(driver: Any, name: str) -> None:
    driver.execute_script("window.scrollTo(0, 0)")  # the sticky header at the top
    screenshot(driver, name)


def pending(driver: Any) -> int:
    from selenium.webdriver.common.by import By

    return int(driver.find_element(By.ID, "sync-state").get_attribute("data-pending"))


def waiting(driver: Any, n: int) -> None:
    """Wait until the outbox holds `n` entries (each write is asynchronous: IndexedDB)."""
    try:
        until(lambda: pending(driver) == n, f"{n} entries in the outbox")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the app shows {page_log(driver)}") from None


def set_up_tablet(driver: Any) -> None:
    tab(driver, "settings")
    fill(
        driver,
        "#settings-form",
        {"station_id": STATION, "unit_id": UNIT, "device_id": TABLET, "user_id": "crew-1"},
    )
    submit(driver, "#settings-form")


def open_incident(driver: Any, reason: str) -> str:
    tab(driver, "incident")
    fill(driver, "#incident-form", {"dispatch_reason": reason, "address": "新华路 12 号"})
    before = driver.execute_script("return localStorage.getItem('goldenhour.crew.current')")
    submit(driver, "#incident-form")
    return str(
        until(
            lambda: (
                (
                    now := driver.execute_script(
                        "return localStorage.getItem('goldenhour.crew.current')"
                    )
                )
                != before
                and now
            ),
            "the new incident",
        )
    )


def tap_status(driver: Any, status: str) -> None:
    from selenium.webdriver.common.by import By

    tab(driver, "timeline")
    driver.find_element(By.CSS_SELECTOR, f'#status-buttons button[data-status="{status}"]').click()
    until(
        lambda: driver.find_element(
            By.CSS_SELECTOR, f'#status-buttons button.done[data-status="{status}"]'
        ),
        f"{status} recorded",
    )


def record_vitals(driver: Any, values: dict[str, str]) -> None:
    tab(driver, "vitals")
    fill(driver, "#vitals-form", values)
    submit(driver, "#vitals-form")


def logged(api: httpx.Client, incident: str) -> list[dict[str, Any]]:
    resp = api.get(f"/ingest/incidents/{incident}/events")
    assert resp.status_code == 200, resp.text
    return resp.json()["events"]  # type: ignore[no-any-return]


def page_log(driver: Any) -> list[tuple[str, str, str]]:
    """(event id, origin, state) of every entry the app shows, in its order (read in one
    script: the list is re-rendered whenever the sync moves on)."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#log li')]"
        ".map((li) => [li.dataset.eventId, li.dataset.origin, li.dataset.state]);"
    )
    return [tuple(row) for row in rows]


def script_errors(driver: Any) -> list[str]:
    return [e for e in browser_errors(driver) if not any(n in e for n in NETWORK_NOISE)]


def test_an_incident_recorded_offline_reaches_the_log_once_and_in_order(
    server: Server,  # first: torn down after the browser
    client: httpx.Client,
    tablet: Any,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    load_registry(client)
    open_app(tablet, server.base_url)
    assert tablet.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    assert tablet.find_element(By.CSS_SELECTOR, 'button[data-tab="timeline"]').text == "时间线"
    set_up_tablet(tablet)

    network(tablet, online=False)
    incident = open_incident(tablet, "胸痛 40 分钟，大汗")
    for status in ("EN_ROUTE", "ON_SCENE", "AT_PATIENT"):
        tap_status(tablet, status)

    # The resident ID: the check character is computed on the tablet as the crew types.
    tab(tablet, "patient")
    fill(tablet, "#patient-form", {"resident_id": RESIDENT_ID[:17]})
    help_ = tablet.find_element(By.ID, "resident-id-help")
    assert "X" in help_.text and help_.get_attribute("data-state") == "typing"
    tablet.find_element(By.CSS_SELECTOR, "#patient-form [name=resident_id]").send_keys("9")
    assert help_.get_attribute("data-state") == "bad" and "X" in help_.text
    fill(tablet, "#patient-form", {"resident_id": RESIDENT_ID, "family": "王", "given": "建国"})
    assert help_.get_attribute("data-state") == "ok" and "1949-12-31" in help_.text
    shot(tablet, "crew-patient-resident-id")
    submit(tablet, "#patient-form")
    waiting(tablet, 5)  # opened, three statuses, the patient

    # Vitals: an implausible heart rate is shown, from the API's own limits, and not saved.
    record_vitals(tablet, {"8867-4": "980", "8480-6": "100", "8462-4": "60", "59408-5": "95"})
    problems = tablet.find_element(By.ID, "vitals-problems").text
    assert "心率" in problems and "不合理" in problems and "300" in problems
    shot(tablet, "crew-vitals-implausible")
    assert pending(tablet) == 5
    record_vitals(tablet, {"8867-4": "96"})
    waiting(tablet, 6)

    tab(tablet, "treatment")
    submit(tablet, "#medication-form")  # the first quick pick: aspirin 300 mg oral
    waiting(tablet, 7)
    tablet.find_element(
        By.CSS_SELECTOR, '#intervention-buttons button[data-code="392230005"]'
    ).click()
    waiting(tablet, 8)
    tab(tablet, "ecg")
    tablet.find_element(By.ID, "ecg-demo").click()
    until(lambda: "12" in tablet.find_element(By.ID, "ecg-result").text, "the ECG attached")
    waiting(tablet, 9)

    tab(tablet, "prealert")
    Select(
        tablet.find_element(By.CSS_SELECTOR, "#prealert-form select.destinations")
    ).select_by_value(HOSPITAL)
    fill(tablet, "#prealert-form", {"eta_minutes": "20", "note": "下壁导联 ST 段抬高"})
    submit(tablet, "#prealert-form")
    waiting(tablet, 10)

    tab(tablet, "handover")
    tablet.find_element(By.ID, "handover-fill").click()
    assert "阿司匹林" in tablet.find_element(
        By.CSS_SELECTOR, "#handover-form [name=treatment]"
    ).get_attribute("value")
    submit(tablet, "#handover-form")

    recorded = 11
    until(lambda: pending(tablet) == recorded, "every entry in the outbox")
    assert client.get(f"/ingest/incidents/{incident}/events").status_code == 404  # nothing sent
    until(
        lambda: tablet.find_element(By.ID, "sync-state").get_attribute("data-online") == "false",
        "the app knows it is offline",
    )
    tab(tablet, "log")
    shot(tablet, "crew-offline-outbox")

    # The outbox is on the tablet, not in the page: a reload (still offline) keeps it.
    tablet.refresh()
    until(lambda: tablet.find_element(By.CSS_SELECTOR, "body[data-ready=true]"), "the app again")
    assert pending(tablet) == recorded
    shown = [event_id for event_id, _, state in page_log(tablet) if state == "pending"]
    assert len(shown) == recorded

    network(tablet, online=True)
    until(lambda: pending(tablet) == 0, "the outbox synced")
    events = logged(client, incident)
    assert [e["event_id"] for e in events] == shown  # every entry once, in the order recorded
    assert [e["type"] for e in events] == [
        "IncidentOpened",
        "UnitStatusChanged",
        "UnitStatusChanged",
        "UnitStatusChanged",
        "PatientRecorded",
        "VitalsRecorded",
        "MedicationGiven",
        "InterventionPerformed",
        "EcgAcquired",
        "PreAlertRaised",
        "HandoverSubmitted",
    ]
    statuses = [e["status"] for e in events if e["type"] == "UnitStatusChanged"]
    assert statuses == ["EN_ROUTE", "ON_SCENE", "AT_PATIENT"]
    patient = next(e for e in events if e["type"] == "PatientRecorded")
    assert patient["identifiers"][0]["value"] == RESIDENT_ID and patient["family"] == "王"
    alert = next(e for e in events if e["type"] == "PreAlertRaised")
    assert (alert["kind"], alert["destination_id"]) == ("STEMI", HOSPITAL)
    ecg = next(e for e in events if e["type"] == "EcgAcquired")
    assert len(ecg["leads"]) == 12 and len(ecg["leads"]["II"]) == 5000
    tab(tablet, "log")
    assert all(state == "synced" for _, _, state in page_log(tablet))
    shot(tablet, "crew-synced")
    assert script_errors(tablet) == []


def test_a_partners_writes_are_shown_and_merged_nothing_lost_or_doubled(
    server: Server,
    client: httpx.Client,
    tablet: Any,
) -> None:
    from selenium.webdriver.common.by import By

    load_registry(client)
    open_app(tablet, server.base_url)
    set_up_tablet(tablet)
    incident = open_incident(tablet, "胸闷气短")
    until(lambda: pending(tablet) == 0, "the incident opened on the server")

    network(tablet, online=False)
    tap_status(tablet, "ON_SCENE")
    waiting(tablet, 1)
    record_vitals(tablet, {"8867-4": "110", "8480-6": "90", "8462-4": "50"})
    waiting(tablet, 2)
    tab(tablet, "treatment")
    submit(tablet, "#medication-form")
    waiting(tablet, 3)

    # Meanwhile the partner's tablet (same unit) records the patient and the arrival.
    partner = [
        {
            "type": "PatientRecorded",
            "event_id": str(uuid.uuid4()),
            "occurred_at": "2026-12-06T10:00:00+08:00",
            "temporary_id": "EMS-20261206-0042",
            "gender": "female",
            "estimated_age_years": 70,
        },
        {
            "type": "UnitStatusChanged",
            "event_id": str(uuid.uuid4()),
            "occurred_at": "2026-12-06T10:00:30+08:00",
            "unit_id": UNIT,
            "status": "ON_SCENE",
        },
    ]
    resp = client.post(
        f"/ingest/incidents/{incident}/events",
        json={"expected_version": 1, "device_id": "tablet-amb-07-b", "events": partner},
    )
    assert resp.status_code == 202, resp.text

    network(tablet, online=True)
    until(lambda: pending(tablet) == 0, "the outbox re-based and synced")
    notice = tablet.find_element(By.ID, "notice")
    assert "同伴平板记录了 2 条" in notice.text and "EMS-20261206-0042" in notice.text
    tab(tablet, "log")
    shot(tablet, "crew-merged-partner")

    events = logged(client, incident)
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids)) == 5
    assert [e["type"] for e in events] == [
        "IncidentOpened",
        "PatientRecorded",
        "UnitStatusChanged",
        "VitalsRecorded",
        "MedicationGiven",
    ]
    assert ids[1:3] == [p["event_id"] for p in partner]
    shown = page_log(tablet)
    assert [i for i, _, state in shown if state == "synced"] == ids
    assert [i for i, origin, _ in shown if origin == "partner"] == ids[1:3]
    # This tablet's own ON_SCENE tap repeated the partner's fact: kept once, shown as merged.
    assert [state for _, _, state in shown].count("merged") == 1
    assert script_errors(tablet) == []
