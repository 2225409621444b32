"""The ledger's signal receivers (thin: each calls one ledger service).

Market signals are sent inside the transaction that caused them, so the postings
commit or roll back with the payment or refund:

- ``payment_applied`` → :func:`~propoor.market.services.ledger.ledger_record_payment`
  (one ``payment`` transaction per order);
- ``refund_done`` → :func:`~propoor.market.services.ledger.ledger_record_refund`
  (reverses the order's attribution, settlement and payment, newest first);
- ``order_completed`` needs nothing: settlement is the ``orders_settle`` job, which
  also waits for a public buyer's acceptance.

:func:`connect` is called from ``MarketConfig.ready()``; the dispatch uids make it safe
to call more than once.
"""

from __future__ import annotations

from propoor.market.models import Order, Payment, Refund
from propoor.market.services.ledger import ledger_record_payment, ledger_record_refund
from propoor.market.signals import payment_applied, refund_done

PAYMENT_UID = "propoor.market.ledger.payment_applied"
REFUND_UID = "propoor.market.ledger.refund_done"


def on_payment_applied(
    sender: object, *, payment: Payment, orders: list[Order], **kwargs: object
) -> None:
    ledger_record_payment(payment, orders)


def on_refund_done(sender: object, *, refund: Refund, **kwargs: object) -> None:
    ledger_record_refund(refund)


def connect() -> None:
    payment_applied.connect(on_payment_applied, dispatch_uid=PAYMENT_UID)
    refund_done.connect(on_refund_done, dispatch_uid=REFUND_UID)


def disconnect() -> bool:
    """Disconnect both receivers; True if they were connected (for tests)."""
    paid = payment_applied.disconnect(dispatch_uid=PAYMENT_UID)
    refunded = refund_done.disconnect(dispatch_uid=REFUND_UID)
    return paid or refunded
