"""Waiting in tests: on the condition a test needs, with a ceiling that names what never
happened. A ceiling is not a speed requirement (no test asserts how fast): it only turns a
hang into a failure that says what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

CEILING_S = 60.0  # generous: a loaded 2-core machine is slow, a stuck system never arrives
INTERVAL_S = 0.05


def wait_until(
    condition: Callable[[], T],
    what: str,
    timeout_s: float = CEILING_S,
    interval_s: float = INTERVAL_S,
) -> T:
    """Call `condition` until it returns something truthy and return that; after `timeout_s`
    raise AssertionError naming `what` (and the last value seen)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            name = what if isinstance(what, str) else what()
            raise AssertionError(f"{name}: never happened within {timeout_s:g} s (last: {value!r})")
        time.sleep(interval_s)
