"""A household learns on a phone: lessons, the quiz, the certificate, and offline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse

from propoor.households.tests.factories import (
    TEST_PASSWORD,
    VILLAGE_A1,
    make_area_tree,
    make_household,
    make_user,
)
from propoor.training import services
from propoor.training.models import (
    Certificate,
    Course,
    Enrolment,
    EnrolmentStatus,
    LessonProgress,
    Mode,
    QuizAttempt,
)
from propoor.training.tests.factories import right_answers
from propoor.web.tests.browser.harness import PHONE, SCREENSHOTS
from propoor.web.tests.browser.harness import open_page as _open

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from propoor.accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

USERNAME = "wang-xiaoming"
BASICS = "ecommerce-basics"


@dataclass(frozen=True)
class Learner:
    user: User
    course: Course


@pytest.fixture
def learner() -> Learner:
    services.curriculum_install()
    make_area_tree()
    household = make_household(village_code=VILLAGE_A1, head_name="王小明")
    user = make_user("household", [VILLAGE_A1], USERNAME, household=household)
    course = Course.objects.get(code=BASICS)
    services.enrol(
        course,
        household,
        source="plan",
        reason="支持计划包含电商培训，这是必修课程",
        reason_en="The support plan includes training; this course is for everyone",
    )
    return Learner(user, course)


def _login(page: Page, base: str) -> None:
    catalogue = reverse("training:catalogue")
    page.goto(f"{base}{reverse('web:login')}?next={catalogue}")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", TEST_PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(base + catalogue)


def _shot(page: Page, name: str, language: str = "en") -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"training-{name}-phone-{language}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 10_000
    return path


def _answer(page: Page, course: Course) -> None:
    """Tick the right answers, read from the database."""
    for key, choices in right_answers(course).items():
        for choice in choices:
            page.check(f'#quiz-form input[name="{key}"][value="{choice}"]')


def test_a_household_reads_passes_the_quiz_and_downloads_its_certificate(
    chromium: Browser,
    live_server,
    learner: Learner,
    pages: list[Page],  # type: ignore[no-untyped-def]
) -> None:
    page = _open(chromium, locale="en-US", viewport=PHONE)
    pages.append(page)
    base = live_server.url
    course = learner.course
    lessons = list(course.lessons.order_by("order"))

    # the catalogue puts the invited course first, with the reason
    _login(page, base)
    first = page.locator('[data-list="invited"] .course-card').first
    assert first.get_attribute("data-course") == BASICS
    assert "this course is for everyone" in first.locator(".reason").inner_text()
    _shot(page, "catalogue")

    # the course page, then every lesson marked read with the button
    first.locator("a").first.click()
    page.wait_for_url(f"**{reverse('training:course', args=[BASICS])}")
    page.click("[data-status] a.button")  # "Start the course"
    page.wait_for_url(f"**{reverse('training:lesson', args=[BASICS, lessons[0].slug])}")
    for index, lesson in enumerate(lessons):
        if index:
            page.goto(base + reverse("training:lesson", args=[BASICS, lesson.slug]))
        assert page.locator("h1").inner_text() == lesson.title_en
        if "(ecommerce-basics-flow.svg)" in lesson.body_en:
            image = page.locator(".lesson-body img")
            image.scroll_into_view_if_needed()
            page.wait_for_function(
                "document.querySelector('.lesson-body img').naturalWidth > 0"
            )
            _shot(page, "lesson")
        page.click("form[data-mark-read] button")
        page.wait_for_selector('[data-read-state][data-state="synced"]')
        assert page.locator("[data-read-state]").inner_text() == "✓ Read"
    assert LessonProgress.objects.filter(mode=Mode.ONLINE).count() == len(lessons)

    # the quiz: right answers, sent online, graded with the explanations
    page.goto(base + reverse("training:quiz", args=[BASICS]))
    _answer(page, course)
    page.click("[data-submit]")
    page.wait_for_selector('[data-sync-status][data-state="synced"]')
    page.wait_for_selector('#quiz-result[data-passed="yes"]')
    total = sum(q.points for q in course.quiz.questions.all())
    assert page.locator("#quiz-result [data-score]").inner_text() == (
        f"{total} / {total} points · 100.0%"
    )
    explained = course.quiz.questions.exclude(explanation_en="").first()
    assert explained.explanation_en in page.locator("#quiz-result").inner_text()
    assert page.locator("[data-sync-status]").inner_text() == "✓ Synced"
    _shot(page, "quiz-result")
    attempt = QuizAttempt.objects.get()
    assert (attempt.mode, attempt.passed) == (Mode.ONLINE, True)

    # my progress: completed, with the certificate to download
    page.click("[data-after] [data-my-progress]")
    page.wait_for_url(f"**{reverse('training:me')}")
    item = page.locator(f'.progress-item[data-course="{BASICS}"]')
    assert item.get_attribute("data-status") == "completed"
    _shot(page, "progress")
    certificate = Certificate.objects.get()
    with page.expect_download() as download_info:
        item.locator('[data-certificate="valid"] a').click()
    download = download_info.value
    assert download.suggested_filename == f"{certificate.code}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")

    # anyone can check the certificate
    page.goto(base + reverse("training:verify"))
    page.fill("#id_code", certificate.code)
    page.click(".verify-form button")
    page.wait_for_selector('[data-verification="valid"]')
    assert page.locator("[data-learner]").inner_text() == "王*明"
    _shot(page, "verify")

    enrolment = Enrolment.objects.get()
    assert enrolment.status == EnrolmentStatus.COMPLETED
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_an_offline_quiz_is_kept_on_the_phone_and_synced_once_back_online(
    chromium: Browser,
    live_server,
    learner: Learner,
    pages: list[Page],  # type: ignore[no-untyped-def]
) -> None:
    page = _open(chromium, locale="en-US", viewport=PHONE)
    pages.append(page)
    base = live_server.url
    course = learner.course
    lesson = course.lessons.order_by("order").first()

    # the course is downloaded while there is a signal
    _login(page, base)
    page.goto(base + reverse("training:course", args=[BASICS]))
    page.click("[data-download]")
    page.wait_for_selector('[data-offline-state][data-state="saved"]', timeout=20_000)
    assert "Saved on this phone" in page.locator("[data-offline-state]").inner_text()
    _shot(page, "course")

    # without a signal the lesson and the quiz open from the phone
    page.context.set_offline(True)
    response = page.goto(base + reverse("training:lesson", args=[BASICS, lesson.slug]))
    assert response is not None
    assert response.from_service_worker
    page.click("form[data-mark-read] button")
    page.wait_for_selector('[data-read-state][data-state="saved"]')

    response = page.goto(base + reverse("training:quiz", args=[BASICS]))
    assert response is not None
    assert response.from_service_worker
    _answer(page, course)
    page.click("[data-submit]")
    status = page.locator("[data-sync-status]")
    page.wait_for_selector('[data-sync-status][data-state="saved"]')
    assert status.inner_text() == (
        "Saved on this phone — it will be sent when you are back online."
    )
    assert page.locator("[data-submit]").is_hidden()
    assert page.locator("[data-after]").is_hidden()
    _shot(page, "quiz-offline")
    assert QuizAttempt.objects.count() == 0  # nothing reached the server
    assert LessonProgress.objects.count() == 0

    # back online: the outbox is sent, and the result shown
    page.context.set_offline(False)
    page.wait_for_selector('[data-sync-status][data-state="synced"]', timeout=15_000)
    page.wait_for_selector('#quiz-result[data-passed="yes"]')
    assert status.inner_text() == "✓ Synced"
    attempt = QuizAttempt.objects.get()
    assert (attempt.mode, attempt.passed) == (Mode.OFFLINE, True)
    progress = LessonProgress.objects.get()
    assert (progress.lesson, progress.mode) == (lesson, Mode.OFFLINE)
    outbox = f"propoor.training.outbox.{learner.user.pk}"
    assert page.evaluate(f"JSON.parse(localStorage.getItem('{outbox}'))") == []
    # the quiz's draft is gone; the list of saved courses stays
    assert page.evaluate("Object.keys(localStorage).sort()") == [
        outbox,
        "propoor.training.saved",
    ]
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_the_learner_pages_in_chinese(
    chromium: Browser,
    live_server,
    learner: Learner,
    pages: list[Page],  # type: ignore[no-untyped-def]
) -> None:
    page = _open(chromium, locale="zh-CN", viewport=PHONE)
    pages.append(page)
    base = live_server.url
    lesson = next(
        row
        for row in learner.course.lessons.order_by("order")
        if "(ecommerce-basics-flow.svg)" in row.body_zh
    )

    _login(page, base)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert learner.course.title_zh in page.locator(".course-list").first.inner_text()
    _shot(page, "catalogue", "zh")
    page.goto(base + reverse("training:lesson", args=[BASICS, lesson.slug]))
    assert page.locator("h1").inner_text() == lesson.title_zh
    page.wait_for_function(
        "document.querySelector('.lesson-body img').naturalWidth > 0"
    )
    _shot(page, "lesson", "zh")
    page.goto(base + reverse("training:quiz", args=[BASICS]))
    _shot(page, "quiz", "zh")
    assert page.js_errors == []  # type: ignore[attr-defined]
