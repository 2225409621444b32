"""Market signals, sent inside the transaction that caused them (listeners are atomic
with it): the ledger listens, so money moves and its postings commit together.

- ``payment_applied(payment=Payment, orders=list[Order])``: a payment was applied once.
- ``refund_done(refund=Refund)``: money went back to the buyer for one order.
- ``order_completed(order=Order)``: the return window passed; revenue may settle.
"""

from __future__ import annotations

from django.dispatch import Signal

payment_applied = Signal()
refund_done = Signal()
order_completed = Signal()
