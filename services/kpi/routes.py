"""Quality indicators over HTTP, every answer computed from the log as of an instant.

| route                    | what                                                          |
|--------------------------|---------------------------------------------------------------|
| GET /kpi                 | figures as JSON (`as_of`, `by`, `cases=true` lists each case) |
| GET /kpi/report          | the report page: tables and SVG plots (HTML)                  |
| GET /kpi/report.css      | its style sheet                                               |
| GET /kpi/export.csv      | one CSV row per indicator and group                           |
| GET /kpi/MeasureReport   | a FHIR R4 Bundle of one MeasureReport per indicator           |

`as_of`: an ISO 8601 instant with offset; the figures are those of the events recorded
(`recorded_at`) by then. Omitted: everything in the log. `by`: station, clinic, hospital,
centre, month (or all). Each request reads the three topics from offset 0: linear in the
log (see stream_processors/quality_kpis/log_source.py); it runs in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from eventlog.base import LogUnavailable
from services.deps import SystemDep
from services.kpi import export, render
from services.kpi.compute import BadKpiQuery, kpi_report, parse_as_of, parse_by
from services.outcome import FHIR_JSON, FhirError
from stream_processors.quality_kpis.aggregate import KpiReport

router = APIRouter(prefix="/kpi", tags=["quality indicators"])

AsOf = Annotated[
    str | None,
    Query(
        description="ISO 8601 instant with UTC offset; figures from events recorded by then",
        examples=["2026-03-01T00:00+08:00"],
    ),
]
By = Annotated[str | None, Query(description="all, station, clinic, hospital, centre or month")]
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _report(system: SystemDep, as_of: str | None, by: str | None) -> KpiReport:
    try:
        return kpi_report(system.log, system.codec, parse_as_of(as_of), parse_by(by))
    except BadKpiQuery as exc:
        raise FhirError(
            400, str(exc), "invalid", ["as_of" if "as_of" in str(exc) else "by"]
        ) from exc
    except LogUnavailable as exc:
        raise FhirError(
            503, f"event log unavailable, retry: {exc}", "transient", headers={"Retry-After": "5"}
        ) from exc


@router.get("")
def get_kpis(
    system: SystemDep, as_of: AsOf = None, by: By = None, cases: bool = False
) -> dict[str, Any]:
    """Every indicator's figures (all, and per group of `by`) as of `as_of`."""
    return _report(system, as_of, by).to_json(with_cases=cases)


@router.get("/report", response_class=HTMLResponse)
def get_report_page(system: SystemDep, as_of: AsOf = None, by: By = None) -> HTMLResponse:
    report = _report(system, as_of, by)
    return HTMLResponse(render.report_page(report, as_of or ""), headers=PAGE_HEADERS)


@router.get("/report.css", include_in_schema=False)
def get_report_css() -> Response:
    return Response(render.STYLE, media_type="text/css; charset=utf-8")


@router.get("/export.csv", response_class=Response)
def get_csv(system: SystemDep, as_of: AsOf = None, by: By = None) -> Response:
    body = export.to_csv(_report(system, as_of, by))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="kpi.csv"'},
    )


@router.get("/MeasureReport")
def get_measure_reports(system: SystemDep, as_of: AsOf = None, by: By = None) -> Response:
    report = _report(system, as_of, by)
    bundle = export.measure_reports(report, dt.datetime.now(dt.UTC))
    return Response(json.dumps(bundle, ensure_ascii=False), media_type=FHIR_JSON)
