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

import json
import secrets
from collections import defaultdict
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.core.audit import audit_defer, audit_defer_sql, audit_seal_soon
from propoor.core.errors import (
    ApplicationError,
    Conflict,
    PermissionDenied,
    ValidationFailed,
)
from propoor.core.money import to_money
from propoor.core.rows import Columns
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
    Seller,
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


def _unit(product: Product) -> str:
    """The product's unit as a buyer reads it, in the active language."""
    return str(product.get_unit_display())


def _line_refused(
    index: int, problem: str, message: str, **extra: object
) -> ValidationFailed:
    """A line of the cart refused. ``extra`` names the line (from 1) and the problem
    (``not_on_sale``, ``whole_units``, ``date_passed`` …), so that a page can say it
    its own way whatever the language of the message."""
    return ValidationFailed(message, extra={"line": index, "problem": problem, **extra})


def _quantity(raw: object, product: Product, index: int) -> Decimal:
    try:
        quantity = Decimal(str(raw))
    except (InvalidOperation, ValueError) as exc:
        raise _line_refused(
            index,
            "not_a_quantity",
            _("Line %(line)s: %(value)s is not a quantity.")
            % {"line": index, "value": repr(raw)},
        ) from exc
    if not quantity.is_finite() or quantity <= 0:
        raise _line_refused(
            index,
            "not_positive",
            _("Line %(line)s: the quantity must be more than 0.") % {"line": index},
        )
    if quantity != quantity.quantize(Decimal("0.001")):
        raise _line_refused(
            index,
            "decimals",
            _("Line %(line)s: at most three decimals.") % {"line": index},
        )
    if product.unit in WHOLE_UNITS and quantity != quantity.to_integral_value():
        raise _line_refused(
            index,
            "whole_units",
            _("Line %(line)s: %(product)s is sold by whole %(unit)s.")
            % {"line": index, "product": product.title_zh, "unit": _unit(product)},
            product=product.pk,
        )
    return quantity.quantize(Decimal("0.001"))  # as stored


def _products_for_sale(ids: list[int]) -> dict[int, Product]:
    """The products by id, each with its seller, in one plain query: a checkout
    reads a few columns of a few products, which costs less than building the ORM
    query that would select them (the other columns load if asked for)."""
    sql = (
        f"SELECT {_PRODUCT_READ.sql('p')}, {_SELLER_READ.sql('s')}"  # noqa: S608
        f" FROM {Product._meta.db_table} p"
        f" JOIN {Seller._meta.db_table} s ON s.id = p.seller_id"
        f" WHERE p.id IN ({', '.join(['%s'] * len(ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
    width = len(_PRODUCT_READ)
    products: dict[int, Product] = {}
    for row in rows:
        product = _PRODUCT_READ.load(row[:width])
        Product.seller.field.set_cached_value(product, _SELLER_READ.load(row[width:]))
        products[product.pk] = product
    return products


# What a checkout reads of a product and its seller.
_PRODUCT_READ = Columns(
    Product,
    (
        "id",
        "seller_id",
        "kind",
        "title_zh",
        "title_en",
        "unit",
        "price",
        "capacity_per_day",
        "active",
    ),
)
_SELLER_READ = Columns(Seller, ("id", "name", "kind", "active"))


def _check_lines(
    lines: list[LineIn], today: date
) -> list[tuple[Product, Decimal, date | None]]:
    if not lines:
        raise ValidationFailed(_("The cart is empty."), extra={"problem": "empty_cart"})
    if len(lines) > MAX_LINES:
        raise ValidationFailed(
            _("At most %(lines)s lines per checkout.") % {"lines": MAX_LINES}
        )
    products = _products_for_sale([line.product_id for line in lines])
    out: list[tuple[Product, Decimal, date | None]] = []
    seen: set[tuple[int, date | None]] = set()
    for index, line in enumerate(lines, 1):
        product = products.get(line.product_id)
        if product is None or not product.active or not product.seller.active:
            raise _line_refused(
                index,
                "not_on_sale",
                _("Line %(line)s: product %(product)s is not on sale.")
                % {"line": index, "product": line.product_id},
                product=line.product_id,
            )
        quantity = _quantity(line.quantity, product, index)
        if product.kind == ProductKind.EXPERIENCE:
            if line.date is None:
                raise _line_refused(
                    index,
                    "no_date",
                    _("Line %(line)s: choose the date of the experience.")
                    % {"line": index},
                )
            if line.date < today:
                raise _line_refused(
                    index,
                    "date_passed",
                    _("Line %(line)s: %(date)s has passed.")
                    % {"line": index, "date": line.date},
                )
        elif line.date is not None:
            raise _line_refused(
                index,
                "not_by_date",
                _("Line %(line)s: goods are not sold by date.") % {"line": index},
            )
        key = (product.pk, line.date)
        if key in seen:
            raise _line_refused(
                index,
                "twice",
                _("Line %(line)s: the same product appears twice.") % {"line": index},
            )
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

    A checkout made by this call comes with its orders, their lines and the lines'
    allocations loaded (``checkout.orders.all()`` …); one found by its key does not.

    ``public_buyer``: the buyer purchases for that organisation (they must be one of its
    users, for the current year); its orders count toward its quota and settle only
    after its acceptance.
    """
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 64:
        raise ValidationFailed(_("Send an idempotency key of 8 to 64 characters."))
    if not contact_name.strip() or not contact_phone.strip():
        raise ValidationFailed(_("Give a contact name and phone number."))
    now = now or timezone.now()
    try:
        if public_buyer is not None and (
            public_buyer.year != timezone.localdate(now).year
            or not public_buyer.users.filter(pk=getattr(buyer, "pk", None)).exists()
        ):
            raise PermissionDenied(
                _("You do not buy for this organisation this year."),
                extra={"public_buyer": public_buyer.pk},
            )
        checked = _check_lines(lines, timezone.localdate(now))
    except ApplicationError:
        # a request repeated after its cart stopped being valid still gets its answer
        existing = _existing(buyer, key)
        if existing is None:
            raise
        return existing, False
    try:
        with _transaction_for(checked):
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
        checkout = None  # the key is taken: by this request's first try, or a race
    if checkout is None:
        existing = _existing(buyer, key)
        if existing is None:
            raise Conflict(_("The checkout could not be recorded; send it again."))
        return existing, False
    return checkout, True


def _transaction_for(
    checked: list[tuple[Product, Decimal, date | None]],
) -> AbstractContextManager[object]:
    """The checkout's transaction. On PostgreSQL, a cart of goods checked out outside
    any transaction is written by one statement, which is a transaction of its own
    (autocommit): no BEGIN and COMMIT round trips, and the lots it locks are let go
    the moment the statement ends, not a round trip later. Anything else (a cart with
    experiences, whose slots are locked by further statements; SQLite; a caller's
    transaction) runs in ``transaction.atomic()``."""
    if (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and all(day is None for _p, _q, day in checked)
    ):
        return nullcontext()
    return transaction.atomic()


def _existing(buyer: object, key: str) -> Checkout | None:
    return Checkout.objects.filter(buyer=buyer, idempotency_key=key).first()


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
) -> Checkout | None:
    """Write the checkout and reserve its stock; the contended rows are locked last.

    Everything that locks nothing another checkout waits for (the checkout, its
    orders, lines and transitions, the pending audit entry) is written first, then
    the goods lots are locked, allocated and decremented, then the experience slots;
    the caller commits at once. On PostgreSQL all but the slots is one statement, so
    a lot stays locked for that statement and the commit only. A shortage raises
    :class:`Conflict` and the caller's transaction rolls everything back. A key used
    before: ``None`` on PostgreSQL (nothing written), ``IntegrityError`` elsewhere.
    """
    today = timezone.localdate(now)
    slots = {
        (product.pk, day): _slot_for(product, day)
        for product, _q, day in checked
        if day is not None
    }
    by_seller: dict[int, list[tuple[Product, Decimal, date | None]]] = defaultdict(list)
    for entry in checked:
        by_seller[entry[0].seller_id].append(entry)
    checkout = Checkout(
        number=_number("C", now),
        buyer=buyer,
        idempotency_key=key,
        total=sum((to_money(p.price * q) for p, q, _d in checked), Decimal(0)),
        created_at=now,
        expires_at=now + hold,
        contact_name=contact_name,
        contact_phone=contact_phone,
        address=address,
        on_behalf_of=on_behalf_of,
    )
    orders = [
        Order(
            number=f"{checkout.number}-{n}",
            checkout=checkout,
            buyer=buyer,
            seller=by_seller[seller_id][0][0].seller,
            total=sum(
                (to_money(p.price * q) for p, q, _d in by_seller[seller_id]), Decimal(0)
            ),
            created_at=now,
            expires_at=checkout.expires_at,
            public_buyer=public_buyer,
        )
        for n, seller_id in enumerate(sorted(by_seller), 1)
    ]
    lines = [
        OrderLine(
            order=order,
            product=product,
            quantity=quantity,
            unit_price=product.price,
            amount=to_money(product.price * quantity),
            slot=slots[(product.pk, day)] if day else None,
        )
        for order in orders
        for product, quantity, day in by_seller[order.seller_id]
    ]
    audit = {
        "action": "market.checkout",
        "actor": buyer,
        "object_type": "market.checkout",
        "object_id": checkout.number,
        "data": {"orders": len(orders), "total": str(checkout.total)},
    }
    if connection.vendor == "postgresql":
        made = _create_and_take_postgresql(checkout, orders, lines, audit, today)
        if made is None:
            return None  # the key was used before: nothing was written
        taken = made
    else:
        _create(checkout, orders, lines, audit)
        goods = [line for line in lines if line.slot_id is None]
        taken = _take_lots(goods, today) if goods else {}
    # slots after lots, by (product, date): the one global lock order
    for line in sorted(
        (line for line in lines if line.slot_id is not None),
        key=lambda line: (line.product_id, line.slot.date),
    ):
        _take_places(line)
    # The checkout answers with what it made, without reading it back.
    for order in orders:
        _prefetched(order, "lines", [line for line in lines if line.order is order])
    for line in lines:
        _prefetched(line, "allocations", taken.get(line.pk, []))
    _prefetched(checkout, "orders", orders)
    return checkout


def _transition(order: Order) -> OrderTransition:
    return OrderTransition(
        order=order,
        from_status="",
        to_status=OrderStatus.PENDING_PAYMENT,
        event="checkout",
        by_id=order.buyer_id,
    )


def _create(
    checkout: Checkout,
    orders: list[Order],
    lines: list[OrderLine],
    audit: dict[str, Any],
) -> None:
    """Save the checkout, orders, lines, transitions and audit entry (the ORM way)."""
    checkout.save(force_insert=True)
    Order.objects.bulk_create(orders)  # each takes its checkout's id, now known
    OrderLine.objects.bulk_create(lines)
    OrderTransition.objects.bulk_create(_transition(order) for order in orders)
    audit_defer(**audit)


# The whole checkout in one statement on PostgreSQL: the checkout, its orders, lines,
# transitions and pending audit entry are inserted; then the fresh lots of the goods
# lines are locked in (product, lot) order, each line takes its lots first in, first
# out, and — only if every product has enough — the lots are decremented and the
# allocations recorded. Concurrent checkouts wait at the lock, then see the committed
# ``available`` (PostgreSQL re-reads a row it waited for); the CHECK constraints back
# it up. A product short of stock makes the statement fail (``market_checkout_short``,
# migration 0004, with the shortages as the error's detail), so that nothing it wrote
# survives even when it is its own transaction. Answers one row: the ids made, a
# NULL where the shortages would have been, the allocations.
_CHECKOUT_SQL = """
WITH made_checkout AS (
    INSERT INTO market_checkout (number, buyer_id, idempotency_key, total,
        created_at, expires_at, contact_name, contact_phone, address, on_behalf_of_id)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (buyer_id, idempotency_key) DO NOTHING
    RETURNING id
),
made_orders AS (
    INSERT INTO market_order (number, checkout_id, buyer_id, seller_id, status,
        total, created_at, expires_at, stock_released, public_buyer_id)
    SELECT v.number, c.id, %s::bigint, v.seller_id, %s::varchar, v.total,
        %s::timestamptz, %s::timestamptz, false, %s::bigint
    FROM made_checkout c,
        (VALUES {orders}) AS v (number, seller_id, total)
    RETURNING id, number
),
made_lines AS (
    INSERT INTO market_orderline (order_id, product_id, quantity, unit_price, amount,
        slot_id)
    SELECT o.id, v.product_id, v.quantity, v.unit_price, v.amount, v.slot_id
    FROM made_orders o
    JOIN (VALUES {lines}) AS v (number, product_id, quantity, unit_price, amount,
        slot_id) ON v.number = o.number
    RETURNING id, order_id, product_id, quantity, slot_id
),
made_transitions AS (
    INSERT INTO market_ordertransition (order_id, from_status, to_status, event,
        by_id, at, note)
    SELECT o.id, '', %s::varchar, 'checkout', %s::bigint, %s::timestamptz, ''
    FROM made_orders o
),
made_audit AS ({audit} FROM made_checkout),
wanted AS (
    SELECT id AS line_id, product_id, quantity AS need
    FROM made_lines WHERE slot_id IS NULL
),
locked AS (
    SELECT l.id, l.product_id, l.code, l.available, l.harvested_on
    FROM market_stocklot l
    WHERE l.product_id IN (SELECT product_id FROM wanted)
      AND l.available > 0
      AND l.harvested_on + l.shelf_life_days >= %s::date
    ORDER BY l.product_id, l.id
    FOR UPDATE
),
ranked AS (
    SELECT k.id, k.code, k.harvested_on, k.available, w.line_id, w.need,
           sum(k.available) OVER (
               PARTITION BY k.product_id ORDER BY k.harvested_on, k.id
           ) - k.available AS before
    FROM locked k JOIN wanted w ON w.product_id = k.product_id
),
totals AS (
    SELECT w.product_id, w.line_id, w.need, coalesce(sum(k.available), 0) AS remaining
    FROM wanted w LEFT JOIN locked k ON k.product_id = w.product_id
    GROUP BY w.product_id, w.line_id, w.need
),
enough AS (SELECT coalesce(bool_and(remaining >= need), true) AS ok FROM totals),
taken AS (
    SELECT r.id, r.code, r.harvested_on, r.line_id,
           least(r.available, r.need - r.before) AS quantity
    FROM ranked r, enough
    WHERE enough.ok AND r.before < r.need
),
decremented AS (
    UPDATE market_stocklot s SET available = s.available - t.quantity
    FROM taken t WHERE s.id = t.id
    RETURNING s.id
),
recorded AS (
    INSERT INTO market_allocation (line_id, lot_id, quantity)
    SELECT line_id, id, quantity FROM taken
    RETURNING id, line_id, lot_id
)
SELECT
    (SELECT id FROM made_checkout),
    (SELECT json_agg(json_build_array(number, id)) FROM made_orders),
    (SELECT json_agg(json_build_array(order_id, product_id, slot_id, id))
     FROM made_lines),
    (SELECT market_checkout_short(
         json_agg(json_build_array(product_id, remaining::text) ORDER BY product_id))
     FROM totals WHERE remaining < need HAVING count(*) > 0),
    (SELECT json_agg(json_build_array(r.line_id, r.lot_id, t.code, t.harvested_on,
         t.quantity::text, r.id) ORDER BY r.line_id, t.harvested_on, r.lot_id)
     FROM recorded r JOIN taken t ON t.id = r.lot_id AND t.line_id = r.line_id)
"""


def _create_and_take_postgresql(
    checkout: Checkout,
    orders: list[Order],
    lines: list[OrderLine],
    audit: dict[str, Any],
    today: date,
) -> dict[int, list[Allocation]] | None:
    """Run :data:`_CHECKOUT_SQL`; give the objects their ids; the allocations by line
    id, or :class:`Conflict` naming the first product short of stock; ``None`` when
    the buyer's key was used before."""
    audit_sql, audit_params = audit_defer_sql(**audit)
    order_values = ", ".join(["(%s, %s::bigint, %s::numeric)"] * len(orders))
    line_values = ", ".join(
        ["(%s, %s::bigint, %s::numeric, %s::numeric, %s::numeric, %s::bigint)"]
        * len(lines)
    )
    sql = _CHECKOUT_SQL.format(orders=order_values, lines=line_values, audit=audit_sql)
    buyer_id = checkout.buyer_id
    params: list[object] = [
        checkout.number,
        buyer_id,
        checkout.idempotency_key,
        checkout.total,
        checkout.created_at,
        checkout.expires_at,
        checkout.contact_name,
        checkout.contact_phone,
        checkout.address,
        checkout.on_behalf_of_id,
        buyer_id,
        OrderStatus.PENDING_PAYMENT.value,
        checkout.created_at,
        checkout.expires_at,
        orders[0].public_buyer_id,
        *(x for o in orders for x in (o.number, o.seller_id, o.total)),
        *(
            x
            for line in lines
            for x in (
                line.order.number,
                line.product_id,
                line.quantity,
                line.unit_price,
                line.amount,
                line.slot_id,
            )
        ),
        OrderStatus.PENDING_PAYMENT.value,
        buyer_id,
        checkout.created_at,
        *audit_params,
        today,
    ]
    # Bound and prepared by the server: the statement is planned once per connection
    # and shape of cart, not at every checkout.
    connection.ensure_connection()
    with (
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
    ):
        try:
            cursor.execute(sql, params, prepare=True)
        except psycopg.errors.RaiseException as exc:
            if exc.diag.message_primary != "market_checkout_short":
                raise
            product_id, remaining = json.loads(exc.diag.message_detail or "")[0]
            product = next(li.product for li in lines if li.product_id == product_id)
            raise _shortage(product, Decimal(remaining)) from None
        row = cursor.fetchone()
    assert row is not None  # noqa: S101  (a SELECT of subqueries answers one row)
    checkout_id, order_ids, line_ids, _short, taken_rows = row
    if checkout_id is None:
        return None
    audit_seal_soon()  # after the commit: now, if the statement was the transaction
    checkout.id = checkout_id
    checkout._state.adding = False
    numbered = dict(order_ids)
    for order in orders:
        order.id = numbered[order.number]
        order.checkout = checkout  # through the descriptor: id and object kept
        order._state.adding = False
    keyed = {(o, p, s): pk for o, p, s, pk in line_ids}
    for line in lines:
        line.order = line.order  # the order's id, object kept
        line.id = keyed[(line.order_id, line.product_id, line.slot_id)]
        line._state.adding = False
    by_id = {line.pk: line for line in lines}
    taken: dict[int, list[Allocation]] = {}
    for line_id, lot_id, code, harvested_on, quantity, allocation_id in (
        taken_rows or []
    ):
        line = by_id[line_id]
        lot = StockLot(
            id=lot_id,
            code=code,
            harvested_on=date.fromisoformat(harvested_on),
            product_id=line.product_id,
        )
        allocation = Allocation(
            id=allocation_id, line=line, lot=lot, quantity=Decimal(quantity)
        )
        allocation._state.adding = False
        taken.setdefault(line_id, []).append(allocation)
    return taken


def _prefetched(obj: object, name: str, items: list[Any]) -> None:
    """Give ``obj.<name>.all()`` these items, as ``prefetch_related`` does (a queryset
    holding its results; anything else asked of the manager still queries)."""
    queryset = getattr(obj, name).get_queryset()
    queryset._result_cache = items
    queryset._prefetch_done = True
    obj.__dict__.setdefault("_prefetched_objects_cache", {})[name] = queryset


def _slot_for(product: Product, day: date) -> ExperienceSlot:
    """The product's slot of that day, made on first use (not locked here)."""
    try:
        with transaction.atomic():
            slot, _made = ExperienceSlot.objects.get_or_create(
                product=product,
                date=day,
                defaults={"capacity": product.capacity_per_day},
            )
    except IntegrityError:  # made concurrently
        slot = ExperienceSlot.objects.get(product=product, date=day)
    return slot


def _take_places(line: OrderLine) -> None:
    """Lock the line's slot and reserve its places, or raise :class:`Conflict`."""
    slot = ExperienceSlot.objects.select_for_update().get(pk=line.slot_id)
    places = int(line.quantity)
    if slot.reserved + places > slot.capacity:
        raise Conflict(
            _("Only %(left)s places left on %(date)s for %(product)s.")
            % {
                "left": slot.capacity - slot.reserved,
                "date": slot.date,
                "product": line.product.title_zh,
            },
            extra={
                "product": line.product_id,
                "date": str(slot.date),
                "available": slot.capacity - slot.reserved,
            },
        )
    ExperienceSlot.objects.filter(pk=slot.pk).update(reserved=F("reserved") + places)
    line.slot = slot


def _shortage(product: Product, left: Decimal) -> Conflict:
    return Conflict(
        _("Only %(left)s %(unit)s of %(product)s left.")
        % {
            "left": f"{left.normalize():f}",
            "unit": _unit(product),
            "product": product.title_zh,
        },
        extra={"product": product.pk, "available": str(left)},
    )


def _take_lots(lines: list[OrderLine], today: date) -> dict[int, list[Allocation]]:
    """Allocate each goods line from its product's fresh lots, first in first out
    (the ORM way; :data:`_CHECKOUT_SQL` does the same on PostgreSQL).

    Returns the allocations by line id, or raises :class:`Conflict` naming the first
    product short of stock.
    """
    taken: dict[int, list[Allocation]] = {}
    for line in sorted(lines, key=lambda line: line.product_id):
        lots = list(
            StockLot.objects.select_for_update()
            .filter(product_id=line.product_id, available__gt=0)
            .order_by("id")
        )
        fresh = [
            lot
            for lot in lots
            if lot.harvested_on + timedelta(days=lot.shelf_life_days) >= today
        ]
        fresh.sort(key=lambda lot: (lot.harvested_on, lot.pk))  # first in, first out
        left = sum((lot.available for lot in fresh), Decimal(0))
        if left < line.quantity:
            raise _shortage(line.product, left)
        need = line.quantity
        for lot in fresh:
            if need <= 0:
                break
            take = min(lot.available, need)
            taken.setdefault(line.pk, []).append(
                Allocation(line=line, lot=lot, quantity=take)
            )
            need -= take
    allocations = [a for line_taken in taken.values() for a in line_taken]
    Allocation.objects.bulk_create(allocations)
    for allocation in sorted(allocations, key=lambda a: a.lot.pk):
        StockLot.objects.filter(pk=allocation.lot.pk).update(
            available=F("available") - allocation.quantity
        )
    return taken


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
