"""What services may use of the quality KPIs: definitions, aggregation and the log source the KPI
report reads.
"""

from __future__ import annotations

from stream_processors.quality_kpis.aggregate import (
    ALL,
    Figure,
    KpiReport,
    TriageRow,
    aggregate,
    as_of,
)
from stream_processors.quality_kpis.definitions import (
    DIMENSIONS,
    INTERVAL,
    KPIS,
    TRIAGE_OUTCOME,
    Kpi,
)
from stream_processors.quality_kpis.log_source import log_events

__all__ = [
    "ALL",
    "DIMENSIONS",
    "Figure",
    "INTERVAL",
    "KPIS",
    "Kpi",
    "KpiReport",
    "TRIAGE_OUTCOME",
    "TriageRow",
    "aggregate",
    "as_of",
    "log_events",
]
