"""EARS C2, the CDC Early Aberration Reporting System's "medium" method, on daily counts.

Definition (as implemented by the R package `surveillance`, `earsC(method = "C2")`,
https://search.r-project.org/CRAN/refmans/surveillance/html/earsC.html, and compared with
CUSUM in Fricker, Hegler & Dunfee, "Comparing syndromic surveillance detection methods:
EARS' versus a CUSUM-based methodology", Statistics in Medicine 27:3407-3429, 2008):
for day t, the baseline is the 7 days t-9 .. t-3 (a 2-day lag, so the first days of an
outbreak do not raise their own baseline); with the baseline's mean m and sample standard
deviation s,

    C2(t) = (x(t) - m) / max(s, MIN_SIGMA)

and an alert is raised when C2(t) > THRESHOLD (3, the EARS default).

MIN_SIGMA: a sparse series (rare dispatch reasons at one station) often has s = 0, which
would alert on a single call; the `surveillance` package's `minSigma` exists for this, and
its documentation cites Howard Burkom's advice of 0.5 or 1 for sparse data. We take 1: with
an empty baseline, 4 calls of one reason at one station in a day alert, 3 do not.
Days without a count are zeros (a quiet day is data, not a gap).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

BASELINE_DAYS = 7
LAG_DAYS = 2
THRESHOLD = 3.0
MIN_SIGMA = 1.0
METHOD = "EARS-C2"


@dataclass(frozen=True)
class C2:
    observed: int
    mean: float
    sd: float
    statistic: float

    @property
    def alert(self) -> bool:
        return self.statistic > THRESHOLD


def baseline_days(day: dt.date) -> list[dt.date]:
    """The 7 baseline days of `day`: day-9 .. day-3."""
    first = day - dt.timedelta(days=LAG_DAYS + BASELINE_DAYS)
    return [first + dt.timedelta(days=i) for i in range(BASELINE_DAYS)]


def c2(counts: Mapping[str, int], day: dt.date) -> C2:
    """C2 of `day` over daily `counts` (ISO date -> count; missing days are 0)."""
    base = [counts.get(d.isoformat(), 0) for d in baseline_days(day)]
    mean = sum(base) / len(base)
    sd = math.sqrt(sum((x - mean) ** 2 for x in base) / (len(base) - 1))
    observed = counts.get(day.isoformat(), 0)
    return C2(observed, mean, sd, (observed - mean) / max(sd, MIN_SIGMA))
