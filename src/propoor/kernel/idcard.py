"""Resident identity numbers of the People's Republic of China (GB 11643-1999).

An ID number has 18 characters: a 6-digit division code, an 8-digit birth date
(YYYYMMDD), a 3-digit sequence number (odd for men, even for women) and a check
character computed by ISO 7064 MOD 11-2 over the first 17 digits.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

__all__ = [
    "birth_date",
    "check_character",
    "is_valid",
    "mask",
    "sex",
    "validate",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_LENGTH = 18


def check_character(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != len(_WEIGHTS) or not _is_ascii_digits(first17):
        raise ValueError(
            f"the check character needs exactly 17 digits, got {len(first17)} "
            "characters" + ("" if _is_ascii_digits(first17) else " with non-digits")
        )
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def validate(id_number: str) -> str:
    """Return the ID number in canonical form (upper-case X) or raise ``ValueError``.

    The message says what is wrong: the length, a non-digit, an impossible birth
    date or a check character that does not match.
    """
    number = id_number.strip()
    if len(number) != _LENGTH:
        raise ValueError(f"an ID number has 18 characters, this one has {len(number)}")
    if number[17] == "x":
        number = number[:17] + "X"
    body, last = number[:17], number[17]
    if not _is_ascii_digits(body):
        position = next(i for i, c in enumerate(body) if not _is_ascii_digits(c))
        raise ValueError(
            f"the first 17 characters must be digits; character {position + 1} is not"
        )
    if not (_is_ascii_digits(last) or last == "X"):
        raise ValueError("the last character must be a digit or X")
    _birth_date(body)
    expected = check_character(body)
    if last != expected:
        raise ValueError(
            f"the check character is {last} but the first 17 digits give {expected}"
        )
    return number


def is_valid(id_number: str) -> bool:
    """Whether ``id_number`` is well formed with a correct check character."""
    try:
        validate(id_number)
    except ValueError:
        return False
    return True


def mask(id_number: str) -> str:
    """Show the first and last four characters only: ``1101**********002X``.

    It accepts any 18-character string (so an invalid number can be named in an
    error without being disclosed); it does not check the check character.
    """
    number = id_number.strip()
    if len(number) != _LENGTH:
        raise ValueError(f"an ID number has 18 characters, this one has {len(number)}")
    return number[:4] + "*" * 10 + number[14:].upper()


def birth_date(id_number: str) -> dt.date:
    """The birth date encoded in a valid ID number."""
    return _birth_date(validate(id_number)[:17])


def sex(id_number: str) -> Literal["male", "female"]:
    """The sex encoded in a valid ID number: an odd 17th digit is a man."""
    return "male" if int(validate(id_number)[16]) % 2 == 1 else "female"


def _birth_date(body: str) -> dt.date:
    digits = body[6:14]
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValueError(
            f"characters 7-14 ({digits}) are not a real birth date (YYYYMMDD)"
        ) from None


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
