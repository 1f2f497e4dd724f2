"""What the ECG page shows for the statements a reader ticks and signs: the catalogue's words
in the reader's language where the form offered the statement, the text as sent otherwise
(a client's own display, a device's free text), never a text garbled or an error.

The SNOMED CT codes and preferred terms are written from SNOMED CT (401303003 "Acute ST
segment elevation myocardial infarction", 426783006 "Sinus rhythm"), not taken from the
form's list.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services import i18n
from services.reading.ecg_page import coded_label, statement_label

SNOMED = "http://snomed.info/sct"
STEMI = {
    "system": SNOMED,
    "code": "401303003",
    "display": "Acute ST segment elevation myocardial infarction",
}


@pytest.fixture
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    token = i18n.current_locale.set(request.param)
    yield request.param
    i18n.current_locale.reset(token)


@pytest.mark.parametrize("lang", ["zh-CN"], indirect=True)
def test_an_offered_coding_reads_in_chinese(lang: str) -> None:
    assert coded_label(STEMI) == "急性 ST 段抬高型心肌梗死"
    assert statement_label("Sinus rhythm") == "窦性心律"  # a device statement the form codes


@pytest.mark.parametrize("lang", ["en"], indirect=True)
def test_an_offered_coding_reads_as_snomed_states_it_in_english(lang: str) -> None:
    assert coded_label(STEMI) == STEMI["display"]
    assert statement_label("Sinus rhythm") == "Sinus rhythm"


@pytest.mark.parametrize("lang", ["zh-CN"], indirect=True)
def test_a_text_the_form_did_not_offer_is_shown_as_sent(lang: str) -> None:
    own = {**STEMI, "display": "STEMI {inferior} {0"}  # a client's own words, braces and all
    assert coded_label(own) == own["display"]
    assert coded_label({**STEMI, "system": "http://loinc.org"}) == STEMI["display"]
    assert coded_label({"system": SNOMED, "code": "401303003"}) == "401303003"
    assert statement_label("Sinus rhythm with 1st degree AV block") == (
        "Sinus rhythm with 1st degree AV block"
    )
