"""Triage class of an ECG from its measurements and what the sender said. Pure, deterministic.

critical  ST elevation meeting the STEMI voltage criteria in two contiguous leads (below),
          or heart rate < 40 or > 150 /min, or a sender pre-alert "STEMI", or urgency "stat";
urgent    ST depression >= 100 uV in two contiguous leads, an irregular rhythm, QTc > 500 ms,
          heart rate 40-50 or 120-150 /min (both ends included), or urgency "urgent";
routine   anything else.
An ECG the measurer could not analyse is classed from the sender alone, and says so.

ST elevation criteria, from the Fourth Universal Definition of Myocardial Infarction
(ESC/ACC/AHA/WHF 2018, Thygesen et al., Table 4 "ECG manifestations of acute myocardial
ischaemia"): new ST elevation in two contiguous leads of >= 1 mm (100 uV at 10 mm/mV) in all
leads except V2-V3, where the cut-points are >= 2 mm in men >= 40 years, >= 2.5 mm in men
< 40 years and >= 1.5 mm in women whatever their age. Without sex and age we apply the 1 mm
rule to V2-V3 as well: more sensitive, never less. The definition measures at the J point;
the measurer reports the level at J + 60 ms (as many ECG programs do, and where it is less
disturbed by the end of the QRS), which we apply the same cut-points to.

"Contiguous" (the definition: lead groups such as the anterior V1-V6, inferior II, III, aVF,
lateral/apical I and aVL). The pairs that count here:
- inferior: any two of II, III, aVF;
- lateral: any two of I, aVL, V5, V6 (high lateral I-aVL, low lateral V5-V6 and across);
- anterior/septal and on: neighbours in V1..V6 only (V1-V2, V2-V3, V3-V4, V4-V5; V5-V6 is
  lateral): the chest leads face adjoining walls in that order, so V1 with V3 is no pair.
aVR is in no pair: its ST elevation with diffuse depression (left main) is for the reader.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

from stream_processors.ecg_measurement.measure import Measurements

TriageClass = Literal["critical", "urgent", "routine"]
ORDER: tuple[TriageClass, ...] = ("routine", "urgent", "critical")

ST_ELEVATION_UV = 100.0  # 1 mm at 10 mm/mV, every lead but V2-V3 (and V2-V3 when sex/age unknown)
V2_V3_MEN_40_PLUS_UV = 200.0
V2_V3_MEN_UNDER_40_UV = 250.0
V2_V3_WOMEN_UV = 150.0
ST_DEPRESSION_UV = 100.0
HR_CRITICAL_BELOW, HR_CRITICAL_ABOVE = 40.0, 150.0
HR_URGENT_SLOW = (40.0, 50.0)
HR_URGENT_FAST = (120.0, 150.0)
QTC_URGENT_ABOVE_MS = 500.0
SENDER_CLASS: dict[str, TriageClass] = {
    "stat": "critical",
    "urgent": "urgent",
    "routine": "routine",
}

_PRECORDIAL = ("V1", "V2", "V3", "V4", "V5", "V6")
CONTIGUOUS_GROUPS: dict[str, tuple[str, ...]] = {
    "inferior": ("II", "III", "aVF"),
    "lateral": ("I", "aVL", "V5", "V6"),
}
CONTIGUOUS_PAIRS: tuple[tuple[str, str, str], ...] = (
    *(
        (name, a, b)
        for name, leads in CONTIGUOUS_GROUPS.items()
        for a, b in itertools.combinations(leads, 2)
    ),
    ("anterior", "V1", "V2"),
    ("anterior", "V2", "V3"),
    ("anterior", "V3", "V4"),
    ("anterolateral", "V4", "V5"),  # V5-V6 is in the lateral group
)


@dataclass(frozen=True)
class TriageResult:
    cls: TriageClass
    reasons: list[str] = field(default_factory=list)


def triage(
    measurements: Measurements,
    sender_urgency: str,
    prealert: str | None,
    sex: str | None = None,
    age_years: float | None = None,
) -> TriageResult:
    """The class and every reason for it (all findings, not only the deciding one).

    `sex` is "male" or "female" (also "M"/"F"); with `age_years` it selects the V2-V3
    ST-elevation cut-points. Unknown urgencies count as routine.
    """
    sender = _sender_findings(sender_urgency, prealert)
    if not measurements.analysable:
        why = "; ".join(measurements.problems) or "no reason given"
        return _result(
            [*sender, ("routine", f"ECG not analysable ({why}): class from the sender only")]
        )
    return _result([*sender, *_measured_findings(measurements, sex, age_years)])


Finding = tuple[TriageClass, str]


def _result(findings: list[Finding]) -> TriageResult:
    cls: TriageClass = max((c for c, _ in findings), key=ORDER.index, default="routine")
    reasons = [r for c, r in sorted(findings, key=lambda f: -ORDER.index(f[0]))]
    if cls == "routine":
        reasons.insert(0, "no critical or urgent finding")
    return TriageResult(cls, reasons)


def _sender_findings(urgency: str, prealert: str | None) -> list[Finding]:
    out: list[Finding] = []
    if prealert == "STEMI":
        out.append(("critical", "sender pre-alert: STEMI"))
    cls = SENDER_CLASS.get(urgency, "routine")
    if cls != "routine":
        out.append((cls, f"sender urgency: {urgency}"))
    return out


def _measured_findings(m: Measurements, sex: str | None, age_years: float | None) -> list[Finding]:
    return [
        *_st_findings(m.st_deviation_uv, sex, age_years),
        *_rate_findings(m.heart_rate_bpm),
        *_rhythm_findings(m),
        *_not_assessed(m.st_deviation_uv),
    ]


def st_elevation_threshold_uv(lead: str, sex: str | None, age_years: float | None) -> float:
    """The ST-elevation cut-point of a lead (uV), per the Fourth Universal Definition.

    V2-V3 get the sex- and age-specific cut-points when they are known ("female"/"F": any
    age; "male"/"M": with an age); otherwise, and in every other lead, 1 mm.
    """
    known = (sex or "").strip().lower()
    if lead not in ("V2", "V3"):
        return ST_ELEVATION_UV
    if known in ("female", "f"):
        return V2_V3_WOMEN_UV
    if known in ("male", "m") and age_years is not None:
        return V2_V3_MEN_40_PLUS_UV if age_years >= 40 else V2_V3_MEN_UNDER_40_UV
    return ST_ELEVATION_UV


def _st_findings(st: dict[str, float], sex: str | None, age_years: float | None) -> list[Finding]:
    elevated = {
        lead for lead, v in st.items() if v >= st_elevation_threshold_uv(lead, sex, age_years)
    }
    depressed = {lead for lead, v in st.items() if v <= -ST_DEPRESSION_UV}
    out: list[Finding] = []
    for territory, leads in _territories(elevated).items():
        out.append(
            (
                "critical",
                f"ST elevation in contiguous leads {', '.join(leads)} ({territory}): "
                + _values(st, leads),
            )
        )
    for territory, leads in _territories(depressed).items():
        out.append(
            (
                "urgent",
                f"ST depression >= {ST_DEPRESSION_UV:g} uV in contiguous leads "
                f"{', '.join(leads)} ({territory}): " + _values(st, leads),
            )
        )
    return out


def _territories(leads: set[str]) -> dict[str, list[str]]:
    """Territory -> the leads (standard order) of every contiguous pair within `leads`."""
    out: dict[str, set[str]] = {}
    for territory, a, b in CONTIGUOUS_PAIRS:
        if a in leads and b in leads:
            out.setdefault(territory, set()).update((a, b))
    order = ("I", "II", "III", "aVR", "aVL", "aVF", *_PRECORDIAL)
    return {t: sorted(ls, key=order.index) for t, ls in out.items()}


def _values(st: dict[str, float], leads: list[str]) -> str:
    return ", ".join(f"{lead} {st[lead]:+.0f} uV" for lead in leads)


def _rate_findings(hr: float | None) -> list[Finding]:
    if hr is None:
        return []
    if hr < HR_CRITICAL_BELOW or hr > HR_CRITICAL_ABOVE:
        return [
            (
                "critical",
                f"heart rate {hr:g}/min (critical below {HR_CRITICAL_BELOW:g} "
                f"or above {HR_CRITICAL_ABOVE:g})",
            )
        ]
    if HR_URGENT_SLOW[0] <= hr <= HR_URGENT_SLOW[1] or HR_URGENT_FAST[0] <= hr <= HR_URGENT_FAST[1]:
        return [("urgent", f"heart rate {hr:g}/min")]
    return []


def _rhythm_findings(m: Measurements) -> list[Finding]:
    out: list[Finding] = []
    if m.irregular:
        out.append(
            ("urgent", f"irregular rhythm (RR coefficient of variation {m.rr_irregularity:.2f})")
        )
    if m.qtc_ms is not None and m.qtc_ms > QTC_URGENT_ABOVE_MS:
        out.append(("urgent", f"QTc {m.qtc_ms:.0f} ms (Bazett) above {QTC_URGENT_ABOVE_MS:g} ms"))
    return out


def _not_assessed(st: dict[str, float]) -> list[Finding]:
    missing = [
        lead for lead in ("I", "II", "III", "aVR", "aVL", "aVF", *_PRECORDIAL) if lead not in st
    ]
    return [("routine", f"ST not assessed in {', '.join(missing)}")] if missing else []
