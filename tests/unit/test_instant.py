"""kernel.time.instant, the one instant format every stored time is written in (sorts as
text), is written with isoformat for speed: the text must be its strftime format's."""

from __future__ import annotations

import datetime as dt
import random

from kernel.time import instant

ZONES = [
    dt.UTC,
    dt.timezone(dt.timedelta(hours=8)),
    dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
]


def test_instant__same_text_as_its_strftime_format() -> None:
    rnd = random.Random(7)
    for _ in range(2000):
        t = dt.datetime(rnd.randint(1, 9999), 1, 1, tzinfo=rnd.choice(ZONES)) + dt.timedelta(
            days=rnd.randint(0, 364),
            seconds=rnd.randint(0, 86399),
            microseconds=rnd.randint(0, 999999),
        )
        if (
            dt.datetime.min.replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
            < t
            < dt.datetime.max.replace(tzinfo=dt.UTC) - dt.timedelta(days=1)
        ):
            assert instant(t) == t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
