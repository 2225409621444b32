"""The learner's pages: who sees what, what they show, what a POST records."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from propoor.accounts.models import User
from propoor.areas.models import Division
from propoor.households.tests.factories import (
    VILLAGE_A1,
    VILLAGE_B1,
    make_household,
    make_user,
)
from propoor.training import services
from propoor.training.models import (
    Attendance,
    Certificate,
    Course,
    Enrolment,
    LessonProgress,
    Mode,
    QuizAttempt,
    TrainingSession,
)
from propoor.training.tests.factories import finish_course, right_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def curriculum(db: None) -> list[Course]:
    services.curriculum_install()
    return list(Course.objects.order_by("order", "code"))


@pytest.fixture
def basics(curriculum: list[Course]) -> Course:
    return Course.objects.get(code="ecommerce-basics")


@pytest.fixture
def shipping(curriculum: list[Course]) -> Course:
    return Course.objects.get(code="packing-shipping")


@pytest.fixture
def neighbour(area_tree: dict[str, Division]):
    household = make_household(village_code=VILLAGE_A1, head_name="李大海")
    return make_user("household", [VILLAGE_A1], household=household)


@pytest.fixture
def certificate(basics: Course, household_user: User) -> Certificate:
    enrolment = services.enrolment_for(household_user, basics)
    finish_course(enrolment)
    return Certificate.objects.get(enrolment=enrolment)


def _client(user: User | None = None, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    return client


def _text(response: HttpResponse) -> str:
    """The page's text without tags or runs of white space."""
    html = response.content.decode()
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- access ---------------------------------------------------------------------------


def test_learner_pages_need_a_login_and_come_back_after_it(
    basics: Course,
) -> None:
    lesson = basics.lessons.order_by("order").first()
    urls = [
        reverse("training:catalogue"),
        reverse("training:course", args=[basics.code]),
        reverse("training:lesson", args=[basics.code, lesson.slug]),
        reverse("training:lesson_video", args=[basics.code, lesson.slug]),
        reverse("training:quiz", args=[basics.code]),
        reverse("training:handout", args=[basics.code]),
        reverse("training:me"),
        reverse("training:checkin", args=["some-token"]),
    ]

    for url in urls:
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{reverse('web:login')}?next={url}"


def test_an_unknown_course_or_lesson_is_404(
    basics: Course, household_user: User
) -> None:
    client = _client(household_user)

    assert client.get(reverse("training:course", args=["nope"])).status_code == 404
    assert (
        client.get(reverse("training:lesson", args=[basics.code, "nope"])).status_code
        == 404
    )
    assert client.get(reverse("training:quiz", args=["nope"])).status_code == 404


# --- catalogue ------------------------------------------------------------------------


def test_a_household_sees_its_invited_courses_first_with_the_reason(
    curriculum: list[Course], shipping: Course, household_user
) -> None:
    services.enrol(
        shipping,
        household_user.household,
        source="plan",
        reason="支持计划包含“电商培训”",
        reason_en="The support plan includes “e-commerce training”",
    )

    response = _client(household_user).get(reverse("training:catalogue"))

    assert response.status_code == 200
    html = response.content.decode()
    invited = re.search(r'data-list="invited">(.*?)</ul>', html, re.S)
    assert invited is not None
    assert re.findall(r'data-course="([^"]+)"', invited.group(1)) == [
        "packing-shipping"
    ]
    others = re.search(r'data-list="others">(.*?)</ul>', html, re.S)
    assert others is not None
    assert re.findall(r'data-course="([^"]+)"', others.group(1)) == [
        c.code for c in curriculum if c.code != "packing-shipping"
    ]
    text = _text(response)
    assert "Why this course: The support plan includes “e-commerce training”" in text
    assert f"0 / {shipping.lessons.count()} lessons read" in text


def test_the_reason_is_shown_in_chinese_on_a_chinese_page(
    shipping: Course, household_user
) -> None:
    services.enrol(
        shipping,
        household_user.household,
        source="plan",
        reason="支持计划包含“电商培训”",
        reason_en="The support plan includes “e-commerce training”",
    )

    response = _client(household_user, "zh-hans").get(reverse("training:catalogue"))

    assert "支持计划包含“电商培训”" in response.content.decode()
    assert shipping.title_zh in response.content.decode()


def test_staff_see_every_course_and_no_progress(
    curriculum: list[Course], area_tree
) -> None:
    cadre = make_user("village_cadre", [VILLAGE_A1])

    response = _client(cadre).get(reverse("training:catalogue"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-list="invited"' not in html
    assert re.findall(r'data-course="([^"]+)"', html) == [c.code for c in curriculum]
    assert "lessons read" not in html


# --- a course -------------------------------------------------------------------------


def test_the_course_page_ticks_the_lessons_read(
    basics: Course, household_user: User
) -> None:
    enrolment = services.enrolment_for(household_user, basics)
    lessons = list(basics.lessons.order_by("order"))
    services.lesson_complete(enrolment, lessons[0])

    response = _client(household_user).get(
        reverse("training:course", args=[basics.code])
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r'data-lesson="([^"]+)" data-done', html) == [lessons[0].slug]
    assert f"1 / {len(lessons)} lessons read" in _text(response)
    assert "data-download" in html
    assert "Not taken yet." in html
    assert "data-certificate" not in html
    assert reverse("training:handout", args=[basics.code]) in html


def test_a_completed_course_links_its_certificate(
    basics: Course, household_user: User, certificate: Certificate
) -> None:
    response = _client(household_user).get(
        reverse("training:course", args=[basics.code])
    )

    html = response.content.decode()
    assert reverse("training:certificate_pdf", args=[certificate.code]) in html
    assert "Course completed" in html
    assert "Best score 100.0% · attempts: 1" in _text(response)


# --- a lesson -------------------------------------------------------------------------


def test_the_lesson_player_shows_the_lesson_with_its_images(
    basics: Course, household_user
) -> None:
    lessons = list(basics.lessons.order_by("order"))
    index, lesson = next(
        (i, row)
        for i, row in enumerate(lessons)
        if "(ecommerce-basics-flow.svg)" in row.body_en
    )

    response = _client(household_user).get(
        reverse("training:lesson", args=[basics.code, lesson.slug])
    )

    assert response.status_code == 200
    html = response.content.decode()
    text = _text(response)
    assert f"<h1>{lesson.title_en}</h1>" in html
    assert f"Lesson {index + 1} of {len(lessons)} · {lesson.minutes} min" in text
    assert '<img src="/training/images/ecommerce-basics-flow.svg"' in html
    assert "<video" not in html
    previous, following = lessons[index - 1], lessons[index + 1]
    assert reverse("training:lesson", args=[basics.code, previous.slug]) in html
    assert reverse("training:lesson", args=[basics.code, following.slug]) in html
    assert "Mark as read" in html


def test_mark_as_read_records_the_lesson_and_goes_to_the_next(
    basics: Course, household_user
) -> None:
    first, second = basics.lessons.order_by("order")[:2]
    client = _client(household_user)

    response = client.post(reverse("training:lesson", args=[basics.code, first.slug]))

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "training:lesson", args=[basics.code, second.slug]
    )
    progress = LessonProgress.objects.get()
    assert (progress.lesson, progress.mode) == (first, Mode.ONLINE)
    assert progress.enrolment.household == household_user.household
    page = client.get(reverse("training:lesson", args=[basics.code, first.slug]))
    assert "✓ Read" in page.content.decode()


def test_mark_as_read_answers_json_to_the_script_and_the_last_goes_to_the_course(
    basics: Course, household_user
) -> None:
    last = basics.lessons.order_by("order").last()
    client = _client(household_user)

    response = client.post(
        reverse("training:lesson", args=[basics.code, last.slug]),
        HTTP_ACCEPT="application/json",
    )
    again = client.post(reverse("training:lesson", args=[basics.code, last.slug]))

    assert response.status_code == 200
    assert response.json() == {"done": True}
    assert again["Location"] == reverse("training:course", args=[basics.code])
    assert LessonProgress.objects.filter(lesson=last).count() == 1


def test_staff_may_read_a_lesson_but_not_mark_it_read(
    basics: Course, area_tree: dict[str, Division]
) -> None:
    cadre = make_user("village_cadre", [VILLAGE_A1])
    lesson = basics.lessons.order_by("order").first()
    client = _client(cadre)
    url = reverse("training:lesson", args=[basics.code, lesson.slug])

    page = client.get(url)
    refused = client.post(url)

    assert page.status_code == 200
    assert "Mark as read" not in page.content.decode()
    assert refused.status_code == 403
    assert "Only a household" in refused.content.decode()
    assert LessonProgress.objects.count() == 0
    assert Enrolment.objects.count() == 0


def test_a_lesson_video_is_streamed_with_ranges(
    basics: Course, household_user: User, settings, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    lesson = basics.lessons.order_by("order").first()
    url = reverse("training:lesson_video", args=[basics.code, lesson.slug])
    client = _client(household_user)
    assert client.get(url).status_code == 404  # no video yet

    lesson.video.save("intro.mp4", ContentFile(bytes(range(256)) * 4))
    whole = client.get(url)
    part = client.get(url, HTTP_RANGE="bytes=10-19")
    tail = client.get(url, HTTP_RANGE="bytes=-4")
    beyond = client.get(url, HTTP_RANGE="bytes=5000-")
    page = client.get(reverse("training:lesson", args=[basics.code, lesson.slug]))

    assert whole.status_code == 200
    assert whole["Content-Type"] == "video/mp4"
    assert b"".join(whole.streaming_content) == bytes(range(256)) * 4
    assert part.status_code == 206
    assert part["Content-Range"] == "bytes 10-19/1024"
    assert b"".join(part.streaming_content) == bytes(range(10, 20))
    assert b"".join(tail.streaming_content) == bytes(range(252, 256))
    assert beyond.status_code == 416
    assert f'playsinline src="{url}"' in page.content.decode()


def test_curriculum_images_are_served_by_name_only(basics: Course) -> None:
    client = Client()

    image = client.get(reverse("training:image", args=["ecommerce-basics-flow.svg"]))
    missing = client.get(reverse("training:image", args=["nope.svg"]))
    not_an_image = client.get(reverse("training:image", args=["README.md"]))
    outside = client.get("/training/images/..%2Fcurriculum%2FREADME.md")

    assert image.status_code == 200
    assert image["Content-Type"] == "image/svg+xml"
    assert image["Cache-Control"] == "public, max-age=2592000"
    assert "sandbox" in image["Content-Security-Policy"]
    assert b"".join(image.streaming_content).lstrip().startswith(b"<")
    assert missing.status_code == 404
    assert not_an_image.status_code == 404
    assert outside.status_code == 404


def test_the_handout_is_a_pdf_of_the_course(
    basics: Course, household_user: User
) -> None:
    response = _client(household_user).get(
        reverse("training:handout", args=[basics.code])
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="ecommerce-basics-en.pdf"'
    )
    assert response.content.startswith(b"%PDF-")


# --- the quiz -------------------------------------------------------------------------


def test_the_quiz_page_shows_the_questions_without_answers(
    basics: Course, household_user
) -> None:
    response = _client(household_user).get(reverse("training:quiz", args=[basics.code]))

    assert response.status_code == 200
    html = response.content.decode()
    questions = list(basics.quiz.questions.all())
    assert re.findall(r'data-question="(q\d+)"', html) == [q.key for q in questions]
    for question in questions:
        assert escape(question.text_en) in html
        if question.explanation_en:
            assert escape(question.explanation_en) not in html
    assert 'name="attempt_id"' in html
    assert f'name="quiz_version" value="{basics.quiz.version}"' in html
    assert 'class="right-answer"' not in html


def test_a_quiz_posted_without_javascript_is_graded_and_explained(
    basics: Course, household_user
) -> None:
    attempt_id = uuid.uuid4()
    answers = right_answers(basics)
    client = _client(household_user)

    response = client.post(
        reverse("training:quiz", args=[basics.code]),
        {"attempt_id": str(attempt_id), "quiz_version": basics.quiz.version, **answers},
    )

    url = reverse("training:quiz", args=[basics.code])
    assert response.status_code == 302
    assert response["Location"] == f"{url}?attempt={attempt_id}"
    attempt = QuizAttempt.objects.get()
    assert (attempt.attempt_id, attempt.mode, attempt.passed) == (
        attempt_id,
        Mode.ONLINE,
        True,
    )
    result = client.get(response["Location"])
    html = result.content.decode()
    assert 'data-passed="yes"' in html
    total = sum(q.points for q in basics.quiz.questions.all())
    assert f"{total} / {total} points · 100.0%" in _text(result)
    first = basics.quiz.questions.first()
    assert escape(first.explanation_en) in html


def test_a_wrong_quiz_is_not_passed_and_shows_the_points_per_question(
    basics: Course, household_user
) -> None:
    answers = right_answers(basics)
    first = basics.quiz.questions.first()
    wrong = next(c.key for c in first.choices.all() if not c.correct)
    answers[first.key] = [wrong]
    client = _client(household_user)

    response = client.post(
        reverse("training:quiz", args=[basics.code]),
        {"attempt_id": uuid.uuid4(), "quiz_version": basics.quiz.version, **answers},
        follow=True,
    )

    html = response.content.decode()
    assert f'data-question="{first.key}" data-earned="0"' in html
    attempt = QuizAttempt.objects.get()
    assert attempt.per_question[first.key] == 0


def test_someone_elses_attempt_is_404(
    basics: Course, household_user: User, neighbour
) -> None:
    enrolment = services.enrolment_for(household_user, basics)
    outcome = services.attempt_submit(
        enrolment,
        attempt_id=uuid.uuid4(),
        quiz_version=basics.quiz.version,
        answers=right_answers(basics),
    )
    url = reverse("training:quiz", args=[basics.code])

    mine = _client(household_user).get(f"{url}?attempt={outcome.attempt.attempt_id}")
    theirs = _client(neighbour).get(f"{url}?attempt={outcome.attempt.attempt_id}")
    nonsense = _client(household_user).get(f"{url}?attempt=not-a-uuid")

    assert mine.status_code == 200
    assert theirs.status_code == 404
    assert nonsense.status_code == 404


def test_staff_cannot_send_a_quiz(
    basics: Course, area_tree: dict[str, Division]
) -> None:
    cadre = make_user("village_cadre", [VILLAGE_A1])

    response = _client(cadre).post(
        reverse("training:quiz", args=[basics.code]),
        {"attempt_id": str(uuid.uuid4()), "quiz_version": basics.quiz.version},
    )

    assert response.status_code == 403
    assert QuizAttempt.objects.count() == 0


def test_an_incomplete_quiz_form_is_422(basics: Course, household_user: User) -> None:
    response = _client(household_user).post(
        reverse("training:quiz", args=[basics.code]), {"attempt_id": "x"}
    )

    assert response.status_code == 422
    assert "The form was not complete" in response.content.decode()
    assert QuizAttempt.objects.count() == 0


# --- my progress and certificates -----------------------------------------------------


def test_my_progress_lists_enrolments_and_certificates(
    basics: Course, shipping: Course, household_user: User, certificate: Certificate
) -> None:
    services.enrolment_for(household_user, shipping)

    response = _client(household_user).get(reverse("training:me"))

    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r'data-course="([^"]+)" data-status="([^"]+)"', html) == [
        ("ecommerce-basics", "completed"),
        ("packing-shipping", "invited"),
    ]
    total = basics.lessons.count()
    text = _text(response)
    assert f"{total} / {total} lessons read" in text
    assert "100.0%" in text
    assert certificate.issued_on.isoformat() in text
    assert reverse("training:certificate_pdf", args=[certificate.code]) in html


def test_my_progress_tells_staff_it_is_for_households(
    area_tree: dict[str, Division],
) -> None:
    cadre = make_user("village_cadre", [VILLAGE_A1])

    response = _client(cadre).get(reverse("training:me"))

    assert response.status_code == 200
    assert "data-not-household" in response.content.decode()
    assert "Log in with the household's account" in response.content.decode()


def test_the_household_downloads_its_certificate(
    household_user: User, certificate: Certificate
) -> None:
    response = _client(household_user).get(
        reverse("training:certificate_pdf", args=[certificate.code])
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{certificate.code}.pdf"'
    )
    assert response.content.startswith(b"%PDF-")


def test_a_certificate_is_404_to_other_households_and_staff_out_of_scope(
    neighbour, certificate: Certificate, area_tree
) -> None:
    url = reverse("training:certificate_pdf", args=[certificate.code])
    cadre_here = make_user("village_cadre", [VILLAGE_A1])
    cadre_elsewhere = make_user("village_cadre", [VILLAGE_B1])

    assert _client(neighbour).get(url).status_code == 404
    assert _client(cadre_elsewhere).get(url).status_code == 404
    assert _client(cadre_here).get(url).status_code == 200
    unknown = reverse("training:certificate_pdf", args=["PP-0000-0000-0000"])
    assert _client(cadre_here).get(unknown).status_code == 404


def test_a_revoked_certificate_is_gone(
    household_user: User, certificate: Certificate
) -> None:
    admin = make_user("county_admin", ["530102000000"])
    services.certificate_revoke(admin, certificate, reason="Quiz taken by someone else")

    response = _client(household_user).get(
        reverse("training:certificate_pdf", args=[certificate.code])
    )

    assert response.status_code == 410
    text = _text(response)
    assert f"Certificate {certificate.code} was revoked on" in text
    assert "Reason: Quiz taken by someone else" in text


# --- verification (public) ------------------------------------------------------------


def test_verify_shows_a_valid_certificate_to_anyone(certificate: Certificate) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(
        reverse("training:verify_code", args=[certificate.code])
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-verification="valid"' in html
    assert "王*明" in html
    assert "王小明" not in html
    assert "E-commerce basics: selling farm produce online" in html
    assert certificate.issuer in html
    assert certificate.issued_on.isoformat() in html


def test_verify_shows_a_revoked_certificate_with_date_and_reason(
    certificate: Certificate, area_tree
) -> None:
    admin = make_user("county_admin", ["530102000000"])
    services.certificate_revoke(admin, certificate, reason="Issued by mistake")
    typed = certificate.code.lower().replace("-", " ")

    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(
        reverse("training:verify"), {"code": typed}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-verification="revoked"' in html
    assert "<dd data-reason>Issued by mistake</dd>" in html
    today = timezone.localdate().isoformat()
    assert f"<dd data-revoked-on>{today}</dd>" in html


def test_verify_says_so_for_an_unknown_code(db: None) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")

    unknown = client.get(reverse("training:verify_code", args=["PP-0000-0000-0000"]))
    garbage = client.get(reverse("training:verify"), {"code": "<b>hello</b>"})
    empty = client.get(reverse("training:verify"))

    assert 'data-verification="unknown"' in unknown.content.decode()
    assert "No certificate has this number" in unknown.content.decode()
    assert 'data-verification="unknown"' in garbage.content.decode()
    assert "<b>hello</b>" not in garbage.content.decode()
    assert "data-verification" not in empty.content.decode()
    assert 'name="code"' in empty.content.decode()


# --- offline support ------------------------------------------------------------------


def test_the_service_worker_is_served_for_the_training_scope(db: None) -> None:
    response = Client().get(reverse("training:service_worker"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/training/"
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert body.startswith("const CONFIG = {")
    assert '"/static/training/training.js"' in body
    assert '"/training/offline/"' in body
    assert '"sync": "/api/v1/training/sync"' in body


def test_the_offline_page_is_public_and_shows_no_account(household_user: User) -> None:
    response = _client(household_user).get(reverse("training:offline"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "data-saved-courses" in html
    assert household_user.username not in html
    assert Client().get(reverse("training:offline")).status_code == 200


# --- check-in -------------------------------------------------------------------------


@pytest.fixture
def session(
    basics: Course, household_user: User, area_tree: dict[str, Division]
) -> TrainingSession:
    admin = make_user("county_admin", ["530102000000"])
    trainer = make_user("trainer", ["530102000000"])
    today = timezone.localdate()
    cohort = services.cohort_create(
        admin,
        course=basics,
        area=area_tree["village_a1"],
        name="一村电商班",
        venue="一村服务站",
        trainer=trainer,
        capacity=20,
        starts_on=today,
        ends_on=today + timedelta(days=7),
    )
    now = timezone.now()
    enrolment = services.enrolment_for(household_user, basics)
    services.cohort_add(admin, cohort, enrolment)
    return services.session_create(
        admin,
        cohort,
        starts_at=now - timedelta(minutes=10),
        ends_at=now + timedelta(hours=2),
        topic="Packing fruit",
    )


def test_checkin_shows_the_session_and_records_attendance(
    session: TrainingSession, household_user: User
) -> None:
    client = _client(household_user)
    url = reverse("training:checkin", args=[session.checkin_token])

    page = client.get(url)
    done = client.post(url)
    again = client.get(url)

    assert page.status_code == 200
    text = _text(page)
    assert "Topic Packing fruit" in text
    assert "Where 一村服务站" in text
    assert "Class 一村电商班" in text
    assert "Confirm: I am here" in text
    assert done.status_code == 200
    assert "You are checked in" in done.content.decode()
    attendance = Attendance.objects.get()
    assert (attendance.session, attendance.method) == (session, "qr")
    assert "already checked in" in again.content.decode()


def test_checkin_refuses_a_household_outside_the_cohort(
    session: TrainingSession, neighbour: User
) -> None:
    response = _client(neighbour).post(
        reverse("training:checkin", args=[session.checkin_token])
    )

    assert response.status_code == 403
    assert escape("not in the session's cohort") in response.content.decode()
    assert Attendance.objects.count() == 0


def test_an_unknown_checkin_code_is_404(household_user: User) -> None:
    client = _client(household_user)
    url = reverse("training:checkin", args=["no-such-token"])

    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
