"""A cadre reviews a survey in the browser; screenshots of every survey page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.urls import reverse

from propoor.households.models import Household, Member, Snapshot
from propoor.households.tests.factories import TEST_PASSWORD
from propoor.surveys.models import ChangeRequest, ChangeStatus
from propoor.surveys.services import (
    IncomingAttachment,
    change_approve,
    submission_receive,
)
from propoor.surveys.tests.factories import household_submission
from propoor.surveys.tests.views_data import (
    SurveyCounty,
    build_survey_county,
    house_png,
    update_of,
)
from propoor.web.tests.browser.harness import DESKTOP, PHONE, SCREENSHOTS
from propoor.web.tests.browser.harness import open_page as _open

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INSTANCE = "uuid:6b1f2f0e-8d1c-4c55-9a57-3f0d7c1f9b21"


@pytest.fixture
def data() -> SurveyCounty:
    return build_survey_county(extra=12)


def _expected(page: Page, status: int) -> None:
    """Forget the console's note of a refusal the test asked for (400, 422)."""
    note = f"the server responded with a status of {status}"
    errors = page.js_errors  # type: ignore[attr-defined]
    errors[:] = [e for e in errors if note not in e]


def _login(page: Page, base: str, username: str) -> None:
    page.goto(base + reverse("web:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(base + reverse("web:dashboard"))


def test_a_cadre_reviews_a_household_survey_and_approves_it(
    chromium: Browser,
    live_server,
    data: SurveyCounty,
    pages: list[Page],  # type: ignore[no-untyped-def]
) -> None:
    # given a household survey sent from a phone in the cadre's village, with a
    # photo of the house (the shipped household form, as ODK Collect fills it)
    cadre = data.county.cadre_a1
    received = submission_receive(
        user=cadre,
        xml=household_submission(
            instance_id=INSTANCE, head_name="陈十一", house_photo="house.png"
        ),
        attachments=[IncomingAttachment("house.png", "image/png", house_png())],
    )
    change = ChangeRequest.objects.get(submission=received.submission)
    assert change.status == ChangeStatus.PENDING
    page = _open(chromium, locale="en-US", viewport=PHONE)
    pages.append(page)
    base = live_server.url

    # when the cadre opens the review queue and the change request
    _login(page, base, cadre.username)
    page.click("nav.mainnav >> text=Surveys")
    page.wait_for_url(base + reverse("surveys:review_queue"))
    row = page.locator(f'tr[data-change="{change.pk}"]')
    assert "陈十一" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(base + reverse("surveys:change_detail", args=[change.pk]))

    # then the diff shows each field beside the registry's value, changes marked
    wages = page.locator('tr[data-field="income_wages"]')
    assert wages.get_attribute("class") == "changed"
    assert wages.locator("td.current").inner_text() == "—"
    assert wages.locator("td.proposed").inner_text().split()[-1] == "¥3,600.50"
    assert "A new household" in page.locator("#diff .hint").inner_text()
    members = page.locator("tr.member th").all_inner_texts()
    assert [m.split(" new")[0] for m in members] == [
        "Member 1: 王五",
        "Member 2: 李六",
        "Member 3: 王小七",
    ]
    assert "**********" in page.locator("tr.member td.proposed").first.inner_text()
    page.locator("#photos img").scroll_into_view_if_needed()
    page.wait_for_function(
        "(img => img.complete && img.naturalWidth === 240)"
        "(document.querySelector('#photos img'))"
    )
    assert page.locator(".point-map [data-here]").count() == 1
    assert "25.041234, 102.712346" in page.locator("#location").inner_text()

    # when the cadre approves it
    page.click("button[data-action=approve]")
    page.wait_for_selector('[data-outcome="approved"]')

    # then the page says so and links the household, whose 2024 survey now exists
    assert "Approved" in page.locator("[data-message=success]").inner_text()
    change.refresh_from_db()
    assert change.status == ChangeStatus.APPROVED
    household = Household.objects.get(pk=change.household_id)
    assert household.head_name == "陈十一"
    assert Member.objects.filter(household=household, active=True).count() == 3
    snapshot = Snapshot.objects.get(household=household, year=2024)
    assert str(snapshot.income_wages) == "3600.50"
    assert page.locator("#decision").count() == 0
    page.click("[data-household-link]")
    page.wait_for_url(base + reverse("web:household_detail", args=[household.pk]))
    assert "陈十一" in page.locator("h1").inner_text()
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_a_reject_without_a_reason_is_refused_in_the_browser(
    chromium: Browser,
    live_server,
    data: SurveyCounty,
    pages: list[Page],  # type: ignore[no-untyped-def]
) -> None:
    page = _open(chromium, locale="zh-CN", viewport=DESKTOP)
    pages.append(page)
    base = live_server.url
    _login(page, base, data.county.cadre_a1.username)
    page.goto(base + reverse("surveys:change_detail", args=[data.update.pk]))

    page.click("button[data-action=reject]")

    page.wait_for_selector("#reason-errors")
    _expected(page, 400)
    assert "请填写驳回理由" in page.locator("#reason-errors").inner_text()
    data.update.refresh_from_db()
    assert data.update.status == ChangeStatus.PENDING

    page.fill("#id_reason", "户号填错了")
    page.click("button[data-action=reject]")
    page.wait_for_selector('[data-outcome="rejected"]')
    assert "户号填错了" in page.locator("[data-outcome]").inner_text()
    data.update.refresh_from_db()
    assert data.update.status == ChangeStatus.REJECTED
    assert page.js_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_screenshots(
    chromium: Browser,
    live_server,
    data: SurveyCounty,
    pages: list[Page],
    locale: str,  # type: ignore[no-untyped-def]
) -> None:
    """Screenshots of every survey page, phone and desktop, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    language = "zh" if locale.startswith("zh") else "en"
    admin = data.county.admin
    approved = submission_receive(
        user=admin, xml=household_submission(head_name="冯十二")
    ).submission.change
    change_approve(admin, change=approved)
    # two surveys of 李四: approving the first puts the second in conflict
    deprived = data.county.deprived
    cadre = data.county.cadre_a1
    first = update_of(cadre, deprived, income_wages="4100")
    conflict = update_of(cadre, deprived, income_wages="4800")
    change_approve(admin, change=first)
    conflict.refresh_from_db()
    assert conflict.status == ChangeStatus.CONFLICT
    targets = {
        "survey-forms": reverse("surveys:form_list"),
        "survey-form-versions": reverse(
            "surveys:form_detail", args=["propoor_household"]
        ),
        "survey-queue": reverse("surveys:review_queue"),
        "survey-change-new": reverse(
            "surveys:change_detail", args=[data.new_household.pk]
        ),
        "survey-change-update": reverse("surveys:change_detail", args=[data.update.pk]),
        "survey-change-conflict": reverse("surveys:change_detail", args=[conflict.pk]),
        "survey-change-approved": reverse("surveys:change_detail", args=[approved.pk]),
        "survey-coverage": reverse("surveys:coverage") + "?year=2024",
        "survey-submission-invalid": reverse(
            "surveys:submission_detail", args=[data.invalid.pk]
        ),
    }
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = _open(chromium, locale=locale, viewport=viewport)
        pages.append(page)
        base = live_server.url
        _login(page, base, admin.username)
        for name, url in targets.items():
            page.goto(base + url)
            _load_photos(page)
            path = SCREENSHOTS / f"{name}-{size}-{language}.png"
            page.screenshot(path=path, full_page=True)
            assert path.stat().st_size > 10_000
        # a rejection without a reason, as the reviewer sees it
        page.goto(base + targets["survey-change-update"])
        page.click("button[data-action=reject]")
        page.wait_for_selector("#reason-errors")
        _expected(page, 400)
        page.screenshot(
            path=SCREENSHOTS / f"survey-reject-refused-{size}-{language}.png",
            full_page=True,
        )
        # an XLSForm pyxform refuses, with its sheet and row
        page.goto(base + targets["survey-forms"])
        page.set_input_files(
            "#id_xlsform",
            files=[
                {
                    "name": "broken.xlsx",
                    "mimeType": "application/octet-stream",
                    "buffer": _broken_xlsform(),
                }
            ],
        )
        page.click("#upload button[type=submit]")
        page.wait_for_selector("#upload-errors")
        _expected(page, 422)
        page.screenshot(
            path=SCREENSHOTS / f"survey-upload-error-{size}-{language}.png",
            full_page=True,
        )
        assert page.js_errors == []  # type: ignore[attr-defined]


def _load_photos(page: Page) -> None:
    """Lazy photos load once scrolled to; a full-page screenshot does not scroll."""
    for photo in page.locator("#photos img").all():
        photo.scroll_into_view_if_needed()
    page.wait_for_function(
        "[...document.querySelectorAll('#photos img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    page.evaluate("window.scrollTo(0, 0)")


def _broken_xlsform() -> bytes:
    from propoor.surveys.forms import build

    rows = [
        build.q("text", "village_code", "村", "Village"),
        build.q("integer", "year", "年", "Year"),
        build.q("txt", "household_number", "户", "Household"),
    ]
    return build.workbook(
        rows,
        form_id="propoor_household",
        version="9",
        title_zh="农户年度调查",
        title_en="Household survey",
        lists=list(build.CHOICES),
    )
