"""The reader's measuring tools in a real headless Chromium: calipers read a known R-R
interval (a 60/min synthetic ECG: about 1000 ms, known from its samples) within 5 ms at 25 and 50 mm/s and any zoom,
the gain switch redraws the 1 mV calibration pulse at 5/10/20 mm, and calipers read its
1 mV whatever the gain. The pointer is driven through the DevTools protocol with
sub-pixel coordinates computed from the SVG's own geometry (viewBox in mm), so the check is
of the tool's arithmetic, not of the mouse's pixel rounding.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.server import Server
from services.simulate.ecg_synth import synth_ecg
from tests.e2e.chromium import browser_errors, screenshot, until
from tests.e2e.test_workstation_chromium import routine_then_stemi, submit

pytestmark = pytest.mark.e2e

RATE_HZ = 500
RR_MS = 1000.0  # 60/min


def r_peaks_s(samples: list[int]) -> list[float]:
    """R peak times in s: the maximum of each 1 s window (one beat per window at 60/min)."""
    per_beat = RATE_HZ
    peaks = []
    for start in range(0, len(samples) - per_beat + 1, per_beat):
        window = samples[start : start + per_beat]
        peaks.append((start + window.index(max(window))) / RATE_HZ)
    return peaks


def svg_point(driver: Any, svg: Any, x_mm: float, y_mm: float) -> tuple[float, float]:
    """Viewport CSS px of a point given in the SVG's user units (its viewBox is in mm)."""
    return tuple(  # type: ignore[return-value]
        driver.execute_script(
            "const s = arguments[0], r = s.getBoundingClientRect(), v = s.viewBox.baseVal;"
            "return [r.left + (arguments[1] - v.x) * r.width / v.width,"
            "        r.top + (arguments[2] - v.y) * r.height / v.height];",
            svg,
            x_mm,
            y_mm,
        )
    )


def drag(driver: Any, a: tuple[float, float], b: tuple[float, float]) -> None:
    """Press at a, move to b, release: real input events, as a mouse would send them."""

    def mouse(kind: str, at: tuple[float, float], buttons: int) -> None:
        event = {"type": kind, "x": at[0], "y": at[1], "button": "left", "buttons": buttons}
        driver.execute_cdp_cmd("Input.dispatchMouseEvent", {**event, "clickCount": 1})

    mouse("mouseMoved", a, 0)
    mouse("mousePressed", a, 1)
    mouse("mouseMoved", b, 1)
    mouse("mouseReleased", b, 0)


def caliper(
    driver: Any, svg: Any, a_mm: tuple[float, float], b_mm: tuple[float, float]
) -> dict[str, float]:
    from selenium.webdriver.common.by import By

    driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'start'})", svg)
    drag(driver, svg_point(driver, svg, *a_mm), svg_point(driver, svg, *b_mm))
    out = driver.find_element(By.ID, "caliper-readout")
    return {"ms": float(out.get_attribute("data-ms")), "mv": float(out.get_attribute("data-mv"))}


def click(driver: Any, css: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, css).click()


def rhythm_geometry(driver: Any) -> dict[str, float]:
    """Where the lead II rhythm strip starts (mm), what time that is (s), its baseline."""
    return dict(
        driver.execute_script(
            "const p = document.querySelector('#ecg-current g.rhythm path.trace');"
            "return {x0: +p.dataset.x0, t0: +p.dataset.t0,"
            "        y0: +p.closest('g.row').dataset.baseline};"
        )
    )


def test_calipers_measure_a_known_rr_interval_at_both_speeds_and_any_zoom(
    browser: Any, server: Server, client: httpx.Client
) -> None:
    from selenium.webdriver.common.by import By

    leads = synth_ecg(heart_rate_bpm=60, seconds=10, rate_hz=RATE_HZ, seed=3)
    peaks = r_peaks_s(leads["II"])
    # The synthesizer varies R-R a little, like a heart: the interval is the samples' own.
    rr_ms = (peaks[2] - peaks[1]) * 1000
    assert abs(rr_ms - RR_MS) < 50
    ecg_id = submit(client, leads=leads, measurements={"heart_rate_bpm": 60})
    browser.get(f"{server.base_url}/reading/ecg/{ecg_id}")
    svg = until(lambda: browser.find_element(By.ID, "ecg-current"), "the print-out")
    assert "滤波" in browser.find_element(By.ID, "filter-label").text  # zh-CN first
    geo = rhythm_geometry(browser)
    click(browser, "#calipers-toggle")

    def x_of(t_s: float, speed: float) -> float:
        return geo["x0"] + (t_s - geo["t0"]) * speed

    # 25 mm/s, 100 %: the second and third R peaks of the rhythm strip.
    got = caliper(browser, svg, (x_of(peaks[1], 25), geo["y0"]), (x_of(peaks[2], 25), geo["y0"]))
    assert abs(got["ms"] - rr_ms) <= 5
    assert "ms" in browser.find_element(By.ID, "caliper-readout").text

    # 50 mm/s and 200 %: the trace is redrawn twice as wide; the calipers still read 1000 ms.
    click(browser, 'button[data-speed="50"]')
    click(browser, 'button[data-zoom="1"]')
    click(browser, 'button[data-zoom="1"]')
    assert svg.get_attribute("data-speed-mm-per-s") == "50"
    assert browser.find_element(By.ID, "zoom-level").text == "200%"
    assert svg.get_attribute("width") == "530mm"
    got = caliper(browser, svg, (x_of(peaks[1], 50), geo["y0"]), (x_of(peaks[2], 50), geo["y0"]))
    assert abs(got["ms"] - rr_ms) <= 5
    assert "50 mm/s" in svg.find_element(By.CSS_SELECTOR, "text.footer").text
    screenshot(browser, "workstation-calipers")
    assert browser_errors(browser) == []


def test_gain_switch_redraws_the_calibration_pulse_and_calipers_read_millivolts(
    browser: Any, server: Server, client: httpx.Client
) -> None:
    from selenium.webdriver.common.by import By

    ecg_id = submit(client)
    browser.get(f"{server.base_url}/reading/ecg/{ecg_id}")
    svg = until(lambda: browser.find_element(By.ID, "ecg-current"), "the print-out")

    def pulse_mm() -> float:
        return float(
            browser.execute_script(
                "return document.querySelector('#ecg-current path.cal').getBBox().height"
            )
        )

    assert pulse_mm() == pytest.approx(10, abs=0.01)  # 1 mV at 10 mm/mV
    for gain in (5, 20):
        click(browser, f'button[data-gain="{gain}"]')
        assert pulse_mm() == pytest.approx(gain, abs=0.01)
        assert svg.get_attribute("data-gain-mm-per-mv") == str(gain)
    # At 20 mm/mV, from the baseline to the top of the 1 mV pulse (x 5 mm: its middle).
    click(browser, "#calipers-toggle")
    baseline = float(
        browser.execute_script(
            "return +document.querySelector('#ecg-current g.row').dataset.baseline"
        )
    )
    got = caliper(browser, svg, (5, baseline), (5, baseline - 20))
    assert got["mv"] == pytest.approx(1.0, abs=0.01) and got["ms"] == pytest.approx(0, abs=1)
    assert browser_errors(browser) == []


def test_an_edit_and_an_addendum_made_on_the_page_end_up_in_fhir(
    browser: Any, server: Server, client: httpx.Client
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.integration.test_ecg_slice import wait_for

    ecg_id = submit(client, urgency="urgent")
    automatic = until(
        lambda: next(
            (i["measurements"].get("qt_ms") for i in client.get("/reading/queue").json()), None
        ),
        "the automatic QT",
    )
    browser.get(f"{server.base_url}/reading/")
    browser.execute_script("localStorage.setItem('goldenhour.readerId', 'dr-li')")
    browser.get(f"{server.base_url}/reading/ecg/{ecg_id}")
    until(lambda: browser.find_element(By.ID, "claim-this").is_displayed(), "the claim button")
    browser.find_element(By.ID, "claim-this").click()
    until(lambda: browser.find_element(By.ID, "save-edit").is_enabled(), "the form enabled")

    Select(browser.find_element(By.ID, "edit-field")).select_by_value("qt_ms")
    browser.find_element(By.ID, "edit-value").send_keys("440")
    browser.find_element(By.ID, "edit-reason").send_keys("T end in V2")
    browser.find_element(By.ID, "save-edit").click()
    saved = until(lambda: browser.find_element(By.ID, "edit-saved").text, "the saved note")
    assert "440" in saved and "已保存" in saved
    browser.find_element(By.ID, "interpretation").send_keys("Sinus rhythm. QT 440 ms.")
    browser.find_element(By.ID, "sign").click()
    until(lambda: browser.find_element(By.ID, "signed").is_displayed(), "the signed state")

    browser.find_element(By.ID, "addendum").send_keys("QTc prolonged on review.")
    browser.find_element(By.ID, "add-addendum").click()
    until(
        lambda: "QTc prolonged on review." in browser.find_element(By.ID, "addenda").text,
        "the addendum shown after the reload",
    )
    screenshot(browser, "workstation-addendum")
    assert browser_errors(browser) == []

    path = client.get("/reading/queue").json()  # reported: out of the open queue
    assert all(i["ecg_id"] != ecg_id for i in path)
    ref = browser.find_element(By.ID, "signed").get_attribute("data-report")
    report = until(
        lambda: (r := wait_for(client, f"/fhir/{ref}").json())["status"] == "amended" and r,
        "the amended DiagnosticReport",
    )
    assert report["conclusion"].startswith("Sinus rhythm. QT 440 ms.")
    assert "QTc prolonged on review." in report["conclusion"]
    (qt,) = report["contained"][0]["component"]
    assert qt["code"]["coding"][0]["code"] == "8634-8"  # LOINC Q-T interval
    assert qt["valueQuantity"]["value"] == 440
    assert qt["extension"][0]["valueQuantity"]["value"] == automatic


def test_serial_comparison_shows_the_previous_ecg_at_the_same_scale_with_what_changed(
    browser: Any, server: Server, client: httpx.Client
) -> None:
    from selenium.webdriver.common.by import By

    older, newer = routine_then_stemi(client, "2026-11-20T09:00:00+08:00")
    browser.get(f"{server.base_url}/reading/ecg/{newer}")
    current = until(lambda: browser.find_element(By.ID, "ecg-current"), "the print-out")
    previous = browser.find_element(By.ID, "ecg-previous")
    assert browser.find_element(By.ID, "previous-link").get_attribute("href").endswith(older)
    assert previous.size["width"] == current.size["width"]  # same scale
    assert previous.location["x"] == current.location["x"]  # columns aligned
    statements = browser.find_element(By.ID, "serial-changes").text
    assert "新出现 ST 段抬高" in statements and "II" in statements  # the inferior leads
    click(browser, 'button[data-gain="20"]')
    assert previous.get_attribute("data-gain-mm-per-mv") == "20"
    screenshot(browser, "workstation-serial")
    assert browser_errors(browser) == []


def test_worklist_filters_search_and_a_repeated_recording_shown_once(
    browser: Any, server: Server, client: httpx.Client
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # 110105198001010016: GB 11643 check digit computed by hand (weights 7 9 10 5 8 4 2 1 6 3
    # 7 9 10 5 8 4 2, MOD 11-2), a second patient beside the standard's own example.
    other = {"resident": "110105198001010016"}
    stemi = submit(client, urgency="stat", st_uv=250)
    first = submit(client, urgency="routine", acquired_at="2026-11-23T18:00:00+08:00", **other)
    again = submit(client, urgency="routine", acquired_at="2026-11-23T18:02:00+08:00", **other)
    until(lambda: len(client.get("/reading/queue").json()) == 3, "three ECGs queued")

    def rows() -> list[str]:
        found = browser.find_elements(By.CSS_SELECTOR, "#queue-rows tr[data-ecg-id]")
        return [r.get_attribute("data-ecg-id") for r in found]

    browser.get(f"{server.base_url}/reading/")
    # The repeated recording of the second patient is one row, with a note naming the other.
    shown = until(lambda: len(rows()) == 2 and rows(), "two rows")
    assert shown[0] == stemi and shown[1] in (first, again)
    note = browser.find_element(By.CSS_SELECTOR, ".repeat-note")
    assert ({first, again} - {shown[1]}).pop() in note.get_attribute("data-repeats")
    assert "分钟内重复记录" in note.text

    browser.find_element(By.CSS_SELECTOR, 'input[name="class"][value="critical"]').click()
    browser.find_element(By.ID, "f-apply").click()
    until(lambda: rows() == [stemi], "only the critical ECG")
    assert "class=critical" in browser.current_url

    browser.get(f"{server.base_url}/reading/?q=110105198001010016")  # the patient's ID
    until(lambda: len(rows()) == 1 and rows()[0] in (first, again), "the second patient")
    browser.get(f"{server.base_url}/reading/?q={stemi}")  # the ECG id
    until(lambda: rows() == [stemi], "the ECG searched by id")

    # My claims: the reader's own claimed ECG only, also after a refresh of the rows.
    browser.execute_script("localStorage.setItem('goldenhour.readerId', 'dr-li')")
    claimed = client.post("/reading/claims", json={"reader_id": "dr-li", "ecg_id": stemi})
    assert claimed.status_code == 200
    browser.get(f"{server.base_url}/reading/")
    browser.find_element(By.ID, "f-mine").click()
    Select(browser.find_element(By.ID, "f-state")).select_by_value("claimed")
    browser.find_element(By.ID, "f-apply").click()
    until(lambda: "mine=dr-li" in browser.current_url and rows() == [stemi], "my claim")
    assert browser_errors(browser) == []
