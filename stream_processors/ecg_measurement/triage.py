"""Triage class of an ECG from its measurements and what the sender said. Pure, deterministic.

critical  ST elevation at the J point meeting the STEMI voltage criteria in two contiguous
          leads (below), or heart rate < 40 or > 150 /min, or a sender pre-alert "STEMI",
          or urgency "stat";
urgent    ST depression >= 100 uV in two contiguous leads, an irregular rhythm, QTc > 500 ms,
          heart rate 40-50 or 120-150 /min (both ends included), or urgency "urgent";
          and every finding that "needs a human read" (never critical on its own): the STEMI
          equivalents (posterior, de Winter, LBBB-like QRS with Sgarbossa criteria), aVR
          elevation with widespread depression, and V2-V3 elevation that meets a cut-point
          only for a sex or age we do not know;
routine   anything else.
An ECG the measurer could not analyse is classed from the sender alone, and says so.
Every measured finding's text starts with the class it triggers ("urgent: heart rate 49.9/min
..."), so a reason never borrows the class of another finding. Every text is rendered from
its declaration in reason_texts.py (stored in English; pages show it in the reader's language).

ST elevation criteria, from the Fourth Universal Definition of Myocardial Infarction
(ESC/ACC/AHA/WHF 2018, Thygesen et al., Table 4 "ECG manifestations of acute myocardial
ischaemia"): new ST elevation in two contiguous leads of >= 1 mm (100 uV at 10 mm/mV) in all
leads except V2-V3, where the cut-points are >= 2 mm in men >= 40 years, >= 2.5 mm in men
< 40 years and >= 1.5 mm in women whatever their age. The definition measures at the J
point, and so do we (`Measurements.st_deviation_uv`; the J + 60 ms level is reported beside
it, not judged). When sex or age is unknown, V2-V3 are judged at the highest cut-point the
patient could have (2.5 mm when nothing is known, 2 mm for an unknown sex at >= 40 years):
a normal young man's V2-V3 often reach 2 mm, and a false STEMI sends a cath team out at
night. An elevation between the lowest cut-point a patient could have and that one is not
dropped: it is "urgent, needs human read", and the reason says which sex/age it hinges on.
"New" elevation needs a previous ECG, which the triage does not have: the reader judges it.
Reciprocal ST depression (inferior <-> I/aVL, anterior/lateral <-> II/III/aVF) is named as
supporting evidence; the definition does not require it, so its absence lowers nothing, with
one exception: elevation meeting the cut-points in the inferior leads *and* in anterior or
lateral leads, with no ST depression of >= 0.5 mm in any lead but aVR, is the diffuse pattern
of early repolarization and peri-/myocarditis, which the 4th UDMI lists among the pitfalls
(false positives) of its ST criteria: an infarct's elevation faces one wall and the opposite
leads dip (an inferior STEMI almost always depresses aVL). Such an ECG is "urgent, needs
human read" (the reason names a wraparound LAD occlusion as the alternative), not critical.
A wide QRS (>= 120 ms) with a dominant negative V1 (LBBB-like, or paced) has secondary
ST-T changes: the ST elevation criteria do not apply there (4th UDMI), so such an ECG is
never critical from its ST; Sgarbossa's criteria are checked and reported for the reader.
Right bundle branch block (AHA/ACCF/HRS 2009 recommendations, Part III, Surawicz et al.:
QRS >= 120 ms in adults, a late R' in V1 or V2 with an R peak time > 50 ms in V1, and an S
wave longer than the R or than 40 ms in I and V6) is different: it leaves an infarct's ST
elevation visible, so the criteria still apply (4th UDMI; the ESC 2017 STEMI guideline
manages RBBB with ongoing ischaemic symptoms like a STEMI). But its repolarization is
secondary, directed against the slow terminal QRS deflection: ST depression after the R' of
V1-V3, elevation after the wide, slurred S of I, aVL, V5, V6; the 4th UDMI warns that these
ST-T changes make ischaemia hard to judge in RBBB and counts only *new* elevation. Measured at
the global J point, where that slurred S ends, the secondary elevation alone can reach 1 mm
(CPSC 2018 A0001, RBBB only by its cardiologists: V5 +108, V6 +110 uV). So, in RBBB, elevation
in a lead with a wide S (> 40 ms, the criterion's own figure) counts for critical only with
reciprocal depression in the opposite wall; without it, it is "urgent, needs human read"
(a previous ECG tells whether it is new). Elevation in leads without a wide S (V1-V3 after
the R', as in a proximal LAD occlusion with a new RBBB) is judged as usual. The posterior MI
flag is not raised in RBBB: the tall R in V1 it looks for is the R'.

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
import math
from dataclasses import dataclass, field
from typing import Literal

from stream_processors.ecg_measurement import reason_texts as rt
from stream_processors.ecg_measurement.measure import Measurements
from stream_processors.ecg_measurement.reason_texts import reason

TriageClass = Literal["critical", "urgent", "routine"]
ORDER: tuple[TriageClass, ...] = ("routine", "urgent", "critical")

ST_ELEVATION_UV = 100.0  # 1 mm at 10 mm/mV, every lead but V2-V3 (and V2-V3 when sex/age unknown)
V2_V3_MEN_40_PLUS_UV = 200.0
V2_V3_MEN_UNDER_40_UV = 250.0
V2_V3_WOMEN_UV = 150.0
ST_DEPRESSION_UV = 100.0
RECIPROCAL_DEPRESSION_UV = ST_DEPRESSION_UV / 2  # 0.5 mm: reciprocal (supporting) depression
LOWEST_V2_V3_UV = min(V2_V3_WOMEN_UV, V2_V3_MEN_40_PLUS_UV, V2_V3_MEN_UNDER_40_UV)
# STEMI equivalents (flagged for a human read, never critical on their own):
POSTERIOR_DEPRESSION_UV = 50.0  # 0.5 mm in V1-V3 (4th UDMI: posterior ischaemia)
DE_WINTER_DEPRESSION_UV = 100.0  # 1-3 mm upsloping J-point depression, V1-V6
DE_WINTER_UPSLOPE_UV = 100.0  # J + 60 ms at least this above the J point
DE_WINTER_T_UV = 500.0  # tall, prominent precordial T wave
WIDE_QRS_MS = 120.0
SGARBOSSA_CONCORDANT_UV = 100.0  # >= 1 mm concordant elevation, or depression in V1-V3
SGARBOSSA_DISCORDANT_RATIO = 0.25  # Smith-modified: discordant ST / S depth >= 25 %
RBBB_V1_R_PEAK_MS = 50.0  # AHA/ACCF/HRS 2009 Part III: R peak time in V1 > 50 ms
RBBB_WIDE_S_MS = 40.0  # ... and an S in I and V6 longer than the R or than 40 ms
AVR_ELEVATION_UV = 100.0
AVR_DEPRESSED_LEADS = 8  # 4th UDMI: depression in >= 8 leads with aVR elevation: left main
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
_LEAD_ORDER = ("I", "II", "III", "aVR", "aVL", "aVF", *_PRECORDIAL)
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


RECIPROCAL: dict[str, tuple[str, ...]] = {
    "inferior": ("I", "aVL"),
    "lateral": ("II", "III", "aVF"),
    "anterior": ("II", "III", "aVF"),
    "anterolateral": ("II", "III", "aVF"),
}


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
        why = "; ".join(measurements.problems) or rt.NO_REASON_GIVEN.english
        return _result([*sender, ("routine", rt.NOT_ANALYSABLE.render(why=why))])
    return _result([*sender, *_measured_findings(measurements, sex, age_years)])


Finding = tuple[TriageClass, str]


def _result(findings: list[Finding]) -> TriageResult:
    cls: TriageClass = max((c for c, _ in findings), key=ORDER.index, default="routine")
    reasons = [r for c, r in sorted(findings, key=lambda f: -ORDER.index(f[0]))]
    if cls == "routine":
        reasons.insert(0, reason(rt.ROUTINE, rt.NO_FINDING))
    return TriageResult(cls, reasons)


def _sender_findings(urgency: str, prealert: str | None) -> list[Finding]:
    out: list[Finding] = []
    if prealert == "STEMI":
        out.append(("critical", rt.SENDER_PREALERT.render(prealert=prealert)))
    cls = SENDER_CLASS.get(urgency, "routine")
    if cls != "routine":
        out.append((cls, rt.SENDER_URGENCY.render(urgency=urgency)))
    return out


def _measured_findings(m: Measurements, sex: str | None, age_years: float | None) -> list[Finding]:
    return [
        *_st_findings(m, sex, age_years),
        *_equivalents(m),
        *_rate_findings(m.heart_rate_bpm),
        *_rhythm_findings(m),
        *_not_assessed(m.st_deviation_uv),
    ]


def _sex(sex: str | None) -> str | None:
    known = (sex or "").strip().lower()
    return {"female": "female", "f": "female", "male": "male", "m": "male"}.get(known)


def st_elevation_threshold_uv(lead: str, sex: str | None, age_years: float | None) -> float:
    """The ST-elevation cut-point (uV at the J point) that makes a lead count for "critical".

    Per the Fourth Universal Definition: 1 mm in every lead but V2-V3; there 1.5 mm in
    women, 2 mm in men >= 40, 2.5 mm in men < 40. An unknown sex or age takes the highest
    cut-point the patient could have, so that no false critical comes from what we lack.
    """
    if lead not in ("V2", "V3"):
        return ST_ELEVATION_UV
    return max(_v2_v3_cut_points(_sex(sex), age_years))


def lowest_st_elevation_threshold_uv(lead: str, sex: str | None, age_years: float | None) -> float:
    """The lowest cut-point the patient could have: between it and the one above, a reader."""
    if lead not in ("V2", "V3"):
        return ST_ELEVATION_UV
    return min(_v2_v3_cut_points(_sex(sex), age_years))


def _v2_v3_cut_points(sex: str | None, age: float | None) -> list[float]:
    men = [V2_V3_MEN_40_PLUS_UV, V2_V3_MEN_UNDER_40_UV]
    if age is not None:
        men = [V2_V3_MEN_40_PLUS_UV if age >= 40 else V2_V3_MEN_UNDER_40_UV]
    if sex == "female":
        return [V2_V3_WOMEN_UV]
    return men if sex == "male" else [V2_V3_WOMEN_UV, *men]


def _st_findings(m: Measurements, sex: str | None, age_years: float | None) -> list[Finding]:
    st = m.st_deviation_uv
    if _lbbb_like(m):
        return _lbbb_findings(m, sex, age_years)
    elevated = {ld for ld, v in st.items() if v >= st_elevation_threshold_uv(ld, sex, age_years)}
    maybe = {
        ld for ld, v in st.items() if v >= lowest_st_elevation_threshold_uv(ld, sex, age_years)
    }
    secondary = _rbbb_secondary(m, elevated)
    maybe -= secondary
    out: list[Finding] = []
    critical = _territories(elevated - secondary)
    diffuse = _diffuse_without_reciprocal(st, critical)
    if diffuse:
        out.append(("urgent", _diffuse_reason(st, critical)))
    for territory, leads in ({} if diffuse else critical).items():
        out.append(("critical", _stemi_reason(st, territory, leads, sex, age_years)))
    for territory, leads in _territories(elevated).items():
        if territory not in critical:  # only leads whose elevation may be RBBB's
            out.append(("urgent", _rbbb_reason(m, territory, leads)))
    for territory, leads in _territories(maybe).items():
        if not set(leads) <= set(critical.get(territory, [])):
            out.append(("urgent", _hinges_reason(st, territory, leads, sex, age_years)))
    depressed = {lead for lead, v in st.items() if v <= -ST_DEPRESSION_UV}
    for territory, leads in _territories(depressed).items():
        at_j = _at_j(st, territory, leads)
        out.append(("urgent", reason(rt.URGENT, rt.ST_DEPRESSION, limit=ST_DEPRESSION_UV, **at_j)))
    return out


def _stemi_reason(
    st: dict[str, float], territory: str, leads: list[str], sex: str | None, age: float | None
) -> str:
    at_j = {**_at_j(st, territory, leads), "reciprocal": _reciprocal(st, territory)}
    if not {"V2", "V3"} & set(leads):
        return reason(rt.CRITICAL, rt.STEMI, **at_j)
    cut = st_elevation_threshold_uv("V2", sex, age)
    return reason(rt.CRITICAL, rt.STEMI_V2_V3, cut=cut, who=_who(sex, age), **at_j)


def _at_j(st: dict[str, float], territory: str, leads: list[str]) -> dict[str, str]:
    """The fields of a finding at the J point: its leads, their territory, their values."""
    return {"leads": ", ".join(leads), "territory": territory, "values": _values(st, leads)}


def _hinges_reason(
    st: dict[str, float], territory: str, leads: list[str], sex: str | None, age: float | None
) -> str:
    cut = lowest_st_elevation_threshold_uv("V2", sex, age)
    return reason(
        rt.HUMAN_READ, rt.HINGES, cut=cut, who=_who(sex, age), **_at_j(st, territory, leads)
    )


def _who(sex: str | None, age: float | None) -> str:
    known = _sex(sex)
    if known == "female":
        return rt.WOMAN.english
    if known == "male" and age is not None:
        return (rt.MAN_40_PLUS if age >= 40 else rt.MAN_UNDER_40).english
    missing = " and ".join(w for w, v in (("sex", known), ("age", age)) if v is None)
    return rt.UNKNOWN_WHO.render(missing=rt.MISSING[missing].english)


def _diffuse_without_reciprocal(st: dict[str, float], territories: dict[str, list[str]]) -> bool:
    """Inferior and anterior/lateral elevation with no depression but in aVR (see above)."""
    if "inferior" not in territories or len(territories) < 2:
        return False
    return not any(v <= -RECIPROCAL_DEPRESSION_UV for ld, v in st.items() if ld != "aVR")


def _diffuse_reason(st: dict[str, float], territories: dict[str, list[str]]) -> str:
    leads = sorted({ld for ls in territories.values() for ld in ls}, key=_LEAD_ORDER.index)
    return reason(
        rt.HUMAN_READ,
        rt.DIFFUSE,
        territories=", ".join(territories),
        values=_values(st, leads),
        limit=RECIPROCAL_DEPRESSION_UV,
    )


def _facing(st: dict[str, float], territory: str) -> list[str]:
    """The opposite wall's leads with reciprocal ST depression."""
    return [
        ld for ld in RECIPROCAL.get(territory, ()) if st.get(ld, 0.0) <= -RECIPROCAL_DEPRESSION_UV
    ]


def _reciprocal(st: dict[str, float], territory: str) -> str:
    facing = _facing(st, territory)
    if not facing:
        return rt.NO_RECIPROCAL.english
    return rt.RECIPROCAL.render(values=_values(st, facing))


def _lbbb_like(m: Measurements) -> bool:
    """Wide QRS whose V1 is dominantly negative: LBBB or right-ventricular pacing."""
    if m.qrs_ms is None or m.qrs_ms < WIDE_QRS_MS or "V1" not in m.r_uv or "V1" not in m.s_uv:
        return False
    return -m.s_uv["V1"] > m.r_uv["V1"]


def _rbbb(m: Measurements) -> bool:
    """Complete RBBB by AHA/ACCF/HRS 2009 Part III (adults): QRS >= 120 ms, a late R' in
    V1 or V2 (R peak time > 50 ms) and a wide S in both I and V6."""
    if m.qrs_ms is None or m.qrs_ms < WIDE_QRS_MS or _lbbb_like(m):
        return False
    late_r = any(m.r_peak_ms.get(ld, 0.0) > RBBB_V1_R_PEAK_MS for ld in ("V1", "V2"))
    return late_r and all(_wide_s(m, ld) for ld in ("I", "V6"))


def _wide_s(m: Measurements, lead: str) -> bool:
    s = m.s_ms.get(lead)
    return s is not None and (s > RBBB_WIDE_S_MS or s > m.r_ms.get(lead, math.inf))


def _rbbb_secondary(m: Measurements, elevated: set[str]) -> set[str]:
    """Elevated leads whose elevation may be RBBB's secondary ST-T change: after a wide S,
    in a territory whose opposite wall shows no reciprocal depression."""
    if not _rbbb(m):
        return set()
    supported = {
        ld
        for territory, leads in _territories(elevated).items()
        if _facing(m.st_deviation_uv, territory)
        for ld in leads
    }
    return {ld for ld in elevated - supported if _wide_s(m, ld)}


def _rbbb_reason(m: Measurements, territory: str, leads: list[str]) -> str:
    at_j = _at_j(m.st_deviation_uv, territory, leads)
    return reason(rt.HUMAN_READ, rt.RBBB, qrs=m.qrs_ms, **at_j)


def _lbbb_findings(m: Measurements, sex: str | None, age: float | None) -> list[Finding]:
    """Sgarbossa (Smith-modified) criteria; ST elevation criteria do not apply here."""
    st, r, s = m.st_deviation_uv, m.r_uv, m.s_uv
    positive = {ld for ld in st if ld in r and ld in s and r[ld] >= -s[ld]}
    met = [
        rt.CONCORDANT_ELEVATION.render(lead=ld, uv=st[ld])
        for ld in sorted(positive)
        if st[ld] >= SGARBOSSA_CONCORDANT_UV
    ]
    met += [
        rt.CONCORDANT_DEPRESSION.render(lead=ld, uv=st[ld])
        for ld in ("V1", "V2", "V3")
        if ld in st and ld not in positive and st[ld] <= -SGARBOSSA_CONCORDANT_UV
    ]
    met += [
        rt.DISCORDANT_ELEVATION.render(lead=ld, uv=st[ld], s=s[ld])
        for ld in sorted(set(st) - positive)
        if ld in s and s[ld] < 0 and st[ld] >= SGARBOSSA_DISCORDANT_RATIO * -s[ld]
    ]
    if met:
        text = reason(rt.HUMAN_READ, rt.SGARBOSSA, qrs=m.qrs_ms, met="; ".join(met))
        return [("urgent", text)]
    return [("routine", reason(rt.ROUTINE, rt.NO_SGARBOSSA, qrs=m.qrs_ms))]


def _equivalents(m: Measurements) -> list[Finding]:
    """STEMI equivalents and aVR: each one an urgent "needs human read", never critical."""
    return [f for f in (_posterior(m), _de_winter(m), _avr(m)) if f is not None]


def _posterior(m: Measurements) -> Finding | None:
    st = m.st_deviation_uv
    low = {ld for ld in ("V1", "V2", "V3") if st.get(ld, 0.0) <= -POSTERIOR_DEPRESSION_UV}
    pair = next((p for p in (("V1", "V2"), ("V2", "V3")) if set(p) <= low), None)
    tall_r = [ld for ld in ("V1", "V2") if m.r_uv.get(ld, 0.0) > -m.s_uv.get(ld, 0.0) > 0.0]
    if pair is None or not tall_r or _lbbb_like(m) or _rbbb(m):
        return None
    values = _values(st, sorted(low, key=_PRECORDIAL.index))
    return ("urgent", reason(rt.HUMAN_READ, rt.POSTERIOR, values=values, leads=", ".join(tall_r)))


def _de_winter(m: Measurements) -> Finding | None:
    st, j60, t = m.st_deviation_uv, m.st_j60_uv, m.t_uv
    leads = {
        ld
        for ld in _PRECORDIAL
        if st.get(ld, 0.0) <= -DE_WINTER_DEPRESSION_UV
        and j60.get(ld, -1e9) - st[ld] >= DE_WINTER_UPSLOPE_UV
        and t.get(ld, 0.0) >= DE_WINTER_T_UV
    }
    pairs = [
        ld
        for a, b in zip(_PRECORDIAL, _PRECORDIAL[1:], strict=False)
        if {a, b} <= leads
        for ld in (a, b)
    ]
    if not pairs:
        return None
    found = sorted(set(pairs), key=_PRECORDIAL.index)
    values = ", ".join(rt.DE_WINTER_LEAD.render(lead=ld, j=st[ld], t=t[ld]) for ld in found)
    return ("urgent", reason(rt.HUMAN_READ, rt.DE_WINTER, leads=", ".join(found), values=values))


def _avr(m: Measurements) -> Finding | None:
    st = m.st_deviation_uv
    depressed = [ld for ld, v in st.items() if ld != "aVR" and v <= -ST_DEPRESSION_UV]
    if st.get("aVR", 0.0) < AVR_ELEVATION_UV or len(depressed) < AVR_DEPRESSED_LEADS:
        return None
    return ("urgent", reason(rt.HUMAN_READ, rt.AVR, uv=st["aVR"], n=len(depressed)))


def _territories(leads: set[str]) -> dict[str, list[str]]:
    """Territory -> the leads (standard order) of every contiguous pair within `leads`."""
    out: dict[str, set[str]] = {}
    for territory, a, b in CONTIGUOUS_PAIRS:
        if a in leads and b in leads:
            out.setdefault(territory, set()).update((a, b))
    return {t: sorted(ls, key=_LEAD_ORDER.index) for t, ls in out.items()}


def _values(st: dict[str, float], leads: list[str]) -> str:
    return ", ".join(rt.LEAD_UV.render(lead=lead, uv=st[lead]) for lead in leads)


def _rate_findings(hr: float | None) -> list[Finding]:
    """The rate band, named in the reason: the class each band triggers, and its limits."""
    if hr is None:
        return []
    if hr < HR_CRITICAL_BELOW:
        return [("critical", reason(rt.CRITICAL, rt.HR_BELOW, hr=hr, limit=HR_CRITICAL_BELOW))]
    if hr > HR_CRITICAL_ABOVE:
        return [("critical", reason(rt.CRITICAL, rt.HR_ABOVE, hr=hr, limit=HR_CRITICAL_ABOVE))]
    for low, high in (HR_URGENT_SLOW, HR_URGENT_FAST):
        if low <= hr <= high:
            return [("urgent", reason(rt.URGENT, rt.HR_BAND, hr=hr, low=low, high=high))]
    return []


def _rhythm_findings(m: Measurements) -> list[Finding]:
    out: list[Finding] = []
    if m.irregular:
        out.append(("urgent", reason(rt.URGENT, rt.IRREGULAR, cv=m.rr_irregularity)))
    if m.qtc_ms is not None and m.qtc_ms > QTC_URGENT_ABOVE_MS:
        qtc = reason(rt.URGENT, rt.QTC, qtc=m.qtc_ms, limit=QTC_URGENT_ABOVE_MS)
        out.append(("urgent", qtc))
    return out


def _not_assessed(st: dict[str, float]) -> list[Finding]:
    missing = [lead for lead in _LEAD_ORDER if lead not in st]
    if not missing:
        return []
    return [("routine", rt.ST_NOT_ASSESSED.render(leads=", ".join(missing)))]
