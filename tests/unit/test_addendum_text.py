"""An addendum line as a Chinese clinic reads it: Chinese label first, English second, the
signing time in Beijing time (Asia/Shanghai: UTC+8 all year, no daylight saving since 1991)
with its offset. Expected texts are written by hand from that rule."""

from __future__ import annotations

import datetime as dt

from stream_processors.diagnosis_queue.addendum_text import addendum_line


def test_addendum_line__late_utc_evening_is_the_next_local_day() -> None:
    signed = dt.datetime(2026, 12, 7, 17, 30, tzinfo=dt.UTC)
    assert addendum_line(signed, "dr-wu", "QTc 470 ms on review.") == (
        "补充报告 Addendum 2026-12-08 01:30 (+08:00) dr-wu: QTc 470 ms on review."
    )


def test_addendum_line__a_stored_instant_reads_as_the_same_datetime() -> None:
    # The read queue keeps `signed_at` as the stored instant text, the outbox gets a datetime.
    assert addendum_line("2026-12-07T17:30:00.000000Z", "dr-wu", "x") == (
        "补充报告 Addendum 2026-12-08 01:30 (+08:00) dr-wu: x"
    )


def test_addendum_line__new_year_in_beijing_before_it_in_utc() -> None:
    signed = dt.datetime(2026, 12, 31, 16, 0, 59, 999999, tzinfo=dt.UTC)
    assert addendum_line(signed, "dr-wu", "x").startswith(
        "补充报告 Addendum 2027-01-01 00:00 (+08:00)"
    )


def test_addendum_line__reader_id_and_text_are_kept_as_written() -> None:
    signed = dt.datetime(2026, 12, 7, 10, 5, tzinfo=dt.UTC)
    text = "复查：QTc 470 ms（延长）。\nST 段无抬高 (V1-V3)."
    assert addendum_line(signed, "医生-吴", text) == (
        f"补充报告 Addendum 2026-12-07 18:05 (+08:00) 医生-吴: {text}"
    )
