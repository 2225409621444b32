from __future__ import annotations

from decimal import Decimal

import pytest

from propoor.core.money import format_cny, to_money


def test_amounts_round_half_up_to_the_fen() -> None:
    assert to_money("2.345") == Decimal("2.35")
    assert to_money(3) == Decimal("3.00")


def test_a_float_is_not_money() -> None:
    with pytest.raises(TypeError):
        to_money(0.1)  # type: ignore[arg-type]


def test_amounts_are_shown_the_chinese_way() -> None:
    assert format_cny(Decimal("12345.6")) == "¥12,345.60"
    assert format_cny(Decimal("-3")) == "-¥3.00"
    assert format_cny(None) == "—"
