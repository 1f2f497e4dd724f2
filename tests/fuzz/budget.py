"""How many inputs each fuzz test generates, and a tally of how many actually ran.

Budgets are stated for the "ci" profile (`make test`: at least 10,000 generated inputs in
all) and multiplied by `NIGHTLY_FACTOR` under HYPOTHESIS_PROFILE=nightly (`make
fuzz-nightly`). The tally counts calls of each test body (generated examples plus the few
explicit and shrinking runs), and conftest prints it at the end of the session.
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import settings

NIGHTLY_FACTOR = 10
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

TALLY: Counter[str] = Counter()


def examples(ci_count: int) -> settings:
    """Hypothesis settings running `ci_count` examples (x10 at night), on top of the profile."""
    factor = NIGHTLY_FACTOR if PROFILE == "nightly" else 1
    return settings(max_examples=ci_count * factor)


def tally(name: str) -> None:
    """Count one generated input of the test `name`."""
    TALLY[name] += 1
