"""The order state machine: one explicit table; every transition recorded and audited.

An event not in the table for the order's current status is refused with a Conflict
that names the status and the events it allows. Who may fire an event is checked by
the caller's role: the buyer, an operator of the seller, or the system (payments,
expiry, the return window).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, PermissionDenied
from propoor.market.models import Order, OrderStatus, OrderTransition
from propoor.market.signals import order_completed

S = OrderStatus
# (status, event) → new status. "refund_reject" returns to the status the refund was
# requested from (kept on the transition that entered refund_requested).
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.PENDING_PAYMENT, "pay"): S.PAID,
    (S.PENDING_PAYMENT, "cancel"): S.CANCELLED,
    (S.PENDING_PAYMENT, "expire"): S.EXPIRED,
    (S.EXPIRED, "pay_late"): S.PAID,
    (S.PAID, "ship"): S.SHIPPED,
    (S.PAID, "deliver"): S.DELIVERED,  # experiences: the visit took place
    (S.PAID, "request_refund"): S.REFUND_REQUESTED,
    (S.SHIPPED, "deliver"): S.DELIVERED,
    (S.SHIPPED, "request_refund"): S.REFUND_REQUESTED,
    (S.DELIVERED, "complete"): S.COMPLETED,
    (S.DELIVERED, "request_refund"): S.REFUND_REQUESTED,
    (S.REFUND_REQUESTED, "refund"): S.REFUNDED,
    (S.REFUND_REQUESTED, "refund_reject"): "",  # back to where it came from
}
# Who may fire each event: "buyer", "seller", "system" (None actor), "admin".
ALLOWED: dict[str, frozenset[str]] = {
    "pay": frozenset({"system"}),
    "pay_late": frozenset({"system"}),
    "cancel": frozenset({"buyer", "admin", "system"}),
    "expire": frozenset({"system"}),
    "ship": frozenset({"seller"}),
    "deliver": frozenset({"buyer", "seller", "system"}),
    "complete": frozenset({"buyer", "system"}),
    "request_refund": frozenset({"buyer"}),
    "refund": frozenset({"seller", "admin", "system"}),
    "refund_reject": frozenset({"seller", "admin"}),
}
STAMPS = {
    S.PAID: "paid_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
    S.COMPLETED: "completed_at",
}
RETURN_WINDOW = timedelta(days=7)


def parties(order: Order, actor: object | None, *, ask_seller: bool = True) -> set[str]:
    """What the actor is to this order; ``ask_seller=False`` leaves out the one
    question that needs the database (whether the actor operates the seller)."""
    if actor is None:
        return {"system"}
    out: set[str] = set()
    if (
        getattr(actor, "is_superuser", False)
        or getattr(actor, "role", "") == "county_admin"
    ):
        out.add("admin")
    if getattr(actor, "pk", None) == order.buyer_id:
        out.add("buyer")
    if (
        ask_seller
        and order.seller.operators.filter(pk=getattr(actor, "pk", None)).exists()
    ):
        out.add("seller")
    return out


def allowed_events(status: str) -> list[str]:
    return sorted(event for (state, event) in TRANSITIONS if state == status)


def _refused(order: Order, event: str) -> str:
    """Why the event cannot happen to an order in its status (and what can)."""
    allowed = allowed_events(order.status)
    values = {
        "status": order.status,
        "event": event.replace("_", " "),
        "allowed": ", ".join(allowed),
    }
    if not allowed:
        return (
            _("An order that is %(status)s cannot %(event)s; it can: nothing more.")
            % values
        )
    return (
        _("An order that is %(status)s cannot %(event)s; it can: %(allowed)s.") % values
    )


def _not_yours(event: str) -> str:
    """Why the actor may not fire the event: a whole sentence per event."""
    sentences = {
        "pay": _("You may not pay this order."),
        "pay_late": _("You may not pay late this order."),
        "cancel": _("You may not cancel this order."),
        "expire": _("You may not expire this order."),
        "ship": _("You may not ship this order."),
        "deliver": _("You may not deliver this order."),
        "complete": _("You may not complete this order."),
        "request_refund": _("You may not request refund this order."),
        "refund": _("You may not refund this order."),
        "refund_reject": _("You may not refund reject this order."),
    }
    if event in sentences:
        return sentences[event]
    return _("You may not %(event)s this order.") % {"event": event.replace("_", " ")}


def order_transition(
    order: Order,
    event: str,
    *,
    actor: object | None,
    note: str = "",
    locked: bool = False,
    at: datetime | None = None,
) -> Order:
    """Apply one event to the order (row-locked), or refuse it saying why."""
    with transaction.atomic():
        if not locked:
            order = (
                Order.objects.select_for_update()
                .select_related("seller")
                .get(pk=order.pk)
            )
        key = (order.status, event)
        if key not in TRANSITIONS:
            raise Conflict(
                _refused(order, event),
                extra={
                    "order": order.number,
                    "status": order.status,
                    "event": event,
                    "allowed": allowed_events(order.status),
                },
            )
        if not parties(order, actor) & ALLOWED[event]:
            raise PermissionDenied(
                _not_yours(event),
                extra={"order": order.number, "event": event},
            )
        new = TRANSITIONS[key]
        if event == "refund_reject":
            entered = (
                OrderTransition.objects.filter(
                    order=order, to_status=S.REFUND_REQUESTED
                )
                .order_by("-at", "-id")
                .first()
            )
            new = entered.from_status if entered else S.PAID
        moment = at or timezone.now()
        old = order.status
        order.status = new
        fields = ["status"]
        stamp = STAMPS.get(new)  # type: ignore[call-overload]
        if stamp and getattr(order, stamp) is None:
            setattr(order, stamp, moment)
            fields.append(stamp)
        order.save(update_fields=fields)
        if new in (S.CANCELLED, S.EXPIRED):
            from propoor.market.services.checkout import release_stock

            release_stock(order)
        OrderTransition.objects.create(
            order=order,
            from_status=old,
            to_status=new,
            event=event,
            by=actor if getattr(actor, "pk", None) else None,
            note=note[:300],
        )
        if new == S.COMPLETED:
            order_completed.send(sender=Order, order=order)
        audit_append(
            action=f"market.order.{event}",
            actor=actor,
            object_type="market.order",
            object_id=order.number,
            data={"from": old, "to": new, "note": note[:300]},
        )
    return order


def orders_complete_due(*, now: datetime | None = None) -> int:
    """Complete delivered orders whose return window has passed (a daily job)."""
    now = now or timezone.now()
    done = 0
    due = Order.objects.filter(
        status=S.DELIVERED, delivered_at__lt=now - RETURN_WINDOW
    ).order_by("id")
    for order in due:
        order_transition(order, "complete", actor=None, note="return window passed")
        done += 1
    return done
