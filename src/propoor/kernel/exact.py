"""Exact numbers for weights and cut-offs.

A weight of 1/6 must stay 1/6: weights and poverty cut-offs are ``Fraction``. A
weight written as a decimal number in TOML or JSON (``0.4``) is read through its
decimal string, so it becomes exactly 2/5 and not the binary float nearest to it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

__all__ = ["common_denominator", "parse_fraction"]


def parse_fraction(value: object, *, what: str = "value") -> Fraction:
    """Read ``"1/6"``, ``"0.33"``, ``0.4``, ``1``, ``Decimal("0.25")`` exactly.

    ``what`` names the value in the error message (``"weight of 'water'"``).
    Booleans, NaN, infinities and anything else raise ``ValueError``.
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number or a fraction, not {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what} must be a finite number, not {value!r}")
        return Fraction(str(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{what} must be a finite number, not {value!r}")
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            result = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise ValueError(
                f"{what} must be a number like 0.25 or a fraction like 1/6, "
                f"not {value!r}"
            ) from None
        return result
    raise ValueError(f"{what} must be a number or a fraction, not {value!r}")


def common_denominator(values: Iterable[Fraction]) -> int:
    """The least common denominator of ``values`` (1 for none)."""
    return math.lcm(1, *(v.denominator for v in values))
