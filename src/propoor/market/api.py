"""JSON endpoints of the market, mounted at /api/v1/market/.

- public: ``categories``, ``products`` (search ``q``, ``category``, ``village``,
  ``certified``, ``limit``/``offset``), ``products/{id}`` (lots with their harvest
  dates and GS1 Digital Links, places per day for experiences);
- buyers: ``POST checkout`` (an ``Idempotency-Key`` header or ``idempotency_key`` in
  the body: 201 with the new checkout and its orders, 200 with the same checkout when
  the key comes again, 409 naming what is short, 422 for bad input),
  ``checkouts/{number}``, ``orders`` (mine), ``orders/{number}``;
- ``POST orders/{number}/events/{event}``: the order state machine (409 with the
  events the order allows when the move is illegal, 403 when it is not yours to make);
- sellers' operators: ``sellers/mine``, ``sellers/{id}/products`` (list, create),
  ``sellers/{id}/orders``, ``POST products/{id}/lots``.

Each endpoint parses, finds the object for this user (404 when it is not theirs to
see), calls one service and shapes the answer. Payments and their notifications are
not JSON API: see ``market/payments``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Prefetch, Q, Window
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel

from propoor.accounts.models import Role
from propoor.accounts.roles import has_role, require_role
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division, Level
from propoor.core.errors import NotFound, ValidationFailed
from propoor.households.models import Household
from propoor.market import search, selectors, services
from propoor.market.models import (
    Allocation,
    Category,
    Checkout,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProductKind,
    Seller,
    StockLot,
)
from propoor.market.services.orders import ALLOWED, TRANSITIONS, parties

if TYPE_CHECKING:
    from propoor.accounts.models import User

router = Router(tags=["market"])

EVENTS = tuple(sorted(ALLOWED))
OVERSEERS = (Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER)
Date = date  # for fields named "date"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # set by the API's auth


# ----------------------------------------------------------------------------- schemas


class ProductFilters(Schema):
    q: str = Field("", max_length=200)
    category: str = ""
    village: str = ""
    certified: bool | None = None
    limit: int = Field(20, ge=1, le=search.MAX_LIMIT)
    offset: int = Field(0, ge=0, le=100_000)


class OrderFilters(Schema):
    status: str = ""
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)


class CategoryOut(Schema):
    code: str
    kind: str
    name: str
    name_zh: str
    name_en: str


# The order and checkout answers (and the seller they name) are built as dicts by
# ``_order_out``/``_checkout_out``; plain pydantic models validate those directly,
# without the attribute-by-attribute path ninja's Schema takes to read ORM objects.
class SellerRef(BaseModel):
    id: int
    name: str
    kind: str


class PlaceRef(Schema):
    code: str
    name: str


class ProductRow(Schema):
    id: int
    title: str
    title_zh: str
    title_en: str
    kind: str
    category: str
    unit: str
    price: Decimal
    seller: SellerRef
    origin: PlaceRef
    certified: bool
    available: Decimal | None  # goods: left in lots still within their shelf life
    capacity_per_day: int
    active: bool


class ProductPageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[ProductRow]


class LotOut(Schema):
    code: str
    harvested_on: date
    best_before: date
    quantity: Decimal
    available: Decimal
    digital_link: str | None


class DayOut(Schema):
    date: Date
    left: int


class MechanismOut(Schema):
    mechanism: str
    households: int


class ProductDetail(ProductRow):
    description: str
    description_zh: str
    description_en: str
    specs: dict[str, Any]
    gtin: str
    certified_until: date | None
    households_benefited: int
    benefits: list[MechanismOut]
    lots: list[LotOut]
    days: list[DayOut]


class LineIn(Schema):
    product: int
    quantity: Decimal
    date: Date | None = None


class CheckoutIn(Schema):
    lines: list[LineIn] = Field(..., max_length=200)
    contact_name: str = Field(..., max_length=60)
    contact_phone: str = Field(..., max_length=20)
    address: str = Field("", max_length=300)
    idempotency_key: str | None = Field(None, max_length=64)
    on_behalf_of: int | None = None


class LotTaken(BaseModel):
    code: str
    quantity: Decimal


class OrderLineOut(BaseModel):
    product: int
    title: str
    kind: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    date: Date | None
    lots: list[LotTaken]


class OrderOut(BaseModel):
    number: str
    checkout: str
    status: str
    seller: SellerRef
    total: Decimal
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    lines: list[OrderLineOut]
    events: list[str]  # what the requester may do to it now


class OrderPageOut(BaseModel):
    count: int
    limit: int
    offset: int
    items: list[OrderOut]


class CheckoutOut(BaseModel):
    number: str
    total: Decimal
    created_at: datetime
    expires_at: datetime
    contact_name: str
    contact_phone: str
    address: str
    on_behalf_of: int | None
    orders: list[OrderOut]


class EventIn(Schema):
    note: str = Field("", max_length=300)


class SellerOut(Schema):
    id: int
    name: str
    kind: str
    village: PlaceRef
    active: bool
    products: int


class ProductIn(Schema):
    category: str = Field(..., max_length=40)
    title_zh: str = Field(..., max_length=120)
    title_en: str = Field("", max_length=120)
    description_zh: str = Field("", max_length=5000)
    description_en: str = Field("", max_length=5000)
    unit: str = Field(..., max_length=12)
    price: Decimal
    origin: str | None = Field(None, pattern=r"^\d{12}$")
    specs: dict[str, str] = Field(default_factory=dict)
    gtin: str = Field("", max_length=14)
    capacity_per_day: int = Field(0, ge=0, le=100_000)


class LotIn(Schema):
    code: str = Field(..., max_length=20)
    harvested_on: date
    quantity: Decimal
    shelf_life_days: int = Field(..., ge=1, le=3650)
    origin: str | None = Field(None, pattern=r"^\d{12}$")


# ----------------------------------------------------------------------------- shaping


def _seller_ref(seller: Seller) -> dict[str, Any]:
    return dict(id=seller.pk, name=seller.name, kind=seller.kind)


def _fresh_available(product_ids: list[int], today: date) -> dict[int, Decimal]:
    left: dict[int, Decimal] = defaultdict(lambda: Decimal("0.000"))
    for product_id, harvested_on, shelf_life, available in StockLot.objects.filter(
        product_id__in=product_ids, available__gt=0
    ).values_list("product_id", "harvested_on", "shelf_life_days", "available"):
        if harvested_on + timedelta(days=shelf_life) >= today:
            left[product_id] += available
    return left


def _rows(products: list[Product]) -> list[dict[str, Any]]:
    today = timezone.localdate()
    ids = [p.pk for p in products]
    certified = selectors.certified_until(ids, today)
    left = _fresh_available(ids, today)
    return [_row(p, p.pk in certified, left) for p in products]


def _row(product: Product, certified: bool, left: dict[int, Decimal]) -> dict[str, Any]:
    goods = product.kind == ProductKind.GOODS
    return dict(
        id=product.pk,
        title=product.t("title"),
        title_zh=product.title_zh,
        title_en=product.title_en,
        kind=product.kind,
        category=product.category.code,
        unit=product.unit,
        price=product.price,
        seller=_seller_ref(product.seller),
        origin=dict(code=product.origin.code, name=product.origin.name),
        certified=certified,
        available=left[product.pk] if goods else None,
        capacity_per_day=product.capacity_per_day,
        active=product.active and product.seller.active,
    )


def _digital_link(lot: StockLot) -> str | None:
    try:
        from propoor.market.services.traceability import lot_digital_link
    except ImportError:  # pragma: no cover  (traceability ships with the market)
        return None
    return lot_digital_link(lot)


def _detail(product: Product) -> dict[str, Any]:
    today = timezone.localdate()
    certified = selectors.certified_until([product.pk], today)
    left = _fresh_available([product.pk], today)
    lots: list[dict[str, Any]] = []
    days: list[dict[str, Any]] = []
    if product.kind == ProductKind.GOODS:
        for lot in StockLot.objects.filter(product=product, available__gt=0).order_by(
            "harvested_on", "id"
        ):
            best_before = lot.harvested_on + timedelta(days=lot.shelf_life_days)
            if best_before < today:
                continue
            lot.product = product
            lots.append(
                dict(
                    code=lot.code,
                    harvested_on=lot.harvested_on,
                    best_before=best_before,
                    quantity=lot.quantity,
                    available=lot.available,
                    digital_link=_digital_link(lot),
                )
            )
    else:
        days = [
            dict(date=d.day, left=d.left)
            for d in selectors.experience_days(product, today)
        ]
    benefit = selectors.benefit_summary(product.seller)
    row = _row(product, product.pk in certified, left)
    return dict(
        **row,
        description=product.t("description"),
        description_zh=product.description_zh,
        description_en=product.description_en,
        specs=product.specs or {},
        gtin=product.gtin,
        certified_until=certified.get(product.pk),
        households_benefited=benefit.households,
        benefits=[
            dict(mechanism=m, households=n) for m, _label, n in benefit.by_mechanism
        ],
        lots=lots,
        days=days,
    )


def _orders_loaded(orders: Any) -> list[Order]:
    return list(
        orders.select_related("seller", "checkout").prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.select_related(
                    "product", "slot"
                ).prefetch_related(
                    Prefetch(
                        "allocations",
                        queryset=Allocation.objects.select_related("lot").order_by(
                            "lot__harvested_on", "lot_id"
                        ),
                    )
                ),
            )
        )
    )


class _Events:
    """What the user may do to each order now. Whether the user operates the seller
    is asked only when it could add an event (not for an order awaiting payment, say),
    and then once per seller and buyer pair, not once per order."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.known: dict[tuple[int, int], set[str]] = {}

    def __call__(self, order: Order) -> list[str]:
        possible = [event for event in EVENTS if (order.status, event) in TRANSITIONS]
        key = (order.seller_id, order.buyer_id)
        who = self.known.get(key) or parties(order, self.user, ask_seller=False)
        if key not in self.known and any(
            "seller" in ALLOWED[event] and not who & ALLOWED[event]
            for event in possible
        ):
            who = self.known[key] = parties(order, self.user)
        return [event for event in possible if who & ALLOWED[event]]


def _orders_out(orders: list[Order], user: User) -> list[dict[str, Any]]:
    events = _Events(user)
    return [_order_out(order, events) for order in orders]


def _order_out(order: Order, events: _Events) -> dict[str, Any]:
    return dict(
        number=order.number,
        checkout=order.checkout.number,
        status=order.status,
        seller=_seller_ref(order.seller),
        total=order.total,
        created_at=order.created_at,
        expires_at=order.expires_at,
        paid_at=order.paid_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        completed_at=order.completed_at,
        lines=[
            dict(
                product=line.product_id,
                title=line.product.t("title"),
                kind=line.product.kind,
                unit=line.product.unit,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
                date=line.slot.date if line.slot else None,
                lots=[
                    dict(code=a.lot.code, quantity=a.quantity)
                    for a in line.allocations.all()
                ],
            )
            for line in order.lines.all()
        ],
        events=events(order),
    )


def _checkout_out(
    checkout: Checkout, user: User, *, loaded: bool = False
) -> dict[str, Any]:
    """``loaded``: the checkout was just made and comes with its orders loaded."""
    orders = (
        list(checkout.orders.all())
        if loaded
        else _orders_loaded(checkout.orders.order_by("number"))
    )
    return dict(
        number=checkout.number,
        total=checkout.total,
        created_at=checkout.created_at,
        expires_at=checkout.expires_at,
        contact_name=checkout.contact_name,
        contact_phone=checkout.contact_phone,
        address=checkout.address,
        on_behalf_of=checkout.on_behalf_of_id,
        orders=_orders_out(orders, user),
    )


# ----------------------------------------------------------------------------- finding


def _visible_orders(user: User) -> Any:
    """Orders the user bought, sells, or oversees (county and township, by area)."""
    if user.is_superuser:
        return Order.objects.all()
    mine = Q(buyer=user) | Q(seller__operators=user)
    if has_role(user, OVERSEERS):
        mine |= scope_of(user).q("seller__village__code")
    return Order.objects.filter(mine).distinct()


def _order_for(user: User, number: str) -> Order:
    found = _orders_loaded(_visible_orders(user).filter(number=number))
    if not found:
        raise NotFound(_("No such order."))
    return found[0]


def _operated_sellers(user: User) -> Any:
    sellers = Seller.objects.select_related("village")
    return sellers if user.is_superuser else sellers.filter(operators=user)


def _operated_seller(user: User, seller_id: int) -> Seller:
    seller: Seller | None = _operated_sellers(user).filter(pk=seller_id).first()
    if seller is None:
        raise NotFound(_("No such seller."))
    return seller


def _division(code: str | None, field: str) -> Division | None:
    if code is None:
        return None
    division = Division.objects.filter(code=code, level=Level.VILLAGE).first()
    if division is None:
        raise ValidationFailed(
            _("%(field)s: no village %(code)s.") % {"field": field, "code": code},
            extra={"field": field},
        )
    return division


# ---------------------------------------------------------------------------- catalogue


@router.get("/categories", response=list[CategoryOut], auth=None)
def category_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        dict(
            code=c.code,
            kind=c.kind,
            name=c.t("name"),
            name_zh=c.name_zh,
            name_en=c.name_en,
        )
        for c in Category.objects.order_by("order", "code")
    ]


@router.get("/products", response=ProductPageOut, auth=None)
def product_list(
    request: HttpRequest, filters: Query[ProductFilters]
) -> dict[str, Any]:
    """Products on sale, best match first; ``q`` finds Chinese and English words."""
    f = filters
    matching = search.products_matching(
        f.q,
        category=f.category or None,
        village=f.village or None,
        certified=f.certified,
    )
    # the count comes with the page (one pass over the matches, not two)
    counted = matching.annotate(total=Window(Count("id")))
    page: list[Product] = list(counted[f.offset : f.offset + f.limit])
    count = page[0].total if page else (matching.count() if f.offset else 0)  # type: ignore[attr-defined]
    return dict(count=count, limit=f.limit, offset=f.offset, items=_rows(page))


@router.get("/products/{product_id}", response=ProductDetail, auth=None)
def product_detail(request: HttpRequest, product_id: int) -> dict[str, Any]:
    product = (
        Product.objects.filter(pk=product_id, active=True, seller__active=True)
        .select_related("seller", "category", "origin")
        .first()
    )
    if product is None:
        raise NotFound(_("No such product on sale."))
    return _detail(product)


# ----------------------------------------------------------------------------- buying


def _idempotency_key(request: HttpRequest, body: CheckoutIn) -> str:
    header = (request.headers.get("Idempotency-Key") or "").strip()
    key = (body.idempotency_key or "").strip()
    if header and key and header != key:
        raise ValidationFailed(
            _("The Idempotency-Key header and idempotency_key differ."),
            extra={"field": "idempotency_key"},
        )
    return header or key


def _on_behalf_of(user: User, household_id: int | None) -> Household | None:
    if household_id is None:
        return None
    require_role(user, (Role.STATION_OPERATOR,))
    household = Household.objects.filter(pk=household_id).first()
    if household is None or not scope_of(user).covers(household.village_id):
        raise NotFound(_("No such household."))
    return household


@router.post("/checkout", response={200: CheckoutOut, 201: CheckoutOut})
def checkout(request: HttpRequest, body: CheckoutIn) -> tuple[int, dict[str, Any]]:
    """Reserve the cart's stock (15 minutes) and make one order per seller."""
    user = _user(request)
    made, created = services.checkout_create(
        user,
        lines=[
            services.LineIn(line.product, line.quantity, line.date)
            for line in body.lines
        ],
        idempotency_key=_idempotency_key(request, body),
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        address=body.address,
        on_behalf_of=_on_behalf_of(user, body.on_behalf_of),
    )
    return (201 if created else 200), _checkout_out(made, user, loaded=created)


@router.get("/checkouts/{number}", response=CheckoutOut)
def checkout_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    user = _user(request)
    found = Checkout.objects.filter(number=number, buyer=user).first()
    if found is None:
        raise NotFound(_("No such checkout."))
    return _checkout_out(found, user)


@router.get("/orders", response=OrderPageOut)
def order_list(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    """The orders I bought, newest first."""
    user = _user(request)
    status, limit, offset = filters.status, filters.limit, filters.offset
    if status and status not in OrderStatus.values:
        raise ValidationFailed(
            _("status must be one of %(statuses)s.") % {"statuses": OrderStatus.values},
            extra={"field": "status"},
        )
    mine = Order.objects.filter(buyer=user)
    if status:
        mine = mine.filter(status=status)
    mine = mine.order_by("-created_at", "-id")
    page = _orders_loaded(mine[offset : offset + limit])
    return dict(
        count=mine.count(),
        limit=limit,
        offset=offset,
        items=_orders_out(page, user),
    )


@router.get("/orders/{number}", response=OrderOut)
def order_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    user = _user(request)
    return _orders_out([_order_for(user, number)], user)[0]


@router.post("/orders/{number}/events/{event}", response=OrderOut)
def order_event(
    request: HttpRequest, number: str, event: str, body: EventIn | None = None
) -> dict[str, Any]:
    """Move the order (ship, deliver, complete, cancel, request_refund, …)."""
    user = _user(request)
    order = _order_for(user, number)
    if event not in ALLOWED:
        raise ValidationFailed(
            _("Unknown event %(event)s.") % {"event": repr(event)},
            extra={"field": "event", "events": list(EVENTS)},
        )
    services.order_transition(order, event, actor=user, note=body.note if body else "")
    return _orders_out([_order_for(user, number)], user)[0]


# ----------------------------------------------------------------------------- sellers


@router.get("/sellers/mine", response=list[SellerOut])
def my_sellers(request: HttpRequest) -> list[dict[str, Any]]:
    sellers = list(_operated_sellers(_user(request)).order_by("name", "id"))
    counts: dict[int, int] = defaultdict(int)
    for seller_id in Product.objects.filter(seller__in=sellers).values_list(
        "seller_id", flat=True
    ):
        counts[seller_id] += 1
    return [
        dict(
            id=s.pk,
            name=s.name,
            kind=s.kind,
            active=s.active,
            products=counts[s.pk],
            village=dict(code=s.village.code, name=s.village.name),
        )
        for s in sellers
    ]


@router.get("/sellers/{seller_id}/products", response=list[ProductRow])
def seller_products(request: HttpRequest, seller_id: int) -> list[dict[str, Any]]:
    """All the seller's products, those off sale too."""
    seller = _operated_seller(_user(request), seller_id)
    return _rows(
        list(
            Product.objects.filter(seller=seller)
            .select_related("seller", "category", "origin")
            .order_by("id")
        )
    )


@router.post("/sellers/{seller_id}/products", response={201: ProductDetail})
def product_create(
    request: HttpRequest, seller_id: int, body: ProductIn
) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    seller = _operated_seller(user, seller_id)
    category = Category.objects.filter(code=body.category).first()
    if category is None:
        raise ValidationFailed(
            _("No category %(category)s.") % {"category": repr(body.category)},
            extra={"field": "category"},
        )
    product = services.product_create(
        user,
        seller,
        category=category,
        title_zh=body.title_zh,
        title_en=body.title_en,
        description_zh=body.description_zh,
        description_en=body.description_en,
        unit=body.unit,
        price=body.price,
        origin=_division(body.origin, "origin"),
        specs=dict(body.specs),
        gtin=body.gtin,
        capacity_per_day=body.capacity_per_day,
    )
    product = Product.objects.select_related("seller", "category", "origin").get(
        pk=product.pk
    )
    return 201, _detail(product)


@router.post("/products/{product_id}/lots", response={201: LotOut})
def lot_create(
    request: HttpRequest, product_id: int, body: LotIn
) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    product = (
        Product.objects.filter(
            pk=product_id, seller__in=_operated_sellers(user).values("pk")
        )
        .select_related("seller", "origin")
        .first()
    )
    if product is None:
        raise NotFound(_("No such product."))
    lot = services.lot_create(
        user,
        product,
        code=body.code,
        harvested_on=body.harvested_on,
        quantity=body.quantity,
        shelf_life_days=body.shelf_life_days,
        origin=_division(body.origin, "origin"),
    )
    lot.refresh_from_db(fields=["quantity", "available"])  # as stored: three places
    return 201, dict(
        code=lot.code,
        harvested_on=lot.harvested_on,
        best_before=lot.harvested_on + timedelta(days=lot.shelf_life_days),
        quantity=lot.quantity,
        available=lot.available,
        digital_link=_digital_link(lot),
    )


@router.get("/sellers/{seller_id}/orders", response=OrderPageOut)
def seller_orders(
    request: HttpRequest, seller_id: int, filters: Query[OrderFilters]
) -> dict[str, Any]:
    """The seller's orders, newest first (``status`` to filter: paid = to ship)."""
    user = _user(request)
    status, limit, offset = filters.status, filters.limit, filters.offset
    seller = _operated_seller(user, seller_id)
    if status and status not in OrderStatus.values:
        raise ValidationFailed(
            _("status must be one of %(statuses)s.") % {"statuses": OrderStatus.values},
            extra={"field": "status"},
        )
    orders = Order.objects.filter(seller=seller)
    if status:
        orders = orders.filter(status=status)
    orders = orders.order_by("-created_at", "-id")
    page = _orders_loaded(orders[offset : offset + limit])
    return dict(
        count=orders.count(),
        limit=limit,
        offset=offset,
        items=_orders_out(page, user),
    )
