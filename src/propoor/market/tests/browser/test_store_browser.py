"""A buyer buys end to end in the browser; the market's pages on phones and desktops.

The buyer searches in Chinese, opens the product (harvest date, traceability QR code,
the households it benefits), puts it in the cart, checks out, pays in the local
sandbox cashier (which signs its notification in Alipay's real format, verified by our
real code) and comes back to see the order paid. Then each page is photographed on a
phone and a desktop, in Chinese and English, for a person to look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from propoor.areas.models import Division
from propoor.households.tests.factories import (
    COUNTY,
    TEST_PASSWORD,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_area_tree,
    make_household,
    make_user,
)
from propoor.market import services
from propoor.market.models import (
    Category,
    Certification,
    CertificationStatus,
    Checkout,
    OrderStatus,
    Payment,
    Product,
    Seller,
)
from propoor.market.services.settlement import order_settle
from propoor.web.tests.browser.harness import DESKTOP, PHONE, SCREENSHOTS
from propoor.web.tests.browser.harness import open_page as _open

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from propoor.accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUYER = "li-maijia"
COUNTY_USER = "county-market"
STATION_USER = "station-a1"
HOUSEHOLD_USER = "li-siguang"
PAID = {"zh": "已付款", "en": "Paid"}


@dataclass(frozen=True)
class World:
    buyer: User
    county: User
    apples: Product
    stay: Product
    operator: User
    station: User
    household: User


def _certify(product: Product) -> None:
    today = timezone.localdate()
    Certification.objects.create(
        product=product,
        status=CertificationStatus.CERTIFIED,
        evidence="收购建档立卡贫困户苹果",
        applied_by=product.seller.operators.first(),
        certified_on=today - timedelta(days=30),
        valid_until=today + timedelta(days=335),
    )


def _seller(county: User, name: str, village: str, kind: str = "cooperative") -> Seller:
    operator = make_user("cooperative", [village])
    return services.seller_create(
        county,
        name=name,
        kind=kind,
        village=Division.objects.get(code=village),
        operators=[operator],
    )


@pytest.fixture
def world() -> World:
    make_area_tree()
    services.categories_install()
    county = make_user("county_admin", [COUNTY], COUNTY_USER)
    buyer = make_user("buyer", [], BUYER)
    orchard = _seller(county, "一村高山苹果专业合作社", VILLAGE_A1)
    bees = _seller(county, "二村土蜂蜜合作社", VILLAGE_A2)
    crafts = _seller(county, "三村竹编工坊", VILLAGE_B1)
    households = []
    for head, mechanism, share in (
        ("李四光", "own_produce", "0.3000"),
        ("王秀英", "purchase", "0.2000"),
        ("赵国强", "wages", "0.1000"),
    ):
        household = make_household(head_name=head, village_code=VILLAGE_A1)
        households.append(household)
        services.benefit_declare(
            county, orchard, household=household, mechanism=mechanism, share=share
        )
    services.benefit_declare(
        county,
        bees,
        household=make_household(head_name="钱大姐", village_code=VILLAGE_A2),
        mechanism="dividend",
        share="0.1500",
    )
    category = {c.code: c for c in Category.objects.all()}
    operator = orchard.operators.first()
    apples = services.product_create(
        operator,
        orchard,
        category=category["fresh-produce"],
        title_zh="高山红富士苹果",
        title_en="Highland Fuji apples",
        unit="kg",
        price="9.80",
        description_zh="海拔1800米果园种植，昼夜温差大，脆甜多汁。",
        description_en="Grown at 1,800 m: cold nights make them crisp and sweet.",
        specs={"产地": "五华区一村", "果径": "80–85 mm"},
    )
    today = timezone.localdate()
    services.lot_create(
        operator,
        apples,
        code="HF-2026-01",
        harvested_on=today - timedelta(days=4),
        quantity="500",
        shelf_life_days=60,
    )
    _certify(apples)
    dried = services.product_create(
        operator,
        orchard,
        category=category["processed-food"],
        title_zh="苹果干",
        title_en="Dried apple slices",
        unit="box",
        price="26.00",
    )
    services.lot_create(
        operator,
        dried,
        code="AD-01",
        harvested_on=today - timedelta(days=20),
        quantity="80",
        shelf_life_days=180,
    )
    honey = services.product_create(
        bees.operators.first(),
        bees,
        category=category["processed-food"],
        title_zh="百花土蜂蜜 500克",
        title_en="Wild-flower honey 500 g",
        unit="piece",
        price="68.00",
    )
    services.lot_create(
        bees.operators.first(),
        honey,
        code="H-09",
        harvested_on=today - timedelta(days=40),
        quantity="60",
        shelf_life_days=365,
    )
    _certify(honey)
    basket = services.product_create(
        crafts.operators.first(),
        crafts,
        category=category["handicrafts"],
        title_zh="手工竹编果篮",
        title_en="Hand-woven bamboo basket",
        unit="piece",
        price="45.00",
    )
    services.lot_create(
        crafts.operators.first(),
        basket,
        code="B-3",
        harvested_on=today - timedelta(days=9),
        quantity="25",
        shelf_life_days=3650,
    )
    stay = services.product_create(
        operator,
        orchard,
        category=category["picking"],
        title_zh="苹果园采摘一日游",
        title_en="A day picking apples",
        unit="person_day",
        price="88.00",
        capacity_per_day=12,
    )
    return World(
        buyer,
        county,
        apples,
        stay,
        operator,
        make_user("station_operator", [VILLAGE_A1], STATION_USER),
        make_user("household", [VILLAGE_A1], HOUSEHOLD_USER, household=households[0]),
    )


def _login(page: Page, base: str, username: str, target: str) -> None:
    page.goto(f"{base}{reverse('web:login')}?next={target}")
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(base + target)


def _shot(page: Page, name: str, viewport: str, language: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"market-{name}-{viewport}-{language}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_a_buyer_searches_buys_and_pays_in_the_sandbox(  # type: ignore[no-untyped-def]
    chromium: Browser,
    live_server,
    settings,
    tmp_path,
    world: World,
    pages: list[Page],
    locale: str,
) -> None:
    settings.PROPOOR_PAY_SANDBOX_STORE = str(tmp_path / "sandbox.json")
    language = "zh" if locale.startswith("zh") else "en"
    base = live_server.url
    page = _open(chromium, locale=locale, viewport=PHONE)
    pages.append(page)
    missing: list[str] = []
    page.on(
        "response",
        lambda r: missing.append(urlsplit(r.url).path) if r.status == 404 else None,
    )
    _login(page, base, BUYER, reverse("market:home"))

    # search in Chinese: what has 苹果 in it, the certified apples with their badge
    page.fill("#q", "苹果")
    page.press("#q", "Enter")
    page.wait_for_url("**/market/?q=*")
    cards = page.locator(".product-card")
    assert set(cards.evaluate_all("els => els.map(e => e.dataset.product)")) == {
        str(p.pk) for p in Product.objects.filter(title_zh__contains="苹果")
    }
    card = page.locator(f'.product-card[data-product="{world.apples.pk}"]')
    assert card.locator("[data-certified]").is_visible()
    _shot(page, "search", "phone", language)

    # the product: price, the households in aggregate, the lot and its QR code
    card.locator("a").click()
    page.wait_for_url(f"**{reverse('market:product', args=[world.apples.pk])}")
    assert page.locator("[data-price]").inner_text() == "¥9.80"
    assert page.locator("[data-benefit]").get_attribute("data-benefit") == "3"
    harvested = timezone.localdate() - timedelta(days=4)
    shown = (
        f"{harvested.year}年{harvested.month}月{harvested.day}日"
        if language == "zh"
        else harvested.isoformat()
    )
    assert page.locator("[data-harvested]").inner_text() == shown
    assert page.locator(".trace-box svg").is_visible()
    trace = page.locator("[data-trace-link]").get_attribute("href")
    assert trace is not None
    assert trace.endswith("/10/HF-2026-01")

    # two kilos in the cart, then the checkout
    page.fill("#quantity", "2")
    page.click("[data-add-to-cart]")
    page.wait_for_url(f"**{reverse('market:cart')}")
    assert page.locator("[data-total]").inner_text() == "¥19.60"
    assert page.locator("[data-cart-count]").inner_text() == "1"
    page.fill("#contact_name", "李买家")
    page.fill("#contact_phone", "13800000000")
    page.fill("#address", "昆明市五华区人民路1号")
    page.click("[data-place-order]")
    page.wait_for_url("**/market/checkouts/*/")
    _shot(page, "checkout", "phone", language)
    checkout = Checkout.objects.get(buyer=world.buyer)
    order = checkout.orders.get()
    assert order.status == OrderStatus.PENDING_PAYMENT

    # the sandbox cashier: press Pay; its signed notification pays the order
    page.click('[data-pay="alipay"]')
    page.wait_for_selector('[data-action="pay"]')
    assert page.locator("#amount").get_attribute("data-amount") == "19.60"
    page.click('[data-action="pay"]')
    page.wait_for_url(f"**{reverse('market:pay_return', args=[checkout.number])}*")
    assert page.locator("[data-state]").get_attribute("data-state") == "paid"
    payment = Payment.objects.get(checkout=checkout)
    assert (payment.channel, payment.status, payment.amount) == (
        "alipay",
        "paid",
        Decimal("19.60"),
    )

    # back to the order: paid, with its history
    page.goto(base + reverse("market:order_detail", args=[order.number]))
    status = page.locator(".order-status-big [data-status]")
    assert status.get_attribute("data-status") == "paid"
    assert status.inner_text() == PAID[language]
    assert page.locator("[data-timeline] li").evaluate_all(
        "els => els.map(e => e.dataset.event)"
    ) == ["checkout", "pay"]
    _shot(page, "order-paid", "phone", language)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    # The sandbox cashier is a page of its own, without the site's icon: the browser
    # asked for /favicon.ico there. Nothing else was missing, and no script failed.
    assert set(missing) <= {"/favicon.ico"}
    errors = page.js_errors  # type: ignore[attr-defined]
    assert [e for e in errors if "status of 404" not in e] == []


def _paid_order(world: World) -> str:
    """A paid, settled order of the apples (for the order page and the county view)."""
    checkout, _ = services.checkout_create(
        world.buyer,
        lines=[services.LineIn(world.apples.pk, Decimal("3"))],
        idempotency_key="screenshots-0001",
        contact_name="李买家",
        contact_phone="13800000000",
        address="昆明市五华区人民路1号",
    )
    order = checkout.orders.get()
    services.order_transition(order, "pay", actor=None)
    services.order_transition(
        order, "ship", actor=world.apples.seller.operators.first()
    )
    order_settle(order, now=timezone.now())
    return order.number


@pytest.mark.parametrize(
    ("locale", "viewport"),
    [
        ("zh-CN", "phone"),
        ("en-US", "phone"),
        ("zh-CN", "desktop"),
        ("en-US", "desktop"),
    ],
)
def test_the_market_pages_on_phones_and_desktops(  # type: ignore[no-untyped-def]
    chromium: Browser,
    live_server,
    world: World,
    pages: list[Page],
    locale: str,
    viewport: str,
) -> None:
    language = "zh" if locale.startswith("zh") else "en"
    base = live_server.url
    number = _paid_order(world)
    size = PHONE if viewport == "phone" else DESKTOP

    buyer = _open(chromium, locale=locale, viewport=size)
    pages.append(buyer)
    _login(buyer, base, BUYER, reverse("market:home"))
    assert buyer.locator(".product-card").count() == 5
    _shot(buyer, "storefront", viewport, language)

    buyer.goto(base + reverse("market:product", args=[world.apples.pk]))
    assert buyer.locator(".trace-box svg").is_visible()
    _shot(buyer, "product", viewport, language)

    buyer.goto(base + reverse("market:product", args=[world.stay.pk]))
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    buyer.click(f'.date-chip[data-date="{tomorrow}"]')
    buyer.fill("#quantity", "2")
    _shot(buyer, "experience", viewport, language)
    buyer.click("[data-add-to-cart]")
    buyer.wait_for_url(f"**{reverse('market:cart')}")
    buyer.goto(base + reverse("market:product", args=[world.apples.pk]))
    buyer.fill("#quantity", "1.5")
    buyer.click("[data-add-to-cart]")
    buyer.wait_for_url(f"**{reverse('market:cart')}")
    assert buyer.locator("[data-total]").inner_text() == "¥190.70"
    _shot(buyer, "cart", viewport, language)

    buyer.goto(base + reverse("market:order_detail", args=[number]))
    assert (
        buyer.locator(".order-status-big [data-status]").get_attribute("data-status")
        == "shipped"
    )
    _shot(buyer, "order", viewport, language)
    assert buyer.js_errors == []  # type: ignore[attr-defined]

    county = _open(chromium, locale=locale, viewport=size)
    pages.append(county)
    _login(county, base, COUNTY_USER, reverse("market:office_county"))
    county.wait_for_selector('[data-chart="months"][data-rendered="true"]')
    county.wait_for_selector('[data-chart="villages"][data-rendered="true"]')
    assert county.locator('[data-stat="sales"]').inner_text() == "¥29.40"
    assert county.locator('[data-stat="income"]').inner_text() == "¥17.64"
    assert county.locator('[data-stat="certified"]').inner_text() == "2"
    county.wait_for_timeout(600)  # the charts' entry animation
    _shot(county, "county", viewport, language)
    assert county.js_errors == []  # type: ignore[attr-defined]

    # the back office: the seller's orders and lots, the station, a household
    office = _open(chromium, locale=locale, viewport=size)
    pages.append(office)
    seller = world.apples.seller
    _login(
        office,
        base,
        world.operator.username,
        reverse("market:office_orders", args=[seller.pk]),
    )
    assert office.locator(f'[data-order="{number}"]').is_visible()
    _shot(office, "seller-orders", viewport, language)
    office.goto(base + reverse("market:office_lots", args=[seller.pk]))
    _shot(office, "seller-lots", viewport, language)
    office.goto(base + reverse("market:office_seller", args=[seller.pk]))
    _shot(office, "seller-products", viewport, language)
    station = _open(chromium, locale=locale, viewport=size)
    pages.append(station)
    _login(station, base, STATION_USER, reverse("market:office_station"))
    _shot(station, "station", viewport, language)
    household = _open(chromium, locale=locale, viewport=size)
    pages.append(household)
    _login(household, base, HOUSEHOLD_USER, reverse("market:office_household"))
    assert household.locator('[data-stat="total"]').inner_text() == "¥8.82"
    _shot(household, "household", viewport, language)
    for opened in (office, station, household):
        assert opened.js_errors == []  # type: ignore[attr-defined]
