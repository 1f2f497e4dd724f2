"""Serial comparison statements from two measurement sets (services/reading/serial.py).
Thresholds written from their sources, not imported: the 4th Universal Definition of MI
(new ST elevation >= 1 mm, V2-V3 >= 1.5 mm in women as the lowest; new ST depression
>= 0.5 mm), QRS >= 120 ms as wide (AHA/ACC/HRS intraventricular conduction recommendations)."""

from __future__ import annotations

from typing import Any

from services.reading.serial import changes, measurement_set

NORMAL: dict[str, Any] = {
    "heart_rate_bpm": 62.0,
    "pr_ms": 160.0,
    "qrs_ms": 92.0,
    "qtc_ms": 410.0,
    "irregular": False,
    "st_deviation_uv": {lead: 0.0 for lead in ("I", "II", "III", "aVF", "V1", "V2", "V3")},
}


def stated(previous: dict[str, Any], current: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(c.msgid, c.params) for c in changes(previous, current)]


def with_st(**uv: float) -> dict[str, Any]:
    return {**NORMAL, "st_deviation_uv": {**NORMAL["st_deviation_uv"], **uv}}


def test_identical_ecgs_have_no_significant_change() -> None:
    assert stated(NORMAL, NORMAL) == [("No significant change since the previous ECG.", {})]


def test_new_inferior_st_elevation_names_the_leads_in_standard_order() -> None:
    current = with_st(aVF=180, II=210, III=250)
    assert stated(NORMAL, current) == [("New ST elevation in {leads}.", {"leads": "II, III, aVF"})]


def test_st_elevation_below_one_mm_or_already_present_is_not_new() -> None:
    assert stated(NORMAL, with_st(II=90)) == stated(NORMAL, NORMAL)
    assert stated(with_st(II=150), with_st(II=230)) == stated(NORMAL, NORMAL)


def test_v2_v3_need_one_and_a_half_mm() -> None:
    assert stated(NORMAL, with_st(V2=120)) == stated(NORMAL, NORMAL)
    assert stated(NORMAL, with_st(V2=160)) == [("New ST elevation in {leads}.", {"leads": "V2"})]


def test_new_st_depression_and_resolved_elevation() -> None:
    found = stated(with_st(II=200), with_st(V1=-80))
    assert ("New ST depression in {leads}.", {"leads": "V1"}) in found
    assert ("ST elevation resolved in {leads}.", {"leads": "II"}) in found


def test_rate_change_of_fifteen_per_minute_is_stated_with_both_rates() -> None:
    assert stated(NORMAL, {**NORMAL, "heart_rate_bpm": 96.4}) == [
        ("Heart rate increased from {before} to {after}/min.", {"before": 62, "after": 96})
    ]
    assert stated(NORMAL, {**NORMAL, "heart_rate_bpm": 70}) == stated(NORMAL, NORMAL)
    assert stated({**NORMAL, "heart_rate_bpm": 110}, NORMAL)[0][0].startswith(
        "Heart rate decreased"
    )


def test_qrs_becoming_wide_and_new_irregular_rhythm() -> None:
    found = stated(NORMAL, {**NORMAL, "qrs_ms": 136, "irregular": True})
    assert ("New wide QRS ({before} -> {after} ms).", {"before": 92, "after": 136}) in found
    assert ("Rhythm now irregular.", {}) in found


def test_missing_measurements_on_either_side_state_nothing_about_them() -> None:
    assert stated({}, NORMAL) == stated(NORMAL, NORMAL)


def test_reader_corrections_replace_the_automatic_values() -> None:
    merged = measurement_set({"qtc_ms": 376, "pr_ms": 160}, {"qtc_ms": {"value": 440}})
    assert merged == {"qtc_ms": 440, "pr_ms": 160}
