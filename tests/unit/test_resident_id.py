from __future__ import annotations

import pytest

from services.ingest.resident_id import check_char, normalised, problem


def test_standard_example_is_valid() -> None:
    assert problem("11010519491231002X") is None


def test_full_width_digits_typed_with_a_chinese_ime_are_the_same_id() -> None:
    assert normalised("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"
    assert problem("１１０１０５１９４９１２３１００２Ｘ") is None


def test_digits_of_other_scripts_are_not_digits() -> None:
    assert "17 digits" in (problem("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X") or "")  # Arabic-Indic


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("11010519491231002", "18 characters"),
        ("1101051949123100AX", "17 digits"),
        ("110105194913310021", "not a date"),
        ("110105194912310021", "expected X"),
    ],
)
def test_invalid_ids_say_why(value: str, says: str) -> None:
    assert says in (problem(value) or "")


def test_check_char_covers_all_remainders() -> None:
    seen = {check_char(f"{n:017d}") for n in range(0, 200)}
    assert seen == set("10X98765432")
