"""The ECG print-out: true scale (25 mm/s, 10 mm/mV), standard 3x4 + rhythm layout, and
leads that are flat, missing or full of gaps drawn without crashing."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from kernel.codes import ECG_LEADS, MDC, STANDARD_LEAD_ORDER
from services.reading import ecg_svg
from services.reading.ecg_svg import LAYOUT
from services.reading.ecg_svg import ecg_svg as render

SVG = "{http://www.w3.org/2000/svg}"
RATE_HZ = 500
PERIOD_MS = 1000 / RATE_HZ


def lead(
    name: str, samples: list[int] | str, unit: str = "uV", factor: float = 1, origin: float = 0
) -> dict[str, Any]:
    code, display = ECG_LEADS[name]
    data = samples if isinstance(samples, str) else " ".join(map(str, samples))
    return {
        "code": {"coding": [{"system": MDC, "code": code, "display": display}]},
        "valueSampledData": {
            "origin": {"value": origin, "unit": unit, "code": unit},
            "period": PERIOD_MS,
            "factor": factor,
            "dimensions": 1,
            "data": data,
        },
    }


def observation(leads: dict[str, list[int] | str]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "component": [lead(n, s) for n, s in leads.items()],
    }


def flat(seconds: float = 10) -> list[int]:
    return [0] * int(seconds * RATE_HZ)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def points(path_d: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path_d)]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def trace(root: ET.Element, lead_name: str, rhythm: bool = False) -> ET.Element:
    rows = [g for g in root.iter(f"{SVG}g") if ("rhythm" in g.get("class", "")) == rhythm]
    for row in rows:
        for path in row.iter(f"{SVG}path"):
            if path.get("data-lead") == lead_name:
                return path
    raise AssertionError(f"no trace for {lead_name}")


def test_drawing_units_are_millimetres() -> None:
    root = parse(render(observation({"II": flat()})))
    _, _, w, h = map(float, root.get("viewBox", "").split())
    assert root.get("width") == f"{w:g}mm" and root.get("height") == f"{h:g}mm"
    assert w == 265 and h == 170  # 10 mm calibration zone + 10 s at 25 mm/s + margin


def test_calibration_pulse_is_10_mm_high_and_200_ms_wide() -> None:
    root = parse(render(observation({"II": flat()})))
    cals = [p for p in root.iter(f"{SVG}path") if p.get("class") == "cal"]
    assert len(cals) == 4  # one at the start of each row
    for cal in cals:
        ys = sorted({y for _, y in _cal_corners(cal.get("d", ""))})
        xs = [x for x, _ in _cal_corners(cal.get("d", ""))]
        assert ys[-1] - ys[0] == pytest.approx(10.0)  # 1 mV at 10 mm/mV
        assert xs[3] - xs[2] == pytest.approx(5.0)  # 200 ms at 25 mm/s


def _cal_corners(d: str) -> list[tuple[float, float]]:
    """Absolute corners of a path of M/H/V commands."""
    x = y = 0.0
    out = []
    for cmd, value in re.findall(r"([MHV])\s*(-?[\d.]+(?:\s+-?[\d.]+)?)", d):
        if cmd == "M":
            x, y = map(float, value.split())
        elif cmd == "H":
            x = float(value)
        else:
            y = float(value)
        out.append((x, y))
    return out


def test_one_second_is_25_mm_and_one_millivolt_is_10_mm() -> None:
    samples = flat()
    samples[0] = samples[RATE_HZ] = 1000  # 1 mV spikes one second apart
    pts = points(trace(parse(render(observation({"II": samples}))), "II", rhythm=True).get("d", ""))
    baseline = pts[1][1]
    spikes = [(x, y) for x, y in pts if y < baseline]
    assert len(spikes) == 2
    assert spikes[1][0] - spikes[0][0] == pytest.approx(25.0)
    assert baseline - spikes[0][1] == pytest.approx(10.0)


def test_sampled_data_origin_factor_and_units_are_applied() -> None:
    # 2 mV as origin 0.5 mV + factor 0.25 mV * 6
    obs = {"component": [lead("II", [6] * RATE_HZ, unit="mV", factor=0.25, origin=0.5)]}
    pts = points(trace(parse(render(obs)), "II", rhythm=True).get("d", ""))
    baseline = ecg_svg._baseline(len(LAYOUT))
    assert baseline - pts[0][1] == pytest.approx(20.0)


def test_all_twelve_leads_are_labelled_in_the_standard_3x4_layout() -> None:
    root = parse(render(observation({n: flat() for n in STANDARD_LEAD_ORDER})))
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "lead-label"]
    block = [t for t in labels if t.get("y") != labels[-1].get("y")]
    assert sorted(t.text or "" for t in block) == sorted(STANDARD_LEAD_ORDER)
    by_lead = {t.text: (float(t.get("x", 0)), float(t.get("y", 0))) for t in block}
    for leads in LAYOUT:
        assert len({by_lead[n][1] for n in leads}) == 1  # one row
        xs = [by_lead[n][0] for n in leads]
        assert xs == sorted(xs) and xs[1] - xs[0] == pytest.approx(62.5)  # 2.5 s columns
    rows_y = [by_lead[leads[0]][1] for leads in LAYOUT]
    assert rows_y == sorted(rows_y)
    assert labels[-1].text == "II" and float(labels[-1].get("y", 0)) > rows_y[-1]  # rhythm strip


def test_each_column_shows_its_own_2_5_seconds_and_the_rhythm_strip_10() -> None:
    root = parse(render(observation({n: flat() for n in STANDARD_LEAD_ORDER})))
    for leads in LAYOUT:
        for col, name in enumerate(leads):
            path = trace(root, name)
            assert float(path.get("data-t0", -1)) == col * 2.5
            xs = [x for x, _ in points(path.get("d", ""))]
            assert max(xs) - min(xs) == pytest.approx(62.5, abs=0.1)
    xs = [x for x, _ in points(trace(root, "II", rhythm=True).get("d", ""))]
    assert max(xs) - min(xs) == pytest.approx(250.0, abs=0.1)


def test_missing_flat_gappy_and_short_leads_do_not_crash() -> None:
    leads: dict[str, list[int] | str] = {
        "I": flat(),
        "II": "E " * 10 + "100 " * 1000 + "U L",
        "V1": "E E E",
        "V2": flat(2.5),
    }
    root = parse(render(observation(leads)))
    missing = [
        p.get("data-lead") for p in root.iter(f"{SVG}path") if "missing" in p.get("class", "")
    ]
    assert "aVR" in missing and "V1" in missing  # absent, and only error tokens
    assert trace(root, "V2").get("data-t0") == "0"  # 2.5 s recording: its first 2.5 s
    assert trace(root, "II", rhythm=True).get("d", "").startswith("M")


def test_no_components_at_all_still_draws_paper() -> None:
    root = parse(render({"resourceType": "Observation"}))
    assert len([t for t in root.iter(f"{SVG}text") if t.get("class") == "lead-label"]) == 13


def test_scale_changes_only_the_displayed_size() -> None:
    root = parse(render(observation({"II": flat()}), scale=0.5, id_prefix="prev"))
    assert root.get("width") == "132.5mm" and root.get("viewBox") == "0 0 265 170"
    assert root.get("id") == "prev"
