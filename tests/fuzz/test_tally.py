"""The fuzz tally counts executed examples only: a draw hypothesis throws away (an `assume`
or filter inside the body) is not an input the code under test saw."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.fuzz.budget import TALLY, tallied

NAME = "tally: self-test"
EXAMPLES = 40
CALLS: list[int] = []  # every call of the body, thrown-away draws included
SAW: list[int] = []  # the inputs the body went past `assume` with


@settings(max_examples=EXAMPLES, database=None, derandomize=True)
@given(st.data())
@tallied(NAME)
def _body(data: st.DataObject) -> None:
    CALLS.append(1)
    n = data.draw(st.integers(0, 10**9))
    assume(n % 3 != 0)  # about a third of the draws are thrown away
    SAW.append(n)


def test_tally__counts_executed_examples_not_invalid_draws() -> None:
    before = TALLY[NAME]
    _body()
    assert len(CALLS) > len(SAW)  # some draws were thrown away...
    assert TALLY[NAME] - before == len(SAW)  # ...and only the examples that ran count
