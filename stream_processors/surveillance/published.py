"""What services may use of the surveillance processor: the alerts' lookup and the
statistic's constants (shown beside each alert)."""

from __future__ import annotations

from stream_processors.surveillance.processor import ALERT_INDEX, ALL_KEY
from stream_processors.surveillance.stats import BASELINE_DAYS, LAG_DAYS, METHOD, THRESHOLD

__all__ = ["ALERT_INDEX", "ALL_KEY", "BASELINE_DAYS", "LAG_DAYS", "METHOD", "THRESHOLD"]
