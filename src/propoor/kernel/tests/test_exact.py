from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from propoor.kernel.exact import common_denominator, parse_fraction


def test_fraction_text_is_exact() -> None:
    assert parse_fraction("1/6") == Fraction(1, 6)
    assert parse_fraction(" 1/18 ") == Fraction(1, 18)


def test_decimal_text_is_exact() -> None:
    assert parse_fraction("0.33") == Fraction(33, 100)


def test_float_goes_through_its_decimal_string() -> None:
    # 0.4 as a binary float is 3602879701896397/9007199254740992
    assert parse_fraction(0.4) == Fraction(2, 5)
    assert parse_fraction(0.1) + parse_fraction(0.2) == Fraction(3, 10)


def test_integers_and_decimals() -> None:
    assert parse_fraction(1) == Fraction(1)
    assert parse_fraction(Decimal("0.25")) == Fraction(1, 4)


@pytest.mark.parametrize("bad", ["abc", "1/0", "", True, float("nan"), None, [1]])
def test_bad_values_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="weight of 'x' must be"):
        parse_fraction(bad, what="weight of 'x'")


def test_common_denominator() -> None:
    assert common_denominator([Fraction(1, 6), Fraction(1, 18), Fraction(1, 3)]) == 18
    assert common_denominator([]) == 1
