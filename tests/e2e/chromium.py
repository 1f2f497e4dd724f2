"""Driving a real headless Chromium for the end-to-end tests: starting it (Debian's chromium
and chromedriver: nothing is downloaded), waiting for what the page shows, full-page
screenshots to test-artifacts/ and the console's errors.

Missing Chromium, chromedriver or selenium skips a test, or fails it when
GOLDENHOUR_REQUIRE_SERVERS=1 (CI). The fixtures built on these live in conftest.py.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--lang=zh-CN",  # the users' language: pages answer in Chinese (services/i18n)
)
DESKTOP = "1600,1200"  # window size, CSS px: the workstation and the county's PCs
WAIT_S = 15.0  # any one thing the page must show; the whole test takes a few seconds


def missing(what: str) -> None:
    """Skip the test for a missing browser part, or fail it where CI requires them."""
    message = (
        f"{what}; install with: apt-get install -y chromium chromium-driver && pip install selenium"
    )
    if os.environ.get("GOLDENHOUR_REQUIRE_SERVERS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def start_chromium(profile: Path, window_size: str = DESKTOP) -> Any:
    """A headless Chromium in Chinese (zh-CN) with its own profile folder, logging the
    console so that `browser_errors` can read it. The caller quits it."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("the selenium package is not installed")
    binary = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        missing(
            f"Chromium ({binary or 'missing'}) or chromedriver ({driver_path or 'missing'}) not found"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(binary)
    for flag in (*CHROME_FLAGS, f"--window-size={window_size}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Headless Chromium ignores --lang for Accept-Language: the preference sets it.
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    driver = webdriver.Chrome(service=Service(executable_path=str(driver_path)), options=options)
    driver.set_page_load_timeout(30)
    return driver


def until(predicate: Callable[[], Any], what: str) -> Any:
    """Poll `predicate` until it returns something truthy (the page updates asynchronously)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # element not there yet, or replaced by a refresh
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def screenshot(driver: Any, name: str) -> Path:
    """The whole page, not only the window, as test-artifacts/<name>.png."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {
                "x": 0,
                "y": 0,
                "width": metrics["width"],
                "height": metrics["height"],
                "scale": 1,
            },
        },
    )
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def browser_errors(driver: Any) -> list[str]:
    """Console errors: a script error or a Content-Security-Policy refusal shows up here."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
