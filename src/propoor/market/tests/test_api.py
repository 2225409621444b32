from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from propoor.households.tests.factories import (
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    api_client,
    make_household,
    make_user,
)
from propoor.market import services
from propoor.market.models import (
    Category,
    Certification,
    Checkout,
    Order,
    OrderTransition,
    Product,
    StockLot,
)
from propoor.market.services.traceability import derived_gtin
from propoor.market.tests.factories import buy, make_lot, make_product, make_seller

pytestmark = pytest.mark.django_db
API = "/api/v1/market"
KEY = "key-0123456789"


def post(client: Client, path: str, body: object = None, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"{API}/{path}",
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        headers=headers,
    )


def get(client: Client, path: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.get(f"{API}/{path}", headers=headers)


@pytest.fixture
def shop(area_tree, settings):  # type: ignore[no-untyped-def]
    """Two sellers: apples and walnuts in village A1, honey in A2."""
    settings.PROPOOR_SITE_URL = "https://market.example.cn"
    orchard = make_seller(name="高山果园合作社")
    apiary = make_seller(village=VILLAGE_A2, name="二村蜂蜜合作社")
    apples = services.product_create(
        orchard.operators.first(),
        orchard,
        category=_category("fresh-produce"),
        title_zh="高山苹果",
        title_en="Mountain apples",
        unit="kg",
        price="12.50",
        gtin="6901234567892",
        description_zh="海拔两千米的苹果",
        description_en="Apples from 2,000 m",
        specs={"品种": "红富士"},
    )
    walnuts = make_product(orchard, title="核桃", price="30.00")
    honey = make_product(apiary, title="野生蜂蜜", price="58.00", unit="piece")
    make_lot(apples, "3", days_ago=5, code="L0001")
    make_lot(apples, "10", days_ago=1, code="L0002")
    make_lot(apples, "7", days_ago=40, code="OLD1")  # past its 30-day shelf life
    make_lot(walnuts, "4")
    make_lot(honey, "10")
    return {
        "orchard": orchard,
        "apiary": apiary,
        "apples": apples,
        "walnuts": walnuts,
        "honey": honey,
    }


def _category(code: str) -> Category:
    if not Category.objects.exists():
        services.categories_install()
    return Category.objects.get(code=code)


def checkout_body(*lines: tuple[Product, str], **extra: object) -> dict[str, object]:
    return {
        "lines": [{"product": p.pk, "quantity": q} for p, q in lines],
        "contact_name": "李买家",
        "contact_phone": "13800000000",
        "address": "昆明市五华区",
        **extra,
    }


def available(product: Product) -> list[Decimal]:
    return list(
        StockLot.objects.filter(product=product)
        .order_by("id")
        .values_list("available", flat=True)
    )


# ---------------------------------------------------------------------------- catalogue


def test_categories_are_public_in_the_reader_s_language(area_tree) -> None:
    services.categories_install()
    english = get(Client(), "categories", **{"Accept-Language": "en"})
    chinese = get(Client(), "categories", **{"Accept-Language": "zh-hans"})
    assert english.status_code == 200
    assert [(c["code"], c["kind"], c["name"]) for c in english.json()][:3] == [
        ("fresh-produce", "goods", "Fresh produce"),
        ("processed-food", "goods", "Processed food"),
        ("handicrafts", "goods", "Handicrafts"),
    ]
    assert [c["name"] for c in chinese.json()] == [
        "生鲜农产品",
        "加工食品",
        "手工艺品",
        "农家乐住宿",
        "采摘体验",
        "垂钓体验",
        "民俗文化体验",
    ]


def test_product_search_is_public_and_shows_what_is_left(shop) -> None:
    response = get(Client(), "products?q=苹果", **{"Accept-Language": "en"})
    assert response.status_code == 200
    apples, orchard = shop["apples"], shop["orchard"]
    assert response.json() == {
        "count": 1,
        "limit": 20,
        "offset": 0,
        "items": [
            {
                "id": apples.pk,
                "title": "Mountain apples",
                "title_zh": "高山苹果",
                "title_en": "Mountain apples",
                "kind": "goods",
                "category": "fresh-produce",
                "unit": "kg",
                "price": "12.50",
                "seller": {
                    "id": orchard.pk,
                    "name": "高山果园合作社",
                    "kind": "cooperative",
                },
                "origin": {"code": VILLAGE_A1, "name": "一村"},
                "certified": False,
                "available": "13.000",  # the 40-day-old lot does not count
                "capacity_per_day": 0,
                "active": True,
            }
        ],
    }


def test_product_search_filters_and_pages(shop) -> None:
    today = timezone.localdate()
    Certification.objects.create(  # the certification workflow's outcome
        product=shop["honey"],
        status="certified",
        evidence="带动5户",
        applied_by=make_user("county_admin"),
        certified_on=today,
        valid_until=today + timedelta(days=365),
    )
    client = Client()

    def ids(query: str) -> list[int]:
        return [p["id"] for p in get(client, f"products?{query}").json()["items"]]

    assert ids("") == [shop["apples"].pk, shop["walnuts"].pk, shop["honey"].pk]
    assert ids(f"village={VILLAGE_A2}") == [shop["honey"].pk]
    assert ids("certified=true") == [shop["honey"].pk]
    assert ids("certified=false") == [shop["apples"].pk, shop["walnuts"].pk]
    assert ids("category=handicrafts") == []
    assert ids("q=合作社&limit=1&offset=1") == [shop["walnuts"].pk]
    page = get(client, "products?q=合作社&limit=2").json()
    assert (page["count"], len(page["items"])) == (3, 2)
    assert get(client, "products?limit=0").status_code == 422
    too_long = get(client, "products?q=" + "苹" * 101)
    assert too_long.status_code == 422
    assert too_long.json()["message"] == "A search is at most 100 characters."


def test_product_detail_lists_fresh_lots_with_their_digital_links(shop) -> None:
    response = get(
        Client(), f"products/{shop['apples'].pk}", **{"Accept-Language": "zh-hans"}
    )
    assert response.status_code == 200
    body = response.json()
    today = timezone.localdate()
    assert body["lots"] == [
        {
            "code": "L0001",
            "harvested_on": str(today - timedelta(days=5)),
            "best_before": str(today + timedelta(days=25)),
            "quantity": "3.000",
            "available": "3.000",
            "digital_link": "https://market.example.cn/market/trace/01/06901234567892/10/L0001",
        },
        {
            "code": "L0002",
            "harvested_on": str(today - timedelta(days=1)),
            "best_before": str(today + timedelta(days=29)),
            "quantity": "10.000",
            "available": "10.000",
            "digital_link": "https://market.example.cn/market/trace/01/06901234567892/10/L0002",
        },
    ]
    assert (body["title"], body["description"], body["specs"], body["gtin"]) == (
        "高山苹果",
        "海拔两千米的苹果",
        {"品种": "红富士"},
        "6901234567892",
    )
    assert (body["available"], body["days"], body["certified_until"]) == (
        "13.000",
        [],
        None,
    )
    assert (body["households_benefited"], body["benefits"]) == (0, [])


def test_an_experience_shows_places_left_per_day(shop, buyer) -> None:
    farm = make_seller(village=VILLAGE_B1, name="三村农家乐")
    stay = make_product(
        farm,
        category="farm-stay",
        title="梯田农家乐",
        unit="person_day",
        price="80.00",
        capacity_per_day=6,
    )
    tomorrow = timezone.localdate() + timedelta(days=1)
    buy(buyer, stay, "4", day=tomorrow)
    body = get(Client(), f"products/{stay.pk}").json()
    assert (body["kind"], body["available"], body["lots"]) == ("experience", None, [])
    assert body["days"][:3] == [
        {"date": str(tomorrow - timedelta(days=1)), "left": 6},
        {"date": str(tomorrow), "left": 2},
        {"date": str(tomorrow + timedelta(days=1)), "left": 6},
    ]
    assert len(body["days"]) == 14


def test_products_off_sale_are_not_found(shop) -> None:
    Product.objects.filter(pk=shop["walnuts"].pk).update(active=False)
    response = get(Client(), f"products/{shop['walnuts'].pk}")
    assert response.status_code == 404
    assert response.json() == {
        "message": "No such product on sale.",
        "code": "not_found",
        "extra": {},
    }
    assert get(Client(), "products/999999").status_code == 404


# ----------------------------------------------------------------------------- checkout


def test_checkout_makes_one_order_per_seller_and_the_same_key_returns_it(
    shop, buyer
) -> None:
    client = api_client(buyer)
    body = checkout_body((shop["apples"], "4.5"), (shop["honey"], "2"))
    response = post(client, "checkout", body, **{"Idempotency-Key": KEY})
    assert response.status_code == 201
    made = response.json()
    number = made["number"]
    assert re.fullmatch(r"C\d{8}\d{10}", number)
    assert (
        made["total"],
        made["contact_name"],
        made["address"],
        made["on_behalf_of"],
    ) == (
        "172.25",
        "李买家",
        "昆明市五华区",
        None,
    )
    orders = made["orders"]
    assert [
        (o["number"], o["status"], o["seller"]["name"], o["total"], o["events"])
        for o in orders
    ] == [
        (f"{number}-1", "pending_payment", "高山果园合作社", "56.25", ["cancel"]),
        (f"{number}-2", "pending_payment", "二村蜂蜜合作社", "116.00", ["cancel"]),
    ]
    assert orders[0]["lines"] == [
        {
            "product": shop["apples"].pk,
            "title": "Mountain apples",
            "kind": "goods",
            "unit": "kg",
            "quantity": "4.500",
            "unit_price": "12.50",
            "amount": "56.25",
            "date": None,
            "lots": [
                {"code": "L0001", "quantity": "3.000"},
                {"code": "L0002", "quantity": "1.500"},
            ],
        }
    ]
    assert available(shop["apples"]) == [
        Decimal("0.000"),
        Decimal("8.500"),
        Decimal("7.000"),
    ]

    again = post(client, "checkout", body, **{"Idempotency-Key": KEY})
    assert again.status_code == 200
    assert again.json() == made
    by_body = post(client, "checkout", {**body, "idempotency_key": KEY})
    assert (by_body.status_code, by_body.json()["number"]) == (200, number)
    assert (Checkout.objects.count(), Order.objects.count()) == (1, 2)
    assert available(shop["apples"]) == [
        Decimal("0.000"),
        Decimal("8.500"),
        Decimal("7.000"),
    ]


def test_checkout_short_of_stock_is_a_conflict_naming_what_is_short(
    shop, buyer
) -> None:
    response = post(
        api_client(buyer),
        "checkout",
        checkout_body((shop["apples"], "1"), (shop["walnuts"], "4.5")),
        **{"Idempotency-Key": KEY},
    )
    assert response.status_code == 409
    assert response.json() == {
        "message": "Only 4 kg of 核桃 left.",
        "code": "conflict",
        "extra": {"product": shop["walnuts"].pk, "available": "4.000"},
    }
    assert (Checkout.objects.count(), Order.objects.count()) == (0, 0)
    assert available(shop["apples"]) == [
        Decimal("3.000"),
        Decimal("10.000"),
        Decimal("7.000"),
    ]
    assert available(shop["walnuts"]) == [Decimal("4.000")]


def test_a_refusal_is_worded_in_the_language_the_phone_asks_for(shop, buyer) -> None:
    client = api_client(buyer)
    body = checkout_body((shop["walnuts"], "4.5"))

    def ask(body: dict[str, object], language: str):  # type: ignore[no-untyped-def]
        headers = {"Accept-Language": language, "Idempotency-Key": uuid.uuid4().hex}
        return post(client, "checkout", body, **headers)

    short = ask(body, "zh-CN,zh;q=0.9")
    empty = ask(checkout_body(), "zh-Hans")
    in_english = ask(checkout_body(), "en")

    assert (short.status_code, short.json()["message"]) == (409, "核桃 只剩 4 公斤。")
    assert (empty.status_code, empty.json()["message"]) == (422, "购物车是空的。")
    assert in_english.json()["message"] == "The cart is empty."
    assert (Checkout.objects.count(), Order.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("change", "headers", "message"),
    [
        ({}, {}, "Send an idempotency key of 8 to 64 characters."),
        (
            {"idempotency_key": "short"},
            {},
            "Send an idempotency key of 8 to 64 characters.",
        ),
        (
            {"idempotency_key": "another-key-123"},
            {"Idempotency-Key": KEY},
            "The Idempotency-Key header and idempotency_key differ.",
        ),
        ({"lines": []}, {"Idempotency-Key": KEY}, "The cart is empty."),
        (
            {"contact_phone": " "},
            {"Idempotency-Key": KEY},
            "Give a contact name and phone number.",
        ),
        (
            {"lines": [{"product": 999999, "quantity": "1"}]},
            {"Idempotency-Key": KEY},
            "Line 1: product 999999 is not on sale.",
        ),
        (
            {"quantity": "0"},
            {"Idempotency-Key": KEY},
            "Line 1: the quantity must be more than 0.",
        ),
        (
            {"quantity": "1.5", "product": "honey"},
            {"Idempotency-Key": KEY},
            "Line 1: 野生蜂蜜 is sold by whole piece.",
        ),
    ],
)
def test_bad_checkouts_are_refused_and_write_nothing(
    shop, buyer, change, headers, message
) -> None:
    product = shop[change.pop("product", "apples")]
    body = checkout_body((product, change.pop("quantity", "1")), **change)
    response = post(api_client(buyer), "checkout", body, **headers)
    assert response.status_code == 422
    assert response.json()["message"] == message
    assert (Checkout.objects.count(), Order.objects.count()) == (0, 0)
    assert available(shop["apples"]) == [
        Decimal("3.000"),
        Decimal("10.000"),
        Decimal("7.000"),
    ]


def test_malformed_checkout_bodies_are_422(shop, buyer) -> None:
    response = post(api_client(buyer), "checkout", {"lines": [{"product": "x"}]})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert Checkout.objects.count() == 0


def test_checkout_needs_a_login(shop) -> None:
    response = post(
        Client(),
        "checkout",
        checkout_body((shop["apples"], "1")),
        **{"Idempotency-Key": KEY},
    )
    assert response.status_code == 401
    assert Checkout.objects.count() == 0


def test_a_station_operator_buys_for_a_household_of_its_village(shop) -> None:
    household = make_household(village_code=VILLAGE_A1)
    operator = make_user("station_operator", [VILLAGE_A1])
    body = checkout_body((shop["walnuts"], "1"), on_behalf_of=household.pk)
    response = post(api_client(operator), "checkout", body, **{"Idempotency-Key": KEY})
    assert response.status_code == 201
    assert response.json()["on_behalf_of"] == household.pk
    elsewhere = make_user("station_operator", [VILLAGE_B1])
    assert (
        post(
            api_client(elsewhere), "checkout", body, **{"Idempotency-Key": KEY}
        ).status_code
        == 404
    )
    plain = make_user("buyer")
    refused = post(api_client(plain), "checkout", body, **{"Idempotency-Key": KEY})
    assert refused.status_code == 403
    assert Checkout.objects.count() == 1


# ----------------------------------------------------------------------------- orders


def test_i_see_my_orders_and_only_mine(shop, buyer) -> None:
    first = buy(buyer, shop["apples"], "1")
    second = buy(buyer, shop["honey"], "2")
    buy(make_user("buyer"), shop["walnuts"], "1")
    client = api_client(buyer)
    page = get(client, "orders").json()
    assert (page["count"], [o["number"] for o in page["items"]]) == (
        2,
        [f"{second.number}-1", f"{first.number}-1"],
    )
    assert get(client, "orders?status=paid").json()["count"] == 0
    assert get(client, "orders?status=flying").status_code == 422
    other = Order.objects.exclude(buyer=buyer).get()
    assert get(client, f"orders/{other.number}").status_code == 404
    detail = get(client, f"orders/{first.number}-1").json()
    assert (detail["checkout"], detail["total"], detail["status"]) == (
        first.number,
        "12.50",
        "pending_payment",
    )
    assert get(client, f"checkouts/{second.number}").json()["total"] == "116.00"
    assert (
        get(api_client(make_user("buyer")), f"checkouts/{second.number}").status_code
        == 404
    )


def test_order_events_follow_the_table(shop, buyer) -> None:
    number = f"{buy(buyer, shop['apples'], '2').number}-1"
    mine = api_client(buyer)
    seller = api_client(shop["orchard"].operators.first())

    early = post(seller, f"orders/{number}/events/ship")
    assert early.status_code == 409
    assert early.json() == {
        "message": "An order that is pending_payment cannot ship; it can: cancel, "
        "expire, pay.",
        "code": "conflict",
        "extra": {
            "order": number,
            "status": "pending_payment",
            "event": "ship",
            "allowed": ["cancel", "expire", "pay"],
        },
    }
    assert post(mine, f"orders/{number}/events/pay").status_code == 403
    unknown = post(mine, f"orders/{number}/events/fly")
    assert (unknown.status_code, unknown.json()["extra"]["events"][:3]) == (
        422,
        ["cancel", "complete", "deliver"],
    )
    assert OrderTransition.objects.filter(order__number=number).count() == 1

    services.order_transition(Order.objects.get(number=number), "pay", actor=None)
    assert get(seller, f"orders/{number}").json()["events"] == ["deliver", "ship"]
    shipped = post(seller, f"orders/{number}/events/ship", {"note": "顺丰 SF123"})
    assert (shipped.status_code, shipped.json()["status"]) == (200, "shipped")
    assert shipped.json()["shipped_at"] is not None
    assert OrderTransition.objects.filter(order__number=number).latest("id").note == (
        "顺丰 SF123"
    )
    assert post(mine, f"orders/{number}/events/ship").status_code == 409
    delivered = post(mine, f"orders/{number}/events/deliver")
    assert (delivered.json()["status"], delivered.json()["events"]) == (
        "delivered",
        ["complete", "request_refund"],
    )
    stranger = api_client(make_user("buyer"))
    assert post(stranger, f"orders/{number}/events/complete").status_code == 404


def test_cancelling_gives_the_stock_back(shop, buyer) -> None:
    number = f"{buy(buyer, shop['walnuts'], '3').number}-1"
    assert available(shop["walnuts"]) == [Decimal("1.000")]
    response = post(api_client(buyer), f"orders/{number}/events/cancel")
    assert (
        response.status_code,
        response.json()["status"],
        response.json()["events"],
    ) == (
        200,
        "cancelled",
        [],
    )
    assert available(shop["walnuts"]) == [Decimal("4.000")]
    again = post(api_client(buyer), f"orders/{number}/events/cancel")
    assert again.status_code == 409
    assert again.json()["extra"]["allowed"] == []
    assert available(shop["walnuts"]) == [Decimal("4.000")]


# ----------------------------------------------------------------------------- sellers


def test_an_operator_lists_its_sellers_products_and_orders(shop, buyer) -> None:
    operator = shop["orchard"].operators.first()
    client = api_client(operator)
    assert get(client, "sellers/mine").json() == [
        {
            "id": shop["orchard"].pk,
            "name": "高山果园合作社",
            "kind": "cooperative",
            "village": {"code": VILLAGE_A1, "name": "一村"},
            "active": True,
            "products": 2,
        },
    ]
    Product.objects.filter(pk=shop["walnuts"].pk).update(active=False)
    rows = get(client, f"sellers/{shop['orchard'].pk}/products").json()
    assert [(r["title_zh"], r["active"], r["available"]) for r in rows] == [
        ("高山苹果", True, "13.000"),
        ("核桃", False, "4.000"),
    ]
    bought = buy(buyer, shop["apples"], "1")
    orders = get(client, f"sellers/{shop['orchard'].pk}/orders").json()
    assert [o["number"] for o in orders["items"]] == [f"{bought.number}-1"]
    assert (
        get(client, f"sellers/{shop['orchard'].pk}/orders?status=paid").json()["count"]
        == 0
    )
    assert get(client, f"sellers/{shop['apiary'].pk}/products").status_code == 404
    assert get(api_client(buyer), "sellers/mine").json() == []


def test_an_operator_adds_a_product_and_a_lot(shop) -> None:
    seller = shop["apiary"]
    client = api_client(seller.operators.first())
    response = post(
        client,
        f"sellers/{seller.pk}/products",
        {
            "category": "processed-food",
            "title_zh": "土蜂蜜",
            "title_en": "Local honey",
            "unit": "piece",
            "price": "45.5",
            "specs": {"净含量": "500g"},
        },
    )
    assert response.status_code == 201
    product = Product.objects.get(title_zh="土蜂蜜")
    assert response.json() | {"id": 0} == {
        "id": 0,
        "title": "Local honey",
        "title_zh": "土蜂蜜",
        "title_en": "Local honey",
        "kind": "goods",
        "category": "processed-food",
        "unit": "piece",
        "price": "45.50",
        "seller": {"id": seller.pk, "name": "二村蜂蜜合作社", "kind": "cooperative"},
        "origin": {"code": VILLAGE_A2, "name": "二村"},
        "certified": False,
        "available": "0.000",
        "capacity_per_day": 0,
        "active": True,
        "description": "",
        "description_zh": "",
        "description_en": "",
        "specs": {"净含量": "500g"},
        "gtin": "",
        "certified_until": None,
        "households_benefited": 0,
        "benefits": [],
        "lots": [],
        "days": [],
    }
    harvested = timezone.localdate() - timedelta(days=3)
    lot = post(
        client,
        f"products/{product.pk}/lots",
        {
            "code": "H2024-01",
            "harvested_on": str(harvested),
            "quantity": "120",
            "shelf_life_days": 365,
        },
    )
    assert lot.status_code == 201
    assert lot.json() == {
        "code": "H2024-01",
        "harvested_on": str(harvested),
        "best_before": str(harvested + timedelta(days=365)),
        "quantity": "120.000",
        "available": "120.000",
        "digital_link": "https://market.example.cn/market/trace/01/"
        f"{derived_gtin(product.pk)}/10/H2024-01",
    }
    assert StockLot.objects.get(product=product).available == Decimal("120.000")


def test_seller_endpoints_refuse_others_and_bad_input(shop) -> None:
    seller = shop["apiary"]
    operator = api_client(seller.operators.first())
    stranger = api_client(make_user("cooperative", [VILLAGE_A2]))
    product = {
        "category": "processed-food",
        "title_zh": "土蜂蜜",
        "unit": "piece",
        "price": "45",
    }
    assert post(stranger, f"sellers/{seller.pk}/products", product).status_code == 404
    assert (
        post(
            stranger,
            f"products/{shop['honey'].pk}/lots",
            {
                "code": "X1",
                "harvested_on": str(timezone.localdate()),
                "quantity": "1",
                "shelf_life_days": 3,
            },
        ).status_code
        == 404
    )
    bad_unit = post(
        operator, f"sellers/{seller.pk}/products", {**product, "unit": "ton"}
    )
    assert (bad_unit.status_code, bad_unit.json()["extra"]) == (422, {"field": "unit"})
    bad_category = post(
        operator, f"sellers/{seller.pk}/products", {**product, "category": "cars"}
    )
    assert bad_category.json()["message"] == "No category 'cars'."
    bad_origin = post(
        operator, f"sellers/{seller.pk}/products", {**product, "origin": "530102009009"}
    )
    assert bad_origin.json()["message"] == "origin: no village 530102009009."
    future = post(
        operator,
        f"products/{shop['honey'].pk}/lots",
        {
            "code": "F1",
            "harvested_on": str(timezone.localdate() + timedelta(days=1)),
            "quantity": "1",
            "shelf_life_days": 3,
        },
    )
    assert (future.status_code, future.json()["message"]) == (
        422,
        "The harvest date is in the future.",
    )
    assert Product.objects.filter(title_zh="土蜂蜜").count() == 0
    assert StockLot.objects.filter(code__in=["X1", "F1"]).count() == 0
