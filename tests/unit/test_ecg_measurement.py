"""ECG measurements against known truth: synthetic 12-lead ECGs whose every interval and ST
level the generator knows, and one real recording with hand-checked beats."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kernel.codes import STANDARD_LEAD_ORDER
from stream_processors.ecg_measurement import Measurements, delineate, measure
from stream_processors.ecg_measurement.synthetic import SyntheticEcg, lead_axes, synthesize

HR_TOLERANCE_BPM = 3.0
QRS_TOLERANCE_MS = 20.0
ST_TOLERANCE_UV = 30.0
# At the J point the ST level is taken where the QRS meets the ST segment: a QRS end read a
# few ms late lands on the ST upslope, so the J level is looser than the J + 60 ms level.
ST_J_TOLERANCE_UV = 40.0
INFERIOR_STEMI = {"II": 150.0, "III": 150.0, "aVF": 150.0, "I": -60.0, "aVL": -110.0}
ANTERIOR_STEMI = {"V2": 250.0, "V3": 250.0, "V4": 200.0, "V1": 120.0}
REAL_ECG = Path(__file__).resolve().parents[1] / "data" / "ecg" / "pyhrv_SampleECG.txt"
# R peaks of REAL_ECG, checked by eye on a plot of the whole record (see tests/data/ecg/README.md)
REAL_R_PEAKS = (
    669,
    1423,
    2188,
    2943,
    3676,
    4429,
    5198,
    5988,
    6777,
    7567,
    8338,
    9085,
    9801,
    10519,
    11252,
    12023,
    12860,
    13728,
    14596,
    15446,
    16259,
    17018,
    17759,
    18509,
    19269,
    20038,
    20810,
    21555,
    22293,
)


def kw(**changes: Any) -> dict[str, Any]:
    """Generator arguments: 72/min, 10 s at 500 Hz, realistic noise, wander and mains."""
    base: dict[str, Any] = {
        "heart_rate_bpm": 72.0,
        "noise_uv": 20.0,
        "wander_uv": 150.0,
        "mains_uv": 30.0,
        "seed": 7,
    }
    return {**base, **changes}


def ecg(**args: Any) -> SyntheticEcg:
    return _cached(_key(args))[0]


def run(**changes: Any) -> tuple[SyntheticEcg, Measurements]:
    """The generated ECG and its measurements (cached: several tests share one ECG)."""
    return _cached(_key(kw(**changes)))


def _key(args: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    st = args.get("st_offset_uv")
    return tuple(sorted({**args, "st_offset_uv": tuple(sorted((st or {}).items()))}.items()))


@functools.cache
def _cached(key: tuple[tuple[str, Any], ...]) -> tuple[SyntheticEcg, Measurements]:
    args = dict(key)
    e = synthesize(**{**args, "st_offset_uv": dict(args["st_offset_uv"])})
    return e, measure(e.leads, e.rate_hz)


def assert_st_matches(e: SyntheticEcg, m: Measurements) -> None:
    """ST at J + 60 ms and at the J point (the 4th UDMI's) both match the generator's truth."""
    assert e.truth.st_j_uv is not None
    for measured, truth, tolerance in (
        (m.st_j60_uv, e.truth.st_j60_uv, ST_TOLERANCE_UV),
        (m.st_deviation_uv, e.truth.st_j_uv, ST_J_TOLERANCE_UV),
    ):
        errors = {lead: measured[lead] - value for lead, value in truth.items()}
        assert max(abs(v) for v in errors.values()) <= tolerance, errors


# --- the generator itself ---------------------------------------------------------------


def test_synthetic__limb_leads_obey_einthoven() -> None:
    e = ecg(**kw(noise_uv=0.0, wander_uv=0.0, mains_uv=0.0))
    i, ii, iii = (np.array(e.leads[k]) for k in ("I", "II", "III"))
    avr, avl, avf = (np.array(e.leads[k]) for k in ("aVR", "aVL", "aVF"))
    assert np.max(np.abs(iii - (ii - i))) <= 1  # integer rounding
    assert np.max(np.abs(avr + (i + ii) / 2)) <= 1.5
    assert np.max(np.abs(avl - (i - iii) / 2)) <= 1.5
    assert np.max(np.abs(avf - (ii + iii) / 2)) <= 1.5
    assert lead_axes().shape == (12, 3)


def test_synthetic__is_deterministic_for_a_seed() -> None:
    assert synthesize(seed=3).leads == synthesize(seed=3).leads
    assert synthesize(seed=3).leads != synthesize(seed=4).leads


# --- accuracy against the generator's truth -----------------------------------------------


@pytest.mark.parametrize("bpm", [35, 60, 100, 160])
def test_measure__rate_qrs_and_st_match_truth_at_rate(bpm: int) -> None:
    e, m = run(heart_rate_bpm=float(bpm), st_offset_uv=INFERIOR_STEMI)
    assert m.analysable, m.problems
    assert m.heart_rate_bpm == pytest.approx(e.truth.heart_rate_bpm, abs=HR_TOLERANCE_BPM)
    assert m.qrs_ms == pytest.approx(e.truth.qrs_ms, abs=QRS_TOLERANCE_MS)
    assert_st_matches(e, m)
    assert m.irregular is False


@pytest.mark.parametrize(
    "noise",
    [
        {"noise_uv": 5.0, "wander_uv": 0.0, "mains_uv": 0.0},
        {"noise_uv": 40.0, "wander_uv": 400.0, "mains_uv": 100.0},
    ],
    ids=["clean", "noisy"],
)
def test_measure__anterior_st_elevation_is_measured_through_noise(noise: dict[str, float]) -> None:
    e, m = run(heart_rate_bpm=90.0, st_offset_uv=ANTERIOR_STEMI, seed=11, **noise)
    assert m.analysable, m.problems
    assert_st_matches(e, m)
    assert m.st_deviation_uv["V2"] == pytest.approx(250.0, abs=ST_TOLERANCE_UV)


@pytest.mark.parametrize("qrs_ms", [70.0, 140.0])
def test_measure__qrs_duration_follows_narrow_and_wide_complexes(qrs_ms: float) -> None:
    e, m = run(qrs_ms=qrs_ms)
    assert m.qrs_ms == pytest.approx(qrs_ms, abs=QRS_TOLERANCE_MS)


@pytest.mark.parametrize("rate_hz", [250.0, 1000.0])
def test_measure__other_sampling_rates(rate_hz: float) -> None:
    e, m = run(rate_hz=rate_hz, st_offset_uv=INFERIOR_STEMI)
    assert m.heart_rate_bpm == pytest.approx(e.truth.heart_rate_bpm, abs=HR_TOLERANCE_BPM)
    assert m.qrs_ms == pytest.approx(e.truth.qrs_ms, abs=QRS_TOLERANCE_MS)
    assert_st_matches(e, m)


def test_measure__pr_and_qt_in_sinus_rhythm() -> None:
    e, m = run(heart_rate_bpm=60.0)
    assert e.truth.pr_ms is not None
    assert m.pr_ms == pytest.approx(e.truth.pr_ms, abs=25.0)  # the P onset is found ~10 ms late
    assert m.qt_ms == pytest.approx(e.truth.qt_ms, abs=30.0)
    assert m.heart_rate_bpm is not None and m.qt_ms is not None
    rr_s = 60.0 / m.heart_rate_bpm
    assert m.qtc_ms == pytest.approx(m.qt_ms / math.sqrt(rr_s), abs=2.0)  # Bazett


def test_measure__atrial_fibrillation_is_irregular_without_p_waves() -> None:
    e, m = run(heart_rate_bpm=100.0, rhythm="af")
    assert m.analysable, m.problems
    assert m.irregular is True
    assert m.rr_irregularity is not None and m.rr_irregularity > 0.10
    assert m.pr_ms is None
    assert m.heart_rate_bpm == pytest.approx(e.truth.heart_rate_bpm, abs=HR_TOLERANCE_BPM)


def test_measure__is_deterministic() -> None:
    e = ecg(**kw())
    assert measure(e.leads, e.rate_hz) == measure(e.leads, e.rate_hz)


def test_measure__reports_every_lead_and_the_beat_count() -> None:
    e, m = run()
    assert set(m.st_deviation_uv) == set(STANDARD_LEAD_ORDER)
    assert m.problems == []
    assert (
        abs(m.beats - len(e.truth.qrs_onsets_s)) <= 1
    )  # a QRS cut by the record's end is left out


# --- a real recording --------------------------------------------------------------------


def real_leads() -> dict[str, list[int]]:
    """Lead II of the BITalino recording in uV (10-bit ADC, 3.3 V, ECG gain 1100)."""
    adc = np.loadtxt(REAL_ECG, comments="#")[:, -1]
    return {"II": [int(round((v - 512) * 3.3e6 / 1024 / 1100)) for v in adc]}


def test_measure__real_recording_rate_matches_its_hand_checked_beats() -> None:
    reference_bpm = 60.0 * 1000.0 / float(np.mean(np.diff(REAL_R_PEAKS)))  # 77.7 /min
    m = measure(real_leads(), 1000.0)
    assert m.analysable, m.problems
    assert m.heart_rate_bpm == pytest.approx(reference_bpm, abs=1.0)
    assert m.beats in (len(REAL_R_PEAKS) - 1, len(REAL_R_PEAKS))  # the last R is 57 ms from the end
    assert m.irregular is False
    assert m.qrs_ms is not None and 60 <= m.qrs_ms <= 110
    assert abs(m.st_deviation_uv["II"]) < 50
    assert [p for p in m.problems if "missing" not in p] == []


CPSC = Path(__file__).resolve().parents[1] / "data" / "ecg" / "cpsc2018"


@pytest.mark.parametrize(("record", "rbbb"), [("A0001", True), ("A0010", True), ("A0002", False)])
def test_measure__rbbb_criteria_on_real_records_labelled_by_cardiologists(
    record: str, rbbb: bool
) -> None:
    # AHA/ACCF/HRS 2009 Part III, complete RBBB in adults: QRS >= 120 ms, R peak time in V1
    # > 50 ms (the late R'), S wave > 40 ms in I and V6. A0001 and A0010 are labelled RBBB,
    # A0002 normal (CPSC 2018, tests/data/ecg/README.md).
    from bench.ecg_accuracy import wfdb_case

    case = wfdb_case(CPSC / f"{record}.hea")
    m = measure(case.leads, case.rate_hz)
    met = [
        m.qrs_ms is not None and m.qrs_ms >= 120,
        m.r_peak_ms.get("V1", 0.0) > 50,
        m.s_ms["I"] > 40 and m.s_ms["V6"] > 40,
    ]
    assert all(met) is rbbb, (m.qrs_ms, m.r_peak_ms, m.s_ms)


# --- what cannot be analysed is said, never raised --------------------------------------


def leads_of(value: Any) -> dict[str, Any]:
    return {lead: value for lead in STANDARD_LEAD_ORDER}


@pytest.mark.parametrize(
    ("leads", "rate_hz", "problem"),
    [
        (leads_of([0] * 5000), 500.0, "flat line"),
        (leads_of([32767] * 5000), 500.0, "saturated (stuck at 32767 uV)"),
        (leads_of([int(500 * math.sin(i / 300)) for i in range(5000)]), 500.0, "no QRS complexes"),
        (leads_of([0, 800] * 250), 500.0, "too short"),
        (leads_of([]), 500.0, "too short"),
        ({}, 500.0, "no standard lead"),
        ({**leads_of([0] * 5000), "V1": [0] * 4999}, 500.0, "differ in length"),
        (leads_of([0] * 5000), 0.0, "sampling rate"),
        (leads_of([0] * 5000), float("nan"), "sampling rate"),
        (leads_of(["x"] * 5000), 500.0, "not numbers"),
        (leads_of([float("inf")] * 5000), 500.0, "not finite"),
    ],
    ids=[
        "zeros",
        "railed",
        "wander-only",
        "1-second",
        "empty",
        "no-leads",
        "ragged",
        "rate-0",
        "rate-nan",
        "strings",
        "infinite",
    ],
)
def test_measure__unanalysable_input_says_why(
    leads: dict[str, Any], rate_hz: float, problem: str
) -> None:
    m = measure(leads, rate_hz)
    assert m.analysable is False
    assert any(problem in p for p in m.problems), m.problems
    assert m.heart_rate_bpm is None and m.st_deviation_uv == {}


def test_measure__noise_without_ecg_is_too_noisy() -> None:
    rng = np.random.default_rng(1)
    m = measure(
        {lead: [int(v) for v in rng.normal(0, 300, 5000)] for lead in STANDARD_LEAD_ORDER}, 500.0
    )
    assert m.analysable is False
    assert any("too noisy" in p for p in m.problems), m.problems


def test_measure__ecg_drowned_in_noise_is_not_analysable() -> None:
    e = ecg(**kw(noise_uv=400.0))
    m = measure(e.leads, e.rate_hz)
    assert m.analysable is False
    assert any("too noisy" in p for p in m.problems), m.problems


def bad_lead(lead: str, damage: str) -> dict[str, list[int]]:
    leads = dict(ecg(**kw()).leads)
    x = np.array(leads[lead])
    if damage == "flat":
        x = np.zeros_like(x)
    elif damage == "clipped":
        x = np.clip(x, -250, 250)
    else:
        x = x + np.random.default_rng(2).normal(0, 700, len(x)).astype(int)
    leads[lead] = [int(v) for v in x]
    return leads


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("flat", "lead V3: flat line"),
        ("clipped", "lead V3: saturated"),
        ("noisy", "lead V3: too noisy"),
    ],
)
def test_measure__one_bad_lead_is_left_out_and_named(damage: str, problem: str) -> None:
    m = measure(bad_lead("V3", damage), 500.0)
    assert m.analysable, m.problems
    assert any(p.startswith(problem) for p in m.problems), m.problems
    assert "V3" not in m.st_deviation_uv and len(m.st_deviation_uv) == 11
    assert m.heart_rate_bpm == pytest.approx(ecg(**kw()).truth.heart_rate_bpm, abs=HR_TOLERANCE_BPM)


def test_measure__a_lead_subset_is_measured_and_the_rest_named_missing() -> None:
    e = ecg(**kw())
    m = measure({"II": e.leads["II"], "V2": e.leads["V2"], "X": e.leads["V1"]}, 500.0)
    assert m.analysable
    assert set(m.st_deviation_uv) == {"II", "V2"}
    assert "unknown lead 'X' ignored" in m.problems and "lead V6: missing" in m.problems


def test_measure__never_raises_on_strange_values() -> None:
    e = ecg(**kw())
    weird = {**e.leads, "I": [None] * 5000}
    m = measure(weird, 500.0)  # type: ignore[arg-type]
    assert m.analysable is False
    assert measure(e.leads, "500").analysable is False  # type: ignore[arg-type]


# --- wave boundaries on the median beat (pure functions) ----------------------------------


def _triangle(t_ms: np.ndarray, start: float, end: float, amplitude: float) -> np.ndarray:
    middle, half = (start + end) / 2, (end - start) / 2
    return np.clip(amplitude * (1 - np.abs(t_ms - middle) / half), 0.0, None)


def test_qrs_bounds__global_qrs_runs_from_the_earliest_onset_to_the_latest_offset() -> None:
    # IEC 60601-2-25 global QRS: from the earliest onset in any lead to the latest offset in
    # any lead. Three leads: -40..+40 ms, -20..+70 ms (ends last), -60..+20 ms (starts first).
    rate, pre = 500.0, 200
    t_ms = (np.arange(500) - pre) / rate * 1000
    median = np.stack(
        [
            _triangle(t_ms, -40, 40, 1000),
            _triangle(t_ms, -20, 70, 800),
            _triangle(t_ms, -60, 20, 600),
        ]
    )
    on, off = delineate.qrs_bounds(median, pre, rate)
    assert on * 2 == pytest.approx(-60, abs=4)
    assert off * 2 == pytest.approx(70, abs=4)


def test_t_end__stops_at_the_t_wave_when_its_tail_settles_off_the_pr_level() -> None:
    # T peak at 300 ms (400 uV, ends about 420 ms) whose tail settles 50 uV above the PR level
    # (12 %: never back within 5 % of its peak), then the next P wave at 650 ms, steeper than
    # the T: the T end must not be carried past that P wave.
    rate, pre = 500.0, 100
    t_ms = (np.arange(500) - pre) / rate * 1000
    tail = 50.0 / (1 + np.exp(-(t_ms - 300) / 15))
    t_wave = 400 * np.exp(-(((t_ms - 300) / 45) ** 2)) + tail
    p_wave = 200 * np.exp(-(((t_ms - 650) / 14) ** 2))
    median = (t_wave + p_wave)[np.newaxis, :]
    end_ms = delineate.t_end(median, pre, 40, 380, rate) * 2  # type: ignore[operator]
    assert 360 <= end_ms <= 460
