"""Triage class from measurements and the sender: every rule at its boundary, then end to
end from synthetic ECGs whose ST changes are known."""

from __future__ import annotations

import copy
import dataclasses
import functools
from typing import Any

import pytest

from kernel.codes import STANDARD_LEAD_ORDER
from stream_processors.ecg_measurement import Measurements, TriageResult, measure, triage
from stream_processors.ecg_measurement.synthetic import synthesize
from stream_processors.ecg_measurement.triage import CONTIGUOUS_PAIRS, st_elevation_threshold_uv


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
    assert result == TriageResult("routine", ["routine: no critical or urgent finding"])


def test_triage__inferior_st_elevation_is_critical() -> None:
    result = triage(with_st(II=150, III=160, aVF=140), "routine", None)
    assert result.cls == "critical"
    assert result.reasons[0].startswith(
        "critical: ST elevation at the J point in contiguous leads II, III, aVF (inferior)"
    )


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
    # 2.6 mm: above every cut-point, V2-V3's highest (men < 40) included
    assert cls(with_st(**{a: 260.0, b: 260.0})) == "critical"


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
        (170.0, {"sex": "female", "age_years": 30}, "critical"),  # women >= 1.5 mm
        (140.0, {"sex": "female", "age_years": 70}, "routine"),
        (190.0, {"sex": "male", "age_years": 45}, "routine"),  # men >= 40: >= 2 mm
        (200.0, {"sex": "male", "age_years": 40}, "critical"),
        (240.0, {"sex": "male", "age_years": 39}, "routine"),  # men < 40: >= 2.5 mm
        (250.0, {"sex": "M", "age_years": 25}, "critical"),
        (140.0, {"sex": "F"}, "routine"),
        # unknown sex or age: critical only above the highest cut-point the patient could
        # have; between the lowest and that one, urgent for a human read
        (120.0, {}, "routine"),  # under every cut-point
        (160.0, {}, "urgent"),  # a woman's STEMI, a normal young man
        (250.0, {}, "critical"),
        (120.0, {"sex": "male"}, "routine"),
        (220.0, {"sex": "male"}, "urgent"),  # >= 2 mm: a STEMI at 40 or over, not under
        (180.0, {"sex": "unknown", "age_years": 50}, "urgent"),  # a woman's, not a man's
        (200.0, {"sex": "unknown", "age_years": 50}, "critical"),
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
    unknown = triage(m, "routine", None)  # a STEMI for a woman, not for a young man
    assert unknown.cls == "urgent" and "needs human read" in unknown.reasons[0]
    assert triage(m, "routine", None, sex="female", age_years=60).cls == "critical"
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


# --- reason texts name the class each finding triggers (issue 12) ------------------------


def test_triage__rate_reason_names_its_own_class_beside_a_critical_finding() -> None:
    result = triage(with_st(II=150, III=150), "routine", None)
    slow = triage(dataclasses.replace(with_st(II=150, III=150), heart_rate_bpm=49.9), "x", None)
    assert result.cls == slow.cls == "critical"
    assert "urgent: heart rate 49.9/min (40-50/min)" in slow.reasons
    assert not any(r.startswith("critical: heart rate") for r in slow.reasons)


@pytest.mark.parametrize(
    ("bpm", "reason"),
    [
        (39.9, "critical: heart rate 39.9/min (below 40/min)"),
        (150.1, "critical: heart rate 150.1/min (above 150/min)"),
        (120, "urgent: heart rate 120/min (120-150/min)"),
    ],
)
def test_triage__rate_reasons_state_the_band(bpm: float, reason: str) -> None:
    assert reason in triage(normal(heart_rate_bpm=bpm), "routine", None).reasons


def test_triage__unknown_sex_says_which_cut_point_was_used() -> None:
    result = triage(with_st(V2=180, V3=180), "routine", None)
    assert result.cls == "urgent"
    assert "sex and age unknown" in result.reasons[0] and "not called critical" in result.reasons[0]


def test_triage__reciprocal_depression_is_named_as_support() -> None:
    result = triage(with_st(II=200, III=200, aVF=150, aVL=-150, I=-60), "routine", None)
    assert result.cls == "critical"
    assert "reciprocal ST depression supports it: I -60 uV, aVL -150 uV" in result.reasons[0]


def test_triage__diffuse_elevation_without_reciprocal_depression_needs_a_human_read() -> None:
    # Inferior and anterolateral J elevation, only aVR depressed: early repolarization's (or
    # pericarditis') pattern, a pitfall the 4th UDMI names; the shape of a real GE 12SL
    # "ST elevation, suggests early repolarization" (tests/data/ecg/muse_guangxi_sinus.xml).
    st = with_st(II=139, aVF=107, III=76, V4=158, V5=134, aVR=-101, aVL=-7)
    result = triage(st, "routine", None, sex="male", age_years=11)
    assert result.cls == "urgent"
    assert result.reasons[0].startswith("urgent, needs human read: ST elevation at the J point")
    assert "inferior, anterolateral leads" in result.reasons[0]
    assert "early repolarization" in result.reasons[0] and "wraparound LAD" in result.reasons[0]


@pytest.mark.parametrize("reciprocal", ["aVL", "I", "V1"])
def test_triage__diffuse_elevation_with_any_reciprocal_depression_stays_critical(
    reciprocal: str,
) -> None:
    st = with_st(II=139, aVF=107, V4=158, V5=134, aVR=-101, **{reciprocal: -50.0})
    assert cls(st, sex="male", age_years=60) == "critical"


def test_triage__elevation_in_one_wall_without_reciprocal_depression_stays_critical() -> None:
    assert cls(with_st(V3=300, V4=250, V5=150), sex="male", age_years=60) == "critical"
    assert cls(with_st(II=150, III=160, aVF=140)) == "critical"


# --- STEMI equivalents: "needs human read" (urgent), never critical ----------------------


def morphology(**leads: tuple[float, float, float]) -> dict[str, dict[str, float]]:
    """Per lead (R, S, T) in uV; the other leads a normal rS/qR with an upright T."""
    base = dict.fromkeys(STANDARD_LEAD_ORDER, (800.0, -200.0, 300.0))
    base.update(leads)
    return {
        "r_uv": {k: v[0] for k, v in base.items()},
        "s_uv": {k: v[1] for k, v in base.items()},
        "t_uv": {k: v[2] for k, v in base.items()},
    }


def test_triage__posterior_pattern_needs_a_human_read() -> None:
    shape = morphology(V1=(700.0, -300.0, 400.0), V2=(900.0, -400.0, 500.0))
    m = dataclasses.replace(with_st(V1=-120, V2=-150, V3=-80), **shape)  # type: ignore[arg-type]
    result = triage(m, "routine", None)
    assert result.cls == "urgent"
    assert any("possible posterior MI" in r and "needs human read" in r for r in result.reasons)


def test_triage__v1_v3_depression_without_tall_r_is_no_posterior_flag() -> None:
    shape = morphology(V1=(200.0, -900.0, 100.0), V2=(300.0, -1200.0, 300.0))
    m = dataclasses.replace(with_st(V1=-60, V2=-70), **shape)  # type: ignore[arg-type]
    assert triage(m, "routine", None).cls == "routine"


def test_triage__de_winter_pattern_needs_a_human_read() -> None:
    st = {"V2": -150.0, "V3": -180.0, "V4": -120.0}
    j60 = {**dict.fromkeys(STANDARD_LEAD_ORDER, 0.0), "V2": 20.0, "V3": 40.0, "V4": 30.0}
    shape = morphology(V2=(600, -900, 900), V3=(800, -700, 1100), V4=(1200, -300, 800))
    m = dataclasses.replace(with_st(**st), st_j60_uv=j60, **shape)  # type: ignore[arg-type]
    result = triage(m, "routine", None)
    assert result.cls == "urgent"
    assert any(r.startswith("urgent, needs human read: de Winter") for r in result.reasons)


def test_triage__lbbb_discordant_st_elevation_is_not_a_stemi() -> None:
    # LBBB: QRS 150 ms, deep S in V1-V3 with 2 mm discordant elevation (8 % of the S): normal
    shape = morphology(
        V1=(100, -2500, 500), V2=(150, -3000, 600), V3=(300, -2400, 500), I=(1200, 0, -300)
    )
    m = dataclasses.replace(
        with_st(V1=200, V2=250, V3=200, I=-80),
        qrs_ms=150,
        **shape,  # type: ignore[arg-type]
    )
    result = triage(m, "routine", None)
    assert result.cls == "routine"
    assert any("ST elevation criteria do not apply; no Sgarbossa" in r for r in result.reasons)


def test_triage__lbbb_with_concordant_elevation_meets_sgarbossa_but_is_not_critical() -> None:
    shape = morphology(V1=(100, -2500, 500), V5=(1500, -100, -400), V6=(1400, 0, -400))
    m = dataclasses.replace(
        with_st(V5=150, V6=160),
        qrs_ms=150,
        **shape,  # type: ignore[arg-type]
    )
    result = triage(m, "routine", None)
    assert result.cls == "urgent"
    assert "Sgarbossa: concordant ST elevation V5 +150 uV" in result.reasons[0]


def test_triage__avr_elevation_with_widespread_depression_needs_a_human_read() -> None:
    depressed = {ld: -120.0 for ld in ("I", "II", "aVF", "V2", "V3", "V4", "V5", "V6")}
    result = triage(with_st(aVR=150, **depressed), "routine", None)
    assert result.cls == "urgent"
    assert any("aVR +150 uV" in r and "left main" in r for r in result.reasons)


# --- Right bundle branch block (AHA/ACCF/HRS 2009 Part III criteria) --------------------


def rbbb(qrs_ms: float = 146.0, v1_r_peak_ms: float = 100.0, **st: float) -> Measurements:
    """Complete RBBB's timing: a late R' in V1 (R peak time > 50 ms), a wide S (> 40 ms)
    after a short R in I, aVL, V5, V6 and II, no wide S in V1-V4 (the shape of CPSC 2018
    A0001, RBBB by its cardiologists)."""
    wide_s = ("I", "II", "aVL", "V5", "V6")
    return dataclasses.replace(
        with_st(**st),
        qrs_ms=qrs_ms,
        r_uv={**dict.fromkeys(STANDARD_LEAD_ORDER, 600.0), "V1": 1100.0},
        s_uv={**dict.fromkeys(STANDARD_LEAD_ORDER, -300.0), "V1": -150.0},
        r_peak_ms={**dict.fromkeys(STANDARD_LEAD_ORDER, 30.0), "V1": v1_r_peak_ms},
        r_ms=dict.fromkeys(STANDARD_LEAD_ORDER, 56.0),
        s_ms={ld: 90.0 if ld in wide_s else 20.0 for ld in STANDARD_LEAD_ORDER},
    )


def test_triage__rbbb_lateral_elevation_after_a_wide_s_needs_a_human_read() -> None:
    # RBBB's own ST-T change after its slurred S is an elevation: 1 mm at the global J point
    # is not a STEMI on its own (4th UDMI: only new elevation counts in RBBB)
    result = triage(rbbb(V5=108, V6=110, V1=-146, V2=-146), "routine", None, "male", 74)
    assert result.cls == "urgent"
    assert result.reasons[0].startswith("urgent, needs human read: right bundle branch block")
    assert "V5 +108 uV, V6 +110 uV" in result.reasons[0]
    assert not any("posterior" in r for r in result.reasons)  # V1's tall R is the R'


def test_triage__rbbb_elevation_with_reciprocal_depression_stays_critical() -> None:
    m = rbbb(V5=150, V6=160, I=120, II=-80, III=-120, aVF=-100)
    result = triage(m, "routine", None, "male", 74)
    assert result.cls == "critical"
    assert "reciprocal ST depression supports it" in result.reasons[0]


def test_triage__rbbb_anterior_elevation_after_the_r_prime_stays_critical() -> None:
    # proximal LAD occlusion with a new RBBB: V1-V3 elevation has no wide S before it
    assert cls(rbbb(V1=250, V2=300, V3=280, V4=200), sex="male", age_years=60) == "critical"


@pytest.mark.parametrize(
    ("qrs_ms", "v1_r_peak_ms"), [(110.0, 100.0), (146.0, 40.0)], ids=["narrow", "no-late-r"]
)
def test_triage__lateral_elevation_without_the_rbbb_criteria_stays_critical(
    qrs_ms: float, v1_r_peak_ms: float
) -> None:
    assert cls(rbbb(qrs_ms, v1_r_peak_ms, V5=108, V6=110)) == "critical"
