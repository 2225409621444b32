"""What the market's pages read.

The storefront is public: anyone sees the products on sale. Everything else is read
for one user: a buyer sees their own checkouts and orders, a seller's operators that
seller, a station operator the households of its village, the county and townships
their area (``scope_of(user).q(...)``, applied once per selector), a household its
own income. Outside that is :class:`NotFound` (the page must not reveal the object
exists); a role that may not see the page at all is :class:`PermissionDenied`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Avg, Count, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.models import Role
from propoor.accounts.roles import require_role
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division
from propoor.core.errors import NotFound, PermissionDenied
from propoor.core.money import ZERO, to_money
from propoor.core.privacy import mask_name
from propoor.households.models import Household
from propoor.market.cart import CartLine
from propoor.market.models import (
    Benefit,
    Category,
    Certification,
    Checkout,
    ExperienceSlot,
    Mechanism,
    Order,
    OrderLine,
    OrderStatus,
    Posting,
    Product,
    ProductKind,
    ProductPhoto,
    PublicBuyer,
    Review,
    Seller,
    StockLot,
)
from propoor.market.search import certified_now, search_products
from propoor.market.services import traceability
from propoor.market.services.buyers import public_buyer_progress
from propoor.market.services.ledger import household_income, year_bounds
from propoor.market.services.orders import ALLOWED, TRANSITIONS, parties

if TYPE_CHECKING:
    from propoor.accounts.models import User

PAGE_SIZE = 24
EXPERIENCE_DAYS = 14
REVIEWS_SHOWN = 20
S = OrderStatus
# Money that came in and has not gone back: what counts as sold.
SOLD = (S.PAID, S.SHIPPED, S.DELIVERED, S.COMPLETED, S.REFUND_REQUESTED)
INCOME_KINDS = ("operating", "wage", "asset")
COUNTY_ROLES = (Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER)
STATION_ROLES = (Role.STATION_OPERATOR,)
# The buyer's own buttons on an order page, by status (the table decides the rest).
BUYER_EVENTS = ("cancel", "deliver", "complete", "request_refund")
SELLER_EVENTS = ("ship", "deliver", "refund_reject")


def mask(name: str) -> str:
    """A reviewer or buyer shown publicly: 张三丰 → 张*丰; a login name → b***."""
    name = name.strip()
    if name.isascii():
        return name[:1] + "***" if name else "*"
    return mask_name(name)


def _fresh(lot: StockLot, today: date) -> bool:
    return lot.harvested_on + timedelta(days=lot.shelf_life_days) >= today


def certified_until(product_ids: Iterable[int], today: date) -> dict[int, date | None]:
    """The products certified on ``today``, each with the date its certificate ends
    (the same rule as the search's "certified only" filter)."""
    out: dict[int, date | None] = {}
    for product_id, valid_until in Certification.objects.filter(
        certified_now(today), product_id__in=list(product_ids)
    ).values_list("product_id", "valid_until"):
        known = out.get(product_id)
        if known is None or (valid_until is not None and valid_until > known):
            out[product_id] = valid_until
    return out


# ========================================================================= storefront


@dataclass(frozen=True)
class ProductCard:
    product: Product
    photo_id: int | None
    certified: bool
    rating: float | None = None

    @property
    def experience(self) -> bool:
        return self.product.kind == ProductKind.EXPERIENCE


@dataclass(frozen=True)
class Storefront:
    categories: tuple[Category, ...]
    villages: tuple[Division, ...]
    cards: tuple[ProductCard, ...]
    page: int
    has_next: bool
    query: str
    category: str
    village: str
    certified: bool


def _first_photos(product_ids: Sequence[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for product_id, photo_id in (
        ProductPhoto.objects.filter(product_id__in=product_ids)
        .order_by("product_id", "order", "id")
        .values_list("product_id", "id")
    ):
        out.setdefault(product_id, photo_id)
    return out


def _on_sale() -> QuerySet[Product]:
    return Product.objects.filter(active=True, seller__active=True)


def _search(
    query: str, *, category: str, village: str, certified: bool, limit: int, offset: int
) -> list[Product]:
    """The catalogue search (PostgreSQL trigrams, or the SQLite fallback)."""
    found = search_products(
        query,
        category=category or None,
        village=village or None,
        certified=True if certified else None,
        limit=limit,
        offset=offset,
    )
    return list(found)


def storefront(
    *,
    query: str = "",
    category: str = "",
    village: str = "",
    certified: bool = False,
    page: int = 1,
) -> Storefront:
    """One page of the products on sale, filtered."""
    offset = (max(page, 1) - 1) * PAGE_SIZE
    products = _search(
        query.strip(),
        category=category,
        village=village,
        certified=certified,
        limit=PAGE_SIZE + 1,
        offset=offset,
    )
    has_next = len(products) > PAGE_SIZE
    products = products[:PAGE_SIZE]
    ids = [p.pk for p in products]
    # The search returns products; what the cards show comes in two more queries.
    loaded = {
        p.pk: p
        for p in Product.objects.filter(pk__in=ids).select_related(
            "seller", "origin", "category"
        )
    }
    photos = _first_photos(ids)
    certified_ids = certified_until(ids, timezone.localdate())
    ratings = dict(
        Review.objects.filter(product_id__in=ids)
        .values("product_id")
        .annotate(avg=Avg("rating"))
        .values_list("product_id", "avg")
    )
    cards = tuple(
        ProductCard(
            loaded[pid],
            photos.get(pid),
            pid in certified_ids,
            round(float(ratings[pid]), 1) if pid in ratings else None,
        )
        for pid in ids
        if pid in loaded
    )
    villages = Division.objects.filter(
        code__in=_on_sale().values("origin_id")
    ).order_by("code")
    return Storefront(
        categories=tuple(Category.objects.all()),
        villages=tuple(villages),
        cards=cards,
        page=max(page, 1),
        has_next=has_next,
        query=query.strip(),
        category=category,
        village=village,
        certified=certified,
    )


@dataclass(frozen=True)
class DayPlaces:
    day: date
    left: int


@dataclass(frozen=True)
class BenefitSummary:
    households: int
    by_mechanism: tuple[tuple[str, str, int], ...]  # (mechanism, label, households)


@dataclass(frozen=True)
class ReviewLine:
    rating: int
    text: str
    at: datetime
    buyer: str

    @property
    def stars(self) -> str:
        return "★" * self.rating + "☆" * (5 - self.rating)


@dataclass(frozen=True)
class ProductPage:
    product: Product
    photo_ids: tuple[int, ...]
    specs: tuple[tuple[str, str], ...]
    benefit: BenefitSummary
    certified: bool
    certified_until: date | None
    lot: StockLot | None
    lot_link: str
    lot_page: str
    lot_qr: str
    available: Decimal | None  # goods: what is left in fresh lots
    days: tuple[DayPlaces, ...]  # experiences: places left per date
    reviews: tuple[ReviewLine, ...]
    rating: float | None
    review_count: int

    @property
    def experience(self) -> bool:
        return self.product.kind == ProductKind.EXPERIENCE


def benefit_summary(seller: Seller) -> BenefitSummary:
    """How many poor households the seller benefits, by mechanism (counts only)."""
    rows = Benefit.objects.filter(seller=seller, active=True)
    households = rows.values("household_id").distinct().count()
    counts = dict(
        rows.values("mechanism")
        .annotate(n=Count("household_id", distinct=True))
        .values_list("mechanism", "n")
    )
    return BenefitSummary(
        households=households,
        by_mechanism=tuple(
            (m.value, str(m.label), counts[m.value])
            for m in Mechanism
            if m.value in counts
        ),
    )


def _lot_links(lot: StockLot) -> tuple[str, str, str]:
    """The lot's GS1 Digital Link, its public page here, and its QR code (SVG)."""
    return (
        traceability.lot_digital_link(lot),
        lot_page_path(lot),
        traceability.lot_qr_svg(lot, title=lot.code),
    )


def lot_page_path(lot: StockLot) -> str:
    """The public lot page on this site: ``/market/trace/01/<gtin>/10/<lot>``."""
    gtin = traceability.product_gtin(lot.product)
    return reverse("market:trace_lot", args=[gtin, lot.code])


def current_lot(product: Product, today: date) -> tuple[StockLot | None, Decimal]:
    """The lot sold next (first in, first out) and what is left in fresh lots."""
    lots = [
        lot
        for lot in StockLot.objects.filter(product=product, available__gt=0).order_by(
            "harvested_on", "id"
        )
        if _fresh(lot, today)
    ]
    left = sum((lot.available for lot in lots), Decimal(0))
    return (lots[0] if lots else None), left


def experience_days(
    product: Product, today: date, days: int = EXPERIENCE_DAYS
) -> tuple[DayPlaces, ...]:
    last = today + timedelta(days=days - 1)
    slots = {
        slot.date: slot
        for slot in ExperienceSlot.objects.filter(
            product=product, date__range=(today, last)
        )
    }
    out = []
    for n in range(days):
        day = today + timedelta(days=n)
        slot = slots.get(day)
        left = (slot.capacity - slot.reserved) if slot else product.capacity_per_day
        out.append(DayPlaces(day, max(left, 0)))
    return tuple(out)


def product_page(product_id: int) -> ProductPage:
    product = (
        _on_sale()
        .select_related("seller", "seller__village", "origin", "category")
        .filter(pk=product_id)
        .first()
    )
    if product is None:
        raise NotFound(_("No such product on sale."))
    today = timezone.localdate()
    certified = certified_until([product.pk], today)
    lot: StockLot | None = None
    available: Decimal | None = None
    link = page_path = qr = ""
    days: tuple[DayPlaces, ...] = ()
    if product.kind == ProductKind.EXPERIENCE:
        days = experience_days(product, today)
    else:
        lot, available = current_lot(product, today)
        if lot is not None:
            link, page_path, qr = _lot_links(lot)
    reviews = Review.objects.filter(product=product).select_related("buyer")
    stats = reviews.aggregate(avg=Avg("rating"), n=Count("id"))
    specs = tuple(
        (str(k), str(v)) for k, v in (product.specs or {}).items() if str(v).strip()
    )
    return ProductPage(
        product=product,
        photo_ids=tuple(
            product.photos.order_by("order", "id").values_list("id", flat=True)
        ),
        specs=specs,
        benefit=benefit_summary(product.seller),
        certified=product.pk in certified,
        certified_until=certified.get(product.pk),
        lot=lot,
        lot_link=link,
        lot_page=page_path,
        lot_qr=qr,
        available=available,
        days=days,
        reviews=tuple(
            ReviewLine(
                r.rating,
                r.text,
                r.created_at,
                mask(r.buyer.get_full_name() or r.buyer.username),
            )
            for r in reviews[:REVIEWS_SHOWN]
        ),
        rating=round(float(stats["avg"]), 1) if stats["avg"] is not None else None,
        review_count=stats["n"],
    )


def photo_get(photo_id: int) -> ProductPhoto:
    photo = ProductPhoto.objects.filter(
        pk=photo_id, product__active=True, product__seller__active=True
    ).first()
    if photo is None:
        raise NotFound(_("No such photo."))
    return photo


# =============================================================================== cart


@dataclass(frozen=True)
class CartRow:
    line: CartLine
    product: Product | None
    amount: Decimal
    problem: str = ""  # "gone" (no longer on sale), "date" (experience without date)


@dataclass(frozen=True)
class CartGroup:
    seller: Seller
    rows: tuple[CartRow, ...]

    @property
    def total(self) -> Decimal:
        return sum((row.amount for row in self.rows), ZERO)


@dataclass(frozen=True)
class CartPage:
    groups: tuple[CartGroup, ...]
    gone: tuple[CartRow, ...]
    total: Decimal

    @property
    def empty(self) -> bool:
        return not self.groups and not self.gone

    @property
    def count(self) -> int:
        return sum(len(g.rows) for g in self.groups) + len(self.gone)


def cart_page(lines: Sequence[CartLine]) -> CartPage:
    """The cart's lines with today's prices, one group per seller (one order each)."""
    products = {
        p.pk: p
        for p in Product.objects.filter(
            pk__in=[line.product_id for line in lines]
        ).select_related("seller", "origin")
    }
    by_seller: dict[int, list[CartRow]] = defaultdict(list)
    sellers: dict[int, Seller] = {}
    gone: list[CartRow] = []
    for line in lines:
        product = products.get(line.product_id)
        if product is None or not product.active or not product.seller.active:
            gone.append(CartRow(line, product, ZERO, "gone"))
            continue
        problem = ""
        if product.kind == ProductKind.EXPERIENCE and line.date is None:
            problem = "date"
        row = CartRow(line, product, to_money(product.price * line.quantity), problem)
        sellers[product.seller_id] = product.seller
        by_seller[product.seller_id].append(row)
    groups = tuple(
        CartGroup(sellers[sid], tuple(rows))
        for sid, rows in sorted(
            by_seller.items(), key=lambda item: sellers[item[0]].name
        )
    )
    return CartPage(
        groups=groups,
        gone=tuple(gone),
        total=sum((g.total for g in groups), ZERO),
    )


# ================================================================== checkouts, orders


@dataclass(frozen=True)
class CheckoutPage:
    checkout: Checkout
    orders: tuple[Order, ...]
    payable: bool
    paid: bool
    expired: bool


def _own_checkout(user: User, number: str) -> Checkout:
    checkout = (
        Checkout.objects.filter(number=number, buyer=user)
        .select_related("on_behalf_of")
        .first()
    )
    if checkout is None:
        raise NotFound(_("No such checkout."))
    return checkout


def checkout_page(user: User, number: str) -> CheckoutPage:
    checkout = _own_checkout(user, number)
    orders = tuple(
        checkout.orders.select_related("seller")
        .prefetch_related("lines__product")
        .order_by("number")
    )
    now = timezone.now()
    pending = [o for o in orders if o.status == S.PENDING_PAYMENT]
    return CheckoutPage(
        checkout=checkout,
        orders=orders,
        payable=bool(pending) and checkout.expires_at > now,
        paid=bool(orders) and all(o.paid_at is not None for o in orders),
        expired=any(o.status == S.EXPIRED for o in orders)
        or (bool(pending) and checkout.expires_at <= now),
    )


def order_list(user: User) -> tuple[Order, ...]:
    return tuple(
        Order.objects.filter(buyer=user)
        .select_related("seller", "checkout")
        .prefetch_related("lines__product")
        .order_by("-created_at", "-id")[:200]
    )


@dataclass(frozen=True)
class LotRef:
    lot: StockLot
    quantity: Decimal
    page: str


@dataclass(frozen=True)
class OrderLineView:
    line: OrderLine
    lots: tuple[LotRef, ...]
    reviewed: bool


@dataclass(frozen=True)
class OrderPage:
    order: Order
    lines: tuple[OrderLineView, ...]
    transitions: tuple[Any, ...]
    events: tuple[str, ...]  # what this user may do now
    reviewable: bool

    @property
    def pending(self) -> bool:
        return self.order.status == S.PENDING_PAYMENT


def _experiences_only(order: Order) -> bool:
    return all(
        line.product.kind == ProductKind.EXPERIENCE for line in order.lines.all()
    )


def _events_for(order: Order, user: User, offered: Sequence[str]) -> tuple[str, ...]:
    """The offered events the transition table and the user's part allow now."""
    who = parties(order, user)
    experiences_only = _experiences_only(order)
    possible = []
    for event in offered:
        if (order.status, event) not in TRANSITIONS or not who & ALLOWED[event]:
            continue
        # Goods are delivered once shipped; an experience, once paid, takes place.
        if event == "deliver" and order.status == S.PAID and not experiences_only:
            continue
        if event == "ship" and experiences_only:
            continue
        possible.append(event)
    return tuple(possible)


def _order_lines(order: Order) -> tuple[OrderLineView, ...]:
    reviewed = set(
        Review.objects.filter(order=order).values_list("product_id", flat=True)
    )
    out = []
    for line in order.lines.select_related("product", "slot").prefetch_related(
        "allocations__lot__product"
    ):
        out.append(
            OrderLineView(
                line,
                tuple(
                    LotRef(a.lot, a.quantity, lot_page_path(a.lot))
                    for a in line.allocations.all()
                ),
                line.product_id in reviewed,
            )
        )
    return tuple(out)


def order_page(user: User, number: str) -> OrderPage:
    """The buyer's own order (or, for the staff of a station, one it bought)."""
    order = (
        Order.objects.filter(number=number, buyer=user)
        .select_related("seller", "checkout", "checkout__on_behalf_of")
        .first()
    )
    if order is None:
        raise NotFound(_("No such order."))
    lines = _order_lines(order)
    return OrderPage(
        order=order,
        lines=lines,
        transitions=tuple(order.transitions.select_related("by").order_by("at", "id")),
        events=_events_for(order, user, BUYER_EVENTS),
        reviewable=order.status == S.COMPLETED and any(not v.reviewed for v in lines),
    )


# ====================================================================== seller office


def seller_list(user: User) -> tuple[Seller, ...]:
    """The sellers the user operates; 403 when none."""
    sellers = Seller.objects.select_related("village").order_by("name", "id")
    if not user.is_superuser:
        sellers = sellers.filter(operators=user)
    out = tuple(sellers)
    if not out:
        raise PermissionDenied(
            _("Only a seller's operators may open the seller office.")
        )
    return out


def seller_get(user: User, seller_id: int) -> Seller:
    sellers = seller_list(user)  # 403 for someone who operates no seller at all
    for seller in sellers:
        if seller.pk == seller_id:
            return seller
    raise NotFound(_("No such seller."))


@dataclass(frozen=True)
class SellerProductRow:
    product: Product
    certified: bool
    available: Decimal | None
    lots: int


def seller_products(seller: Seller) -> tuple[SellerProductRow, ...]:
    """A seller's products (call with a seller from :func:`seller_get`)."""
    today = timezone.localdate()
    products = list(
        Product.objects.filter(seller=seller).select_related("category").order_by("id")
    )
    certified = certified_until([p.pk for p in products], today)
    lots: dict[int, list[StockLot]] = defaultdict(list)
    for lot in StockLot.objects.filter(product__seller=seller):
        lots[lot.product_id].append(lot)
    rows = []
    for product in products:
        fresh = [lot for lot in lots[product.pk] if _fresh(lot, today)]
        available = (
            sum((lot.available for lot in fresh), Decimal(0))
            if product.kind == ProductKind.GOODS
            else None
        )
        rows.append(
            SellerProductRow(
                product, product.pk in certified, available, len(lots[product.pk])
            )
        )
    return tuple(rows)


def seller_product(seller: Seller, product_id: int) -> Product:
    product = Product.objects.filter(seller=seller, pk=product_id).first()
    if product is None:
        raise NotFound(_("No such product."))
    return product


@dataclass(frozen=True)
class LotRow:
    lot: StockLot
    fresh: bool
    events: tuple[Any, ...]
    page: str


def seller_lots(seller: Seller) -> tuple[LotRow, ...]:
    today = timezone.localdate()
    lots = (
        StockLot.objects.filter(product__seller=seller)
        .select_related("product", "origin")
        .prefetch_related("events")
        .order_by("-harvested_on", "-id")[:200]
    )
    return tuple(
        LotRow(lot, _fresh(lot, today), tuple(lot.events.all()), lot_page_path(lot))
        for lot in lots
    )


def seller_lot(seller: Seller, lot_id: int) -> StockLot:
    lot = StockLot.objects.filter(product__seller=seller, pk=lot_id).first()
    if lot is None:
        raise NotFound(_("No such lot."))
    return lot


@dataclass(frozen=True)
class SellerOrderRow:
    order: Order
    events: tuple[str, ...]

    @property
    def experience(self) -> bool:
        """Only experiences: "delivered" means the visit took place."""
        return _experiences_only(self.order)


def seller_orders(user: User, seller: Seller) -> tuple[SellerOrderRow, ...]:
    """Orders that need the seller: to ship, refunds asked; then the latest others."""
    orders = (
        Order.objects.filter(seller=seller)
        .exclude(status__in=(S.PENDING_PAYMENT, S.EXPIRED, S.CANCELLED))
        .select_related("checkout", "seller")
        .prefetch_related("lines__product")
        .order_by("-created_at", "-id")[:200]
    )
    rows = [SellerOrderRow(o, _events_for(o, user, SELLER_EVENTS)) for o in orders]
    rows.sort(key=lambda r: (not r.events, -(r.order.created_at.timestamp())))
    return tuple(rows)


def seller_order(seller: Seller, number: str) -> Order:
    order = Order.objects.filter(seller=seller, number=number).first()
    if order is None:
        raise NotFound(_("No such order."))
    return order


# ============================================================================ station


@dataclass(frozen=True)
class StationPage:
    households: tuple[Household, ...]
    products: tuple[Product, ...]
    checkouts: tuple[
        tuple[Checkout, tuple[Order, ...], bool], ...
    ]  # (c, orders, cash due)


def station_page(user: User) -> StationPage:
    require_role(user, STATION_ROLES)
    scope = scope_of(user)
    households = tuple(
        Household.objects.filter(scope.q("village__code"))
        .select_related("village")
        .order_by("village_id", "number")[:500]
    )
    products = tuple(
        _on_sale()
        .filter(kind=ProductKind.GOODS)
        .select_related("seller", "origin")
        .order_by("title_zh", "id")[:300]
    )
    now = timezone.now()
    checkouts = []
    for checkout in (
        Checkout.objects.filter(buyer=user)
        .select_related("on_behalf_of")
        .prefetch_related("orders")
        .order_by("-created_at", "-id")[:30]
    ):
        orders = tuple(checkout.orders.all())
        due = checkout.expires_at > now and any(
            o.status == S.PENDING_PAYMENT for o in orders
        )
        checkouts.append((checkout, orders, due))
    return StationPage(households, products, tuple(checkouts))


def station_household(user: User, household_id: int) -> Household:
    require_role(user, STATION_ROLES)
    household = Household.objects.filter(
        scope_of(user).q("village__code"), pk=household_id
    ).first()
    if household is None:
        raise NotFound(_("No such household."))
    return household


def station_checkout(user: User, number: str) -> Checkout:
    require_role(user, STATION_ROLES)
    return _own_checkout(user, number)


# ============================================================================= county


@dataclass(frozen=True)
class Figure:
    label: str
    code: str
    amount: Decimal
    orders: int = 0
    area: Division | None = None  # for figures by village


@dataclass(frozen=True)
class PublicBuyerLine:
    buyer: PublicBuyer
    bought: Decimal  # certified purchases counted against the quota
    share: Decimal

    @property
    def bar(self) -> int:
        return min(100, int(self.share * 100))


@dataclass(frozen=True)
class CountyView:
    year: int
    years: tuple[int, ...]
    certified_products: int
    products_on_sale: int
    sellers: int
    sales: Decimal
    orders: int
    by_village: tuple[Figure, ...]
    by_month: tuple[Figure, ...]
    income: Decimal
    income_by_kind: tuple[Figure, ...]
    households_reached: int
    top_sellers: tuple[Figure, ...]
    public_buyers: tuple[PublicBuyerLine, ...] = field(default=())


def county_view(user: User, year: int | None = None) -> CountyView:
    """The market in the user's area: certification, sales, households' income."""
    require_role(user, COUNTY_ROLES)
    scope = scope_of(user)
    today = timezone.localdate()
    year = year or today.year
    start, end = year_bounds(year)
    sellers = Seller.objects.filter(scope.q("village__code"))
    products = Product.objects.filter(scope.q("seller__village__code"))
    on_sale = products.filter(active=True, seller__active=True)
    certified = len(certified_until(on_sale.values_list("id", flat=True), today))
    sold = Order.objects.filter(
        scope.q("seller__village__code"),
        status__in=SOLD,
        paid_at__gte=start,
        paid_at__lt=end,
    )
    totals = sold.aggregate(t=Sum("total"), n=Count("id"))
    villages = {
        d.code: d
        for d in Division.objects.filter(code__in=sold.values("seller__village_id"))
    }
    by_village = tuple(
        Figure(
            villages[row["seller__village_id"]].name,
            row["seller__village_id"],
            to_money(row["t"]),
            row["n"],
            villages[row["seller__village_id"]],
        )
        for row in sold.values("seller__village_id")
        .annotate(t=Sum("total"), n=Count("id"))
        .order_by("-t", "seller__village_id")
    )
    months: dict[int, tuple[Decimal, int]] = {}
    for row in (
        sold.annotate(m=TruncMonth("paid_at", tzinfo=timezone.get_current_timezone()))
        .values("m")
        .annotate(t=Sum("total"), n=Count("id"))
    ):
        months[row["m"].month] = (to_money(row["t"]), row["n"])
    by_month = tuple(
        Figure(f"{year}-{m:02d}", str(m), *months.get(m, (ZERO, 0)))
        for m in range(1, 13)
        if (year, m) <= (today.year, today.month) or m in months
    )
    names = dict(
        Seller.objects.filter(pk__in=sold.values("seller_id")).values_list("id", "name")
    )
    top = tuple(
        Figure(
            names[row["seller_id"]], str(row["seller_id"]), to_money(row["t"]), row["n"]
        )
        for row in sold.values("seller_id")
        .annotate(t=Sum("total"), n=Count("id"))
        .order_by("-t", "seller_id")[:10]
    )
    income_rows = Posting.objects.filter(
        scope.q("household__village__code"),
        account__startswith="household:",
        household__isnull=False,
        transaction__at__gte=start,
        transaction__at__lt=end,
    ).exclude(income_kind="")
    kinds = {
        row["income_kind"]: to_money(-row["t"])
        for row in income_rows.values("income_kind").annotate(t=Sum("amount"))
    }
    reached = (
        income_rows.values("household_id")
        .annotate(t=Sum("amount"))
        .filter(t__lt=0)
        .count()
    )
    public = []
    for buyer in PublicBuyer.objects.filter(year=year):
        progress = public_buyer_progress(buyer)
        public.append(PublicBuyerLine(buyer, progress.purchased, progress.share))
    paid_years = {
        d.year
        for d in Order.objects.filter(
            scope.q("seller__village__code"), paid_at__isnull=False
        ).dates("paid_at", "year")
    }
    return CountyView(
        year=year,
        years=tuple(sorted(paid_years | {today.year, year}, reverse=True)),
        certified_products=certified,
        products_on_sale=on_sale.count(),
        sellers=sellers.filter(active=True).count(),
        sales=to_money(totals["t"] or ZERO),
        orders=totals["n"],
        by_village=by_village,
        by_month=by_month,
        income=sum(kinds.values(), ZERO),
        income_by_kind=tuple(
            Figure(kind, kind, kinds.get(kind, ZERO)) for kind in INCOME_KINDS
        ),
        households_reached=reached,
        top_sellers=top,
        public_buyers=tuple(public),
    )


# =================================================================== household income


@dataclass(frozen=True)
class IncomeMonth:
    month: int
    operating: Decimal
    wage: Decimal
    asset: Decimal

    @property
    def total(self) -> Decimal:
        return self.operating + self.wage + self.asset


@dataclass(frozen=True)
class IncomePage:
    household: Household
    year: int
    years: tuple[int, ...]
    months: tuple[IncomeMonth, ...]
    totals: IncomeMonth


def household_income_page(user: User, year: int | None = None) -> IncomePage:
    """A household's own e-commerce income, by month and kind (from the ledger)."""
    if user.household_id is None:
        raise PermissionDenied(_("This page is for a household's own login."))
    household = Household.objects.select_related("village").get(pk=user.household_id)
    today = timezone.localdate()
    year = year or today.year
    everything = household_income(household)
    amounts: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    years = {today.year, year}
    for (y, month, kind), amount in everything.items():
        years.add(y)
        if y == year:
            amounts[(month, kind)] += amount
    months = tuple(
        IncomeMonth(
            m, amounts[(m, "operating")], amounts[(m, "wage")], amounts[(m, "asset")]
        )
        for m in range(1, 13)
        if any((m, k) in amounts for k in INCOME_KINDS)
    )
    totals = IncomeMonth(
        0,
        sum((r.operating for r in months), ZERO),
        sum((r.wage for r in months), ZERO),
        sum((r.asset for r in months), ZERO),
    )
    return IncomePage(
        household, year, tuple(sorted(years, reverse=True)), months, totals
    )
