"""Quality indicators over HTTP, every answer computed from the log as of an instant.

| route                    | what                                                          |
|--------------------------|---------------------------------------------------------------|
| GET /kpi                 | figures as JSON (`as_of`, `by`, `cases=true` lists each case) |
| GET /kpi/report          | the report page: tables and SVG plots (HTML)                  |
| GET /kpi/report.css      | its style sheet                                               |
| GET /kpi/export.csv      | one CSV row per indicator and group                           |
| GET /kpi/MeasureReport   | a FHIR R4 Bundle of one MeasureReport per indicator           |

`as_of`: an ISO 8601 instant with offset, or a date alone (the end of that day, Beijing
time); the figures are those of the events recorded (`recorded_at`) by then. Omitted:
everything in the log. `by`: station, clinic, hospital, centre, month (or all). `from`,
`to`: dates (included, Beijing time): only cases whose interval started in that period.
A bad parameter on the report page gives a page that says what is wrong (400), not JSON. Each request reads the three topics from offset 0: linear in the
log (see stream_processors/quality_kpis/log_source.py); it runs in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from eventlog.base import LogUnavailable
from services import i18n
from services.deps import SystemDep
from services.kpi import export, render
from services.kpi.compute import (
    BadKpiQuery,
    in_period,
    kpi_report,
    parse_as_of,
    parse_by,
    parse_period,
)
from services.outcome import FHIR_JSON, FhirError, log_unavailable
from services.web_assets import security_headers
from stream_processors.quality_kpis.published import KpiReport

router = APIRouter(prefix="/kpi", tags=["quality indicators"])

AsOf = Annotated[
    str | None,
    Query(
        description="ISO 8601 instant with UTC offset, or a date (the end of that day, "
        "Beijing time); figures from events recorded by then",
        examples=["2026-03-01T00:00+08:00", "2026-03-01"],
    ),
]
From = Annotated[
    str | None,
    Query(alias="from", description="first day (included) of the cases' start, e.g. 2026-01-01"),
]
To = Annotated[str | None, Query(description="last day (included) of the cases' start")]
By = Annotated[str | None, Query(description="all, station, clinic, hospital, centre or month")]
# No script at all on the report (services/kpi/render.py): default-src 'none'.
PAGE_HEADERS = security_headers(
    "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _asked(
    as_of: AsOf = None, by: By = None, period_from: From = None, to: To = None
) -> render.Query:
    """The report's parameters as the request gives them (absent ones empty)."""
    return render.Query(as_of or "", by or "", period_from or "", to or "")


Asked = Annotated[render.Query, Depends(_asked)]


def _computed(system: SystemDep, asked: render.Query) -> KpiReport:
    """The report, or BadKpiQuery for a bad parameter (the caller says it its own way)."""
    zone = i18n.current_zone.get()
    at, grouping = parse_as_of(asked.as_of, zone), parse_by(asked.by)
    period = parse_period(asked.start, asked.end, zone)
    try:
        report = kpi_report(system.log, system.codec, at, grouping)
    except LogUnavailable as exc:
        raise log_unavailable(exc) from exc
    return in_period(report, *period)


def _report(system: SystemDep, asked: render.Query) -> KpiReport:
    try:
        return _computed(system, asked)
    except BadKpiQuery as exc:
        raise FhirError(400, exc.message, "invalid", [exc.parameter]) from exc


@router.get("")
def get_kpis(system: SystemDep, asked: Asked, cases: bool = False) -> dict[str, Any]:
    """Every indicator's figures (all, and per group of `by`) as of `as_of`, over the cases
    that started between `from` and `to` (dates, included)."""
    return _report(system, asked).to_json(with_cases=cases)


@router.get("/report", response_class=HTMLResponse)
def get_report_page(system: SystemDep, asked: Asked) -> HTMLResponse:
    """The report page; a bad parameter gives the page's form with what is wrong (400)."""
    try:
        report = _computed(system, asked)
    except BadKpiQuery as exc:
        page = render.error_page(asked, exc.message.text(), exc.parameter)
        return HTMLResponse(page, status_code=400, headers=PAGE_HEADERS)
    names = render.group_names(system.store, report)
    return HTMLResponse(render.report_page(report, asked, names), headers=PAGE_HEADERS)


@router.get("/report.css", include_in_schema=False)
def get_report_css() -> Response:
    return Response(render.STYLE, media_type="text/css; charset=utf-8")


@router.get("/export.csv", response_class=Response)
def get_csv(system: SystemDep, asked: Asked) -> Response:
    return Response(
        export.to_csv(_report(system, asked)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="kpi.csv"'},
    )


@router.get("/MeasureReport")
def get_measure_reports(system: SystemDep, as_of: AsOf = None, by: By = None) -> Response:
    report = _report(system, render.Query(as_of or "", by or ""))
    bundle = export.measure_reports(report, dt.datetime.now(dt.UTC))
    return Response(json.dumps(bundle, ensure_ascii=False), media_type=FHIR_JSON)
