"""Exports of a `KpiReport`: CSV (one row per indicator and group) and FHIR R4
`MeasureReport`s (one per indicator, `type` summary, in a `collection` Bundle).

MeasureReport mapping (populations from the measure-population code system):
initial-population = cases, denominator = measured cases, numerator = within target (share:
cases in the numerator), denominator-exclusion = missing + invalid; `measureScore` = the
compliance (a proportion, UCUM `1`); median and p90 ride as extensions in minutes; the
grouping (`by`) is a stratifier with one stratum per group. An indicator the catalogue cannot
compute (none today; door-to-balloon once was) is a MeasureReport with status `error` and the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

from kernel.jsontypes import Json
from stream_processors.quality_kpis.published import ALL, KPIS, Figure, Kpi, KpiReport

BASE = "https://goldenhour.health/fhir/"
MEASURE = BASE + "Measure/"
KPI_SYSTEM = BASE + "CodeSystem/quality-kpi"
EXTENSION = BASE + "StructureDefinition/"
POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
IMPROVEMENT = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
UCUM = "http://unitsofmeasure.org"
CSV_COLUMNS = (
    "as_of",
    "kpi",
    "title",
    "by",
    "group",
    "cases",
    "measured",
    "missing",
    "invalid",
    "within_target",
    "compliance",
    "median_min",
    "p90_min",
    "target_minutes",
    "compliance_target",
    "available",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def to_csv(report: KpiReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(CSV_COLUMNS)
    kpis = {k.code: k for k in KPIS}
    for f in report.figures:
        k = kpis[f.kpi]
        row = [
            report.as_of.isoformat() if report.as_of else "",
            k.code,
            k.title,
            report.by or "all",
            f.group,
            f.cases,
            f.measured,
            f.missing,
            f.invalid,
            f.within_target,
            f.compliance,
            f.median_min,
            f.p90_min,
            k.target_minutes,
            k.compliance_target,
            str(k.available).lower(),
        ]
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _population(code: str, count: int) -> Json:
    return {"code": {"coding": [{"system": POPULATION, "code": code}]}, "count": count}


def _scored(f: Figure) -> Json:
    out: Json = {
        "population": [
            _population("initial-population", f.cases),
            _population("denominator", f.measured),
            _population("numerator", f.within_target),
            _population("denominator-exclusion", f.missing + f.invalid),
        ]
    }
    if f.compliance is not None:
        out["measureScore"] = {
            "value": round(f.compliance, 4),
            "unit": "1",
            "system": UCUM,
            "code": "1",
        }
    extensions = [
        {"url": EXTENSION + name, "valueQuantity": _minutes(value)}
        for name, value in (("median-minutes", f.median_min), ("p90-minutes", f.p90_min))
        if value is not None
    ]
    if extensions:
        out["extension"] = extensions
    return out


def _minutes(value: float) -> Json:
    return {"value": value, "unit": "min", "system": UCUM, "code": "min"}


def measure_report(kpi: Kpi, report: KpiReport, generated: dt.datetime) -> Json:
    figures = [f for f in report.figures if f.kpi == kpi.code]
    total = next(f for f in figures if f.group == ALL)
    end = report.as_of or generated
    starts = [c.start for c in report.case_list if c.kpi == kpi.code]
    group: Json = {
        "code": {"coding": [{"system": KPI_SYSTEM, "code": kpi.code}], "text": kpi.title},
        **_scored(total),
    }
    strata = [f for f in figures if f.group != ALL]
    if report.by:
        group["stratifier"] = [
            {
                "code": [{"text": report.by}],
                "stratum": [{"value": {"text": f.group}, **_scored(f)} for f in strata],
            }
        ]
    key = f"{kpi.code}/{end.isoformat()}/{report.by}"
    out: Json = {
        "resourceType": "MeasureReport",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, MEASURE + key)),
        "status": "complete" if kpi.available else "error",
        "type": "summary",
        "measure": MEASURE + kpi.code,
        "date": generated.isoformat(),
        "period": {"start": min(starts, default=end).isoformat(), "end": end.isoformat()},
        "improvementNotation": {"coding": [{"system": IMPROVEMENT, "code": "increase"}]},
        "group": [group],
    }
    if not kpi.available:
        out["extension"] = [
            {"url": EXTENSION + "unavailable-reason", "valueString": kpi.unavailable_reason}
        ]
    return out


def measure_reports(report: KpiReport, generated: dt.datetime) -> Json:
    """A `collection` Bundle of one MeasureReport per indicator."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": generated.isoformat(),
        "entry": [{"resource": measure_report(k, report, generated)} for k in KPIS],
    }
