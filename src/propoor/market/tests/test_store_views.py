"""The storefront, product page, session cart, checkout and the buyer's orders."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from propoor.households.tests.factories import (
    VILLAGE_A2,
    VILLAGE_B1,
    make_household,
    make_user,
)
from propoor.market import services
from propoor.market.cart import SESSION_KEY
from propoor.market.models import (
    Certification,
    CertificationStatus,
    Checkout,
    ExperienceSlot,
    Order,
    OrderStatus,
    ProductPhoto,
    Review,
    StockLot,
)
from propoor.market.tests.factories import buy, make_lot, make_product, make_seller

pytestmark = pytest.mark.django_db

CART = reverse("market:cart")
ADD = reverse("market:cart_add")
UPDATE = reverse("market:cart_update")
CHECKOUT = reverse("market:checkout")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
    b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe"
    b"\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _client(user=None) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _certify(product, *, days: int = 365) -> Certification:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    return Certification.objects.create(
        product=product,
        status=CertificationStatus.CERTIFIED,
        evidence="合作社收购贫困户苹果",
        applied_by=product.seller.operators.first(),
        certified_on=today,
        valid_until=today + timedelta(days=days),
    )


def _cart(client: Client) -> list[dict[str, object]]:
    return client.session.get(SESSION_KEY, [])


def _checkout_form(key: str = "form-key-0001") -> dict[str, str]:
    return {
        "idempotency_key": key,
        "contact_name": "李买家",
        "contact_phone": "13800000000",
        "address": "昆明市五华区",
    }


# --------------------------------------------------------------------------- browsing


def test_the_storefront_is_public_and_searches_chinese_text(area_tree) -> None:
    apples = make_product(
        make_seller(name="高山合作社"), title="高山苹果", price="12.50"
    )
    honey = make_product(make_seller(village=VILLAGE_A2), title="土蜂蜜", price="58.00")
    _certify(apples)
    client = _client()

    everything = client.get(reverse("market:home"))
    found = client.get(reverse("market:home"), {"q": "苹果"})
    certified = client.get(reverse("market:home"), {"certified": "1"})
    by_village = client.get(reverse("market:home"), {"village": VILLAGE_A2})

    assert everything.status_code == 200
    assert [c.product.pk for c in everything.context["front"].cards] == [
        apples.pk,
        honey.pk,
    ]
    assert [c.product.pk for c in found.context["front"].cards] == [apples.pk]
    assert [c.product.pk for c in certified.context["front"].cards] == [apples.pk]
    assert [c.product.pk for c in by_village.context["front"].cards] == [honey.pk]
    page = found.content.decode()
    assert "¥12.50" in page
    assert "data-certified" in page
    assert "高山合作社" in page


def test_a_search_the_search_cannot_take_is_refused_with_the_catalogue(
    area_tree,
) -> None:
    apples = make_product(make_seller())
    response = _client().get(reverse("market:home"), {"q": "一 二 三 四 五 六"})
    assert response.status_code == 422
    assert response.context["error"] == "A search has at most 5 words."
    assert [c.product.pk for c in response.context["front"].cards] == [apples.pk]


def test_the_storefront_filters_by_category(area_tree) -> None:
    seller = make_seller()
    apples = make_product(seller)
    stay = make_product(
        seller,
        category="farm-stay",
        title="农家乐",
        unit="person_day",
        capacity_per_day=4,
    )
    client = _client()
    goods = client.get(reverse("market:home"), {"category": "fresh-produce"})
    stays = client.get(reverse("market:home"), {"category": "farm-stay"})
    assert [c.product.pk for c in goods.context["front"].cards] == [apples.pk]
    assert [c.product.pk for c in stays.context["front"].cards] == [stay.pk]


def test_a_product_page_shows_benefits_in_aggregate_the_lot_and_its_trace_link(
    area_tree,
) -> None:
    seller = make_seller()
    product = make_product(seller, title="高山苹果", price="39.90")
    lot = make_lot(product, "80", days_ago=3, code="A-2026")
    admin = make_user("county_admin", ["530102000000"])
    first = make_household(head_name="王大山")
    second = make_household(head_name="李小花")
    services.benefit_declare(
        admin, seller, household=first, mechanism="own_produce", share="0.3"
    )
    services.benefit_declare(
        admin, seller, household=second, mechanism="wages", share="0.1"
    )
    services.benefit_declare(
        admin, seller, household=second, mechanism="dividend", share="0.05"
    )
    _certify(product, days=100)

    response = _client().get(reverse("market:product", args=[product.pk]))

    assert response.status_code == 200
    view = response.context["p"]
    assert view.benefit.households == 2
    assert [(m, n) for m, _label, n in view.benefit.by_mechanism] == [
        ("own_produce", 1),
        ("wages", 1),
        ("dividend", 1),
    ]
    assert view.lot == lot
    assert view.available == Decimal("80.000")
    assert view.certified_until == timezone.localdate() + timedelta(days=100)
    page = response.content.decode()
    assert "王大山" not in page
    assert "李小花" not in page
    assert view.lot_page in page
    assert view.lot_page.startswith("/market/trace/01/")
    assert view.lot_page.endswith("/10/A-2026")
    assert "<svg" in page  # the QR code
    assert (timezone.localdate() - timedelta(days=3)).isoformat() in page


def test_a_product_off_sale_is_not_found(area_tree) -> None:
    product = make_product(make_seller())
    product.active = False
    product.save()
    assert (
        _client().get(reverse("market:product", args=[product.pk])).status_code == 404
    )
    assert _client().get(reverse("market:product", args=[99999])).status_code == 404


def test_an_experience_shows_the_places_left_per_date(area_tree, buyer) -> None:
    stay = make_product(
        make_seller(),
        category="farm-stay",
        title="农家乐",
        unit="person_day",
        capacity_per_day=4,
    )
    tomorrow = timezone.localdate() + timedelta(days=1)
    buy(buyer, stay, "3", day=tomorrow)

    response = _client().get(reverse("market:product", args=[stay.pk]))

    days = {d.day: d.left for d in response.context["p"].days}
    assert len(days) == 14
    assert days[timezone.localdate()] == 4
    assert days[tomorrow] == 1
    assert (
        f'data-date="{tomorrow.isoformat()}" data-left="1"' in response.content.decode()
    )


def test_photos_are_served_and_other_content_is_not(area_tree) -> None:
    product = make_product(make_seller())
    photo = ProductPhoto.objects.create(
        product=product, content_type="image/png", data=PNG
    )
    svg = ProductPhoto.objects.create(
        product=product, content_type="image/svg+xml", data=b"<svg/>"
    )
    response = _client().get(reverse("market:photo", args=[photo.pk]))
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert _client().get(reverse("market:photo", args=[svg.pk])).status_code == 404


# --------------------------------------------------------------------------- the cart


def test_the_cart_keeps_lines_in_the_session(area_tree) -> None:
    seller = make_seller()
    apples = make_product(seller, price="10.00")
    honey = make_product(seller, price="58.00", unit="piece")
    client = _client()

    client.post(ADD, {"product": apples.pk, "quantity": "1.5"})
    client.post(ADD, {"product": apples.pk, "quantity": "1"})
    response = client.post(ADD, {"product": honey.pk, "quantity": "2"})

    assert response.status_code == 302
    assert response.headers["Location"] == CART
    assert _cart(client) == [
        {"product": apples.pk, "quantity": "2.5", "date": None},
        {"product": honey.pk, "quantity": "2", "date": None},
    ]
    page = client.get(CART)
    assert page.context["cart"].total == Decimal("141.00")
    assert "¥141.00" in page.content.decode()

    client.post(UPDATE, {f"quantity-{apples.pk}": "4", f"quantity-{honey.pk}": "1"})
    assert _cart(client) == [
        {"product": apples.pk, "quantity": "4", "date": None},
        {"product": honey.pk, "quantity": "1", "date": None},
    ]
    client.post(UPDATE, {"remove": str(apples.pk)})
    assert _cart(client) == [{"product": honey.pk, "quantity": "1", "date": None}]
    client.post(UPDATE, {f"quantity-{honey.pk}": "0"})
    assert _cart(client) == []


def test_a_bad_quantity_is_refused_and_the_cart_unchanged(area_tree) -> None:
    apples = make_product(make_seller())
    client = _client()
    client.post(ADD, {"product": apples.pk, "quantity": "2"})

    bad_add = client.post(ADD, {"product": apples.pk, "quantity": "-1"})
    bad_update = client.post(UPDATE, {f"quantity-{apples.pk}": "abc"})

    assert bad_add.status_code == 422
    assert "The quantity must be more than 0." in bad_add.content.decode()
    assert bad_update.status_code == 422
    assert _cart(client) == [{"product": apples.pk, "quantity": "2", "date": None}]


def test_an_experience_needs_a_date_in_the_cart(area_tree) -> None:
    stay = make_product(
        make_seller(), category="farm-stay", unit="person_day", capacity_per_day=4
    )
    day = timezone.localdate() + timedelta(days=2)
    client = _client()

    refused = client.post(ADD, {"product": stay.pk, "quantity": "2"})
    added = client.post(
        ADD, {"product": stay.pk, "quantity": "2", "date": day.isoformat()}
    )

    assert refused.status_code == 422
    assert "Choose the date of the experience." in refused.content.decode()
    assert added.status_code == 302
    assert _cart(client) == [
        {"product": stay.pk, "quantity": "2", "date": day.isoformat()}
    ]
    key = f"{stay.pk}@{day.isoformat()}"
    client.post(UPDATE, {f"quantity-{key}": "3"})
    assert _cart(client)[0]["quantity"] == "3"


def test_adding_a_product_off_sale_is_not_found(area_tree) -> None:
    product = make_product(make_seller())
    product.active = False
    product.save()
    client = _client()
    assert client.post(ADD, {"product": product.pk, "quantity": "1"}).status_code == 404
    assert _cart(client) == []


# --------------------------------------------------------------------------- checkout


def test_checkout_needs_a_login_and_keeps_the_cart(area_tree) -> None:
    apples = make_product(make_seller())
    make_lot(apples, "10")
    client = _client()
    client.post(ADD, {"product": apples.pk, "quantity": "1"})

    page = client.get(CART)
    response = client.post(CHECKOUT, _checkout_form())

    assert "data-login" in page.content.decode()
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("web:login"))
    assert Checkout.objects.count() == 0
    assert len(_cart(client)) == 1


def test_checkout_from_the_cart_makes_one_order_per_seller(area_tree, buyer) -> None:
    apples = make_product(make_seller(name="甲合作社"), price="10.00")
    honey = make_product(
        make_seller(village=VILLAGE_B1, name="乙合作社"), price="58.00", unit="piece"
    )
    make_lot(apples, "50")
    make_lot(honey, "10")
    client = _client(buyer)
    client.post(ADD, {"product": apples.pk, "quantity": "2.5"})
    client.post(ADD, {"product": honey.pk, "quantity": "2"})
    cart_page = client.get(CART)
    assert len(cart_page.context["cart"].groups) == 2

    response = client.post(CHECKOUT, _checkout_form())

    checkout = Checkout.objects.get()
    assert response.status_code == 302
    assert response.headers["Location"] == reverse(
        "market:checkout_detail", args=[checkout.number]
    )
    assert (
        checkout.buyer,
        checkout.total,
        checkout.contact_name,
        checkout.address,
    ) == (
        buyer,
        Decimal("141.00"),
        "李买家",
        "昆明市五华区",
    )
    assert sorted(
        (o.seller.name, o.total, o.status) for o in checkout.orders.all()
    ) == [
        ("乙合作社", Decimal("116.00"), OrderStatus.PENDING_PAYMENT),
        ("甲合作社", Decimal("25.00"), OrderStatus.PENDING_PAYMENT),
    ]
    assert _cart(client) == []
    detail = client.get(response.headers["Location"])
    assert detail.status_code == 200
    assert detail.context["c"].payable is True
    assert "¥141.00" in detail.content.decode()


def test_the_same_form_submitted_twice_makes_one_checkout(area_tree, buyer) -> None:
    apples = make_product(make_seller(), price="10.00")
    lot = make_lot(apples, "50")
    client = _client(buyer)
    client.post(ADD, {"product": apples.pk, "quantity": "3"})
    form = _checkout_form("double-submit-key")

    first = client.post(CHECKOUT, form)
    second = client.post(CHECKOUT, form)

    checkout = Checkout.objects.get()
    assert (
        first.headers["Location"]
        == second.headers["Location"]
        == reverse("market:checkout_detail", args=[checkout.number])
    )
    assert Order.objects.count() == 1
    lot.refresh_from_db()
    assert lot.available == Decimal("47.000")


def test_out_of_stock_is_shown_and_nothing_is_created(area_tree, buyer) -> None:
    apples = make_product(make_seller(), title="核桃", price="10.00")
    honey = make_product(make_seller(village=VILLAGE_A2), price="20.00")
    make_lot(apples, "4")
    make_lot(honey, "10")
    client = _client(buyer)
    client.post(ADD, {"product": honey.pk, "quantity": "1"})
    client.post(ADD, {"product": apples.pk, "quantity": "4.5"})

    response = client.post(CHECKOUT, _checkout_form())

    assert response.status_code == 409
    # the product's title in the page's language (the factory's English title)
    assert response.context["error"] == "Only 4 kg of Mountain apples left."
    assert "Only 4 kg of Mountain apples left." in response.content.decode()
    assert Checkout.objects.count() == 0
    assert Order.objects.count() == 0
    assert sorted(StockLot.objects.values_list("available", flat=True)) == [
        Decimal("4.000"),
        Decimal("10.000"),
    ]
    assert len(_cart(client)) == 2  # the cart is kept to change it


def test_a_missing_contact_is_refused_and_the_form_kept(area_tree, buyer) -> None:
    apples = make_product(make_seller())
    make_lot(apples, "10")
    client = _client(buyer)
    client.post(ADD, {"product": apples.pk, "quantity": "1"})

    response = client.post(CHECKOUT, {**_checkout_form(), "contact_phone": ""})

    assert response.status_code == 422
    assert response.context["error"] == "Give a contact name and phone number."
    assert response.context["contact"]["contact_name"] == "李买家"
    assert Checkout.objects.count() == 0


def test_an_empty_cart_cannot_check_out(area_tree, buyer) -> None:
    response = _client(buyer).post(CHECKOUT, _checkout_form())
    assert response.status_code == 422
    assert response.context["error"] == "The cart is empty."
    assert Checkout.objects.count() == 0


def test_another_buyers_checkout_and_order_are_not_found(area_tree, buyer) -> None:
    apples = make_product(make_seller())
    make_lot(apples, "10")
    checkout = buy(buyer, apples, "1")
    order = checkout.orders.get()
    other = _client(make_user("buyer"))
    assert (
        other.get(reverse("market:checkout_detail", args=[checkout.number])).status_code
        == 404
    )
    assert (
        other.get(reverse("market:order_detail", args=[order.number])).status_code
        == 404
    )
    assert (
        other.post(
            reverse("market:order_act", args=[order.number]), {"event": "cancel"}
        ).status_code
        == 404
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_my_pages_need_a_login(area_tree) -> None:
    for url in (
        reverse("market:orders"),
        reverse("market:order_detail", args=["C1-1"]),
    ):
        response = _client().get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith(reverse("web:login"))


# -------------------------------------------------------------------------- my orders


def test_my_orders_lists_only_mine_with_the_timeline(area_tree, buyer) -> None:
    apples = make_product(make_seller())
    make_lot(apples, "10")
    mine = buy(buyer, apples, "1").orders.get()
    buy(make_user("buyer"), apples, "1")
    services.order_transition(mine, "pay", actor=None)
    client = _client(buyer)

    listing = client.get(reverse("market:orders"))
    detail = client.get(reverse("market:order_detail", args=[mine.number]))

    assert [o.number for o in listing.context["orders"]] == [mine.number]
    assert detail.status_code == 200
    assert [t.event for t in detail.context["o"].transitions] == ["checkout", "pay"]
    assert detail.context["o"].events == ("request_refund",)
    page = detail.content.decode()
    assert 'data-status="paid"' in page
    assert mine.lines.get().allocations.get().lot.code in page


def test_the_buyer_cancels_a_pending_order_and_its_stock_comes_back(
    area_tree, buyer
) -> None:
    apples = make_product(make_seller())
    lot = make_lot(apples, "10")
    order = buy(buyer, apples, "4").orders.get()

    response = _client(buyer).post(
        reverse("market:order_act", args=[order.number]), {"event": "cancel"}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    lot.refresh_from_db()
    assert (order.status, lot.available) == (OrderStatus.CANCELLED, Decimal("10.000"))


def test_a_refund_request_needs_a_reason_and_goes_through_the_state_machine(
    area_tree, buyer
) -> None:
    apples = make_product(make_seller())
    make_lot(apples, "10")
    order = buy(buyer, apples, "1").orders.get()
    services.order_transition(order, "pay", actor=None)
    client = _client(buyer)
    url = reverse("market:order_act", args=[order.number])

    without = client.post(url, {"event": "request_refund"})
    order.refresh_from_db()
    assert (without.status_code, order.status) == (422, OrderStatus.PAID)

    asked = client.post(url, {"event": "request_refund", "reason": "苹果坏了"})
    order.refresh_from_db()
    assert (asked.status_code, order.status) == (302, OrderStatus.REFUND_REQUESTED)
    assert order.transitions.last().note == "苹果坏了"


def test_an_illegal_action_is_refused_clearly(area_tree, buyer) -> None:
    apples = make_product(make_seller())
    make_lot(apples, "10")
    order = buy(buyer, apples, "1").orders.get()
    client = _client(buyer)
    url = reverse("market:order_act", args=[order.number])

    deliver = client.post(url, {"event": "deliver"})
    unknown = client.post(url, {"event": "pay"})

    assert deliver.status_code == 409
    assert deliver.context["error"] == (
        "This order is now “Awaiting payment”; that cannot be done any more."
    )
    assert unknown.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.transitions.count() == 1


def test_goods_are_confirmed_delivered_once_shipped_then_reviewed(
    area_tree, buyer
) -> None:
    apples = make_product(make_seller())
    make_lot(apples, "10")
    order = buy(buyer, apples, "1").orders.get()
    services.order_transition(order, "pay", actor=None)
    services.order_transition(order, "ship", actor=apples.seller.operators.first())
    client = _client(buyer)
    url = reverse("market:order_act", args=[order.number])
    assert client.get(reverse("market:order_detail", args=[order.number])).context[
        "o"
    ].events == (
        "deliver",
        "request_refund",
    )

    client.post(url, {"event": "deliver"})
    client.post(url, {"event": "complete"})
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    page = client.get(reverse("market:order_detail", args=[order.number]))
    assert page.context["o"].reviewable is True

    review = client.post(
        reverse("market:order_review", args=[order.number]),
        {"product": apples.pk, "rating": "5", "text": "很甜"},
    )
    again = client.post(
        reverse("market:order_review", args=[order.number]),
        {"product": apples.pk, "rating": "4"},
    )

    assert review.status_code == 302
    assert again.status_code == 409
    assert list(Review.objects.values_list("rating", "text")) == [(5, "很甜")]
    product_page = _client().get(reverse("market:product", args=[apples.pk]))
    assert [(r.rating, r.text, r.buyer) for r in product_page.context["p"].reviews] == [
        (5, "很甜", buyer.username[0] + "***"),
    ]
    assert buyer.username not in product_page.content.decode()


def test_an_experience_is_confirmed_once_paid(area_tree, buyer) -> None:
    stay = make_product(
        make_seller(), category="farm-stay", unit="person_day", capacity_per_day=4
    )
    day = timezone.localdate() + timedelta(days=1)
    order = buy(buyer, stay, "2", day=day).orders.get()
    services.order_transition(order, "pay", actor=None)
    view = (
        _client(buyer)
        .get(reverse("market:order_detail", args=[order.number]))
        .context["o"]
    )
    assert view.events == ("deliver", "request_refund")
    assert ExperienceSlot.objects.get().reserved == 2
    assert isinstance(view.lines[0].line.slot.date, date)


def test_a_member_of_a_public_body_may_buy_for_it(area_tree, buyer) -> None:
    from propoor.market.models import PublicBuyer

    apples = make_product(make_seller(), price="10.00")
    make_lot(apples, "50")
    client = _client(buyer)
    client.post(ADD, {"product": apples.pk, "quantity": "2"})
    refused = client.post(
        CHECKOUT, {**_checkout_form("org-key-0001"), "for_organisation": "1"}
    )
    assert refused.status_code == 403
    assert "You do not buy for an organisation this year." in refused.content.decode()
    assert Checkout.objects.count() == 0
    office = PublicBuyer.objects.create(
        name="县人民医院", year=timezone.localdate().year, quota="50000.00"
    )
    office.users.add(buyer)
    assert "data-for-organisation" in client.get(CART).content.decode()
    client.post(CHECKOUT, {**_checkout_form("org-key-0002"), "for_organisation": "1"})
    assert Order.objects.get().public_buyer == office
