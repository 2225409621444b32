"""A product is certified through the review steps in the browser, on phones, and its
lot's public page shows the badge.

The seller's operator applies; the township officer first tries to reject without a
reason (refused, 422), then approves; the county administrator approves, which opens
the public notice; the daily job (called here) certifies once the notice has ended.
The notice is set to 0 days so that the certificate is in force today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from propoor.areas.models import Division
from propoor.households.tests.factories import (
    TEST_PASSWORD,
    TOWNSHIP_A,
    VILLAGE_A1,
    make_area_tree,
    make_household,
    make_user,
)
from propoor.market import services
from propoor.market.models import Category, Certification, Product, StockLot
from propoor.market.services.certification import certifications_finalise
from propoor.market.services.traceability import lot_digital_link, lot_event_record
from propoor.web.tests.browser.harness import PHONE, SCREENSHOTS
from propoor.web.tests.browser.harness import open_page as _open

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from propoor.accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EVIDENCE = (
    "合作社与一村3户建档立卡贫困户签订收购协议，按高于市价0.2元/斤收购苹果；"
    "另雇用1名贫困户劳动力负责分拣包装。"
)


@dataclass(frozen=True)
class World:
    operator: User
    township: User
    county: User
    product: Product
    lot: StockLot


@pytest.fixture
def world() -> World:
    make_area_tree()
    services.categories_install()
    county = make_user("county_admin", ["530102000000"], "county-admin")
    operator = make_user("cooperative", [VILLAGE_A1], "coop-operator")
    township = make_user("township_officer", [TOWNSHIP_A], "township-officer")
    village = Division.objects.get(code=VILLAGE_A1)
    seller = services.seller_create(
        county,
        name="一村高山苹果专业合作社",
        kind="cooperative",
        village=village,
        operators=[operator],
    )
    for head, mechanism, share in (
        ("李四光", "purchase", "0.3000"),
        ("王秀英", "purchase", "0.2000"),
        ("赵国强", "wages", "0.1000"),
    ):
        household = make_household(head_name=head, village_code=VILLAGE_A1)
        services.benefit_declare(
            county, seller, household=household, mechanism=mechanism, share=share
        )
    product = services.product_create(
        operator,
        seller,
        category=Category.objects.get(code="fresh-produce"),
        title_zh="高山红富士苹果",
        title_en="Highland Fuji apples",
        unit="kg",
        price="9.80",
        gtin="6901234567892",
    )
    today = timezone.localdate()
    lot = services.lot_create(
        operator,
        product,
        code="HF-01",
        harvested_on=today - timedelta(days=4),
        quantity="500",
        shelf_life_days=60,
    )
    harvest = lot.events.get().at
    lot_event_record(
        operator,
        lot,
        "pack",
        harvest + timedelta(hours=6),
        place=village,
        quantity="500",
    )
    lot_event_record(
        operator,
        lot,
        "ship",
        harvest + timedelta(days=1, hours=2),
        place=village,
        quantity="200",
    )
    lot_event_record(
        None,
        lot,
        "receive",
        harvest + timedelta(days=2),
        place=Division.objects.get(code="530102000000"),
        quantity="200",
    )
    return World(operator, township, county, product, lot)


def _login(
    chromium: Browser,
    pages: list[Page],
    base: str,
    user: User,
    locale: str,
    target: str,
) -> Page:
    page = _open(chromium, locale=locale, viewport=PHONE)
    pages.append(page)
    page.goto(base + reverse("web:login") + f"?next={target}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(base + target)
    return page


def _expected(page: Page, status: int) -> None:
    """Forget the console's note of a refusal the test asked for."""
    note = f"the server responded with a status of {status}"
    errors = page.js_errors  # type: ignore[attr-defined]
    errors[:] = [e for e in errors if note not in e]


def _shot(page: Page, name: str, language: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"market-cert-{name}-phone-{language}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_a_product_is_certified_through_the_review_steps(  # type: ignore[no-untyped-def]
    chromium: Browser,
    live_server,
    settings,
    world: World,
    pages: list[Page],
    locale: str,
) -> None:
    settings.PROPOOR_CERT_NOTICE_DAYS = 0
    language = "zh" if locale.startswith("zh") else "en"
    base = live_server.url
    history = reverse("market:cert_product", args=[world.product.pk])
    queue = reverse("market:cert_queue")
    lot_path = urlsplit(lot_digital_link(world.lot)).path

    # the lot's public page before: not certified
    visitor = _open(chromium, locale=locale, viewport=PHONE)
    pages.append(visitor)
    visitor.goto(base + lot_path)
    assert visitor.locator('[data-certification="none"]').is_visible()

    # the operator applies for certification
    seller = _login(chromium, pages, base, world.operator, locale, history)
    seller.fill("#id_evidence", EVIDENCE)
    _shot(seller, "apply", language)
    seller.click("#apply button[type=submit]")
    seller.wait_for_selector('[data-message="success"]')
    assert seller.locator("#open-application").is_visible()
    certification = Certification.objects.get(product=world.product)
    assert certification.status == "submitted"
    _shot(seller, "applied", language)

    # the township officer sees it in the queue, with the masked households
    township = _login(chromium, pages, base, world.township, locale, queue)
    card = township.locator(f'[data-certification="{certification.pk}"]')
    assert card.locator("[data-evidence]").inner_text() == EVIDENCE
    assert card.locator("[data-head]").all_inner_texts() == ["李*光", "王*英", "赵*强"]
    _shot(township, "township-queue", language)
    # a rejection without a reason is refused, and nothing changes
    card.locator('[data-action="township_reject"] button').click()
    township.wait_for_selector("[data-error]")
    _expected(township, 422)
    _shot(township, "township-refused", language)
    certification.refresh_from_db()
    assert certification.status == "submitted"
    # then the officer approves
    township.fill(
        f"#note-{certification.pk}-township_approve", "经入户核实，收购协议属实。"
    )
    mine = f'[data-certification="{certification.pk}"]'
    township.click(f'{mine} [data-action="township_approve"] button')
    township.wait_for_selector('[data-message="success"]')
    certification.refresh_from_db()
    assert certification.status == "township_approved"

    # the county administrator approves: the public notice starts
    county = _login(chromium, pages, base, world.county, locale, queue)
    _shot(county, "county-queue", language)
    county.click(f'{mine} [data-action="county_approve"] button')
    county.wait_for_selector('[data-message="success"]')
    certification.refresh_from_db()
    assert certification.status == "notice"

    # the daily job certifies once the notice has ended
    assert certifications_finalise(today=certification.notice_ends_on) == 1
    certification.refresh_from_db()
    assert certification.status == "certified"

    # the product's history shows the badge and every step
    seller.goto(base + history)
    assert seller.locator('#badge [data-certification="certified"]').is_visible()
    assert (
        seller.locator(f'[data-certification="{certification.pk}"] [data-step]').count()
        == 4
    )
    _shot(seller, "history", language)

    # and so does the lot's public page, reached from the history
    seller.click('[data-lot-link="HF-01"]')
    seller.wait_for_url(base + lot_path)
    visitor.goto(base + lot_path)
    assert visitor.locator('[data-certification="certified"]').is_visible()
    assert (
        visitor.locator('[data-field="producer"]')
        .inner_text()
        .startswith("一村高山苹果专业合作社")
    )
    assert visitor.locator(".timeline li").count() == 4
    _shot(visitor, "lot", language)

    for page in pages:
        assert page.js_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_a_household_shops_lot_page_masks_the_producer(
    chromium: Browser,
    live_server,
    pages: list[Page],
    locale: str,  # type: ignore[no-untyped-def]
) -> None:
    make_area_tree()
    services.categories_install()
    county = make_user("county_admin", ["530102000000"])
    household = make_household(head_name="张三明", village_code=VILLAGE_A1)
    operator = make_user("household", [VILLAGE_A1], household=household)
    seller = services.seller_create(
        county,
        name="张三明家的蜂蜜",
        kind="household_shop",
        village=Division.objects.get(code=VILLAGE_A1),
        operators=[operator],
        household=household,
    )
    product = services.product_create(
        operator,
        seller,
        category=Category.objects.get(code="processed-food"),
        title_zh="土蜂蜜",
        title_en="Wild honey",
        unit="piece",
        price="68.00",
    )
    lot = services.lot_create(
        operator,
        product,
        code="FM-2",
        quantity="40",
        shelf_life_days=365,
        harvested_on=timezone.localdate() - timedelta(days=10),
    )
    page = _open(chromium, locale=locale, viewport=PHONE)
    pages.append(page)
    page.goto(live_server.url + urlsplit(lot_digital_link(lot)).path)
    producer = page.locator('[data-field="producer"]').inner_text()
    assert producer.startswith("张*明")
    assert "张三明" not in page.content()
    _shot(page, "lot-household", "zh" if locale.startswith("zh") else "en")
    assert page.js_errors == []  # type: ignore[attr-defined]
