"""Accuracy of `measure` and `triage` on real recordings, against a reference someone else
wrote: the global measurements and statements of the cart's own program, stored in the file.

Per measure: the Bland-Altman mean difference (ours - reference) and the standard deviation
of the differences, judged by the limits of IEC 60601-2-25:2011, 201.12.4.102.3.2
("measurements on biological ECGs", verified there on the CSE database): global PR interval
and QRS duration within +-10 ms mean difference and 10 ms SD, QT interval +-25 ms and 30 ms.
The standard sets no limit on heart rate or QTc: they are reported, not judged. An SD needs
two recordings; with one it is reported as None and not judged.

Triage: STEMI as the cart called it (an acute infarct statement) against ours (a critical
class for ST elevation), as confusion counts; and every critical class on a recording the
cart called normal, which must never happen.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stream_processors.ecg_measurement.measure import Measurements, measure
from stream_processors.ecg_measurement.triage import TriageResult, triage

MEASURES = ("heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms")
LABELS = {"heart_rate_bpm": "HR /min", "pr_ms": "PR ms", "qrs_ms": "QRS ms", "qt_ms": "QT ms"}
LABELS["qtc_ms"] = "QTc ms"
# IEC 60601-2-25:2011 201.12.4.102.3.2: (|mean difference|, SD) limits in ms.
IEC_LIMITS: dict[str, tuple[float, float]] = {
    "pr_ms": (10.0, 10.0),
    "qrs_ms": (10.0, 10.0),
    "qt_ms": (25.0, 30.0),
}
# Statements that call an acute infarct (Philips: "Inferior infarct, acute", ">>> Acute MI <<<";
# GE 12SL: "***ACUTE MI***", "... injury or acute infarct"): matched case-insensitively.
ACUTE_WORDS = ("acute mi", "acute infarct", "infarct, acute", "acute st elevation")
# Both programs' summary line for a normal tracing (GE 12SL in Chinese: "正常心电图").
NORMAL_WORDS = ("normal ecg", "正常心电图")


@dataclass(frozen=True)
class Case:
    """One real recording: its leads (integer uV) and the cart's reading of it."""

    name: str
    leads: Mapping[str, Sequence[int]]
    rate_hz: float
    reference: Mapping[str, float | None]  # MEASURES -> the cart's value
    statements: Sequence[str]
    sex: str | None = None
    age_years: float | None = None


@dataclass(frozen=True)
class Outcome:
    """Ours beside the reference for one case."""

    case: Case
    ours: Measurements
    triaged: TriageResult

    @property
    def cart_stemi(self) -> bool:
        return _says(self.case.statements, ACUTE_WORDS)

    @property
    def cart_normal(self) -> bool:
        return _says(self.case.statements, NORMAL_WORDS) and not self.cart_stemi

    @property
    def our_stemi(self) -> bool:
        return self.triaged.cls == "critical" and any(
            r.startswith("critical") and "ST elevation" in r for r in self.triaged.reasons
        )

    def difference(self, key: str) -> float | None:
        ours, ref = getattr(self.ours, key), self.case.reference.get(key)
        return None if ours is None or ref is None else float(ours) - float(ref)


@dataclass(frozen=True)
class Agreement:
    """Bland-Altman figures of one measure over the cases where both values exist."""

    measure: str
    n: int
    mean: float | None
    sd: float | None  # None below two differences
    limit: tuple[float, float] | None  # IEC 60601-2-25 (mean, SD); None = no limit there

    @property
    def passes(self) -> bool | None:
        """None when there is no limit or no difference to judge."""
        if self.limit is None or self.mean is None:
            return None
        return abs(self.mean) <= self.limit[0] and (self.sd is None or self.sd <= self.limit[1])


@dataclass(frozen=True)
class Confusion:
    """STEMI as the cart called it (rows) against our triage (columns)."""

    true_positive: int
    false_negative: int
    false_positive: int
    true_negative: int
    critical_on_normal: list[str]  # names of normal references we classed critical
    normal_references: int


def evaluate(cases: Sequence[Case]) -> list[Outcome]:
    """Measure and triage every case (routine sender, no pre-alert: the ECG alone decides)."""
    outcomes = []
    for case in cases:
        ours = measure(case.leads, case.rate_hz)
        triaged = triage(ours, "routine", None, case.sex, case.age_years)
        outcomes.append(Outcome(case, ours, triaged))
    return outcomes


def agreement(outcomes: Sequence[Outcome], key: str) -> Agreement:
    """Mean and SD of ours - reference for one measure."""
    diffs = [d for o in outcomes if (d := o.difference(key)) is not None]
    mean = statistics.fmean(diffs) if diffs else None
    sd = statistics.stdev(diffs) if len(diffs) >= 2 else None
    return Agreement(key, len(diffs), mean, sd, IEC_LIMITS.get(key))


def confusion(outcomes: Sequence[Outcome]) -> Confusion:
    """STEMI confusion counts and the normal references we classed critical."""

    def count(cart: bool, ours: bool) -> int:
        return sum(1 for o in outcomes if o.cart_stemi == cart and o.our_stemi == ours)

    normal = [o for o in outcomes if o.cart_normal]
    return Confusion(
        true_positive=count(True, True),
        false_negative=count(True, False),
        false_positive=count(False, True),
        true_negative=count(False, False),
        critical_on_normal=[o.case.name for o in normal if o.triaged.cls == "critical"],
        normal_references=len(normal),
    )


def table(outcomes: Sequence[Outcome]) -> list[str]:
    """The Bland-Altman table and the confusion counts, as printed lines."""
    lines = [f"{'measure':8} {'n':>3} {'mean diff':>9} {'SD':>6}  IEC 60601-2-25 limit  pass"]
    for key in MEASURES:
        a = agreement(outcomes, key)
        limit = "none" if a.limit is None else f"+-{a.limit[0]:g} mean, {a.limit[1]:g} SD"
        verdict = {None: "-", True: "yes", False: "NO"}[a.passes]
        lines.append(
            f"{LABELS[key]:8} {a.n:>3} {_num(a.mean, signed=True):>9} {_num(a.sd):>6}  "
            f"{limit:20}  {verdict}"
        )
    c = confusion(outcomes)
    lines.append(
        f"STEMI (reference) vs critical ST elevation (ours): TP {c.true_positive}, "
        f"FN {c.false_negative}, FP {c.false_positive}, TN {c.true_negative}; "
        f"critical on normal references: {len(c.critical_on_normal)} of {c.normal_references}"
    )
    return lines


def per_case(outcomes: Sequence[Outcome]) -> list[str]:
    """One line per recording: ours / reference for every measure, and both readings."""
    lines = []
    for o in outcomes:
        pairs = ", ".join(
            f"{LABELS[k].split()[0]} {_num(getattr(o.ours, k))}/{_num(o.case.reference.get(k))}"
            for k in MEASURES
        )
        cart = "STEMI" if o.cart_stemi else "normal" if o.cart_normal else "other"
        lines.append(
            f"{o.case.name}: {pairs} (ours/reference); reference {cart}, ours {o.triaged.cls}"
        )
    return lines


def _says(statements: Sequence[str], words: Sequence[str]) -> bool:
    """Whole words only: "Abnormal ECG" does not say "normal ECG"."""
    text = " ".join(statements).lower()
    return any(re.search(rf"\b{re.escape(word)}\b", text) for word in words)


def _num(value: float | None, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+.1f}" if signed else f"{value:.1f}".removesuffix(".0")
