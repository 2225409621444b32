"""Checkout: one order per seller, stock reserved for a limited time, never oversold.

How overselling is ruled out, on PostgreSQL:
- every row a checkout decrements is locked (``SELECT … FOR UPDATE``) before it is read,
  always in one global order — goods lots by (product id, lot id), then experience slots
  by (product id, date) — so two checkouts can wait for each other but never deadlock;
- the decrement is computed from the locked value, and the table's CHECK constraints
  (``available >= 0``, ``reserved <= capacity``) refuse anything that slipped through;
- the whole checkout is one transaction: a process killed half-way leaves nothing (the
  database rolls it back), and an order that is never paid is released by
  :func:`orders_expire` once its hold runs out.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, PermissionDenied, ValidationFailed
from propoor.core.money import to_money
from propoor.market.models import (
    Allocation,
    Checkout,
    ExperienceSlot,
    Order,
    OrderLine,
    OrderStatus,
    OrderTransition,
    Product,
    ProductKind,
    PublicBuyer,
    StockLot,
    Unit,
)

HOLD = timedelta(minutes=15)
WHOLE_UNITS = {Unit.PIECE, Unit.BOX, Unit.PERSON_DAY}
MAX_LINES = 50


@dataclass(frozen=True)
class LineIn:
    product_id: int
    quantity: Decimal
    date: date | None = None


def _number(prefix: str, now: datetime) -> str:
    return f"{prefix}{timezone.localtime(now):%Y%m%d}{secrets.randbelow(10**10):010d}"


def _quantity(raw: object, product: Product, index: int) -> Decimal:
    try:
        quantity = Decimal(str(raw))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(f"Line {index}: {raw!r} is not a quantity.") from exc
    if not quantity.is_finite() or quantity <= 0:
        raise ValidationFailed(f"Line {index}: the quantity must be more than 0.")
    if quantity != quantity.quantize(Decimal("0.001")):
        raise ValidationFailed(f"Line {index}: at most three decimals.")
    if product.unit in WHOLE_UNITS and quantity != quantity.to_integral_value():
        raise ValidationFailed(
            f"Line {index}: {product.title_zh} is sold by whole {product.unit}.",
            extra={"product": product.pk},
        )
    return quantity


def _check_lines(
    lines: list[LineIn], today: date
) -> list[tuple[Product, Decimal, date | None]]:
    if not lines:
        raise ValidationFailed("The cart is empty.")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(f"At most {MAX_LINES} lines per checkout.")
    products = {
        p.pk: p
        for p in Product.objects.select_related("seller").filter(
            pk__in=[line.product_id for line in lines]
        )
    }
    out: list[tuple[Product, Decimal, date | None]] = []
    seen: set[tuple[int, date | None]] = set()
    for index, line in enumerate(lines, 1):
        product = products.get(line.product_id)
        if product is None or not product.active or not product.seller.active:
            raise ValidationFailed(
                f"Line {index}: product {line.product_id} is not on sale.",
                extra={"product": line.product_id},
            )
        quantity = _quantity(line.quantity, product, index)
        if product.kind == ProductKind.EXPERIENCE:
            if line.date is None:
                raise ValidationFailed(
                    f"Line {index}: choose the date of the experience."
                )
            if line.date < today:
                raise ValidationFailed(f"Line {index}: {line.date} has passed.")
        elif line.date is not None:
            raise ValidationFailed(f"Line {index}: goods are not sold by date.")
        key = (product.pk, line.date)
        if key in seen:
            raise ValidationFailed(f"Line {index}: the same product appears twice.")
        seen.add(key)
        out.append((product, quantity, line.date))
    return out


def checkout_create(
    buyer: object,
    *,
    lines: list[LineIn],
    idempotency_key: str,
    contact_name: str,
    contact_phone: str,
    address: str = "",
    on_behalf_of: object | None = None,
    public_buyer: PublicBuyer | None = None,
    now: datetime | None = None,
    hold: timedelta = HOLD,
) -> tuple[Checkout, bool]:
    """Reserve and create the orders; the same key again returns the same checkout.

    ``public_buyer``: the buyer purchases for that organisation (they must be one of its
    users, for the current year); its orders count toward its quota and settle only
    after its acceptance.
    """
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 64:
        raise ValidationFailed("Send an idempotency key of 8 to 64 characters.")
    if not contact_name.strip() or not contact_phone.strip():
        raise ValidationFailed("Give a contact name and phone number.")
    existing = Checkout.objects.filter(buyer=buyer, idempotency_key=key).first()
    if existing is not None:
        return existing, False
    now = now or timezone.now()
    if public_buyer is not None and (
        public_buyer.year != timezone.localdate(now).year
        or not public_buyer.users.filter(pk=getattr(buyer, "pk", None)).exists()
    ):
        raise PermissionDenied(
            "You do not buy for this organisation this year.",
            extra={"public_buyer": public_buyer.pk},
        )
    checked = _check_lines(lines, timezone.localdate(now))
    try:
        with transaction.atomic():
            checkout = _reserve_and_create(
                buyer,
                checked,
                key,
                contact_name.strip(),
                contact_phone.strip(),
                address.strip(),
                on_behalf_of,
                now,
                hold,
                public_buyer=public_buyer,
            )
    except IntegrityError:
        # The same key raced in from a second request: that one won.
        existing = Checkout.objects.filter(buyer=buyer, idempotency_key=key).first()
        if existing is None:
            raise
        return existing, False
    return checkout, True


def _reserve_and_create(
    buyer: object,
    checked: list[tuple[Product, Decimal, date | None]],
    key: str,
    contact_name: str,
    contact_phone: str,
    address: str,
    on_behalf_of: object | None,
    now: datetime,
    hold: timedelta,
    public_buyer: PublicBuyer | None = None,
) -> Checkout:
    today = timezone.localdate(now)
    allocations: dict[int, list[tuple[StockLot, Decimal]]] = {}
    slots: dict[tuple[int, date], ExperienceSlot] = {}
    goods = sorted((c for c in checked if c[2] is None), key=lambda c: c[0].pk)
    experiences = sorted(
        (c for c in checked if c[2] is not None), key=lambda c: (c[0].pk, c[2])
    )
    for product, quantity, _ in goods:
        lots = list(
            StockLot.objects.select_for_update()
            .filter(product=product, available__gt=0)
            .order_by("id")
        )
        fresh = [
            lot
            for lot in lots
            if lot.harvested_on + timedelta(days=lot.shelf_life_days) >= today
        ]
        fresh.sort(key=lambda lot: (lot.harvested_on, lot.pk))  # first in, first out
        left = sum((lot.available for lot in fresh), Decimal(0))
        if left < quantity:
            raise Conflict(
                f"Only {left.normalize():f} {product.unit} of {product.title_zh} left.",
                extra={"product": product.pk, "available": str(left)},
            )
        taken: list[tuple[StockLot, Decimal]] = []
        need = quantity
        for lot in fresh:
            if need <= 0:
                break
            take = min(lot.available, need)
            taken.append((lot, take))
            need -= take
        allocations[product.pk] = taken
    for product, quantity, day in experiences:
        assert day is not None  # noqa: S101  (sorted into this list by having a date)
        try:
            with transaction.atomic():
                ExperienceSlot.objects.get_or_create(
                    product=product,
                    date=day,
                    defaults={"capacity": product.capacity_per_day},
                )
        except IntegrityError:
            pass  # created concurrently; lock it below
        slot = ExperienceSlot.objects.select_for_update().get(product=product, date=day)
        if slot.reserved + quantity > slot.capacity:
            raise Conflict(
                f"Only {slot.capacity - slot.reserved} places left on {day} for "
                f"{product.title_zh}.",
                extra={
                    "product": product.pk,
                    "date": str(day),
                    "available": slot.capacity - slot.reserved,
                },
            )
        slots[(product.pk, day)] = slot
    by_seller: dict[int, list[tuple[Product, Decimal, date | None]]] = defaultdict(list)
    for entry in checked:
        by_seller[entry[0].seller_id].append(entry)
    total = sum((to_money(p.price * q) for p, q, _ in checked), Decimal(0))
    checkout = Checkout.objects.create(
        number=_number("C", now),
        buyer=buyer,
        idempotency_key=key,
        total=total,
        expires_at=now + hold,
        contact_name=contact_name,
        contact_phone=contact_phone,
        address=address,
        on_behalf_of=on_behalf_of,
    )
    # Few statements: each round trip is paid while the stock rows are locked.
    sellers = sorted(by_seller)
    orders = Order.objects.bulk_create(
        Order(
            number=f"{checkout.number}-{n}",
            checkout=checkout,
            buyer=buyer,
            seller_id=seller_id,
            total=sum(
                (to_money(p.price * q) for p, q, _ in by_seller[seller_id]), Decimal(0)
            ),
            expires_at=checkout.expires_at,
            public_buyer=public_buyer,
        )
        for n, seller_id in enumerate(sellers, 1)
    )
    entries = [
        (order, product, quantity, day)
        for order, seller_id in zip(orders, sellers, strict=True)
        for product, quantity, day in by_seller[seller_id]
    ]
    lines = OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            quantity=quantity,
            unit_price=product.price,
            amount=to_money(product.price * quantity),
            slot=slots.get((product.pk, day)) if day else None,
        )
        for order, product, quantity, day in entries
    )
    Allocation.objects.bulk_create(
        Allocation(line=line, lot=lot, quantity=q)
        for line, (_o, product, _q, day) in zip(lines, entries, strict=True)
        if day is None
        for lot, q in allocations[product.pk]
    )
    OrderTransition.objects.bulk_create(
        OrderTransition(
            order=order,
            from_status="",
            to_status=OrderStatus.PENDING_PAYMENT,
            event="checkout",
            by=buyer if getattr(buyer, "pk", None) else None,
        )
        for order in orders
    )
    # Decrement in the lock order; the CHECK constraints back this up.
    for product, _q, _d in goods:
        for lot, q in sorted(allocations[product.pk], key=lambda a: a[0].pk):
            StockLot.objects.filter(pk=lot.pk).update(available=F("available") - q)
    for (_pid, _day), slot in sorted(slots.items()):
        quantity = next(q for p, q, d in experiences if (p.pk, d) == (_pid, _day))
        ExperienceSlot.objects.filter(pk=slot.pk).update(
            reserved=F("reserved") + int(quantity)
        )
    audit_append(
        action="market.checkout",
        actor=buyer,
        object_type="market.checkout",
        object_id=checkout.number,
        data={"orders": len(orders), "total": str(total)},
    )
    return checkout


def release_stock(order: Order) -> None:
    """Give an unpaid order's stock back (call with the order row locked)."""
    if order.stock_released:
        return
    allocations = list(
        Allocation.objects.filter(line__order=order)
        .select_related("lot")
        .order_by("lot__product_id", "lot_id")
    )
    for allocation in allocations:
        StockLot.objects.filter(pk=allocation.lot_id).update(
            available=F("available") + allocation.quantity
        )
    for line in order.lines.filter(slot__isnull=False).order_by(
        "product_id", "slot__date"
    ):
        ExperienceSlot.objects.filter(pk=line.slot_id).update(
            reserved=F("reserved") - int(line.quantity)
        )
    Order.objects.filter(pk=order.pk).update(stock_released=True)
    order.stock_released = True


def orders_expire(*, now: datetime | None = None, limit: int = 500) -> int:
    """Expire unpaid orders whose hold ran out and release their stock."""
    from propoor.market.services.orders import order_transition

    now = now or timezone.now()
    expired = 0
    with transaction.atomic():
        due = list(
            Order.objects.select_for_update(skip_locked=True)
            .filter(status=OrderStatus.PENDING_PAYMENT, expires_at__lt=now)
            .order_by("id")[:limit]
        )
        for order in due:
            order_transition(order, "expire", actor=None, locked=True)
            expired += 1
    return expired
