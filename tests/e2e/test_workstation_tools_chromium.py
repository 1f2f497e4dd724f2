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
from tests.e2e.test_workstation_chromium import (  # noqa: F401 (fixtures)
    browser,
    browser_errors,
    client,
    screenshot,
    server,
    submit,
    until,
)

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


def caliper(driver: Any, svg: Any, a_mm: tuple[float, float], b_mm: tuple[float, float]) -> dict[str, float]:
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
        browser.execute_script("return +document.querySelector('#ecg-current g.row').dataset.baseline")
    )
    got = caliper(browser, svg, (5, baseline), (5, baseline - 20))
    assert got["mv"] == pytest.approx(1.0, abs=0.01) and got["ms"] == pytest.approx(0, abs=1)
    assert browser_errors(browser) == []
