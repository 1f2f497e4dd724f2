"""Triage class from measurements and the sender: every rule at its boundary, then end to
end from synthetic ECGs whose ST changes are known."""

from __future__ import annotations

import copy
import dataclasses
import functools
from typing import Any

import pytest

from stream_processors.ecg_measurement import Measurements, TriageResult, measure, triage
from stream_processors.ecg_measurement.synthetic import synthesize
from stream_processors.ecg_measurement.triage import CONTIGUOUS_PAIRS, st_elevation_threshold_uv
from stream_processors.fhir_projector.codes import STANDARD_LEAD_ORDER


def normal(**changes: object) -> Measurements:
    """A normal ECG's measurements: sinus 72/min, every ST level at 0."""
    base = Measurements(
        analysable=True,
        heart_rate_bpm=72.0,
        rr_irregularity=0.02,
        irregular=False,
        qrs_ms=90,
        pr_ms=160,
        qt_ms=390,
        qtc_ms=427,
        st_deviation_uv=dict.fromkeys(STANDARD_LEAD_ORDER, 0.0),
        beats=12,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def with_st(**st: float) -> Measurements:
    return normal(st_deviation_uv={**dict.fromkeys(STANDARD_LEAD_ORDER, 0.0), **st})


def cls(
    m: Measurements,
    urgency: str = "routine",
    prealert: str | None = None,
    sex: str | None = None,
    age_years: float | None = None,
) -> str:
    return triage(m, urgency, prealert, sex=sex, age_years=age_years).cls


# --- ST elevation: two contiguous leads --------------------------------------------------


def test_triage__normal_ecg_from_routine_sender_is_routine() -> None:
    result = triage(normal(), "routine", None)
    assert result == TriageResult("routine", ["no critical or urgent finding"])


def test_triage__inferior_st_elevation_is_critical() -> None:
    result = triage(with_st(II=150, III=160, aVF=140), "routine", None)
    assert result.cls == "critical"
    assert "ST elevation in contiguous leads II, III, aVF (inferior)" in result.reasons[0]


@pytest.mark.parametrize("lead", STANDARD_LEAD_ORDER)
def test_triage__st_elevation_in_one_lead_only_is_not_critical(lead: str) -> None:
    assert cls(with_st(**{lead: 300.0})) == "routine"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("II", "aVL"),
        ("V1", "V3"),
        ("V2", "V4"),
        ("V1", "V6"),
        ("III", "V3"),
        ("aVR", "II"),
        ("aVR", "aVL"),
    ],
)
def test_triage__st_elevation_in_non_contiguous_leads_is_not_critical(a: str, b: str) -> None:
    assert cls(with_st(**{a: 200.0, b: 200.0})) == "routine"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("II", "III"),
        ("II", "aVF"),
        ("III", "aVF"),
        ("I", "aVL"),
        ("V5", "V6"),
        ("I", "V6"),
        ("aVL", "V5"),
        ("V1", "V2"),
        ("V2", "V3"),
        ("V3", "V4"),
        ("V4", "V5"),
    ],
)
def test_triage__st_elevation_in_contiguous_leads_is_critical(a: str, b: str) -> None:
    assert cls(with_st(**{a: 120.0, b: 120.0})) == "critical"


def test_triage__contiguous_pairs_are_the_documented_ones() -> None:
    pairs = {frozenset((a, b)) for _, a, b in CONTIGUOUS_PAIRS}
    assert len(pairs) == 3 + 6 + 4
    assert frozenset(("V5", "V6")) in pairs and frozenset(("V1", "V3")) not in pairs


def test_triage__elevation_just_under_1_mm_is_not_critical() -> None:
    assert cls(with_st(II=99.9, III=99.9, aVF=99.9)) == "routine"
    assert cls(with_st(II=100.0, III=100.0)) == "critical"


# --- V2-V3 cut-points by sex and age (Fourth Universal Definition of MI) ------------------


@pytest.mark.parametrize(
    ("st_uv", "patient", "expected"),
    [
        (120.0, {}, "critical"),  # sex/age unknown: the 1 mm rule
        (170.0, {"sex": "female", "age_years": 30}, "critical"),  # women >= 1.5 mm
        (140.0, {"sex": "female", "age_years": 70}, "routine"),
        (190.0, {"sex": "male", "age_years": 45}, "routine"),  # men >= 40: >= 2 mm
        (200.0, {"sex": "male", "age_years": 40}, "critical"),
        (240.0, {"sex": "male", "age_years": 39}, "routine"),  # men < 40: >= 2.5 mm
        (250.0, {"sex": "M", "age_years": 25}, "critical"),
        (120.0, {"sex": "male"}, "critical"),  # a man of unknown age: the 1 mm rule
        (120.0, {"sex": "unknown", "age_years": 50}, "critical"),
        (140.0, {"sex": "F"}, "routine"),
    ],
)
def test_triage__v2_v3_thresholds_follow_sex_and_age(
    st_uv: float, patient: dict[str, Any], expected: str
) -> None:
    assert cls(with_st(V2=st_uv, V3=st_uv), **patient) == expected


def test_triage__sex_specific_thresholds_apply_to_v2_v3_only() -> None:
    assert st_elevation_threshold_uv("V4", "male", 30) == 100.0
    assert cls(with_st(V3=120.0, V4=120.0), sex="male", age_years=30) == "routine"  # V3 needs 250
    assert cls(with_st(V4=120.0, V5=120.0), sex="male", age_years=30) == "critical"


# --- rate, rhythm, QTc, ST depression ----------------------------------------------------


@pytest.mark.parametrize(
    ("bpm", "expected"),
    [
        (30, "critical"),
        (39.9, "critical"),
        (40, "urgent"),
        (45, "urgent"),
        (50, "urgent"),
        (50.1, "routine"),
        (119.9, "routine"),
        (120, "urgent"),
        (150, "urgent"),
        (150.1, "critical"),
        (190, "critical"),
    ],
)
def test_triage__heart_rate_bands(bpm: float, expected: str) -> None:
    assert cls(normal(heart_rate_bpm=bpm)) == expected


def test_triage__irregular_rhythm_is_urgent() -> None:
    result = triage(normal(irregular=True, rr_irregularity=0.21), "routine", None)
    assert result.cls == "urgent" and "irregular rhythm" in result.reasons[0]


def test_triage__qtc_above_500_is_urgent() -> None:
    assert cls(normal(qtc_ms=501)) == "urgent"
    assert cls(normal(qtc_ms=500)) == "routine"
    assert cls(normal(qtc_ms=None, qt_ms=None)) == "routine"


def test_triage__st_depression_in_two_contiguous_leads_is_urgent() -> None:
    assert cls(with_st(V4=-100.0, V5=-120.0)) == "urgent"
    assert cls(with_st(V4=-150.0)) == "routine"
    assert cls(with_st(V4=-99.0, V5=-99.0)) == "routine"


# --- the sender ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("urgency", "prealert", "expected"),
    [
        ("stat", None, "critical"),
        ("urgent", None, "urgent"),
        ("routine", "STEMI", "critical"),
        ("routine", None, "routine"),
        ("routine", "stroke", "routine"),
        ("whenever", None, "routine"),
    ],
)
def test_triage__sender_urgency_and_prealert(
    urgency: str, prealert: str | None, expected: str
) -> None:
    assert cls(normal(), urgency, prealert) == expected


def test_triage__measurements_raise_the_class_above_the_sender() -> None:
    result = triage(with_st(II=200, III=200), "urgent", None)
    assert result.cls == "critical"
    assert result.reasons[-1] == "sender urgency: urgent"  # every finding, most urgent first


@pytest.mark.parametrize(
    ("urgency", "prealert", "expected"),
    [
        ("routine", None, "routine"),
        ("urgent", None, "urgent"),
        ("stat", None, "critical"),
        ("routine", "STEMI", "critical"),
    ],
)
def test_triage__unanalysable_ecg_is_classed_from_the_sender_only(
    urgency: str, prealert: str | None, expected: str
) -> None:
    m = Measurements(
        analysable=False, problems=["lead I: flat line", "no usable lead"], heart_rate_bpm=30.0
    )  # ignored: not analysable
    result = triage(m, urgency, prealert)
    assert result.cls == expected
    assert any(
        r.startswith("ECG not analysable (lead I: flat line; no usable lead)")
        and r.endswith("class from the sender only")
        for r in result.reasons
    )


def test_triage__leads_without_st_are_named() -> None:
    st = dict.fromkeys(STANDARD_LEAD_ORDER, 0.0)
    del st["V3"]
    assert "ST not assessed in V3" in triage(normal(st_deviation_uv=st), "routine", None).reasons


def test_triage__is_pure_and_deterministic() -> None:
    m = with_st(II=150, III=150, V5=-120, V6=-120)
    before = copy.deepcopy(m)
    first = triage(m, "urgent", "STEMI", sex="female", age_years=61)
    assert triage(m, "urgent", "STEMI", sex="female", age_years=61) == first
    assert m == before


# --- end to end: generated ECG -> measure -> triage ---------------------------------------


@functools.cache
def measured(st: tuple[tuple[str, float], ...], bpm: float = 75.0) -> Measurements:
    e = synthesize(
        heart_rate_bpm=bpm,
        st_offset_uv=dict(st),
        noise_uv=25.0,
        wander_uv=200.0,
        mains_uv=30.0,
        seed=5,
    )
    return measure(e.leads, e.rate_hz)


def test_triage__generated_inferior_stemi_is_critical() -> None:
    result = triage(measured((("II", 150.0), ("III", 150.0), ("aVF", 150.0))), "routine", None)
    assert result.cls == "critical"
    assert "(inferior)" in result.reasons[0]


def test_triage__generated_st_elevation_in_one_lead_is_not_critical() -> None:
    assert triage(measured((("III", 200.0),)), "routine", None).cls == "routine"


def test_triage__generated_anterior_stemi_in_a_young_man_needs_the_higher_cut_point() -> None:
    m = measured((("V2", 200.0), ("V3", 200.0)))
    assert triage(m, "routine", None).cls == "critical"  # 1 mm rule without sex/age
    assert triage(m, "routine", None, sex="male", age_years=35).cls == "routine"  # needs 2.5 mm


@pytest.mark.parametrize(
    ("bpm", "expected"),
    [(35.0, "critical"), (60.0, "routine"), (100.0, "routine"), (160.0, "critical")],
)
def test_triage__generated_rates(bpm: float, expected: str) -> None:
    assert triage(measured((), bpm), "routine", None).cls == expected


def test_triage__generated_atrial_fibrillation_is_urgent() -> None:
    e = synthesize(heart_rate_bpm=95.0, rhythm="af", noise_uv=20.0, seed=5)
    result = triage(measure(e.leads, e.rate_hz), "routine", None)
    assert result.cls == "urgent"
    assert any("irregular rhythm" in r for r in result.reasons)
