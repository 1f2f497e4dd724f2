"""The FHIR R4 search value rules (search.html#prefix, #date, #number, #token, #string) on
examples written from the specification, and the declared index rules they rely on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kernel.search_params import SEARCH_PARAMS, index_entries, string_prefixes, token_keys
from services.fhir_api.search_values import (
    date_matches,
    date_range,
    number_matches,
    quantity_matches,
    quantity_value,
    reference_key,
    split_prefix,
    split_values,
    target_range,
)
from services.outcome import FhirError

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def test_a_value_is_the_range_its_precision_names() -> None:
    assert date_range("2024") == (utc(2024, 1, 1), utc(2025, 1, 1))
    assert date_range("2024-02") == (utc(2024, 2, 1), utc(2024, 3, 1))  # leap month
    assert date_range("2024-12-31") == (utc(2024, 12, 31), utc(2025, 1, 1))
    assert date_range("2024-03-05T10:30+08:00") == (utc(2024, 3, 5, 2, 30), utc(2024, 3, 5, 2, 31))
    low, high = date_range("2024-03-05T10:30:00.5Z")
    assert high - low == dt.timedelta(milliseconds=100)
    with pytest.raises(FhirError):
        date_range("2024-03-05T10:30")  # a time without zone is not guessed
    with pytest.raises(FhirError):
        date_range("2024-13")


@pytest.mark.parametrize(
    ("prefix", "search", "target", "expected"),
    [
        # search.html#prefix, with a day as the target
        ("eq", "2024-03", "2024-03-05", True),  # the month contains the day
        ("eq", "2024-03-05", "2024-03", False),  # a day does not contain the month
        ("ne", "2024-03", "2024-04-01", True),
        ("gt", "2024-03", "2024-04-01", True),
        ("gt", "2024-03", "2024-03-31", False),
        ("ge", "2024-03", "2024-03-31", True),
        ("lt", "2024-03", "2024-02-29", True),
        ("le", "2024-03", "2024-03-01", True),
        ("le", "2024-03", "2024-04-01", False),
        ("sa", "2024-03", "2024-04-01", True),
        ("sa", "2024-03", "2024-03-31", False),
        ("eb", "2024-03", "2024-02-29", True),
        ("eb", "2024-03", "2024-03-01", False),
    ],
)
def test_date_prefixes(prefix: str, search: str, target: str, expected: bool) -> None:
    assert date_matches(prefix, date_range(search), date_range(target), NOW) is expected


def test_a_period_open_at_its_end_reaches_past_any_value() -> None:
    ongoing = target_range({"start": "2024-03-05T10:00:00Z"})
    assert ongoing is not None
    assert date_matches("gt", date_range("2030"), ongoing, NOW)
    assert not date_matches("eq", date_range("2024-03"), ongoing, NOW)
    assert date_matches("ap", date_range("2024-03-05"), ongoing, NOW)


def test_numbers_use_their_implicit_range_for_eq() -> None:
    assert number_matches("eq", Decimal("100"), Decimal("99.5"))
    assert not number_matches("eq", Decimal("100"), Decimal("100.5"))
    assert not number_matches("eq", Decimal("100.0"), Decimal("100.06"))
    assert number_matches("ne", Decimal("100"), Decimal("101"))
    assert number_matches("gt", Decimal("100"), Decimal("100.01"))
    assert number_matches("ap", Decimal("100"), Decimal("109"))
    assert not number_matches("ap", Decimal("100"), Decimal("111"))


def test_quantities_match_system_and_code_or_unit() -> None:
    hr = {
        "value": 75,
        "unit": "beats/minute",
        "system": "http://unitsofmeasure.org",
        "code": "/min",
    }
    assert quantity_matches(quantity_value("gt70|http://unitsofmeasure.org|/min", "q"), hr)
    assert quantity_matches(quantity_value("75||beats/minute", "q"), hr)
    assert not quantity_matches(quantity_value("75|http://unitsofmeasure.org|ms", "q"), hr)
    assert quantity_matches(quantity_value("le75", "q"), hr)


def test_lists_prefixes_and_references() -> None:
    assert split_values("a,b\\,c") == ["a", "b,c"]
    assert split_prefix("ge2024") == ("ge", "2024")
    assert split_prefix(">=2024") == ("ge", "2024")  # fhirclient's comparator
    assert split_prefix("2024") == ("eq", "2024")
    assert reference_key("abc", "Patient") == "Patient/abc"
    assert reference_key("http://x/fhir/Encounter/e1/_history/2", "Patient") == "Encounter/e1"


def test_index_keys_serve_every_token_form_and_string_starts() -> None:
    coding = {"coding": [{"system": "http://loinc.org", "code": "8867-4"}, {"code": "local"}]}
    assert token_keys(coding) == [
        "http://loinc.org|8867-4",
        "http://loinc.org|",
        "8867-4",
        "|local",
        "local",
    ]
    assert "müller"[:2] not in string_prefixes("Müller") and "mu" in string_prefixes("Müller")
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "gender": "female",
        "name": [{"family": "王", "given": ["建国"]}],
    }
    keys = {(e.index, e.key) for e in index_entries(patient)}
    assert ("Patient.gender", "http://hl7.org/fhir/administrative-gender|female") in keys
    assert ("Patient.name", "王建") in keys and ("Patient.given", "建") in keys


def test_every_declared_reference_parameter_names_its_lookup() -> None:
    for params in SEARCH_PARAMS.values():
        for param in params.values():
            if param.type == "reference":
                assert param.index.split(".", 1)[0] == param.resource
