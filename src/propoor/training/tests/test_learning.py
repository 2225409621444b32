from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from propoor.core.errors import Conflict, PermissionDenied, ValidationFailed
from propoor.households.models import Cause
from propoor.households.tests.factories import (
    COUNTY,
    TOWNSHIP_A,
    VILLAGE_A1,
    VILLAGE_A2,
    make_household,
    make_user,
)
from propoor.training import services, xapi
from propoor.training.models import (
    Attendance,
    Certificate,
    Enrolment,
    LessonProgress,
    QuizAttempt,
    Statement,
)
from propoor.training.services.certificates import mask_name, normalise_code
from propoor.training.tests.factories import RIGHT, WRONG, approved_plan, finish_course
from propoor.training.tests.xapi_rules import check

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")


def submit(
    enrolment, answers, *, attempt_id=None, version=None, at=None, mode="online"
):
    return services.attempt_submit(
        enrolment,
        attempt_id=attempt_id or uuid.uuid4(),
        quiz_version=version or enrolment.course.quiz.version,
        answers=answers,
        finished_at=at,
        mode=mode,
    )


# --- plan-driven enrolment


def test_approving_a_plan_with_training_invites_the_household(
    small_course, area_tree
) -> None:
    cadre = make_user("village_cadre", [VILLAGE_A1])
    household = make_household(
        cadre,
        village_code=VILLAGE_A1,
        main_cause=Cause.LACK_SKILLS,
        secondary_causes=(),
    )
    approved_plan(cadre, household)
    enrolment = Enrolment.objects.get(household=household)
    assert (enrolment.course.code, enrolment.source, enrolment.status) == (
        "small-course",
        "plan",
        "invited",
    )
    assert enrolment.plan_item.intervention.code == "training-ecommerce"
    assert enrolment.reason == "支持计划包含电商培训，这是必修课程"
    assert (
        enrolment.reason_en
        == "The support plan includes training; this course is for everyone"
    )


def test_a_plan_without_training_invites_nobody(small_course, area_tree) -> None:
    cadre = make_user("village_cadre", [VILLAGE_A1])
    household = make_household(cadre, village_code=VILLAGE_A1)
    approved_plan(cadre, household, training=False)
    assert not Enrolment.objects.filter(household=household).exists()


def test_enrol_from_plans_is_idempotent_and_places_in_the_nearest_cohort(
    small_course, area_tree
) -> None:
    cadre = make_user("village_cadre", [VILLAGE_A1, VILLAGE_A2])
    admin = make_user("county_admin", [COUNTY])
    trainer = make_user("trainer", [TOWNSHIP_A])
    from propoor.areas.models import Division

    township = services.cohort_create(
        admin,
        course=small_course,
        area=Division.objects.get(code=TOWNSHIP_A),
        name="镇班",
        venue="镇文化站",
        trainer=trainer,
        capacity=5,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + timedelta(days=30),
    )
    village = services.cohort_create(
        admin,
        course=small_course,
        area=Division.objects.get(code=VILLAGE_A1),
        name="村班",
        venue="村服务站",
        trainer=trainer,
        capacity=1,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + timedelta(days=30),
    )
    first = make_household(cadre, village_code=VILLAGE_A1)
    second = make_household(cadre, village_code=VILLAGE_A1)
    third = make_household(cadre, village_code=VILLAGE_A2)
    for h in (first, second, third):
        approved_plan(cadre, h)  # the signal invites and places each
    placed = dict(Enrolment.objects.values_list("household_id", "cohort__name"))
    assert placed == {first.pk: "村班", second.pk: "镇班", third.pk: "镇班"}
    report = services.enrol_from_plans()
    assert (report.plans, report.invited, report.already, report.joined_cohort) == (
        3,
        0,
        3,
        0,
    )
    assert Enrolment.objects.count() == 3
    assert village.enrolments.count() == 1
    assert township.enrolments.count() == 2


# --- lessons and attempts


def test_a_lesson_reported_twice_counts_once_with_the_earlier_time(
    household_enrolment,
) -> None:
    lesson = household_enrolment.course.lessons.get(slug="first")
    later = timezone.now() - timedelta(minutes=5)
    earlier = later - timedelta(minutes=30)
    _, created = services.lesson_complete(household_enrolment, lesson, at=later)
    _, again = services.lesson_complete(
        household_enrolment, lesson, at=earlier, mode="offline"
    )
    assert (created, again) == (True, False)
    progress = LessonProgress.objects.get()
    assert progress.completed_at == max(earlier, household_enrolment.invited_at)
    household_enrolment.refresh_from_db()
    assert household_enrolment.status == "in_progress"


def test_an_attempt_sent_twice_is_applied_once(household_enrolment) -> None:
    attempt_id = uuid.uuid4()
    first = submit(household_enrolment, RIGHT, attempt_id=attempt_id)
    second = submit(household_enrolment, RIGHT, attempt_id=attempt_id)
    assert (first.state, second.state) == ("applied", "duplicate")
    assert QuizAttempt.objects.count() == 1
    attempt = QuizAttempt.objects.get()
    assert (attempt.score, attempt.max_score, attempt.percent, attempt.passed) == (
        4,
        4,
        Decimal("100.00"),
        True,
    )
    assert attempt.per_question == {"q1": 1, "q2": 2, "q3": 1}
    assert Statement.objects.filter(verb=xapi.ADL + "passed").count() == 1


def test_the_same_attempt_with_other_answers_is_a_conflict_and_the_first_is_kept(
    household_enrolment,
) -> None:
    attempt_id = uuid.uuid4()
    submit(household_enrolment, WRONG, attempt_id=attempt_id)
    with pytest.raises(Conflict) as caught:
        submit(household_enrolment, RIGHT, attempt_id=attempt_id)
    assert caught.value.message == (
        "This attempt was already synced with different answers; the first one is kept."
    )
    assert caught.value.extra == {"attempt_id": str(attempt_id), "kept_percent": "0.00"}
    assert list(QuizAttempt.objects.values_list("score", "passed")) == [(0, False)]


def test_an_attempt_on_an_older_quiz_version_is_kept_but_not_counted(
    household_enrolment,
) -> None:
    outcome = submit(
        household_enrolment, RIGHT, version=household_enrolment.course.quiz.version + 1
    )
    assert outcome.state == "stale"
    household_enrolment.refresh_from_db()
    assert (household_enrolment.best_percent, household_enrolment.quiz_passed_at) == (
        None,
        None,
    )
    assert outcome.attempt.status == "stale"
    assert outcome.attempt.passed is False


def test_the_best_grade_counts_and_the_earliest_pass_dates_it(
    household_enrolment,
) -> None:
    now = timezone.now()
    Enrolment.objects.filter(pk=household_enrolment.pk).update(
        invited_at=now - timedelta(hours=1)
    )
    submit(
        household_enrolment,
        {"q1": ["b"], "q2": ["a", "c"]},
        at=now - timedelta(minutes=3),
    )
    submit(household_enrolment, RIGHT, at=now - timedelta(minutes=1))
    submit(household_enrolment, WRONG, at=now)
    household_enrolment.refresh_from_db()
    assert household_enrolment.best_percent == Decimal("100.00")
    assert household_enrolment.quiz_passed_at == now - timedelta(minutes=3)


def test_completion_needs_every_lesson_and_a_pass_then_issues_a_certificate(
    household_enrolment,
) -> None:
    submit(household_enrolment, RIGHT)
    household_enrolment.refresh_from_db()
    assert household_enrolment.status == "in_progress"
    assert not Certificate.objects.exists()
    for lesson in household_enrolment.course.lessons.all():
        services.lesson_complete(household_enrolment, lesson)
    household_enrolment.refresh_from_db()
    assert household_enrolment.status == "completed"
    certificate = Certificate.objects.get()
    assert (
        certificate.issued_on
        == timezone.localtime(household_enrolment.completed_at).date()
    )
    assert certificate.code == normalise_code(
        certificate.code.lower().replace("-", " ")
    )
    assert (
        Statement.objects.filter(
            verb=xapi.ADL + "completed", object_id=xapi.course_iri("small-course")
        ).count()
        == 1
    )


def test_an_offline_finish_dates_the_certificate_by_when_the_learner_finished(
    household_enrolment,
) -> None:
    Enrolment.objects.filter(pk=household_enrolment.pk).update(
        invited_at=datetime(2026, 11, 1, 9, 0, tzinfo=CHINA)
    )
    household_enrolment.refresh_from_db()
    finished = datetime(2026, 11, 3, 23, 30, tzinfo=CHINA)
    finish_course(household_enrolment, at=finished)
    certificate = Certificate.objects.get()
    assert certificate.issued_on.isoformat() == "2026-11-03"


def test_a_client_clock_in_the_future_is_bounded_by_the_server(
    household_enrolment,
) -> None:
    outcome = submit(household_enrolment, RIGHT, at=timezone.now() + timedelta(days=3))
    assert outcome.attempt.finished_at <= timezone.now()


# --- certificates


def test_verification_valid_revoked_and_unknown(household_enrolment) -> None:
    finish_course(household_enrolment)
    certificate = Certificate.objects.get()
    valid = services.certificate_verify(certificate.code.lower())
    assert (valid.status, valid.code, valid.learner, valid.course_zh) == (
        "valid",
        certificate.code,
        "王*明",
        "小课程",
    )
    trainer = make_user("trainer", [VILLAGE_A1])
    with pytest.raises(ValidationFailed):
        services.certificate_revoke(trainer, certificate, reason="  ")
    services.certificate_revoke(trainer, certificate, reason="考试作弊")
    revoked = services.certificate_verify(certificate.code)
    assert (revoked.status, revoked.revoked_reason, revoked.revoked_on) == (
        "revoked",
        "考试作弊",
        timezone.localdate(),
    )
    with pytest.raises(Conflict):
        services.certificate_revoke(trainer, certificate, reason="again")
    assert services.certificate_verify("PP-0000-0000-0000").status == "unknown"
    assert services.certificate_verify("not a code").status == "unknown"
    # revocation corrects the learning record by voiding the completion
    completed = Statement.objects.get(
        verb=xapi.ADL + "completed", object_id=xapi.course_iri("small-course")
    )
    assert completed.voided is True
    voiding = Statement.objects.get(verb=xapi.ADL + "voided")
    assert voiding.body["object"] == {
        "objectType": "StatementRef",
        "id": str(completed.id),
    }


def test_a_household_may_not_revoke(household_enrolment, household_user) -> None:
    finish_course(household_enrolment)
    with pytest.raises(PermissionDenied):
        services.certificate_revoke(
            household_user, Certificate.objects.get(), reason="x"
        )


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("王小明", "王*明"),
        ("张三", "张*"),
        ("欧阳娜娜", "欧**娜"),
        ("Wang Fang", "W*** F***"),
    ],
)
def test_names_are_masked(name, masked) -> None:
    assert mask_name(name) == masked


# --- sessions and attendance


@pytest.fixture
def session(small_course, area_tree):  # type: ignore[no-untyped-def]
    from propoor.areas.models import Division

    trainer = make_user("trainer", [VILLAGE_A1], username="trainer-li")
    cohort = services.cohort_create(
        trainer,
        course=small_course,
        area=Division.objects.get(code=VILLAGE_A1),
        name="村班",
        venue="村服务站",
        trainer=trainer,
        capacity=10,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate(),
    )
    start = timezone.now() - timedelta(minutes=10)
    return services.session_create(
        trainer, cohort, starts_at=start, ends_at=start + timedelta(hours=2)
    )


def test_qr_checkin_records_attendance_once(
    session, household_enrolment, household_user
) -> None:
    services.cohort_add(session.cohort.trainer, session.cohort, household_enrolment)
    _, created = services.checkin(household_user, session.checkin_token)
    _, again = services.checkin(household_user, session.checkin_token)
    assert (created, again) == (True, False)
    assert list(Attendance.objects.values_list("method", flat=True)) == ["qr"]
    statement = Statement.objects.get(verb=xapi.ADL + "attended")
    assert (
        statement.body["context"]["instructor"]["account"]["name"] == "user:trainer-li"
    )


def test_checkin_outside_the_window_or_the_cohort_is_refused(
    session, household_enrolment, household_user
) -> None:
    with pytest.raises(PermissionDenied):
        services.checkin(household_user, session.checkin_token)
    services.cohort_add(session.cohort.trainer, session.cohort, household_enrolment)
    with pytest.raises(ValidationFailed):
        services.checkin(
            household_user,
            session.checkin_token,
            at=session.ends_at + timedelta(hours=2),
        )
    assert not Attendance.objects.exists()


def test_roll_call_marks_and_unmarks_with_a_voided_record(
    session, household_enrolment
) -> None:
    trainer = session.cohort.trainer
    services.cohort_add(trainer, session.cohort, household_enrolment)
    assert services.roll_call(trainer, session, {household_enrolment.pk}) == {
        "present": 1,
        "added": 1,
        "removed": 0,
    }
    assert services.roll_call(trainer, session, set()) == {
        "present": 0,
        "added": 0,
        "removed": 1,
    }
    assert not Attendance.objects.exists()
    attended = Statement.objects.get(verb=xapi.ADL + "attended")
    assert attended.voided is True
    with pytest.raises(ValidationFailed):
        services.roll_call(trainer, session, {999999})
    other = make_user("trainer", [VILLAGE_A1])
    with pytest.raises(PermissionDenied):
        services.roll_call(other, session, {household_enrolment.pk})


def test_a_full_cohort_refuses_one_more(session, small_course) -> None:
    from propoor.training.models import Cohort

    Cohort.objects.filter(pk=session.cohort.pk).update(capacity=1)
    session.cohort.refresh_from_db()
    a = services.enrol(
        small_course, make_household(village_code=VILLAGE_A1), source="trainer"
    )[0]
    b = services.enrol(
        small_course, make_household(village_code=VILLAGE_A1), source="trainer"
    )[0]
    services.cohort_add(session.cohort.trainer, session.cohort, a)
    with pytest.raises(Conflict):
        services.cohort_add(session.cohort.trainer, session.cohort, b)


# --- learning records


def test_every_statement_meets_the_xapi_required_field_rules(
    session, household_enrolment
) -> None:
    trainer = session.cohort.trainer
    services.cohort_add(trainer, session.cohort, household_enrolment)
    services.roll_call(trainer, session, {household_enrolment.pk})
    submit(household_enrolment, WRONG)
    finish_course(household_enrolment)
    services.roll_call(trainer, session, set())
    services.certificate_revoke(trainer, Certificate.objects.get(), reason="重新考核")
    exported = list(xapi.statements())
    verbs = sorted({s["verb"]["display"]["en-US"] for s in exported})
    assert verbs == [
        "attended",
        "completed",
        "failed",
        "passed",
        "registered",
        "voided",
    ]
    for statement in exported:
        assert check(statement) == [], statement
        assert "王小明" not in str(statement)
    assert len(exported) == Statement.objects.count() == 9
