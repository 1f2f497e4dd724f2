"""Chinese resident identity numbers (GB 11643-1999): 17 digits + ISO 7064 MOD 11-2 check."""

from __future__ import annotations

import datetime as dt
import unicodedata

from kernel.text import ascii_digits

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalised(value: str) -> str:
    """The ID as stored: the check character X in capitals (GB 11643 writes X; some HIS and
    card readers send x), full-width digits as ASCII (typed with a Chinese IME in full-width
    mode: "１１０１…Ｘ" is the same ID)."""
    return unicodedata.normalize("NFKC", value).strip().upper()


def problem(value: str) -> str | None:
    """Why `value` is not a valid resident ID, or None if it is (a lower-case check
    character x is accepted: see `normalised`)."""
    value = normalised(value)
    if len(value) != 18:
        return f"must have 18 characters, has {len(value)}"
    if not ascii_digits(value[:17]) or not (ascii_digits(value[17]) or value[17] == "X"):
        return "must be 17 digits followed by a digit or X"
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return f"birth date {value[6:14]} is not a date"
    expected = check_char(value[:17])
    if value[17] != expected:
        return f"check digit is {value[17]}, expected {expected} (GB 11643 MOD 11-2)"
    return None
