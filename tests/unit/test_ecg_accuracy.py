"""Accuracy of the automatic measurements and triage on real 12-lead recordings, against the
reading of the cart program that recorded them (Philips DXL, GE 12SL), with the limits of
IEC 60601-2-25:2011, 201.12.4.102.3.2 (global intervals on biological ECGs: mean difference
and standard deviation, PR and QRS +-10 ms / 10 ms, QT +-25 ms / 30 ms), and the triage on
those and on ten CPSC 2018 records labelled by cardiologists (normal, atrial fibrillation, RBBB,
PVC, ST depression: none an acute MI). The recordings, their source and licence are in
tests/data/ecg/README.md; `python -m bench.ecg_accuracy` prints the same comparison as a table."""

from __future__ import annotations

import functools

import pytest

from bench.ecg_accuracy import cases
from stream_processors.ecg_measurement.accuracy import (
    IEC_LIMITS,
    Outcome,
    agreement,
    confusion,
    evaluate,
)


@functools.cache
def _outcomes() -> tuple[Outcome, ...]:
    return tuple(evaluate(cases()))


# CPSC 2018 A0001 (RBBB, QRS 146 ms): J point on the S upstroke of V5-V6 that runs straight
# into an upsloping ST and a tall T; see the strict xfail below.
KNOWN_FALSE_CRITICAL = "cpsc2018/A0001"


def _within_iec(key: str) -> None:
    a = agreement(_outcomes(), key)
    mean_limit, sd_limit = IEC_LIMITS[key]
    referenced = [o for o in _outcomes() if o.case.reference.get(key) is not None]
    assert a.n == len(referenced) >= 3  # every cart-referenced recording measured
    assert a.mean is not None and abs(a.mean) <= mean_limit, a
    assert a.sd is not None and a.sd <= sd_limit, a


def test_accuracy__pr_interval_within_iec_60601_2_25() -> None:
    _within_iec("pr_ms")


def test_accuracy__qt_interval_within_iec_60601_2_25() -> None:
    _within_iec("qt_ms")


@pytest.mark.xfail(
    strict=True,
    reason=(
        "QRS mean difference -13.7 ms, SD 22.0 ms (limits +-10 / 10): on philips_129DYPRG "
        "(inferior STEMI) ours is 96 ms against the cart's global 135 ms; the same file's "
        "beat-group QRS is 96 ms and its lead II alone (QRS notch flagged, elevated ST) 135 ms; "
        "the two GE 12SL files agree within 2 ms"
    ),
)
def test_accuracy__qrs_duration_within_iec_60601_2_25() -> None:
    _within_iec("qrs_ms")


def test_accuracy__every_acute_mi_reference_is_triaged_critical_for_st_elevation() -> None:
    c = confusion(_outcomes())
    assert c.true_positive >= 1  # the set holds at least one acute MI
    assert c.false_negative == 0


def test_accuracy__no_reference_without_acute_mi_is_triaged_critical() -> None:
    calm = [o for o in _outcomes() if not o.cart_stemi and o.case.name != KNOWN_FALSE_CRITICAL]
    assert len(calm) >= 10  # two carts' non-MI readings and the CPSC records
    assert [(o.case.name, o.triaged.reasons) for o in calm if o.triaged.cls == "critical"] == []


def test_accuracy__no_normal_reference_is_triaged_critical() -> None:
    c = confusion(_outcomes())
    assert c.normal_references >= 2  # GE 12SL "normal ECG" and CPSC 2018 class Normal
    assert c.critical_on_normal == []


def test_accuracy__real_early_repolarization_is_left_to_a_human_not_called_stemi() -> None:
    # GE 12SL: "ST elevation (suggests early repolarization)", "normal ECG"; boy of 11. His J
    # points meet the 4th UDMI cut-points in II, aVF, V4, V5 (the cart's own median beat
    # agrees), with no reciprocal depression: the pitfall, flagged for a reader.
    (o,) = [o for o in _outcomes() if o.case.name == "muse_guangxi_sinus.xml"]
    assert o.cart_normal and o.triaged.cls == "urgent"
    assert "early repolarization" in o.triaged.reasons[0]


@pytest.mark.xfail(
    strict=True,
    reason=(
        "cpsc2018/A0001 (cardiologists' label RBBB only) is critical for lateral ST elevation "
        "at the J point, V5 +108 and V6 +110 uV (cut-point 100): the QRS (146 ms) ends on the "
        "S upstroke, which runs straight into an upsloping ST and a T of 375 uV, so 4 ms "
        "either side of J moves V5-V6 by 10-15 uV; a reader would call it RBBB"
    ),
)
def test_accuracy__rbbb_reference_is_not_triaged_critical() -> None:
    (o,) = [o for o in _outcomes() if o.case.name == KNOWN_FALSE_CRITICAL]
    assert o.triaged.cls != "critical", o.triaged.reasons
