from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.urls import reverse

from propoor.households.tests.factories import TEST_PASSWORD, VILLAGE_A1, VILLAGE_A2
from propoor.web.tests.browser.harness import DESKTOP, PHONE, SCREENSHOTS
from propoor.web.tests.browser.harness import open_page as _open
from propoor.web.tests.data import County, build_county

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def county() -> County:
    return build_county(extra=24)


def _login(page: Page, base: str, username: str = "county-admin") -> None:
    page.goto(base + reverse("web:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(base + reverse("web:dashboard"))


def _charts_drawn(page: Page) -> None:
    names = ("townships", "villages", "causes", "contributions", "statuses", "plan")
    for name in names:
        page.wait_for_selector(f'[data-chart="{name}"][data-rendered="true"] canvas')


def test_a_county_admin_reads_the_dashboard_and_a_households_explanation(
    chromium: Browser,
    live_server,
    county: County,
    pages: list[Page],  # type: ignore[no-untyped-def]
) -> None:
    page = _open(chromium, locale="en-US", viewport=DESKTOP)
    pages.append(page)
    base = live_server.url

    _login(page, base)

    _charts_drawn(page)
    assert page.locator('[data-stat="households"]').inner_text() == "31"
    assert page.locator("h1").inner_text() == "Wuhua"

    page.click("nav.mainnav >> text=Households")
    # htmx binds its listeners once the page has loaded; typing earlier is lost
    page.wait_for_url("**/households/")
    page.wait_for_load_state("load")
    page.fill("#id_q", "李四")
    page.wait_for_function(
        "document.querySelectorAll('#results tbody tr').length === 1"
    )
    assert "q=" in page.url  # htmx pushed the filtered URL
    page.click("#results table >> text=李四")

    page.wait_for_selector('[data-standard="global-mpi"]')
    official = page.locator('[data-standard="cn-national"]')
    assert "Identified as poor" in official.locator(".verdict").inner_text()
    assert "¥975.00 against a line of ¥4,000.00" in official.inner_text()
    assert official.locator('[data-guarantee="housing"] .badge').inner_text() == (
        "✗ Not met"
    )
    assert official.locator('[data-guarantee="food"] .badge').inner_text() == "✓ Met"
    schooling = page.locator('tr[data-indicator="years_of_schooling"]')
    assert schooling.get_attribute("data-deprived") == "yes"
    cells = schooling.locator("td").all_inner_texts()
    assert cells[1:] == ["< 6", "Deprived", "1/6"]
    assert "3" in cells[0]
    assert (
        page.locator('tr[data-indicator="electricity"]').get_attribute("data-deprived")
        == "no"
    )
    assert page.locator("[data-failed] li").all_inner_texts()[0] == (
        "Net income per person above the poverty line"
    )
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_the_household_filters_update_the_list_in_place(
    chromium: Browser,
    live_server,
    county: County,
    pages: list[Page],  # type: ignore[no-untyped-def]
) -> None:
    page = _open(chromium, locale="en-US", viewport=DESKTOP)
    pages.append(page)
    base = live_server.url
    _login(page, base)
    page.goto(base + reverse("web:household_list"))
    page.evaluate("window.__notReloaded = true")

    page.click("#results .pager a[rel=next]")
    page.wait_for_url("**page=2**")
    assert "2 / 2" in page.locator("#results .pager").inner_text()

    page.select_option("#id_village", VILLAGE_A2)
    page.wait_for_function(
        "[...document.querySelectorAll('#results tbody td:nth-child(3)')]"
        ".every(td => td.textContent.trim() === 'Village A2')"
    )
    page.select_option("#id_poor", "yes")
    page.wait_for_url("**poor=yes**")

    assert page.evaluate("window.__notReloaded") is True
    assert f"village={VILLAGE_A2}" in page.url
    assert "q=" not in page.url  # empty fields are left out of the pushed URL
    rows = page.locator("#results tbody tr")
    assert rows.count() >= 1
    assert all(
        text == "Poor"
        for text in page.locator("#results tbody td:nth-child(7)").all_inner_texts()
    )
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_pages_render_in_chinese(
    chromium: Browser,
    live_server,
    county: County,
    pages: list[Page],  # type: ignore[no-untyped-def]
) -> None:
    page = _open(chromium, locale="zh-CN", viewport=PHONE)
    pages.append(page)
    base = live_server.url

    _login(page, base)

    _charts_drawn(page)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "五华区"
    assert "贫困发生率" in page.locator(".cards").inner_text()
    page.goto(base + reverse("web:household_detail", args=[county.deprived.pk]))
    body = page.locator("main").inner_text()
    assert "两不愁三保障" in body
    assert "无成员受教育满六年" in body  # the indicator's label from the standard
    assert "住房安全有保障" in body
    assert "户主" in body
    page.goto(base + reverse("web:village_detail", args=[VILLAGE_A1]))
    assert "电商服务站" in page.locator("main").inner_text()

    page.click(".langswitch button[value=en]")
    page.wait_for_selector("html[lang=en]")
    assert "E-commerce service station" in page.locator("main").inner_text()
    assert page.js_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_screenshots(
    chromium: Browser,
    live_server,
    county: County,
    pages: list[Page],
    locale: str,  # type: ignore[no-untyped-def]
) -> None:
    """Screenshots of every page, phone and desktop, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    language = "zh" if locale.startswith("zh") else "en"
    targets = {
        "dashboard": reverse("web:dashboard"),
        "households": reverse("web:household_list"),
        "household": reverse("web:household_detail", args=[county.deprived.pk]),
        "household-plan": reverse("web:household_detail", args=[county.poor.pk]),
        "village": reverse("web:village_detail", args=[VILLAGE_A1]),
        "villages": reverse("web:village_list"),
        "login": reverse("web:login"),
    }
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = _open(chromium, locale=locale, viewport=viewport)
        pages.append(page)
        base = live_server.url
        page.goto(base + targets["login"])
        page.screenshot(path=SCREENSHOTS / f"login-{size}-{language}.png")
        _login(page, base)
        for name, url in targets.items():
            if name == "login":
                continue
            page.goto(base + url)
            if name == "dashboard":
                _charts_drawn(page)
                page.wait_for_timeout(800)  # let the bars finish their animation
            path = SCREENSHOTS / f"{name}-{size}-{language}.png"
            page.screenshot(path=path, full_page=True)
            assert path.stat().st_size > 10_000
        assert page.js_errors == []  # type: ignore[attr-defined]
