"""The back office: seller pages, the service station, the county view, a household."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from propoor.core.audit import AuditEntry
from propoor.households.tests.factories import (
    COUNTY,
    TOWNSHIP_A,
    TOWNSHIP_B,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_household,
    make_user,
)
from propoor.market import services
from propoor.market.models import (
    Certification,
    CertificationStatus,
    Checkout,
    LotEvent,
    Order,
    OrderStatus,
    Payment,
    Product,
    StockLot,
)
from propoor.market.services.buyers import public_buyer_create
from propoor.market.services.settlement import order_settle
from propoor.market.tests.factories import (
    buy,
    county_admin,
    make_lot,
    make_product,
    make_seller,
)

pytestmark = pytest.mark.django_db

STATION = reverse("market:office_station")
COUNTY_VIEW = reverse("market:office_county")
HOUSEHOLD = reverse("market:office_household")


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _certify(product) -> Certification:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    return Certification.objects.create(
        product=product,
        status=CertificationStatus.CERTIFIED,
        evidence="收购贫困户产品",
        applied_by=product.seller.operators.first(),
        certified_on=today,
        valid_until=today + timedelta(days=365),
    )


def _paid(buyer, product, quantity: str) -> Order:  # type: ignore[no-untyped-def]
    order = buy(buyer, product, quantity).orders.get()
    return services.order_transition(order, "pay", actor=None)


# ---------------------------------------------------------------------------- who may


def test_the_back_office_needs_a_login(area_tree) -> None:
    for url in (
        reverse("market:office"),
        reverse("market:office_sellers"),
        STATION,
        COUNTY_VIEW,
        HOUSEHOLD,
    ):
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith(reverse("web:login"))


def test_a_wrong_role_is_forbidden(area_tree, buyer) -> None:
    client = _client(buyer)
    for url in (
        reverse("market:office"),
        reverse("market:office_sellers"),
        STATION,
        COUNTY_VIEW,
        HOUSEHOLD,
    ):
        assert client.get(url).status_code == 403, url
    station = _client(make_user("station_operator", [VILLAGE_A1]))
    assert station.get(COUNTY_VIEW).status_code == 403
    assert _client(county_admin()).get(STATION).status_code == 403


def test_the_office_home_sends_each_role_to_its_page(area_tree) -> None:
    household = make_household()
    seller = make_seller()
    cases = {
        make_user("household", [VILLAGE_A1], household=household): HOUSEHOLD,
        county_admin(): COUNTY_VIEW,
        make_user("station_operator", [VILLAGE_A1]): STATION,
        seller.operators.first(): reverse("market:office_sellers"),
    }
    for user, target in cases.items():
        response = _client(user).get(reverse("market:office"))
        assert response.headers["Location"] == target


# ---------------------------------------------------------------------------- sellers


def test_an_operator_sees_only_their_own_seller(area_tree) -> None:
    mine = make_seller(name="我的合作社")
    theirs = make_seller(name="别人的合作社")
    apples = make_product(mine, title="高山苹果")
    make_lot(apples, "20")
    client = _client(mine.operators.first())

    home = client.get(reverse("market:office_sellers"))
    products = client.get(reverse("market:office_seller", args=[mine.pk]))
    other = client.get(reverse("market:office_seller", args=[theirs.pk]))
    other_lots = client.get(reverse("market:office_lots", args=[theirs.pk]))

    assert home.headers["Location"] == reverse("market:office_seller", args=[mine.pk])
    assert products.status_code == 200
    assert [(r.product.pk, r.available) for r in products.context["rows"]] == [
        (apples.pk, Decimal("20.000")),
    ]
    assert other.status_code == 404
    assert other_lots.status_code == 404


def test_an_operator_creates_a_product_and_changes_its_price(area_tree) -> None:
    seller = make_seller()
    services.categories_install()
    operator = seller.operators.first()
    client = _client(operator)
    from propoor.market.models import Category

    created = client.post(
        reverse("market:office_product_new", args=[seller.pk]),
        {
            "category": Category.objects.get(code="processed-food").pk,
            "title_zh": "腊肉",
            "title_en": "Cured pork",
            "unit": "jin",
            "price": "45.00",
            "capacity_per_day": "0",
        },
    )
    product = Product.objects.get(title_zh="腊肉")
    assert created.status_code == 302
    assert (product.seller, product.price, product.unit) == (
        seller,
        Decimal("45.00"),
        "jin",
    )

    edited = client.post(
        reverse("market:office_product", args=[seller.pk, product.pk]),
        {"price": "48.50"},
    )
    product.refresh_from_db()
    assert edited.status_code == 302
    assert (product.price, product.active) == (Decimal("48.50"), False)
    entry = AuditEntry.objects.filter(action="market.product_update").get()
    assert entry.data == {
        "before": {"price": "45.00", "active": True},
        "after": {"price": "48.50", "active": False},
    }


def test_a_bad_product_form_writes_nothing(area_tree) -> None:
    seller = make_seller()
    services.categories_install()
    client = _client(seller.operators.first())
    from propoor.market.models import Category

    response = client.post(
        reverse("market:office_product_new", args=[seller.pk]),
        {
            "category": Category.objects.get(code="farm-stay").pk,
            "title_zh": "农家乐",
            "unit": "kg",
            "price": "100",
        },
    )
    assert response.status_code == 422
    assert response.context["error"] == "An experience needs a capacity per day."
    assert Product.objects.count() == 0


def test_an_operator_records_a_lot_and_its_packing(area_tree) -> None:
    seller = make_seller()
    apples = make_product(seller)
    client = _client(seller.operators.first())
    url = reverse("market:office_lots", args=[seller.pk])
    harvested = timezone.localdate() - timedelta(days=1)

    response = client.post(
        url,
        {
            "product": apples.pk,
            "code": "L-0901",
            "harvested_on": harvested.isoformat(),
            "quantity": "120.5",
            "shelf_life_days": "20",
        },
    )
    lot = StockLot.objects.get()
    assert response.status_code == 302
    assert (lot.code, lot.quantity, lot.available, lot.harvested_on) == (
        "L-0901",
        Decimal("120.500"),
        Decimal("120.500"),
        harvested,
    )

    client.post(
        reverse("market:office_lot_event", args=[seller.pk, lot.pk]),
        {"kind": "pack", "quantity": "100"},
    )
    assert list(LotEvent.objects.values_list("kind", "quantity")) == [
        ("harvest", Decimal("120.500")),
        ("pack", Decimal("100.000")),
    ]
    page = client.get(url)
    assert [row.lot.code for row in page.context["lots"]] == ["L-0901"]

    again = client.post(
        url,
        {
            "product": apples.pk,
            "code": "L-0901",
            "harvested_on": harvested.isoformat(),
            "quantity": "5",
            "shelf_life_days": "20",
        },
    )
    assert again.status_code == 409
    assert StockLot.objects.count() == 1


def test_the_seller_ships_a_paid_order(area_tree, buyer) -> None:
    seller = make_seller()
    apples = make_product(seller)
    make_lot(apples, "10")
    paid = _paid(buyer, apples, "2")
    pending = buy(buyer, apples, "1").orders.get()
    client = _client(seller.operators.first())

    listing = client.get(reverse("market:office_orders", args=[seller.pk]))
    assert [(r.order.number, r.events) for r in listing.context["rows"]] == [
        (paid.number, ("ship",)),
    ]
    shipped = client.post(
        reverse("market:office_order_act", args=[seller.pk, paid.number]),
        {"event": "ship"},
    )
    cannot = client.post(
        reverse("market:office_order_act", args=[seller.pk, pending.number]),
        {"event": "ship"},
    )

    paid.refresh_from_db()
    pending.refresh_from_db()
    assert shipped.status_code == cannot.status_code == 302
    assert paid.status == OrderStatus.SHIPPED
    assert pending.status == OrderStatus.PENDING_PAYMENT
    other = make_seller()
    assert (
        _client(other.operators.first())
        .post(
            reverse("market:office_order_act", args=[seller.pk, paid.number]),
            {"event": "deliver"},
        )
        .status_code
        == 404
    )


def test_an_experience_takes_place_rather_than_ships(area_tree, buyer) -> None:
    seller = make_seller()
    stay = make_product(
        seller, category="farm-stay", unit="person_day", capacity_per_day=6
    )
    day = timezone.localdate() + timedelta(days=3)
    order = buy(buyer, stay, "2", day=day).orders.get()
    services.order_transition(order, "pay", actor=None)
    client = _client(seller.operators.first())

    listing = client.get(reverse("market:office_orders", args=[seller.pk]))
    [row] = listing.context["rows"]
    assert (row.events, row.experience) == (("deliver",), True)
    client.post(
        reverse("market:office_order_act", args=[seller.pk, order.number]),
        {"event": "deliver"},
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


def test_the_statement_shows_settled_revenue_and_the_households_share(
    area_tree, buyer
) -> None:
    seller = make_seller()
    household = make_household()
    services.benefit_declare(
        county_admin(),
        seller,
        household=household,
        mechanism="own_produce",
        share="0.2",
    )
    apples = make_product(seller, price="10.00")
    make_lot(apples, "10")
    order = _paid(buyer, apples, "3")
    order_settle(order, now=timezone.now())

    response = _client(seller.operators.first()).get(
        reverse("market:office_statement", args=[seller.pk])
    )

    statement = response.context["statement"]
    assert (statement.settled, statement.to_households, statement.closing) == (
        Decimal("30.00"),
        Decimal("6.00"),
        Decimal("24.00"),
    )
    assert "¥24.00" in response.content.decode()


# ---------------------------------------------------------------------------- station


def test_a_station_sells_for_a_household_and_records_its_cash(area_tree) -> None:
    operator = make_user("station_operator", [VILLAGE_A1])
    household = make_household(village_code=VILLAGE_A1, head_name="赵老汉")
    elsewhere = make_household(village_code=VILLAGE_B1, head_name="钱大姐")
    seeds = make_product(
        make_seller(village=VILLAGE_A2), title="玉米种子", price="15.00", unit="piece"
    )
    lot = make_lot(seeds, "40")
    client = _client(operator)

    page = client.get(STATION)
    assert [h.pk for h in page.context["s"].households] == [household.pk]

    form = {
        "household": household.pk,
        "product-0": seeds.pk,
        "quantity-0": "4",
        "idempotency_key": uuid.uuid4().hex,
    }
    made = client.post(STATION, form)
    client.post(STATION, form)  # pressed twice

    checkout = Checkout.objects.get()
    assert made.status_code == 302
    assert (
        checkout.buyer,
        checkout.on_behalf_of,
        checkout.total,
        checkout.contact_name,
    ) == (
        operator,
        household,
        Decimal("60.00"),
        "赵老汉",
    )
    lot.refresh_from_db()
    assert lot.available == Decimal("36.000")

    cash = client.post(
        reverse("market:office_station_cash", args=[checkout.number]),
        {"channel": "cash"},
    )
    assert cash.status_code == 302
    payment = Payment.objects.get()
    assert (payment.channel, payment.amount, payment.status, payment.recorded_by) == (
        "cash",
        Decimal("60.00"),
        "paid",
        operator,
    )
    assert checkout.orders.get().status == OrderStatus.PAID

    outside = client.post(
        STATION,
        {**form, "household": elsewhere.pk, "idempotency_key": uuid.uuid4().hex},
    )
    assert outside.status_code == 404
    assert Checkout.objects.count() == 1


def test_a_station_sale_out_of_stock_writes_nothing(area_tree) -> None:
    operator = make_user("station_operator", [VILLAGE_A1])
    household = make_household(village_code=VILLAGE_A1)
    seeds = make_product(make_seller(), title="玉米种子", unit="piece")
    make_lot(seeds, "2")

    response = _client(operator).post(
        STATION,
        {
            "household": household.pk,
            "product-0": seeds.pk,
            "quantity-0": "3",
            "idempotency_key": uuid.uuid4().hex,
        },
    )
    empty = _client(operator).post(
        STATION, {"household": household.pk, "idempotency_key": uuid.uuid4().hex}
    )

    assert response.status_code == 409
    assert response.context["error"] == "Only 2 piece of Mountain apples left."
    assert empty.status_code == 422
    assert empty.context["error"] == "Choose at least one product and its quantity."
    assert Checkout.objects.count() == 0


def test_another_operators_checkout_cannot_be_paid_here(area_tree, buyer) -> None:
    apples = make_product(make_seller())
    make_lot(apples, "10")
    checkout = buy(buyer, apples, "1")
    operator = make_user("station_operator", [VILLAGE_A1])
    response = _client(operator).post(
        reverse("market:office_station_cash", args=[checkout.number]),
        {"channel": "cash"},
    )
    assert response.status_code == 404
    assert Payment.objects.count() == 0


# ----------------------------------------------------------------------------- county


@pytest.fixture
def market(area_tree, buyer):  # type: ignore[no-untyped-def]
    """Two villages selling: A1 (certified apples, benefits a household), B1 (honey)."""
    apples_seller = make_seller(village=VILLAGE_A1, name="一村合作社")
    honey_seller = make_seller(village=VILLAGE_B1, name="三村蜂场")
    household = make_household(village_code=VILLAGE_A1)
    services.benefit_declare(
        county_admin(),
        apples_seller,
        household=household,
        mechanism="wages",
        share="0.5",
    )
    apples = make_product(apples_seller, price="10.00")
    honey = make_product(honey_seller, price="50.00", unit="piece")
    _certify(apples)
    make_lot(apples, "100")
    make_lot(honey, "100")
    first = _paid(buyer, apples, "3")  # 30.00
    _paid(buyer, honey, "1")  # 50.00
    buy(buyer, apples, "1")  # not paid: not a sale
    order_settle(first, now=timezone.now())  # 15.00 of wages to the household
    admin = county_admin()
    office = public_buyer_create(
        admin,
        name="县教育局",
        year=timezone.localdate().year,
        quota="200.00",
        users=[admin],
    )
    Order.objects.filter(pk=first.pk).update(public_buyer=office)
    return household


def test_the_county_sees_its_whole_area(market) -> None:
    response = _client(county_admin()).get(COUNTY_VIEW)

    view = response.context["v"]
    assert response.status_code == 200
    assert (
        view.sales,
        view.orders,
        view.certified_products,
        view.products_on_sale,
    ) == (
        Decimal("80.00"),
        2,
        1,
        2,
    )
    assert [(f.code, f.amount, f.orders) for f in view.by_village] == [
        (VILLAGE_B1, Decimal("50.00"), 1),
        (VILLAGE_A1, Decimal("30.00"), 1),
    ]
    month = timezone.localdate().month
    assert [(int(f.code), f.amount) for f in view.by_month if f.orders] == [
        (month, Decimal("80.00")),
    ]
    assert [(f.code, f.amount) for f in view.income_by_kind] == [
        ("operating", Decimal("0.00")),
        ("wage", Decimal("15.00")),
        ("asset", Decimal("0.00")),
    ]
    assert (view.income, view.households_reached) == (Decimal("15.00"), 1)
    assert [(f.label, f.amount) for f in view.top_sellers] == [
        ("三村蜂场", Decimal("50.00")),
        ("一村合作社", Decimal("30.00")),
    ]
    assert [(p.buyer.name, p.bought, p.share) for p in view.public_buyers] == [
        ("县教育局", Decimal("30.00"), Decimal("0.1500")),
    ]
    assert set(response.context["charts"]) == {"villages", "months"}
    page = response.content.decode()
    assert "¥80.00" in page
    assert "15.0%" in page


def test_a_township_sees_only_its_villages(market) -> None:
    township_a = _client(make_user("township_officer", [TOWNSHIP_A])).get(COUNTY_VIEW)
    township_b = _client(make_user("township_officer", [TOWNSHIP_B])).get(COUNTY_VIEW)

    a, b = township_a.context["v"], township_b.context["v"]
    assert (a.sales, a.certified_products, a.income) == (
        Decimal("30.00"),
        1,
        Decimal("15.00"),
    )
    assert [f.code for f in a.by_village] == [VILLAGE_A1]
    assert (b.sales, b.certified_products, b.income) == (
        Decimal("50.00"),
        0,
        Decimal("0.00"),
    )
    assert [f.label for f in b.top_sellers] == ["三村蜂场"]
    assert COUNTY  # the county admin fixture's scope


# ------------------------------------------------------------------------ a household


def test_a_household_sees_its_own_income_by_month(market) -> None:
    user = make_user("household", [VILLAGE_A1], household=market)
    response = _client(user).get(HOUSEHOLD)

    view = response.context["v"]
    month = timezone.localdate().month
    assert response.status_code == 200
    assert [(m.month, m.operating, m.wage, m.asset, m.total) for m in view.months] == [
        (month, Decimal("0.00"), Decimal("15.00"), Decimal("0.00"), Decimal("15.00")),
    ]
    assert view.totals.total == Decimal("15.00")
    assert "¥15.00" in response.content.decode()
    last_year = _client(user).get(HOUSEHOLD, {"year": timezone.localdate().year - 1})
    assert last_year.context["v"].months == ()
