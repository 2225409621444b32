from __future__ import annotations

import datetime as dt

import pytest

from propoor.kernel import idcard


def test_published_valid_number_is_valid() -> None:
    # given the number VALIDATION.md publishes as valid
    number = "11010519491231002X"

    # then it validates and its check character is X
    assert idcard.is_valid(number) is True
    assert idcard.check_character(number[:17]) == "X"
    assert idcard.validate(number) == "11010519491231002X"


def test_published_invalid_number_is_invalid() -> None:
    assert idcard.is_valid("110105194912310021") is False
    with pytest.raises(ValueError, match="the check character is 1 but the first 17"):
        idcard.validate("110105194912310021")


def test_lower_case_x_is_normalised() -> None:
    assert idcard.validate("11010519491231002x") == "11010519491231002X"


def test_wrong_length_is_named() -> None:
    with pytest.raises(ValueError, match="has 18 characters, this one has 17"):
        idcard.validate("11010519491231002")


def test_non_digit_is_located() -> None:
    with pytest.raises(ValueError, match="character 3 is not"):
        idcard.validate("11A10519491231002X")


def test_bad_last_character_is_named() -> None:
    with pytest.raises(ValueError, match="last character must be a digit or X"):
        idcard.validate("11010519491231002Y")


def test_impossible_birth_date_is_rejected_even_with_a_matching_check() -> None:
    # given 1949-02-30 with the check character computed for it
    body = "11010519490230002"
    number = body + idcard.check_character(body)

    # then it is rejected for its date
    with pytest.raises(ValueError, match=r"\(19490230\) are not a real birth date"):
        idcard.validate(number)


def test_mask_keeps_four_characters_at_each_end() -> None:
    assert idcard.mask("11010519491231002x") == "1101**********002X"


def test_mask_refuses_a_wrong_length() -> None:
    with pytest.raises(ValueError, match="this one has 3"):
        idcard.mask("123")


def test_birth_date_and_sex_are_read() -> None:
    assert idcard.birth_date("11010519491231002X") == dt.date(1949, 12, 31)
    # 17th digit 2 is even: a woman
    assert idcard.sex("11010519491231002X") == "female"
    body = "11010519491231001"
    assert idcard.sex(body + idcard.check_character(body)) == "male"


def test_check_character_needs_17_digits() -> None:
    with pytest.raises(ValueError, match="exactly 17 digits"):
        idcard.check_character("1234")
