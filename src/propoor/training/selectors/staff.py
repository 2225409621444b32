"""Reads for the trainer's, the cadre's and the county's training pages.

Every selector takes the acting user first, requires a staff role (trainer, county
administrator, township officer, village cadre; a household's own login is refused)
and applies the user's area scope once, through :func:`scope_of`:

- a cohort is visible when its area's code is in the scope, or when the user trains it
  (a trainer sees the cohorts they train, plus what their scope covers);
- a household is visible when its village's code is in the scope.

Objects outside the scope are :class:`NotFound`, never "forbidden": the user must not
learn that they exist. Names of heads of household are masked (``张*丰``): these pages
are shown on a projector at the station.

Definitions used by the coverage and outcome pages:

- *plan-targeted*: the household's current approved support plan (its approved plan of
  the latest year) has a training item (intervention kind ``training``) not dropped;
- *completed*: an enrolment completed whose certificate has not been revoked;
- *income before*: the yearly survey snapshot of the year before the household's first
  completion; *income after*: the latest snapshot of the completion's year or later
  surveyed on or after the day of that completion.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from propoor.accounts.models import User
from propoor.accounts.roles import Role, require_role
from propoor.accounts.scope import Scope, scope_of
from propoor.areas.models import Division, Level
from propoor.core.errors import NotFound
from propoor.households.models import (
    Household,
    ItemStatus,
    PlanItem,
    PlanStatus,
    Snapshot,
    SupportPlan,
)
from propoor.training.models import (
    AttemptStatus,
    Attendance,
    Certificate,
    Choice,
    Cohort,
    Course,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonProgress,
    Question,
    Quiz,
    QuizAttempt,
    TrainingSession,
)
from propoor.training.services import mask_name
from propoor.training.services.cohorts import ORGANISERS

if TYPE_CHECKING:
    from collections.abc import Iterable

STAFF = (Role.TRAINER, Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER, Role.VILLAGE_CADRE)
TRAINING_KIND = "training"
CENT = Decimal("0.01")

__all__ = [
    "ORGANISERS",
    "STAFF",
    "CohortOptions",
    "CohortReport",
    "CohortRow",
    "CoverageRow",
    "Income",
    "NeedRow",
    "OutcomeRow",
    "SessionReport",
    "TrainingCoverage",
    "cohort_options",
    "cohort_report",
    "coverage",
    "outcomes",
    "session_report",
    "still_needed",
    "trainer_cohorts",
]


def _share(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def _staff_scope(user: User) -> Scope:
    require_role(user, STAFF)
    return scope_of(user)


def _visible_cohorts(user: User) -> QuerySet[Cohort]:
    scope = _staff_scope(user)
    cohorts = Cohort.objects.select_related("course", "area", "trainer")
    if scope.everything:
        return cohorts
    return cohorts.filter(scope.q("area__code") | Q(trainer=user))


def _cohort_get(user: User, cohort_id: int) -> Cohort:
    cohort = _visible_cohorts(user).filter(pk=cohort_id).first()
    if cohort is None:
        raise NotFound("No such cohort.", extra={"cohort": cohort_id})
    return cohort


def _area(scope: Scope, area_code: str | None) -> Division | None:
    """The area a page is narrowed to (None: the whole scope); outside it: NotFound."""
    if not area_code:
        return None
    area = Division.objects.filter(code=area_code).first()
    if area is None or not scope.covers(area.code):
        raise NotFound("No such area.", extra={"area": area_code})
    return area


def _households(scope: Scope, area: Division | None) -> QuerySet[Household]:
    households = Household.objects.filter(scope.q("village__code"))
    if area is not None:
        households = households.filter(village__code__startswith=area.prefix)
    return households


# --- cohorts ------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortRow:
    cohort: Cohort
    members: int
    sessions: int
    sessions_held: int
    attended: int
    completed: int

    @property
    def course_title(self) -> str:
        """The course's title in the active language."""
        return self.cohort.course.t("title")

    @property
    def seats_left(self) -> int:
        return max(self.cohort.capacity - self.members, 0)

    @property
    def attendance_rate(self) -> Fraction | None:
        """Attendances at sessions held so far, of members × sessions held."""
        return _share(self.attended, self.members * self.sessions_held)

    @property
    def completion_rate(self) -> Fraction | None:
        return _share(self.completed, self.members)


def _cohort_rows(cohorts: list[Cohort], now: datetime) -> list[CohortRow]:
    ids = [c.pk for c in cohorts]
    members: dict[int, tuple[int, int]] = {
        cohort_id: (n, done)
        for cohort_id, n, done in Enrolment.objects.filter(cohort_id__in=ids)
        .values("cohort_id")
        .annotate(
            n=Count("id"), done=Count("id", filter=Q(status=EnrolmentStatus.COMPLETED))
        )
        .values_list("cohort_id", "n", "done")
    }
    sessions: dict[int, tuple[int, int]] = {
        cohort_id: (n, held)
        for cohort_id, n, held in TrainingSession.objects.filter(cohort_id__in=ids)
        .values("cohort_id")
        .annotate(n=Count("id"), held=Count("id", filter=Q(starts_at__lte=now)))
        .values_list("cohort_id", "n", "held")
    }
    attended = dict(
        Attendance.objects.filter(
            session__cohort_id__in=ids,
            session__starts_at__lte=now,
            enrolment__cohort_id=F("session__cohort_id"),
        )
        .values("session__cohort_id")
        .annotate(n=Count("id"))
        .values_list("session__cohort_id", "n")
    )
    rows = []
    for cohort in cohorts:
        member_count, done = members.get(cohort.pk, (0, 0))
        session_count, held = sessions.get(cohort.pk, (0, 0))
        rows.append(
            CohortRow(
                cohort=cohort,
                members=member_count,
                sessions=session_count,
                sessions_held=held,
                attended=attended.get(cohort.pk, 0),
                completed=done,
            )
        )
    return rows


def trainer_cohorts(user: User, *, now: datetime | None = None) -> list[CohortRow]:
    """Cohorts the user trains or whose area is in the user's scope, newest first."""
    cohorts = list(_visible_cohorts(user).order_by("-starts_on", "id"))
    return _cohort_rows(cohorts, now or timezone.now())


@dataclass(frozen=True)
class CohortOptions:
    """What the form that creates a cohort may offer this user."""

    courses: QuerySet[Course]
    areas: QuerySet[Division]
    trainers: QuerySet[User]


def cohort_options(user: User) -> CohortOptions:
    """Published courses; townships and villages in scope; trainers the user works with.

    Trainers offered: the user (when a trainer) and active trainers whose scope overlaps
    the user's (inside it, or around it).
    """
    scope = _staff_scope(user)
    areas = Division.objects.filter(
        scope.q("code"), level__in=(Level.TOWNSHIP, Level.VILLAGE)
    ).order_by("code")
    trainers = User.objects.filter(role=Role.TRAINER, is_active=True)
    if not scope.everything:
        overlap = Q(pk=user.pk)
        for prefix in scope.prefixes:
            overlap |= Q(scopes__prefix__startswith=prefix)
            overlap |= Q(scopes__prefix__in=[prefix[:n] for n in range(2, len(prefix))])
        trainers = trainers.filter(overlap)
    return CohortOptions(
        courses=Course.objects.filter(published=True).order_by("order", "code"),
        areas=areas,
        trainers=trainers.distinct().order_by("username"),
    )


@dataclass(frozen=True)
class SessionRow:
    session: TrainingSession
    present: int


@dataclass(frozen=True)
class MemberRow:
    enrolment_id: int
    household_id: int
    number: str
    name: str
    village: Division
    status: str
    status_label: str
    lessons_done: int
    lessons_total: int
    best_percent: Decimal | None
    sessions_attended: int
    completed_at: datetime | None
    certificate: str
    certificate_revoked: bool

    @property
    def best_share(self) -> Fraction | None:
        """The best quiz grade as a ratio (for the one-decimal percentage filter)."""
        if self.best_percent is None:
            return None
        return Fraction(self.best_percent) / 100


@dataclass(frozen=True)
class ChoiceResult:
    choice: Choice
    picked: int
    share: Fraction | None

    @property
    def text(self) -> str:
        return self.choice.t("text")


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    counted: int
    correct: int
    choices: tuple[ChoiceResult, ...]

    @property
    def share_correct(self) -> Fraction | None:
        return _share(self.correct, self.counted)

    @property
    def text(self) -> str:
        return self.question.t("text")


@dataclass(frozen=True)
class Candidate:
    """An enrolment of the cohort's course in its area that is not in the cohort."""

    enrolment: Enrolment
    number: str
    name: str
    village: Division
    cohort: str

    @property
    def enrolment_id(self) -> int:
        return self.enrolment.pk


@dataclass(frozen=True)
class CohortReport:
    row: CohortRow
    sessions: tuple[SessionRow, ...]
    members: tuple[MemberRow, ...]
    quiz: Quiz | None
    attempts_counted: int
    questions: tuple[QuestionResult, ...]
    candidates: tuple[Candidate, ...]

    @property
    def cohort(self) -> Cohort:
        return self.row.cohort


def cohort_report(
    user: User, cohort_id: int, *, now: datetime | None = None
) -> CohortReport:
    """A cohort: its sessions, its members' progress and its quiz results by question.

    Quiz results count each member's latest graded attempt at the quiz's current
    version (one attempt per member).
    """
    cohort = _cohort_get(user, cohort_id)
    now = now or timezone.now()
    row = _cohort_rows([cohort], now)[0]
    present = dict(
        Attendance.objects.filter(session__cohort=cohort)
        .values("session_id")
        .annotate(n=Count("id"))
        .values_list("session_id", "n")
    )
    sessions = tuple(
        SessionRow(session, present.get(session.pk, 0))
        for session in TrainingSession.objects.filter(cohort=cohort).order_by(
            "starts_at", "id"
        )
    )
    enrolments = list(
        Enrolment.objects.filter(cohort=cohort)
        .select_related("household__village")
        .order_by("household__number")
    )
    ids = [e.pk for e in enrolments]
    lessons_total = Lesson.objects.filter(course=cohort.course).count()
    done = dict(
        LessonProgress.objects.filter(enrolment_id__in=ids)
        .values("enrolment_id")
        .annotate(n=Count("id"))
        .values_list("enrolment_id", "n")
    )
    attended = dict(
        Attendance.objects.filter(enrolment_id__in=ids, session__cohort=cohort)
        .values("enrolment_id")
        .annotate(n=Count("id"))
        .values_list("enrolment_id", "n")
    )
    certificates = {
        c.enrolment_id: c for c in Certificate.objects.filter(enrolment_id__in=ids)
    }
    members = []
    for e in enrolments:
        certificate = certificates.get(e.pk)
        members.append(
            MemberRow(
                enrolment_id=e.pk,
                household_id=e.household_id,
                number=e.household.number,
                name=mask_name(e.household.head_name),
                village=e.household.village,
                status=e.status,
                status_label=str(EnrolmentStatus(e.status).label),
                lessons_done=done.get(e.pk, 0),
                lessons_total=lessons_total,
                best_percent=e.best_percent,
                sessions_attended=attended.get(e.pk, 0),
                completed_at=e.completed_at,
                certificate=certificate.code if certificate else "",
                certificate_revoked=bool(certificate and certificate.revoked_at),
            )
        )
    quiz = Quiz.objects.filter(course=cohort.course).first()
    counted, questions = _quiz_results(quiz, ids)
    return CohortReport(
        row=row,
        sessions=sessions,
        members=tuple(members),
        quiz=quiz,
        attempts_counted=counted,
        questions=questions,
        candidates=_candidates(cohort),
    )


def _quiz_results(
    quiz: Quiz | None, enrolment_ids: list[int]
) -> tuple[int, tuple[QuestionResult, ...]]:
    if quiz is None:
        return 0, ()
    latest: dict[int, QuizAttempt] = {}
    attempts = QuizAttempt.objects.filter(
        enrolment_id__in=enrolment_ids,
        quiz=quiz,
        quiz_version=quiz.version,
        status=AttemptStatus.GRADED,
    ).order_by("enrolment_id", "-finished_at", "-id")
    for attempt in attempts:
        latest.setdefault(attempt.enrolment_id, attempt)
    counted = len(latest)
    results = []
    for question in Question.objects.filter(quiz=quiz).prefetch_related("choices"):
        picks: dict[str, int] = defaultdict(int)
        correct = 0
        for attempt in latest.values():
            if attempt.per_question.get(question.key, 0) >= question.points:
                correct += 1
            for key in attempt.answers.get(question.key, []):
                picks[key] += 1
        results.append(
            QuestionResult(
                question=question,
                counted=counted,
                correct=correct,
                choices=tuple(
                    ChoiceResult(c, picks[c.key], _share(picks[c.key], counted))
                    for c in question.choices.all()
                ),
            )
        )
    return counted, tuple(results)


def _candidates(cohort: Cohort) -> tuple[Candidate, ...]:
    enrolments = (
        Enrolment.objects.filter(
            course=cohort.course,
            household__village__code__startswith=cohort.area.prefix,
        )
        .exclude(cohort=cohort)
        .exclude(status=EnrolmentStatus.COMPLETED)
        .select_related("household__village", "cohort", "course")
        .order_by("household__number")
    )
    return tuple(
        Candidate(
            enrolment=e,
            number=e.household.number,
            name=mask_name(e.household.head_name),
            village=e.household.village,
            cohort=e.cohort.name if e.cohort else "",
        )
        for e in enrolments
    )


# --- sessions -----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckinRow:
    enrolment_id: int
    number: str
    name: str
    method: str
    method_label: str
    at: datetime


@dataclass(frozen=True)
class RollRow:
    enrolment_id: int
    number: str
    name: str
    village: Division
    present: bool
    method: str  # "" when absent

    @property
    def by_qr(self) -> bool:
        return self.method == "qr"


@dataclass(frozen=True)
class SessionReport:
    session: TrainingSession
    cohort: Cohort
    checked_in: tuple[CheckinRow, ...]
    roll: tuple[RollRow, ...]

    @property
    def present(self) -> int:
        return len(self.checked_in)


def session_report(user: User, session_id: int) -> SessionReport:
    """A session: who checked in (QR or roll call, when) and the cohort's roll."""
    visible = _visible_cohorts(user)
    session = (
        TrainingSession.objects.select_related(
            "cohort__course", "cohort__area", "cohort__trainer"
        )
        .filter(pk=session_id, cohort__in=visible)
        .first()
    )
    if session is None:
        raise NotFound("No such session.", extra={"session": session_id})
    attendance = {
        a.enrolment_id: a
        for a in Attendance.objects.filter(session=session).select_related(
            "enrolment__household"
        )
    }
    checked_in = tuple(
        CheckinRow(
            enrolment_id=a.enrolment_id,
            number=a.enrolment.household.number,
            name=mask_name(a.enrolment.household.head_name),
            method=a.method,
            method_label=a.get_method_display(),
            at=a.recorded_at,
        )
        for a in sorted(attendance.values(), key=lambda a: (a.recorded_at, a.pk))
    )
    roll = tuple(
        RollRow(
            enrolment_id=e.pk,
            number=e.household.number,
            name=mask_name(e.household.head_name),
            village=e.household.village,
            present=e.pk in attendance,
            method=attendance[e.pk].method if e.pk in attendance else "",
        )
        for e in Enrolment.objects.filter(cohort=session.cohort)
        .select_related("household__village")
        .order_by("household__number")
    )
    return SessionReport(
        session=session, cohort=session.cohort, checked_in=checked_in, roll=roll
    )


# --- coverage -----------------------------------------------------------------------


def _targeted(households: QuerySet[Household]) -> QuerySet[Household]:
    """Households whose current approved plan has a training item not dropped."""
    current_plan = (
        SupportPlan.objects.filter(household=OuterRef("pk"), status=PlanStatus.APPROVED)
        .order_by("-year", "-id")
        .values("pk")[:1]
    )
    training_item = PlanItem.objects.filter(
        plan_id=OuterRef("current_plan"), intervention__kind=TRAINING_KIND
    ).exclude(status=ItemStatus.DROPPED)
    return households.annotate(current_plan=Subquery(current_plan)).filter(
        Exists(training_item)
    )


def _completed_q() -> Q:
    """An enrolment that counts as completed (a revoked certificate does not)."""
    return Q(status=EnrolmentStatus.COMPLETED, certificate__revoked_at__isnull=True)


@dataclass(frozen=True)
class CoverageRow:
    code: str
    name: str
    name_en: str
    targeted: int
    enrolled: int
    completed: int

    @property
    def share_enrolled(self) -> Fraction | None:
        return _share(self.enrolled, self.targeted)

    @property
    def share_trained(self) -> Fraction | None:
        return _share(self.completed, self.targeted)


@dataclass(frozen=True)
class TrainingCoverage:
    rows: tuple[CoverageRow, ...]
    total: CoverageRow
    area: Division | None


def coverage(user: User, area_code: str | None = None) -> TrainingCoverage:
    """By village in scope (or in ``area_code``): plan-targeted households, how many
    are enrolled in a course, how many completed at least one, and the share trained.
    """
    scope = _staff_scope(user)
    area = _area(scope, area_code)
    villages = Division.objects.filter(scope.q("code"), level=Level.VILLAGE)
    if area is not None:
        villages = villages.filter(code__startswith=area.prefix)
    enrolled = Enrolment.objects.filter(household=OuterRef("pk"))
    completed = enrolled.filter(_completed_q())
    counts: dict[str, tuple[int, int, int]] = {
        village: (targeted, with_enrolment, trained)
        for village, targeted, with_enrolment, trained in _targeted(
            _households(scope, area)
        )
        .annotate(is_enrolled=Exists(enrolled), is_trained=Exists(completed))
        .values("village_id")
        .annotate(
            targeted=Count("pk"),
            enrolled=Count("pk", filter=Q(is_enrolled=True)),
            completed=Count("pk", filter=Q(is_trained=True)),
        )
        .values_list("village_id", "targeted", "enrolled", "completed")
    }
    rows = []
    for village in villages.order_by("code"):
        targeted, with_enrolment, trained = counts.get(village.code, (0, 0, 0))
        rows.append(
            CoverageRow(
                code=village.code,
                name=village.name,
                name_en=village.name_en,
                targeted=targeted,
                enrolled=with_enrolment,
                completed=trained,
            )
        )
    total = CoverageRow(
        code=area.code if area else "",
        name=area.name if area else "",
        name_en=area.name_en if area else "",
        targeted=sum(r.targeted for r in rows),
        enrolled=sum(r.enrolled for r in rows),
        completed=sum(r.completed for r in rows),
    )
    return TrainingCoverage(rows=tuple(rows), total=total, area=area)


@dataclass(frozen=True)
class NeedRow:
    """A plan-targeted household and a course it still needs (None: not enrolled)."""

    household_id: int
    number: str
    name: str
    village: Division
    course: Course | None
    status: str  # the enrolment's status, "" when not enrolled
    status_label: str
    cohort: str

    @property
    def course_title(self) -> str:
        return self.course.t("title") if self.course is not None else ""


def still_needed(user: User, area_code: str | None = None) -> list[NeedRow]:
    """Who still needs which course: plan-targeted households × the courses they are
    enrolled in but have not completed, and plan-targeted households not enrolled at
    all. Ordered by village, household number, course.
    """
    scope = _staff_scope(user)
    area = _area(scope, area_code)
    targeted = list(
        _targeted(_households(scope, area))
        .select_related("village")
        .order_by("village_id", "number")
    )
    open_enrolments: dict[int, list[Enrolment]] = defaultdict(list)
    enrolled: set[int] = set()
    for e in (
        Enrolment.objects.filter(household__in=[h.pk for h in targeted])
        .select_related("course", "cohort")
        .order_by("course__order", "course__code")
    ):
        enrolled.add(e.household_id)
        if e.status != EnrolmentStatus.COMPLETED:
            open_enrolments[e.household_id].append(e)
    rows: list[NeedRow] = []
    for household in targeted:
        needs: list[tuple[Course | None, str, str, str]] = [
            (
                e.course,
                e.status,
                str(EnrolmentStatus(e.status).label),
                e.cohort.name if e.cohort else "",
            )
            for e in open_enrolments[household.pk]
        ]
        if household.pk not in enrolled:
            needs.insert(0, (None, "", "", ""))
        rows.extend(
            NeedRow(
                household_id=household.pk,
                number=household.number,
                name=mask_name(household.head_name),
                village=household.village,
                course=course,
                status=status,
                status_label=label,
                cohort=cohort,
            )
            for course, status, label, cohort in needs
        )
    return rows


# --- outcomes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Income:
    """One yearly survey's income figures."""

    year: int
    size: int
    net: Decimal
    ecommerce: Decimal

    @property
    def per_capita(self) -> Decimal:
        return (self.net / self.size).quantize(CENT)

    @classmethod
    def of(cls, snapshot: Snapshot) -> Income:
        return cls(
            year=snapshot.year,
            size=snapshot.size,
            net=snapshot.net_income,
            ecommerce=snapshot.income_ecommerce,
        )


@dataclass(frozen=True)
class Completion:
    course: Course
    completed_on: date

    @property
    def course_title(self) -> str:
        return self.course.t("title")


@dataclass(frozen=True)
class OutcomeRow:
    household_id: int
    number: str
    name: str
    village: Division
    completions: tuple[Completion, ...]
    before: Income | None
    after: Income | None

    @property
    def first_completed(self) -> date:
        return min(c.completed_on for c in self.completions)

    @property
    def change_per_capita(self) -> Decimal | None:
        if self.before is None or self.after is None:
            return None
        return self.after.per_capita - self.before.per_capita


def outcomes(user: User, area_code: str | None = None) -> list[OutcomeRow]:
    """Households that completed at least one course, with income before and after.

    Before: the survey of the year before the first completion. After: the latest
    survey (of that year or later) made on or after the day of the first completion.
    Either is None when there is no such survey. Sales on the marketplace are not
    included (there is no ledger yet).
    """
    scope = _staff_scope(user)
    area = _area(scope, area_code)
    completions: dict[int, list[Completion]] = defaultdict(list)
    households: dict[int, Household] = {}
    for e in (
        Enrolment.objects.filter(_completed_q(), household__in=_households(scope, area))
        .select_related("course", "household__village")
        .order_by("completed_at", "course__order")
    ):
        if e.completed_at is None:  # pragma: no cover - completed ones have a time
            continue
        households[e.household_id] = e.household
        completions[e.household_id].append(
            Completion(e.course, timezone.localdate(e.completed_at))
        )
    snapshots: dict[int, list[Snapshot]] = defaultdict(list)
    for s in Snapshot.objects.filter(household_id__in=list(households)).order_by(
        "household_id", "year"
    ):
        snapshots[s.household_id].append(s)
    rows = []
    for household in sorted(
        households.values(), key=lambda h: (h.village_id, h.number)
    ):
        done = tuple(completions[household.pk])
        first = min(c.completed_on for c in done)
        rows.append(
            OutcomeRow(
                household_id=household.pk,
                number=household.number,
                name=mask_name(household.head_name),
                village=household.village,
                completions=done,
                before=_before(snapshots[household.pk], first),
                after=_after(snapshots[household.pk], first),
            )
        )
    return rows


def _before(snapshots: Iterable[Snapshot], first: date) -> Income | None:
    found = next((s for s in snapshots if s.year == first.year - 1), None)
    return Income.of(found) if found is not None else None


def _after(snapshots: Iterable[Snapshot], first: date) -> Income | None:
    later = [s for s in snapshots if s.surveyed_on >= first and s.year >= first.year]
    return Income.of(max(later, key=lambda s: s.year)) if later else None
