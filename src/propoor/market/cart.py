"""The shopping cart, kept in the Django session until checkout.

A cart is a list of lines ``{"product": id, "quantity": "2.5", "date": "2026-05-01"}``
(quantity a Decimal written as a string, ``date`` only for experiences, else None).
The same product on the same date is one line: adding it again adds to its quantity.

Nothing here reads the catalogue: whether a product is still on sale, in stock or
sold by whole units is decided by :func:`propoor.market.services.checkout_create`
when the buyer checks out. The cart only keeps what was asked for, well-formed.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from propoor.core.errors import ValidationFailed
from propoor.market.services import LineIn

SESSION_KEY = "propoor.market.cart"
MAX_LINES = 50
MAX_QUANTITY = Decimal("100000")
THOUSANDTH = Decimal("0.001")

Session = MutableMapping[str, object]


@dataclass(frozen=True)
class CartLine:
    product_id: int
    quantity: Decimal
    date: date | None = None

    @property
    def key(self) -> str:
        """What the cart page's forms name this line by: ``12`` or ``12@2026-05-01``."""
        return (
            f"{self.product_id}@{self.date.isoformat()}"
            if self.date
            else str(self.product_id)
        )

    def as_line_in(self) -> LineIn:
        return LineIn(self.product_id, self.quantity, self.date)


def parse_quantity(raw: object) -> Decimal:
    """A positive quantity with at most three decimals, or ValidationFailed."""
    try:
        quantity = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(
            _("%(value)s is not a quantity.") % {"value": repr(raw)},
            extra={"field": "quantity"},
        ) from exc
    if not quantity.is_finite() or quantity <= 0:
        raise ValidationFailed(
            _("The quantity must be more than 0."), extra={"field": "quantity"}
        )
    if quantity != quantity.quantize(THOUSANDTH):
        raise ValidationFailed(
            _("The quantity has at most three decimals."), extra={"field": "quantity"}
        )
    if quantity > MAX_QUANTITY:
        raise ValidationFailed(
            _("The quantity is too large."), extra={"field": "quantity"}
        )
    if quantity == quantity.to_integral_value():
        return quantity.quantize(Decimal(1))
    return quantity.normalize()


def parse_date(raw: object) -> date | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(
            _("%(value)s is not a date.") % {"value": repr(text)},
            extra={"field": "date"},
        ) from exc


def parse_key(raw: object) -> tuple[int, date | None]:
    """``12`` or ``12@2026-05-01`` → (12, None) or (12, date(2026, 5, 1))."""
    text = str(raw or "").strip()
    product, _sep, day = text.partition("@")
    if not product.isdigit():
        raise ValidationFailed(
            _("%(value)s is not a cart line.") % {"value": repr(text)},
            extra={"field": "line"},
        )
    return int(product), parse_date(day)


def _read(session: Session) -> list[CartLine]:
    stored = session.get(SESSION_KEY)
    lines: list[CartLine] = []
    if not isinstance(stored, list):
        return lines
    for item in stored:
        try:
            lines.append(
                CartLine(
                    int(item["product"]),
                    parse_quantity(item["quantity"]),
                    parse_date(item.get("date")),
                )
            )
        except (KeyError, TypeError, ValueError, ValidationFailed):
            continue  # a line the session cannot make sense of any more is dropped
    return lines


def _write(session: Session, lines: Iterable[CartLine]) -> None:
    session[SESSION_KEY] = [
        {
            "product": line.product_id,
            "quantity": format(line.quantity, "f"),
            "date": line.date.isoformat() if line.date else None,
        }
        for line in lines
    ]


def cart_lines(session: Session) -> list[CartLine]:
    return _read(session)


def cart_count(session: Session) -> int:
    return len(_read(session))


def cart_add(
    session: Session, product_id: int, quantity: object, day: date | None = None
) -> CartLine:
    """Add to the cart (to the line's quantity when it is already there)."""
    amount = parse_quantity(quantity)
    lines = _read(session)
    for index, line in enumerate(lines):
        if (line.product_id, line.date) == (product_id, day):
            added = CartLine(product_id, parse_quantity(line.quantity + amount), day)
            lines[index] = added
            _write(session, lines)
            return added
    if len(lines) >= MAX_LINES:
        raise ValidationFailed(
            _("A cart holds at most %(max)s lines.") % {"max": MAX_LINES}
        )
    added = CartLine(product_id, amount, day)
    _write(session, [*lines, added])
    return added


def cart_update(
    session: Session, product_id: int, quantity: object, day: date | None = None
) -> CartLine | None:
    """Set a line's quantity; 0 removes it. None when the line is not in the cart."""
    if str(quantity).strip() in {"0", "0.0", "0.00", "0.000"}:
        cart_remove(session, product_id, day)
        return None
    amount = parse_quantity(quantity)
    lines = _read(session)
    for index, line in enumerate(lines):
        if (line.product_id, line.date) == (product_id, day):
            lines[index] = CartLine(product_id, amount, day)
            _write(session, lines)
            return lines[index]
    return None


def cart_remove(session: Session, product_id: int, day: date | None = None) -> None:
    _write(
        session,
        [
            line
            for line in _read(session)
            if (line.product_id, line.date) != (product_id, day)
        ],
    )


def cart_clear(session: Session) -> None:
    session.pop(SESSION_KEY, None)
