"""Cohorts and their sessions: the trainer's dashboard, a cohort, a session's roll."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.models import User
from propoor.accounts.roles import Role
from propoor.areas.models import Division, Level
from propoor.core.errors import NotFound
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
from propoor.training.selectors.staff.common import (
    _cohort_get,
    _share,
    _staff_scope,
    _visible_cohorts,
)
from propoor.training.services import mask_name

if TYPE_CHECKING:
    pass


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
        raise NotFound(_("No such session."), extra={"session": session_id})
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
