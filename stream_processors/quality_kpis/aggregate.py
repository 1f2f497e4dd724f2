"""Cases -> figures per indicator and group (count, median, p90, compliance against target),
and the whole "as of T" computation over a list of recorded events.

"As of T" keeps the events whose `meta.recorded_at <= T` (what the platform had accepted at
T), folds them and aggregates: the figures a quality officer would have seen at T, whatever
was back-filled later. The caller reads the log (`log_source.py`); this module is pure.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from kernel.jsontypes import Json
from stream_processors.quality_kpis import definitions as d
from stream_processors.quality_kpis.fold import (
    Case,
    KpiState,
    TriageOutcome,
    cases,
    fold_all,
    triage_outcomes,
)

ALL = "all"


@dataclass(frozen=True)
class Figure:
    kpi: str
    group: str  # ALL, or the value of the grouping dimension
    cases: int  # incidents / ECGs in the population
    measured: int  # interval: cases with both times and end >= start; share: = cases
    missing: int  # interval: end not (yet) recorded
    invalid: int  # interval: end before start (clock problem)
    within_target: int  # interval: measured <= target; share: cases in the numerator
    compliance: float | None  # within_target / measured
    median_min: float | None
    p90_min: float | None


def percentile_nearest_rank(values: Sequence[int], q: float) -> int:
    """The value at rank ceil(q n) of the sorted values (1-based); `values` not empty."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def _minutes(micros: float) -> float:
    return round(micros / d.MICROS_PER_MINUTE, 4)


def figure(kpi: d.Kpi, group: str, group_cases: Sequence[Case]) -> Figure:
    if kpi.kind == d.SHARE:
        hits = sum(1 for c in group_cases if c.hit)
        n = len(group_cases)
        return Figure(kpi.code, group, n, n, 0, 0, hits, hits / n if n else None, None, None)
    micros = [c.micros for c in group_cases]
    valid = [m for m in micros if m is not None and m >= 0]
    target = kpi.target_micros
    within = sum(1 for m in valid if target is not None and m <= target)
    return Figure(
        kpi=kpi.code,
        group=group,
        cases=len(group_cases),
        measured=len(valid),
        missing=sum(1 for m in micros if m is None),
        invalid=sum(1 for m in micros if m is not None and m < 0),
        within_target=within,
        compliance=within / len(valid) if valid and target is not None else None,
        median_min=_minutes(statistics.median(valid)) if valid else None,
        p90_min=_minutes(percentile_nearest_rank(valid, 0.9)) if valid else None,
    )


def aggregate(all_cases: Iterable[Case], by: str | None = None) -> list[Figure]:
    """Per indicator (in `definitions.KPIS` order): the ALL figure, then one per value of
    dimension `by` (sorted); cases without that dimension are only in ALL."""
    if by is not None and by not in d.DIMENSIONS:
        raise ValueError(f"cannot group by {by!r}; one of {', '.join(d.DIMENSIONS)}")
    per_kpi: dict[str, list[Case]] = {k.code: [] for k in d.KPIS}
    for case in all_cases:
        per_kpi[case.kpi].append(case)
    figures: list[Figure] = []
    for kpi in d.KPIS:
        mine = per_kpi[kpi.code]
        figures.append(figure(kpi, ALL, mine))
        if by is None:
            continue
        groups: dict[str, list[Case]] = {}
        for case in mine:
            if value := case.dims.get(by):
                groups.setdefault(value, []).append(case)
        figures += [figure(kpi, g, groups[g]) for g in sorted(groups)]
    return figures


@dataclass(frozen=True)
class TriageRow:
    """The triage outcome loop of one month (or ALL): the ambulance's STEMI calls against the
    hospitals' final diagnoses (definitions.TRIAGE_OUTCOME)."""

    month: str
    tp: int
    fp: int
    fn: int
    tn: int
    pending: int

    @property
    def judged(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def ppv(self) -> float | None:
        """Of the STEMI calls with a final diagnosis, the share that were STEMIs."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def sensitivity(self) -> float | None:
        """Of the final STEMIs, the share the ambulance called."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def triage_rows(outcomes: Iterable[TriageOutcome]) -> list[TriageRow]:
    """ALL, then one row per month (sorted)."""
    per: dict[str, list[str]] = {ALL: []}
    for o in outcomes:
        per[ALL].append(o.cell)
        per.setdefault(o.month, []).append(o.cell)
    return [
        TriageRow(m, *(per[m].count(c) for c in ("tp", "fp", "fn", "tn", "pending")))
        for m in [ALL, *sorted(k for k in per if k != ALL)]
    ]


@dataclass(frozen=True)
class KpiReport:
    as_of: dt.datetime | None  # None: everything in the log
    by: str | None
    events_read: int  # relevant events in the log
    events_counted: int  # of those, recorded by `as_of`
    figures: list[Figure]
    case_list: list[Case]
    triage: list[TriageRow] = field(default_factory=list)  # ALL first, then per month

    def to_json(self, with_cases: bool = False) -> Json:
        out: Json = {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "as_of_rule": "events with meta.recorded_at <= as_of; intervals from event times",
            "by": self.by,
            "events_read": self.events_read,
            "events_counted": self.events_counted,
            "kpis": [_kpi_json(k, self.figures) for k in d.KPIS],
            "triage_outcome": {
                "definition": d.TRIAGE_OUTCOME,
                "rows": [asdict(r) for r in self.triage],
            },
        }
        if with_cases:
            out["cases"] = [_case_json(c) for c in self.case_list]
        return out


def _kpi_json(kpi: d.Kpi, figures: Sequence[Figure]) -> Json:
    mine = [asdict(f) for f in figures if f.kpi == kpi.code]
    for f in mine:
        del f["kpi"]
    return {
        "code": kpi.code,
        "title": kpi.title,
        "kind": kpi.kind,
        "available": kpi.available,
        "note": kpi.unavailable_reason or None,
        "target_minutes": kpi.target_minutes,
        "compliance_target": kpi.compliance_target,
        "start": kpi.start,
        "end": kpi.end,
        "population": kpi.population,
        "source": kpi.source,
        "all": next(f for f in mine if f["group"] == ALL),
        "groups": [f for f in mine if f["group"] != ALL],
    }


def _case_json(c: Case) -> Json:
    return {
        "kpi": c.kpi,
        "subject": c.subject,
        "start": c.start.isoformat(),
        "end": c.end.isoformat() if c.end else None,
        "minutes": c.minutes,
        "hit": c.hit,
        "dims": dict(c.dims),
    }


def recorded_by(event: Json, as_of: dt.datetime | None) -> bool:
    return as_of is None or event["meta"]["recorded_at"] <= as_of


def as_of(
    events: Iterable[tuple[str, Json]], at: dt.datetime | None, by: str | None = None
) -> KpiReport:
    """The figures from the events the platform had recorded by `at` (all if None)."""
    if at is not None and at.tzinfo is None:
        raise ValueError("as_of needs a UTC offset")
    read = counted = 0

    def known() -> Iterable[tuple[str, Json]]:
        nonlocal read, counted
        for name, event in events:
            read += 1
            if recorded_by(event, at):
                counted += 1
                yield name, event

    state: KpiState = fold_all(known())
    found = cases(state)
    triage = triage_rows(triage_outcomes(state))
    return KpiReport(at, by, read, counted, aggregate(found, by), found, triage)
