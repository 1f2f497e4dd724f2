"""Fuzz tests: hypothesis property tests of everything that parses outside input (Avro
codec, HL7 v2 and MLLP, ECG and tablet JSON) and schemathesis against the running app.

Profiles (registered here, chosen by the env var HYPOTHESIS_PROFILE):

    ci       the default, run by `make test`: each test's budget as written (see budget.py),
             together at least 10,000 generated inputs; derandomized, so a failure found
             in CI is found again on any machine with the same code
    nightly  `make fuzz-nightly`: 10x the examples, randomized (a new part of the input
             space each night); the failing example is printed with its seed to reproduce
             (`--hypothesis-seed=N`)

For a quick local run select tests with `-k`; the budgets are what CI promises.

No deadline: one input of the HL7 tests parses a message with hl7apy, which is slow on a
cold cache and would make timing-based failures noise. The session ends with a line
"fuzz: N generated inputs" and the count per test.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.budget import PROFILE, TALLY

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "nightly",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(PROFILE)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    total = sum(TALLY.values())
    terminalreporter.write_sep("-", f"fuzz: {total} generated inputs (profile {PROFILE})")
    for name, count in sorted(TALLY.items()):
        terminalreporter.write_line(f"  {count:7d}  {name}")
