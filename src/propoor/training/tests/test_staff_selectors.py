"""The staff selectors on a small county built through the services.

The courses invite nobody by themselves (not core, no intervention, no cause), so
whatever runs when a plan is approved, the enrolments are exactly those made here.

The world (``build_world``), 26 November–1 December of the current year::

    village A1: 王小明 (h1) plan with training, enrolled in both courses, completed
                 the first (a wrong attempt, then a right one: certificate); surveys of
                 last year and this year
                李四 (h2)  plan with training, in the first course: one lesson read,
                 one graded attempt (1 point of 4), one stale attempt
                赵五 (h3)  plan with training, enrolled in nothing
                钱六 (h4)  last year's approved plan had training, this year's has not;
                 enrolled all the same (not plan-targeted)
                孙八 (h7)  a draft plan with training (not approved)
    village A2: 孙七 (h5)  plan with training, enrolled, invited
    village B1: 周八 (h6)  plan with training, enrolled, in cohort C2

    cohort C1 (village A1, trained by ``trainer``, capacity 4): h1 and h2
        S1 two days ago: h1 by roll call, h2 by QR; S2 yesterday: h1 by roll call;
        S3 in two days (not held yet)
    cohort C2 (village B1, trained by ``other_trainer``, capacity 3): h6
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from django.utils import timezone

from propoor.accounts.models import User
from propoor.areas.models import Division
from propoor.core.errors import NotFound, PermissionDenied
from propoor.households.models import Household, Snapshot
from propoor.households.services import snapshot_record
from propoor.households.tests.factories import (
    COUNTY,
    SNAPSHOT_DEFAULTS,
    TOWNSHIP_A,
    TOWNSHIP_B,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_area_tree,
    make_household,
    make_user,
)
from propoor.training import services
from propoor.training.models import (
    Cohort,
    Course,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    TrainingSession,
)
from propoor.training.selectors import staff
from propoor.training.tests.factories import approved_plan

STAFF_COURSE = """
code = "staff-basics"
order = 1
title_zh = "电商入门"
title_en = "E-commerce basics"

[[modules]]
title_zh = "第一单元"
title_en = "Module one"

  [[modules.lessons]]
  slug = "one"
  title_zh = "第一课"
  title_en = "Lesson one"
  body_zh = "第一课。"
  body_en = "Lesson one."

  [[modules.lessons]]
  slug = "two"
  title_zh = "第二课"
  title_en = "Lesson two"
  body_zh = "第二课。"
  body_en = "Lesson two."

[quiz]
title_zh = "测验"
title_en = "Quiz"
pass_mark = 60

  [[quiz.questions]]
  kind = "single"
  text_zh = "网店的商品照片应该怎样拍？"
  text_en = "How should a shop's product photos be taken?"
    [[quiz.questions.choices]]
    text_zh = "越暗越好"
    text_en = "As dark as possible"
    [[quiz.questions.choices]]
    text_zh = "光线充足、背景干净"
    text_en = "In good light on a clean background"
    correct = true
    [[quiz.questions.choices]]
    text_zh = "随便拍"
    text_en = "Any way at all"

  [[quiz.questions]]
  kind = "multiple"
  points = 2
  text_zh = "哪些能帮助卖货？"
  text_en = "Which help to sell?"
    [[quiz.questions.choices]]
    text_zh = "如实描述"
    text_en = "An honest description"
    correct = true
    [[quiz.questions.choices]]
    text_zh = "刷好评"
    text_en = "Fake reviews"
    [[quiz.questions.choices]]
    text_zh = "按时发货"
    text_en = "Shipping on time"
    correct = true

  [[quiz.questions]]
  kind = "truefalse"
  answer = false
  text_zh = "快递越慢越好。"
  text_en = "The slower the parcel, the better."
"""

SECOND_COURSE = """
code = "staff-packing"
order = 2
title_zh = "包装与发货"
title_en = "Packing and shipping"

[[modules]]
title_zh = "单元"
title_en = "Module"

  [[modules.lessons]]
  slug = "box"
  title_zh = "选箱子"
  title_en = "Choosing a box"
  body_zh = "选箱子。"
  body_en = "Choosing a box."

[quiz]
title_zh = "测验"
title_en = "Quiz"
pass_mark = 50

  [[quiz.questions]]
  kind = "truefalse"
  answer = true
  text_zh = "易碎品要加泡沫。"
  text_en = "Fragile goods need padding."
"""

RIGHT = {"q1": ["b"], "q2": ["a", "c"], "q3": ["f"]}
WRONG = {"q1": ["a"], "q2": ["b"], "q3": ["t"]}
PARTLY = {"q1": ["b"], "q2": ["a"], "q3": ["t"]}  # 1 point of 4


@dataclass
class World:
    admin: User
    trainer: User
    other_trainer: User
    cadre_a1: User
    cadre_b1: User
    household_user: User
    course: Course
    second: Course
    h1: Household
    h2: Household
    h3: Household
    h4: Household
    h5: Household
    h6: Household
    h7: Household
    c1: Cohort
    c2: Cohort
    s1: TrainingSession
    s2: TrainingSession
    s3: TrainingSession
    e1: Enrolment
    e2: Enrolment
    e5: Enrolment
    e6: Enrolment


def _snapshot(household: Household, year: int, **overrides: object) -> Snapshot:
    fields = {**SNAPSHOT_DEFAULTS, "surveyed_on": timezone.localdate()}
    fields.update(overrides)
    return snapshot_record(actor=None, household=household, year=year, **fields)


def _attempt(enrolment: Enrolment, answers: dict[str, list[str]], version: int) -> None:
    services.attempt_submit(
        enrolment, attempt_id=uuid.uuid4(), quiz_version=version, answers=answers
    )


def build_world(folder: Path) -> World:
    """The county above, built through the services (see the module's docstring)."""
    tree = make_area_tree()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "01-staff-basics.toml").write_text(STAFF_COURSE, encoding="utf-8")
    (folder / "02-staff-packing.toml").write_text(SECOND_COURSE, encoding="utf-8")
    services.curriculum_install(folder)
    course = Course.objects.get(code="staff-basics")
    second = Course.objects.get(code="staff-packing")
    year = timezone.localdate().year
    admin = make_user("county_admin", [COUNTY], username="admin")
    trainer = make_user("trainer", [VILLAGE_A1], username="trainer")
    other_trainer = make_user("trainer", username="trainer-b")
    cadre_a1 = make_user("village_cadre", [VILLAGE_A1], username="cadre-a1")
    cadre_b1 = make_user("village_cadre", [VILLAGE_B1], username="cadre-b1")

    def household(village: str, name: str) -> Household:
        return make_household(village_code=village, head_name=name, year=year - 1)

    h1 = household(VILLAGE_A1, "王小明")
    h2 = household(VILLAGE_A1, "李四")
    h3 = household(VILLAGE_A1, "赵五")
    h4 = make_household(village_code=VILLAGE_A1, head_name="钱六", year=year - 2)
    _snapshot(h4, year - 1)
    h5 = household(VILLAGE_A2, "孙七")
    h6 = household(VILLAGE_B1, "周八")
    h7 = household(VILLAGE_A1, "孙八")
    # this year's survey of h1, after its training: more business, some online
    _snapshot(
        h1,
        year,
        income_business=Decimal("5000.00"),
        income_ecommerce=Decimal("3000.00"),
    )
    for h in (h1, h2, h3, h5, h6):
        approved_plan(admin, h, year=year - 1)
    approved_plan(admin, h4, year=year - 2)
    approved_plan(admin, h4, year=year - 1, training=False)
    # a draft with training does not count
    from propoor.households.plans import plan_item_add, plan_propose

    draft = plan_propose(admin, household=h7, year=year - 1)
    if not draft.items.filter(intervention__kind="training").exists():
        plan_item_add(
            admin, plan=draft, intervention_code="training-ecommerce", reason="草案"
        )

    def enrol(c: Course, h: Household) -> Enrolment:
        return services.enrol(c, h, source=EnrolmentSource.PLAN)[0]

    e1, e2, e5, e6 = (enrol(course, h) for h in (h1, h2, h5, h6))
    enrol(second, h1)
    enrol(course, h4)

    c1 = services.cohort_create(
        admin,
        course=course,
        area=tree["village_a1"],
        name="一村电商班",
        venue="一村服务站",
        trainer=trainer,
        capacity=4,
        starts_on=timezone.localdate() - timedelta(days=3),
        ends_on=timezone.localdate() + timedelta(days=3),
    )
    c2 = services.cohort_create(
        admin,
        course=course,
        area=tree["village_b1"],
        name="三村电商班",
        venue="三村村委会",
        trainer=other_trainer,
        capacity=3,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + timedelta(days=7),
    )
    for e in (e1, e2):
        services.cohort_add(admin, c1, e)
    services.cohort_add(admin, c2, e6)
    now = timezone.now().replace(microsecond=0)

    def session(days: int, topic: str) -> TrainingSession:
        start = now + timedelta(days=days)
        return services.session_create(
            admin, c1, starts_at=start, ends_at=start + timedelta(hours=2), topic=topic
        )

    s1 = session(-2, "认识电商")
    s2 = session(-1, "拍商品照片")
    s3 = session(2, "发货")
    household_user = make_user(
        "household", [VILLAGE_A1], household=h2, username="household-li"
    )
    services.roll_call(trainer, s1, {e1.pk})
    services.checkin(household_user, s1.checkin_token, at=s1.starts_at)
    services.roll_call(trainer, s2, {e1.pk})

    version = course.quiz.version
    for lesson in course.lessons.all():
        services.lesson_complete(e1, lesson)
    _attempt(e1, WRONG, version)
    _attempt(e1, RIGHT, version)
    services.lesson_complete(e2, course.lessons.get(slug="one"))
    _attempt(e2, PARTLY, version)
    _attempt(e2, RIGHT, version + 1)  # answered an older quiz: stale, not counted
    for e in (e1, e2, e5, e6):
        e.refresh_from_db()
    return World(
        admin=admin,
        trainer=trainer,
        other_trainer=other_trainer,
        cadre_a1=cadre_a1,
        cadre_b1=cadre_b1,
        household_user=household_user,
        course=course,
        second=second,
        h1=h1,
        h2=h2,
        h3=h3,
        h4=h4,
        h5=h5,
        h6=h6,
        h7=h7,
        c1=c1,
        c2=c2,
        s1=s1,
        s2=s2,
        s3=s3,
        e1=e1,
        e2=e2,
        e5=e5,
        e6=e6,
    )


@pytest.fixture
def world(db, tmp_path: Path) -> World:  # type: ignore[no-untyped-def]
    return build_world(tmp_path / "curriculum")


# --- cohorts --------------------------------------------------------------------------


def test_the_world_is_as_described(world: World) -> None:
    assert world.e1.status == EnrolmentStatus.COMPLETED
    assert world.e2.status == EnrolmentStatus.IN_PROGRESS
    assert world.e2.best_percent == Decimal("25.00")
    assert world.e5.status == EnrolmentStatus.INVITED


def test_an_admin_sees_every_cohort_with_its_numbers(world: World) -> None:
    rows = staff.trainer_cohorts(world.admin)

    assert [r.cohort.pk for r in rows] == [world.c2.pk, world.c1.pk]
    c1 = rows[1]
    assert (c1.members, c1.seats_left, c1.sessions, c1.sessions_held) == (2, 2, 3, 2)
    # S1: two present, S2: one, of 2 members × 2 sessions held
    assert c1.attended == 3
    assert c1.attendance_rate == Fraction(3, 4)
    assert (c1.completed, c1.completion_rate) == (1, Fraction(1, 2))
    c2 = rows[0]
    assert (c2.members, c2.seats_left, c2.sessions) == (1, 2, 0)
    assert c2.attendance_rate is None
    assert (c2.completed, c2.completion_rate) == (0, Fraction(0))


def test_a_trainer_sees_the_cohorts_they_train(world: World) -> None:
    assert [r.cohort.pk for r in staff.trainer_cohorts(world.trainer)] == [world.c1.pk]
    assert [r.cohort.pk for r in staff.trainer_cohorts(world.other_trainer)] == [
        world.c2.pk
    ]


def test_a_cadre_sees_the_cohorts_of_their_village_only(world: World) -> None:
    assert [r.cohort.pk for r in staff.trainer_cohorts(world.cadre_a1)] == [world.c1.pk]
    assert [r.cohort.pk for r in staff.trainer_cohorts(world.cadre_b1)] == [world.c2.pk]
    with pytest.raises(NotFound):
        staff.cohort_report(world.cadre_a1, world.c2.pk)
    with pytest.raises(NotFound):
        staff.session_report(world.cadre_b1, world.s1.pk)


def test_a_trainer_without_scope_sees_only_their_own_cohort(world: World) -> None:
    with pytest.raises(NotFound):
        staff.cohort_report(world.other_trainer, world.c1.pk)
    assert staff.cohort_report(world.other_trainer, world.c2.pk).cohort == world.c2


def test_a_household_login_may_not_read_staff_pages(world: World) -> None:
    user = world.household_user
    for call in (
        lambda: staff.trainer_cohorts(user),
        lambda: staff.cohort_report(user, world.c1.pk),
        lambda: staff.session_report(user, world.s1.pk),
        lambda: staff.coverage(user),
        lambda: staff.still_needed(user),
        lambda: staff.outcomes(user),
        lambda: staff.cohort_options(user),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_the_cohort_report_lists_sessions_and_members(world: World) -> None:
    report = staff.cohort_report(world.trainer, world.c1.pk)

    assert [(s.session.topic, s.present) for s in report.sessions] == [
        ("认识电商", 2),
        ("拍商品照片", 1),
        ("发货", 0),
    ]
    members = {m.enrolment_id: m for m in report.members}
    assert list(members) == sorted(
        [world.e1.pk, world.e2.pk],
        key=lambda pk: Enrolment.objects.get(pk=pk).household.number,
    )
    first = members[world.e1.pk]
    certificate = world.e1.certificate
    assert (
        first.number,
        first.name,
        first.village.code,
        first.status,
        first.lessons_done,
        first.lessons_total,
        first.best_percent,
        first.sessions_attended,
        first.completed_at,
        first.certificate,
    ) == (
        world.h1.number,
        "王*明",
        VILLAGE_A1,
        "completed",
        2,
        2,
        Decimal("100.00"),
        2,
        world.e1.completed_at,
        certificate.code,
    )
    second = members[world.e2.pk]
    assert (
        second.name,
        second.status,
        second.lessons_done,
        second.best_percent,
        second.sessions_attended,
        second.completed_at,
        second.certificate,
    ) == ("李*", "in_progress", 1, Decimal("25.00"), 1, None, "")


def test_quiz_results_count_each_members_latest_graded_attempt(world: World) -> None:
    report = staff.cohort_report(world.admin, world.c1.pk)

    assert report.attempts_counted == 2
    results = {r.question.key: r for r in report.questions}
    assert list(results) == ["q1", "q2", "q3"]
    # h1's latest is right, h2's is PARTLY (its stale attempt is not counted)
    assert (results["q1"].counted, results["q1"].correct) == (2, 2)
    assert results["q1"].share_correct == Fraction(1)
    assert [(c.choice.key, c.picked) for c in results["q1"].choices] == [
        ("a", 0),
        ("b", 2),
        ("c", 0),
    ]
    assert (results["q2"].correct, results["q2"].share_correct) == (1, Fraction(1, 2))
    assert [(c.choice.key, c.picked, c.share) for c in results["q2"].choices] == [
        ("a", 2, Fraction(1)),
        ("b", 0, Fraction(0)),
        ("c", 1, Fraction(1, 2)),
    ]
    assert results["q3"].correct == 1
    assert [(c.choice.key, c.picked) for c in results["q3"].choices] == [
        ("t", 1),
        ("f", 1),
    ]


def test_cohort_candidates_are_open_enrolments_of_the_area(world: World) -> None:
    # h4 (A1) is enrolled in the course and not in the cohort; h5 lives in A2
    report = staff.cohort_report(world.trainer, world.c1.pk)

    assert [(c.number, c.name, c.cohort) for c in report.candidates] == [
        (world.h4.number, "钱*", "")
    ]


def test_the_session_report_shows_checkins_and_the_roll(world: World) -> None:
    report = staff.session_report(world.trainer, world.s1.pk)

    assert [(c.number, c.method) for c in report.checked_in] == [
        (world.h1.number, "roll_call"),
        (world.h2.number, "qr"),
    ]
    assert report.present == 2
    roll = {r.enrolment_id: (r.present, r.method) for r in report.roll}
    assert roll == {world.e1.pk: (True, "roll_call"), world.e2.pk: (True, "qr")}

    later = staff.session_report(world.cadre_a1, world.s3.pk)
    assert later.checked_in == ()
    assert {r.enrolment_id: r.present for r in later.roll} == {
        world.e1.pk: False,
        world.e2.pk: False,
    }


def test_cohort_options_follow_the_scope(world: World) -> None:
    options = staff.cohort_options(world.trainer)
    assert [a.code for a in options.areas] == [VILLAGE_A1]
    assert list(options.trainers) == [world.trainer]
    assert [c.code for c in options.courses] == ["staff-basics", "staff-packing"]

    admin = staff.cohort_options(world.admin)
    assert [a.code for a in admin.areas] == [
        TOWNSHIP_A,
        VILLAGE_A1,
        VILLAGE_A2,
        TOWNSHIP_B,
        VILLAGE_B1,
    ]
    assert list(admin.trainers) == [world.trainer]


# --- coverage -------------------------------------------------------------------------


def test_coverage_by_village_for_the_county(world: World) -> None:
    result = staff.coverage(world.admin)

    rows = {r.code: (r.targeted, r.enrolled, r.completed) for r in result.rows}
    # A1: h1, h2, h3 targeted (h4's current plan has no training, h7's is a draft)
    assert rows == {VILLAGE_A1: (3, 2, 1), VILLAGE_A2: (1, 1, 0), VILLAGE_B1: (1, 1, 0)}
    a1 = result.rows[0]
    assert a1.share_trained == Fraction(1, 3)
    assert a1.share_enrolled == Fraction(2, 3)
    total = result.total
    assert (total.targeted, total.enrolled, total.completed) == (5, 4, 1)
    assert total.share_trained == Fraction(1, 5)
    assert result.area is None


def test_coverage_of_one_township_and_of_a_cadres_village(world: World) -> None:
    township = staff.coverage(world.admin, area_code=TOWNSHIP_B)
    assert [(r.code, r.targeted) for r in township.rows] == [(VILLAGE_B1, 1)]
    assert township.area == Division.objects.get(code=TOWNSHIP_B)

    cadre = staff.coverage(world.cadre_a1)
    assert [r.code for r in cadre.rows] == [VILLAGE_A1]
    assert (cadre.total.targeted, cadre.total.completed) == (3, 1)
    with pytest.raises(NotFound):
        staff.coverage(world.cadre_a1, area_code=VILLAGE_B1)
    with pytest.raises(NotFound):
        staff.coverage(world.admin, area_code="999999999999")


def test_a_revoked_certificate_does_not_count_as_trained(world: World) -> None:
    services.certificate_revoke(world.admin, world.e1.certificate, reason="代考")

    assert staff.coverage(world.admin).total.completed == 0
    assert staff.outcomes(world.admin) == []


def test_still_needed_lists_who_needs_which_course(world: World) -> None:
    rows = staff.still_needed(world.admin)

    got = [(r.number, r.course.code if r.course else None, r.status) for r in rows]
    a1 = sorted(
        [
            (world.h1.number, "staff-packing", "invited"),
            (world.h2.number, "staff-basics", "in_progress"),
            (world.h3.number, None, ""),
        ]
    )
    assert got == [
        *a1,
        (world.h5.number, "staff-basics", "invited"),
        (world.h6.number, "staff-basics", "invited"),
    ]
    h2 = next(r for r in rows if r.number == world.h2.number)
    assert (h2.name, h2.cohort, h2.village.code) == ("李*", "一村电商班", VILLAGE_A1)


def test_still_needed_follows_the_scope_and_the_area(world: World) -> None:
    assert [r.number for r in staff.still_needed(world.cadre_b1)] == [world.h6.number]
    assert [r.number for r in staff.still_needed(world.admin, VILLAGE_A2)] == [
        world.h5.number
    ]
    assert staff.still_needed(world.other_trainer) == []
    with pytest.raises(NotFound):
        staff.still_needed(world.cadre_b1, VILLAGE_A1)


# --- outcomes -------------------------------------------------------------------------


def test_outcomes_compare_income_before_and_after_the_first_completion(
    world: World,
) -> None:
    rows = staff.outcomes(world.admin)

    assert len(rows) == 1
    row = rows[0]
    today = timezone.localdate()
    assert (row.number, row.name, row.village.code) == (
        world.h1.number,
        "王*明",
        VILLAGE_A1,
    )
    assert [(c.course.code, c.completed_on) for c in row.completions] == [
        ("staff-basics", today)
    ]
    assert row.first_completed == today
    # last year: 2000 + 1500 + 1200 - 800 = 3900 for 2 people
    assert row.before is not None
    assert (row.before.year, row.before.net, row.before.per_capita) == (
        today.year - 1,
        Decimal("3900.00"),
        Decimal("1950.00"),
    )
    assert row.before.ecommerce == Decimal("0.00")
    # this year: 2000 + 5000 + 1200 - 800 = 7400, 3000 of it online
    assert row.after is not None
    assert (row.after.year, row.after.per_capita, row.after.ecommerce) == (
        today.year,
        Decimal("3700.00"),
        Decimal("3000.00"),
    )
    assert row.change_per_capita == Decimal("1750.00")


def test_outcomes_say_nothing_where_a_survey_is_missing(world: World) -> None:
    # h5 completes too, but has no survey of this year and none of the year before
    # last; its only survey (last year) is its "before"
    course = world.course
    for lesson in course.lessons.all():
        services.lesson_complete(world.e5, lesson)
    _attempt(world.e5, RIGHT, course.quiz.version)

    rows = {r.number: r for r in staff.outcomes(world.admin)}
    h5 = rows[world.h5.number]
    assert h5.before is not None
    assert h5.before.per_capita == Decimal("1950.00")
    assert h5.after is None
    assert h5.change_per_capita is None
    assert list(rows) == [world.h1.number, world.h5.number]
    assert [r.number for r in staff.outcomes(world.admin, VILLAGE_A2)] == [
        world.h5.number
    ]
    assert staff.outcomes(world.cadre_b1) == []
