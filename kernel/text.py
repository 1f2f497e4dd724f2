"""Checks of text typed by people and peers.

`str.isdigit()` is true for superscripts ("²") that `int()` refuses (a 500 where a 400 was
meant) and for other scripts' digits ("١", full-width "１") that `int()` reads: an id or a
page number made of those is not what the peer meant to send. Numbers on the wire are ASCII.
"""

from __future__ import annotations


def ascii_digits(text: str) -> bool:
    """Non-empty and only the digits 0-9."""
    return text.isascii() and text.isdigit()
