"""Payments: create, receive notifications, apply exactly once, reconcile, refund.

Every way money can arrive — an Alipay or WeChat Pay notification, the reconciliation
job's query, cash or a bank transfer recorded at a service station — ends in
:func:`payment_apply`, which holds the Payment row (``SELECT … FOR UPDATE``) while it
changes anything. A payment already PAID is never applied again, so duplicates,
retries and replays of a valid notification, racing each other or arriving days apart,
move money and orders once. Locks are taken payment → orders (by id) → stock lots (by
product, lot) → experience slots (by product, date), the checkout's order, so nothing
here deadlocks with a checkout or with the expiry job.

A notification is stored first (a ``Notification`` row, forged or not), then verified
by the gateway's SDK (signature; WeChat also decrypts the resource), then checked:
the merchant (Alipay ``app_id`` and ``seller_id``; WeChat ``mchid`` and ``appid``),
our ``out_trade_no``, and the amount to the fen. Only then is it applied. Its outcome:

``applied``, ``duplicate`` (already applied; answered as success), ``waiting``
(WAIT_BUYER_PAY), ``closed`` / ``closed_ignored`` (TRADE_CLOSED before / after the
payment), ``refund_notice`` (a refund's notice: our refunds are driven from here),
``ignored`` (another event), and the rejections, never applied: ``bad_signature``,
``malformed``, ``stale`` (a WeChat notification signed more than 5 minutes ago: a
replay), ``wrong_merchant``, ``unknown_order``, ``wrong_amount``; ``error`` if
applying failed (rolled back; the gateway will retry).

The gateway hears back only after the apply's transaction has committed: the reply is
built once ``transaction.atomic()`` has exited.

Paid after the hold ran out (the order EXPIRED and its stock went back): the stock is
taken again under the same locks and the order moves ``pay_late``; if the stock is
gone, that order's amount goes back through the same channel (a ``Refund``). The same
happens to an order cancelled after its payment began, or paid twice.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import ModuleType

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.roles import Role, require_role
from propoor.accounts.scope import scope_of
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.market.models import (
    Allocation,
    Channel,
    Checkout,
    ExperienceSlot,
    Notification,
    Order,
    OrderLine,
    OrderStatus,
    OrderTransition,
    Payment,
    PaymentStatus,
    Refund,
    Seller,
    StockLot,
)
from propoor.market.payments import alipay, wechat
from propoor.market.payments.keys import site_url
from propoor.market.payments.types import (
    CLOSED,
    PAID,
    REFUND,
    WAITING,
    BadSignature,
    GatewayUnavailable,
    Malformed,
    fen,
)
from propoor.market.services.orders import ALLOWED, order_transition, parties
from propoor.market.signals import payment_applied, refund_done

__all__ = [
    "Applied",
    "GatewayUnavailable",
    "cash_record",
    "notification_receive",
    "payment_apply",
    "payment_create",
    "payment_reconcile",
    "payment_sync",
    "refund_create",
    "refund_finish",
]

logger = logging.getLogger(__name__)
S = OrderStatus
GATEWAYS: dict[str, ModuleType] = {Channel.ALIPAY: alipay, Channel.WECHAT: wechat}
OFFLINE = (Channel.CASH, Channel.BANK)
MAX_BODY = 64 * 1024
NOTIFICATION_MAX_AGE = timedelta(minutes=5)
RECONCILE_HORIZON = timedelta(days=2)
KEPT_HEADERS = frozenset({"Content-Type", "User-Agent", "Request-Id"})


def _reconcile_after() -> timedelta:
    return timedelta(
        minutes=int(getattr(settings, "PROPOOR_PAY_RECONCILE_MINUTES", 10))
    )


@dataclass
class Applied:
    """What one apply did."""

    outcome: str  # "applied" or "duplicate"
    payment: Payment
    paid: list[Order] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    detail: str = ""


# ------------------------------------------------------------------------------- create


def _trade_no(now: datetime) -> str:
    return f"P{timezone.localtime(now):%Y%m%d%H%M%S}{secrets.randbelow(10**8):08d}"


def payment_create(
    buyer: object, checkout: Checkout, channel: str, *, now: datetime | None = None
) -> tuple[Payment, str]:
    """Start paying a checkout online: the Payment, and where the buyer goes next
    (Alipay: the gateway's cashier URL; WeChat Pay: the ``code_url`` to show as QR).

    Starting again with the same channel reuses the open payment (same trade number).
    """
    gateway = GATEWAYS.get(channel)
    if gateway is None:
        raise ValidationFailed(
            _("Pay online with alipay or wechat, not %(channel)s.")
            % {"channel": repr(channel)},
            extra={"channel": channel},
        )
    if checkout.buyer_id != getattr(buyer, "pk", None):
        raise NotFound(_("No such checkout."))
    now = now or timezone.now()
    payment, reused = _payment_open(buyer, checkout, channel, now)
    # The gateway is called after the commit: the Payment exists whatever it answers.
    try:
        return payment, _start(gateway, payment, checkout)
    except GatewayUnavailable:
        # A reused payment may have closed at the gateway meanwhile (WeChat Pay sends
        # no notification when a trade closes): if so, begin a new one.
        if not reused or payment_sync(payment, now=now) != "closed":
            raise
    payment, _reused = _payment_open(buyer, checkout, channel, now)
    return payment, _start(gateway, payment, checkout)


def _payment_open(
    buyer: object, checkout: Checkout, channel: str, now: datetime
) -> tuple[Payment, bool]:
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.payments.filter(status=PaymentStatus.PAID).exists():
            raise Conflict(
                _("This checkout is paid already."),
                extra={"checkout": checkout.number},
            )
        pending = list(checkout.orders.filter(status=S.PENDING_PAYMENT).order_by("id"))
        if not pending:
            raise Conflict(
                _("Nothing in this checkout is waiting for payment."),
                extra={"checkout": checkout.number},
            )
        if checkout.expires_at <= now:
            raise Conflict(
                _(
                    "The goods were held until the time to pay ran out; "
                    "check out again."
                ),
                extra={"checkout": checkout.number},
            )
        amount = sum((o.total for o in pending), Decimal(0))
        payment = (
            checkout.payments.filter(
                channel=channel, status=PaymentStatus.CREATED, amount=amount
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if payment is not None:
            return payment, True
        payment = Payment(
            checkout=checkout,
            channel=channel,
            out_trade_no=_trade_no(now),
            amount=amount,
        )
        payment.full_clean()
        payment.save()
        audit_append(
            action="market.payment.create",
            actor=buyer,
            object_type="market.payment",
            object_id=payment.out_trade_no,
            data={
                "checkout": checkout.number,
                "channel": channel,
                "amount": str(amount),
            },
        )
    return payment, False


def _start(gateway: ModuleType, payment: Payment, checkout: Checkout) -> str:
    url: str = gateway.start(
        out_trade_no=payment.out_trade_no,
        amount=payment.amount,
        subject=f"扶贫商城订单 {checkout.number}",
        return_url=site_url() + reverse("market:pay_return", args=[checkout.number]),
        notify_url=site_url() + reverse(f"market:notify_{payment.channel}"),
        expires_at=checkout.expires_at,
    )
    return url


# ------------------------------------------------------------------------ notifications


def _canonical(name: str) -> str:
    name = str(name).replace("_", "-")
    if name.upper().startswith("HTTP-"):
        name = name[5:]
    return "-".join(part.capitalize() for part in name.split("-"))


def _headers(headers: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        canonical = _canonical(name)
        if canonical in KEPT_HEADERS or canonical.startswith("Wechatpay-"):
            out[canonical] = str(value)[:1024]
    return out


def _record(
    note: Notification, outcome: str, detail: str = ""
) -> tuple[str, str, list[Refund]]:
    Notification.objects.filter(pk=note.pk).update(
        outcome=outcome,
        detail=detail[:300],
        verified=note.verified,
        out_trade_no=note.out_trade_no[:64],
    )
    return outcome, detail, []


def notification_receive(
    channel: str, headers: dict[str, str], body: bytes, *, now: datetime | None = None
) -> tuple[int, bytes, str]:
    """Take one asynchronous notification; answer ``(status, body, content type)``."""
    gateway = GATEWAYS.get(channel)
    if gateway is None:
        raise ValidationFailed(
            _("No notifications come from %(channel)s.") % {"channel": repr(channel)}
        )
    now = now or timezone.now()
    kept = _headers(headers)
    note = Notification.objects.create(
        channel=channel,
        headers=kept,
        outcome="received",
        body=body[:MAX_BODY].decode("utf-8", errors="replace"),
    )
    refunds: list[Refund] = []
    try:
        outcome, _detail, refunds = _receive(channel, gateway, note, kept, body, now)
    except Exception as exc:  # the gateway must hear "retry", whatever went wrong
        logger.exception("payment notification %s could not be applied", note.pk)
        outcome = "error"
        _record(note, outcome, f"{type(exc).__name__}: {exc}")
    # Whatever was applied has committed by now: refunds may leave, the gateway may
    # hear back.
    _refunds_finish(refunds)
    status, reply, content_type = gateway.reply(outcome)
    return status, reply, content_type


def _receive(
    channel: str,
    gateway: ModuleType,
    note: Notification,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
) -> tuple[str, str, list[Refund]]:
    if len(body) > MAX_BODY:
        return _record(note, "malformed", "the body is larger than 64 KiB")
    try:
        event = gateway.parse_notification(headers, body)
    except BadSignature as exc:
        return _record(note, "bad_signature", str(exc))
    except Malformed as exc:
        return _record(note, "malformed", str(exc))
    note.verified = True
    note.out_trade_no = event.out_trade_no
    if event.sent_at is not None and abs(now - event.sent_at) > NOTIFICATION_MAX_AGE:
        return _record(
            note,
            "stale",
            f"signed at {event.sent_at.isoformat()}, received {now.isoformat()}",
        )
    if not event.merchant_ok:
        return _record(
            note, "wrong_merchant", f"not for our merchant account ({event.note})"
        )
    payment = Payment.objects.filter(
        channel=channel, out_trade_no=event.out_trade_no
    ).first()
    if payment is None:
        return _record(
            note, "unknown_order", f"no {channel} payment {event.out_trade_no!r}"
        )
    if event.kind == REFUND:
        return _record(note, "refund_notice", event.note)
    if event.kind == WAITING:
        return _record(note, "waiting", event.note)
    if event.kind == CLOSED:
        return _record(note, _payment_close(payment), event.note)
    if event.kind != PAID:
        return _record(note, "ignored", event.note)
    if event.amount_fen != fen(payment.amount):
        return _record(
            note,
            "wrong_amount",
            f"notified {event.amount_fen} fen, "
            f"the payment is {fen(payment.amount)} fen",
        )
    with transaction.atomic():
        applied = _apply_locked(
            payment,
            gateway_trade_no=event.gateway_trade_no,
            paid_at=event.paid_at,
            now=now,
        )
        _record(note, applied.outcome, applied.detail)
    return applied.outcome, applied.detail, applied.refunds


def _payment_close(payment: Payment) -> str:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.CREATED:
            return "closed_ignored"
        payment.status = PaymentStatus.CLOSED
        payment.save(update_fields=["status"])
    return "closed"


# -------------------------------------------------------------------------------- apply


def payment_apply(
    payment: Payment,
    *,
    gateway_trade_no: str = "",
    paid_at: datetime | None = None,
    now: datetime | None = None,
    actor: object | None = None,
) -> Applied:
    """Apply a payment the gateway (or a station operator) confirmed, at most once."""
    now = now or timezone.now()
    with transaction.atomic():
        applied = _apply_locked(
            payment,
            gateway_trade_no=gateway_trade_no,
            paid_at=paid_at,
            now=now,
            actor=actor,
        )
    _refunds_finish(applied.refunds)
    return applied


def _apply_locked(
    payment: Payment,
    *,
    gateway_trade_no: str,
    paid_at: datetime | None,
    now: datetime,
    actor: object | None = None,
) -> Applied:
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
        return Applied(
            "duplicate", payment, detail=f"applied before ({payment.status})"
        )
    payment.status = PaymentStatus.PAID
    payment.paid_at = paid_at or now
    if gateway_trade_no:
        payment.gateway_trade_no = gateway_trade_no[:64]
    payment.save(update_fields=["status", "paid_at", "gateway_trade_no"])
    orders = list(
        Order.objects.select_for_update()
        .filter(checkout_id=payment.checkout_id)
        .order_by("id")
    )
    cancelled_before = set(
        OrderTransition.objects.filter(
            order__in=orders, to_status=S.CANCELLED, at__lt=payment.created_at
        ).values_list("order_id", flat=True)
    )
    covered = [o for o in orders if o.pk not in cancelled_before]
    retaken = _retake_stock(
        [o for o in covered if o.status == S.EXPIRED and o.stock_released],
        timezone.localdate(now),
    )
    paid: list[Order] = []
    refunds: list[Refund] = []
    notes: list[str] = []
    for order in covered:
        event = ""
        if order.status == S.PENDING_PAYMENT:
            event = "pay"
        elif order.status == S.EXPIRED and (
            order.pk in retaken or not order.stock_released
        ):
            event = "pay_late"
        if event:
            order_transition(
                order,
                event,
                actor=None,
                locked=True,
                note=f"{payment.channel} {payment.out_trade_no}",
            )
            paid.append(order)
            notes.append(f"{order.number} {event}")
            continue
        why = {
            S.EXPIRED: "paid after the hold ran out and the stock is gone",
            S.CANCELLED: "paid after the order was cancelled",
        }.get(order.status, "paid twice")  # type: ignore[call-overload]
        refunds.append(_refund_open(order, payment, reason=why, now=now, actor=actor))
        notes.append(f"{order.number} refunded: {why}")
    payment_applied.send(sender=Payment, payment=payment, orders=paid)
    audit_append(
        action="market.payment.applied",
        actor=actor,
        object_type="market.payment",
        object_id=payment.out_trade_no,
        data={
            "channel": payment.channel,
            "amount": str(payment.amount),
            "paid": [o.number for o in paid],
            "refunds": [r.out_refund_no for r in refunds],
        },
    )
    return Applied("applied", payment, paid, refunds, "; ".join(notes))


def _retake_stock(orders: list[Order], today: date) -> set[int]:
    """Reserve expired orders' stock again, whole orders or nothing; their ids.

    Lots are locked by (product, lot), slots by (product, date), as a checkout does.
    """
    if not orders:
        return set()
    lines = list(
        OrderLine.objects.filter(order__in=orders)
        .select_related("slot")
        .order_by("order_id", "id")
    )
    products = sorted({line.product_id for line in lines if line.slot_id is None})
    lots = list(
        StockLot.objects.select_for_update()
        .filter(product_id__in=products, available__gt=0)
        .order_by("product_id", "id")
    )
    slot_ids = sorted({line.slot_id for line in lines if line.slot_id is not None})
    slots = list(
        ExperienceSlot.objects.select_for_update()
        .filter(pk__in=slot_ids)
        .order_by("product_id", "date")
    )
    fifo: dict[int, list[StockLot]] = defaultdict(list)
    for lot in sorted(lots, key=lambda lot: (lot.harvested_on, lot.pk)):
        if lot.harvested_on + timedelta(days=lot.shelf_life_days) >= today:
            fifo[lot.product_id].append(lot)
    left = {lot.pk: lot.available for lot in lots}
    places = {slot.pk: slot.capacity - slot.reserved for slot in slots}
    plans: dict[int, list[tuple[OrderLine, StockLot, Decimal]]] = {}
    for order in orders:
        try_left, try_places = dict(left), dict(places)
        plan: list[tuple[OrderLine, StockLot, Decimal]] = []
        ok = True
        for line in (line for line in lines if line.order_id == order.pk):
            if line.slot is not None:
                seats = int(line.quantity)
                if line.slot.date < today or try_places.get(line.slot.pk, 0) < seats:
                    ok = False
                    break
                try_places[line.slot.pk] -= seats
                continue
            need = line.quantity
            for lot in fifo[line.product_id]:
                take = min(try_left[lot.pk], need)
                if take > 0:
                    plan.append((line, lot, take))
                    try_left[lot.pk] -= take
                    need -= take
            if need > 0:
                ok = False
                break
        if ok:
            left, places = try_left, try_places
            plans[order.pk] = plan
    used: dict[int, Decimal] = defaultdict(Decimal)
    for plan in plans.values():
        for _line, lot, quantity in plan:
            used[lot.pk] += quantity
    for lot in lots:  # in the lock order
        if used.get(lot.pk):
            StockLot.objects.filter(pk=lot.pk).update(
                available=F("available") - used[lot.pk]
            )
    for slot in slots:
        taken = sum(
            int(line.quantity)
            for line in lines
            if line.order_id in plans and line.slot_id == slot.pk
        )
        if taken:
            ExperienceSlot.objects.filter(pk=slot.pk).update(
                reserved=F("reserved") + taken
            )
    if plans:
        Allocation.objects.filter(line__order_id__in=list(plans)).delete()
        Allocation.objects.bulk_create(
            Allocation(line=line, lot=lot, quantity=quantity)
            for plan in plans.values()
            for line, lot, quantity in plan
        )
        Order.objects.filter(pk__in=list(plans)).update(stock_released=False)
        for order in orders:
            if order.pk in plans:
                order.stock_released = False
    return set(plans)


# ------------------------------------------------------------------------------ refunds


def _refund_no(payment: Payment, order: Order) -> str:
    return f"R{payment.pk}-{order.pk}"


def _refund_open(
    order: Order, payment: Payment, *, reason: str, now: datetime, actor: object | None
) -> Refund:
    refund, _created = Refund.objects.get_or_create(
        out_refund_no=_refund_no(payment, order),
        defaults={
            "order": order,
            "payment": payment,
            "amount": order.total,
            "reason": reason[:300],
        },
    )
    if payment.channel in OFFLINE and refund.done_at is None:
        _refund_done(refund, now=now, actor=actor)  # the operator hands the money back
    return refund


def _refund_done(refund: Refund, *, now: datetime, actor: object | None) -> None:
    """Record a refund that went through (inside the caller's transaction)."""
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    order = Order.objects.select_for_update().get(pk=refund.order_id)
    refund.done_at = now
    refund.save(update_fields=["done_at"])
    if order.status == S.REFUND_REQUESTED:
        order_transition(order, "refund", actor=actor, locked=True, note=refund.reason)
    back = Refund.objects.filter(payment=payment, done_at__isnull=False).aggregate(
        total=Sum("amount")
    )["total"] or Decimal(0)
    if payment.status == PaymentStatus.PAID and back >= payment.amount:
        payment.status = PaymentStatus.REFUNDED
        payment.save(update_fields=["status"])
    # A second payment of an order that stays paid goes back, but the order's own
    # money (and its ledger entries) stay: ``refund_done`` means "this order's money
    # went back", so it is not sent for that one.
    duplicate = order.status not in (S.REFUNDED, S.EXPIRED, S.CANCELLED)
    if not duplicate:
        refund_done.send(sender=Refund, refund=refund)
    audit_append(
        action="market.refund.done",
        actor=actor,
        object_type="market.refund",
        object_id=refund.out_refund_no,
        data={
            "order": order.number,
            "payment": payment.out_trade_no,
            "channel": payment.channel,
            "amount": str(refund.amount),
            "reason": refund.reason,
            "duplicate_payment": duplicate,
        },
    )


def refund_finish(
    refund: Refund, *, actor: object | None = None, now: datetime | None = None
) -> Refund:
    """Send a pending refund through its channel, then record it (idempotent: the
    gateway refunds an ``out_refund_no`` once)."""
    refund = Refund.objects.select_related("payment").get(pk=refund.pk)
    if refund.done_at is not None:
        return refund
    gateway = GATEWAYS.get(refund.payment.channel)
    if gateway is not None:
        gateway.refund(
            out_trade_no=refund.payment.out_trade_no,
            out_refund_no=refund.out_refund_no,
            amount=refund.amount,
            total=refund.payment.amount,
            reason=refund.reason,
        )
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.done_at is None:
            _refund_done(refund, now=now or timezone.now(), actor=actor)
    return refund


def _refunds_finish(refunds: list[Refund]) -> None:
    for refund in refunds:
        if refund.done_at is not None:
            continue
        try:
            refund_finish(refund)
        except GatewayUnavailable:
            logger.warning("refund %s is pending", refund.out_refund_no, exc_info=True)


def _paying_payment(order: Order) -> Payment:
    pending = Refund.objects.filter(order=order, done_at__isnull=True).select_related(
        "payment"
    )
    for refund in pending:
        return refund.payment
    refunded_by = set(
        Refund.objects.filter(order=order).values_list("payment_id", flat=True)
    )
    for payment in Payment.objects.filter(
        checkout_id=order.checkout_id,
        status__in=(PaymentStatus.PAID, PaymentStatus.REFUNDED),
    ).order_by("paid_at", "id"):
        if payment.pk not in refunded_by:
            return payment
    raise Conflict(
        _("Order %(number)s has no payment to refund.") % {"number": order.number},
        extra={"order": order.number},
    )


def refund_create(
    actor: object, order: Order, reason: str, *, now: datetime | None = None
) -> Refund:
    """Refund an order whose buyer asked for it, back through the channel it was paid
    by (cash and bank: recorded, the operator pays it out)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Say why the order is refunded."), extra={"field": "reason"}
        )
    order = Order.objects.select_related("seller").get(pk=order.pk)
    if not parties(order, actor) & ALLOWED["refund"]:
        raise PermissionDenied(
            _("Only the seller or a county administrator may refund this order."),
            extra={"order": order.number},
        )
    if order.status != S.REFUND_REQUESTED:
        raise Conflict(
            _("An order that is %(status)s cannot be refunded: the buyer asks first.")
            % {"status": order.status},
            extra={"order": order.number, "status": order.status},
        )
    payment = _paying_payment(order)
    with transaction.atomic():
        Payment.objects.select_for_update().get(pk=payment.pk)
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != S.REFUND_REQUESTED:
            raise Conflict(
                _("An order that is %(status)s cannot be refunded.")
                % {"status": order.status},
                extra={"order": order.number, "status": order.status},
            )
        refund, _created = Refund.objects.get_or_create(
            out_refund_no=_refund_no(payment, order),
            defaults={
                "order": order,
                "payment": payment,
                "amount": order.total,
                "reason": reason[:300],
            },
        )
    return refund_finish(refund, actor=actor, now=now)


# ---------------------------------------------------------------------------- reconcile


def payment_sync(payment: Payment, *, now: datetime | None = None) -> str:
    """Ask the gateway what became of one open payment; apply it if it was paid."""
    now = now or timezone.now()
    gateway = GATEWAYS.get(payment.channel)
    if gateway is None or payment.status != PaymentStatus.CREATED:
        return "skipped"
    state = gateway.query(payment.out_trade_no)
    if state.state == PAID:
        if not state.merchant_ok:
            return "wrong_merchant"
        if state.amount_fen != fen(payment.amount):
            logger.error(
                "payment %s: the gateway says %s fen were paid, we expect %s",
                payment.out_trade_no,
                state.amount_fen,
                fen(payment.amount),
            )
            return "wrong_amount"
        return payment_apply(
            payment,
            gateway_trade_no=state.gateway_trade_no,
            paid_at=state.paid_at,
            now=now,
        ).outcome
    if state.state == CLOSED:
        return _payment_close(payment)
    return state.state  # "waiting" or "missing"


def payment_reconcile(
    *, now: datetime | None = None, older_than: timedelta | None = None
) -> dict[str, int]:
    """For online payments still CREATED after ``older_than`` (default
    ``PROPOOR_PAY_RECONCILE_MINUTES``, 10): query the gateway and apply those it says
    are paid. Pending refunds are sent again. Returns counts by outcome."""
    now = now or timezone.now()
    older_than = _reconcile_after() if older_than is None else older_than
    counts: dict[str, int] = defaultdict(int)
    due = Payment.objects.filter(
        status=PaymentStatus.CREATED,
        channel__in=list(GATEWAYS),
        created_at__lt=now - older_than,
        created_at__gte=now - RECONCILE_HORIZON,
    ).order_by("created_at", "id")
    for payment in due:
        try:
            outcome = payment_sync(payment, now=now)
        except GatewayUnavailable as exc:
            logger.warning("reconcile %s: %s", payment.out_trade_no, exc.message)
            outcome = "gateway_error"
        counts[outcome] += 1
    for refund in Refund.objects.filter(done_at__isnull=True).order_by("id"):
        try:
            refund_finish(refund, now=now)
            counts["refund_done"] += 1
        except GatewayUnavailable as exc:
            logger.warning(
                "refund %s still pending: %s", refund.out_refund_no, exc.message
            )
            counts["refund_pending"] += 1
    return dict(counts)


# ----------------------------------------------------------------------------- stations


def _station_covers(operator: object, checkout: Checkout) -> bool:
    if getattr(operator, "is_superuser", False):
        return True
    sellers = checkout.orders.values_list("seller_id", flat=True)
    if Seller.objects.filter(pk__in=sellers, operators=operator).exists():
        return True
    households = [checkout.on_behalf_of, getattr(checkout.buyer, "household", None)]
    scope = scope_of(operator)  # type: ignore[arg-type]
    return any(h is not None and scope.covers(h.village_id) for h in households)


def cash_record(
    operator: object,
    checkout: Checkout,
    channel: str = Channel.CASH,
    reference: str = "",
    *,
    now: datetime | None = None,
) -> Payment:
    """A station operator took cash (or saw a bank transfer) for a checkout."""
    if channel not in OFFLINE:
        raise ValidationFailed(
            _("A station records cash or bank, not %(channel)s.")
            % {"channel": repr(channel)},
            extra={"channel": channel},
        )
    require_role(operator, [Role.STATION_OPERATOR])  # type: ignore[arg-type]
    if not _station_covers(operator, checkout):
        raise PermissionDenied(
            _(
                "Only an operator of this checkout's sellers, or of the buyer's "
                "village, may record its payment."
            ),
            extra={"checkout": checkout.number},
        )
    now = now or timezone.now()
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.payments.filter(status=PaymentStatus.PAID).exists():
            raise Conflict(
                _("This checkout is paid already."),
                extra={"checkout": checkout.number},
            )
        due = list(checkout.orders.filter(status__in=(S.PENDING_PAYMENT, S.EXPIRED)))
        if not due:
            raise Conflict(
                _("Nothing in this checkout is waiting for payment."),
                extra={"checkout": checkout.number},
            )
        payment = Payment(
            checkout=checkout,
            channel=channel,
            out_trade_no=_trade_no(now),
            amount=sum((o.total for o in due), Decimal(0)),
            gateway_trade_no=reference.strip()[:64],
            recorded_by=operator,
        )
        payment.full_clean()
        payment.save()
        audit_append(
            action="market.payment.recorded",
            actor=operator,
            object_type="market.payment",
            object_id=payment.out_trade_no,
            data={
                "checkout": checkout.number,
                "channel": channel,
                "amount": str(payment.amount),
                "reference": payment.gateway_trade_no,
            },
        )
        applied = _apply_locked(
            payment, gateway_trade_no="", paid_at=now, now=now, actor=operator
        )
    return applied.payment
