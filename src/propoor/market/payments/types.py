"""What our gateway adapters hand the payment services: plain, typed values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from propoor.core.errors import ApplicationError


class BadSignature(Exception):
    """The notification's signature (or its encrypted resource) did not verify."""


class Malformed(Exception):
    """The notification cannot be read at all."""


class GatewayUnavailable(ApplicationError):
    """The gateway did not answer, answered an error, or its answer did not verify."""

    status = 502
    code = "gateway_error"


# The kinds of notification our services tell apart.
PAID = "paid"
WAITING = "waiting"
CLOSED = "closed"
REFUND = "refund"
OTHER = "other"


@dataclass(frozen=True)
class Event:
    """A notification whose signature verified, in our terms."""

    kind: str
    out_trade_no: str
    merchant_ok: bool
    amount_fen: int | None
    gateway_trade_no: str = ""
    paid_at: datetime | None = None
    sent_at: datetime | None = None  # when the gateway signed it (WeChat's timestamp)
    note: str = ""


@dataclass(frozen=True)
class TradeState:
    """The gateway's answer to "what became of this trade?"."""

    state: str  # PAID, WAITING, CLOSED or "missing"
    merchant_ok: bool = True
    amount_fen: int | None = None
    gateway_trade_no: str = ""
    paid_at: datetime | None = None
    note: str = ""


def fen_of(text: object) -> int | None:
    """``"12.30"`` → 1230; None unless it is an exact amount in yuan with ≤ 2 places."""
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        return None
    return int(value * 100)


def fen(amount: Decimal) -> int:
    """Our Decimal yuan → integer fen, the gateways' unit."""
    return int(amount.quantize(Decimal("0.01")) * 100)
