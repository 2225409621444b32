"""A trainer takes the roll in the browser; screenshots of the staff training pages.

The county is ``build_world`` of the selector tests (see its docstring): cohort C1 in
village A1 with two members, and a session S3 in two days that nobody attended yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse

from propoor.households.tests.factories import TEST_PASSWORD, VILLAGE_A2
from propoor.training.models import Attendance
from propoor.training.tests.test_staff_selectors import World, build_world
from propoor.web.tests.browser.harness import DESKTOP, PHONE, SCREENSHOTS
from propoor.web.tests.browser.harness import open_page as _open

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build_world(tmp_path / "curriculum")


def _login(page: Page, base: str, username: str) -> None:
    """Log in and land on the cohorts page (a trainer has no county dashboard)."""
    target = reverse("training:trainer")
    page.goto(base + reverse("web:login") + f"?next={target}")
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(base + target)


def test_a_trainer_takes_the_roll(
    chromium: Browser,
    live_server,
    world: World,
    pages: list[Page],  # type: ignore[no-untyped-def]
) -> None:
    # given a trainer on a phone, and a session of their cohort nobody attended yet
    page = _open(chromium, locale="en-US", viewport=PHONE)
    pages.append(page)
    base = live_server.url
    _login(page, base, world.trainer.username)

    # when they open the cohort, then the session
    page.click(f'[data-cohort="{world.c1.pk}"] h2 a')
    page.wait_for_url(base + reverse("training:cohort", args=[world.c1.pk]))
    assert page.locator('[data-stat="members"]').inner_text() == "2 / 4"
    page.click(f'[data-session="{world.s3.pk}"] a')
    page.wait_for_url(base + reverse("training:session", args=[world.s3.pk]))
    assert page.locator("[data-qr] svg.qr").is_visible()
    assert page.locator('#roll-call li[data-present="no"]').count() == 2

    # and tick both members in the roll call and save
    for enrolment in (world.e1, world.e2):
        page.check(f'#roll-call input[value="{enrolment.pk}"]')
    page.click("#roll-call button[type=submit]")

    # then both are marked present, on the page and in the database
    page.wait_for_selector('[data-message="success"]')
    assert "2 marked present, 2 added, 0 removed" in (
        page.locator('[data-message="success"]').inner_text()
    )
    assert page.locator('#roll-call li[data-present="yes"]').count() == 2
    assert page.locator("[data-present-count]").inner_text() == "2 / 2"
    assert sorted(
        Attendance.objects.filter(session=world.s3).values_list(
            "enrolment_id", flat=True
        )
    ) == sorted([world.e1.pk, world.e2.pk])
    assert page.js_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_screenshots(
    chromium: Browser,
    live_server,
    world: World,
    pages: list[Page],
    locale: str,  # type: ignore[no-untyped-def]
) -> None:
    """Screenshots of the staff pages, phone and desktop, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    language = "zh" if locale.startswith("zh") else "en"
    targets = {
        "trainer": reverse("training:trainer"),
        "cohort": reverse("training:cohort", args=[world.c1.pk]),
        "session": reverse("training:session", args=[world.s1.pk]),
        "coverage": reverse("training:coverage"),
        "outcomes": reverse("training:outcomes"),
    }
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = _open(chromium, locale=locale, viewport=viewport)
        pages.append(page)
        base = live_server.url
        _login(page, base, world.admin.username)
        for name, url in targets.items():
            page.goto(base + url)
            if name == "coverage":
                page.wait_for_selector('[data-chart="coverage"][data-rendered] canvas')
            path = SCREENSHOTS / f"training-staff-{name}-{size}-{language}.png"
            page.screenshot(path=path, full_page=True)
            assert path.stat().st_size > 10_000
        # a cohort that ends before it starts, as the organiser sees the refusal
        page.goto(base + targets["trainer"])
        page.fill("#id_name", "二村冬季班")
        page.select_option("#id_course", str(world.course.pk))
        page.select_option("#id_area", VILLAGE_A2)
        page.fill("#id_venue", "二村村委会")
        page.select_option("#id_trainer", str(world.trainer.pk))
        page.fill("#id_starts_on", "2026-12-10")
        page.fill("#id_ends_on", "2026-12-01")
        page.click("#new-cohort button[type=submit]")
        page.wait_for_selector("#id_ends_on-errors")
        _expected(page, 422)
        page.locator("#new-cohort").screenshot(
            path=SCREENSHOTS / f"training-staff-cohort-refused-{size}-{language}.png"
        )
        assert page.js_errors == []  # type: ignore[attr-defined]


def _expected(page: Page, status: int) -> None:
    """Forget the console's note of a refusal the test asked for (422)."""
    note = f"the server responded with a status of {status}"
    errors = page.js_errors  # type: ignore[attr-defined]
    errors[:] = [e for e in errors if note not in e]
