"""How many inputs each fuzz test generates, and a tally of how many actually ran.

Budgets are stated for the "ci" profile (`make test`: at least 10,000 generated inputs in
all) and multiplied by `NIGHTLY_FACTOR` under HYPOTHESIS_PROFILE=nightly (`make
fuzz-nightly`). The tally counts executed examples of each test: a body that ran to its end
(or failed an assertion). A draw hypothesis throws away (a filter or `assume` inside the
body, a draw past the example's size) is not an input the code under test saw, so it is
not counted. conftest prints the tally at the end of the session.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import settings
from hypothesis.errors import UnsatisfiedAssumption

NIGHTLY_FACTOR = 10
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

TALLY: Counter[str] = Counter()


def examples(ci_count: int) -> settings:
    """Hypothesis settings running `ci_count` examples (x10 at night), on top of the profile."""
    factor = NIGHTLY_FACTOR if PROFILE == "nightly" else 1
    return settings(max_examples=ci_count * factor)


Test = TypeVar("Test", bound=Callable[..., Any])


def tallied(name: str) -> Callable[[Test], Test]:
    """Count each executed example of the decorated test body under `name` (put it under
    `@given`). Invalid draws end in UnsatisfiedAssumption, or in hypothesis' StopTest (a
    BaseException), and are not counted."""

    def wrap(test: Test) -> Test:
        @functools.wraps(test)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                result = test(*args, **kwargs)
            except UnsatisfiedAssumption:
                raise
            except Exception:  # executed, and failed: still an input the code saw
                TALLY[name] += 1
                raise
            TALLY[name] += 1
            return result

        return run  # type: ignore[return-value]

    return wrap
