"""Money is ``Decimal`` with two places (CNY). Never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: Decimal | int | str) -> Decimal:
    """Round half-up to the fen. Floats are refused: they are not money."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal, int or str")
    try:
        return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of money: {value!r}") from exc


def format_cny(value: Decimal | None) -> str:
    """``¥12,345.60`` — grouping by thousands, two places, as shown in China."""
    if value is None:
        return "—"
    amount = to_money(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


class MoneyField(models.DecimalField):
    """A yuan amount: 14 digits, 2 places."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("default", ZERO)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def deconstruct(self):  # type: ignore[no-untyped-def]
        name, _path, args, kwargs = super().deconstruct()
        return name, "propoor.core.money.MoneyField", args, kwargs
