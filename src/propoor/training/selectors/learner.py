"""Reads for the learner's pages: the catalogue, a course, a lesson, the quiz, progress.

Every course is open to any logged-in user (a cadre or a trainer may read it too), but
only a household's own login has progress: for everyone else the progress parts are
empty. Certificates are the exception to "open to all": a certificate names a
household, so only that household and staff whose area scope covers its village get it;
for anyone else it does not exist (404).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from propoor.accounts.scope import scope_of
from propoor.core.errors import NotFound
from propoor.training import body as body_format
from propoor.training.models import (
    AttemptStatus,
    Certificate,
    Course,
    Enrolment,
    Lesson,
    LessonProgress,
    Module,
    Question,
    Quiz,
    QuizAttempt,
    TrainingSession,
)
from propoor.training.selectors.catalogue import course_get

if TYPE_CHECKING:
    from propoor.accounts.models import User


def image_prefix() -> str:
    """The URL prefix of curriculum images ("/training/images/"), ending in "/"."""
    return reverse("training:image", args=["x"])[:-1]


def _household_id(user: User) -> int | None:
    household_id: int | None = getattr(user, "household_id", None)
    return household_id


def _reason(enrolment: Enrolment) -> str:
    english = (get_language() or "").startswith("en")
    if english and enrolment.reason_en:
        return enrolment.reason_en
    return enrolment.reason or enrolment.reason_en


# --------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class CourseCard:
    course: Course
    lessons_total: int
    enrolment: Enrolment | None = None
    lessons_done: int = 0
    reason: str = ""

    @property
    def invited(self) -> bool:
        return self.enrolment is not None

    @property
    def title(self) -> str:
        return self.course.t("title")

    @property
    def summary(self) -> str:
        return self.course.t("summary")

    @property
    def bar(self) -> int:
        """Width of the progress bar, 0–100."""
        if not self.lessons_total:
            return 0
        return round(100 * self.lessons_done / self.lessons_total)


def _done_counts(enrolments: list[Enrolment]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for enrolment_id in LessonProgress.objects.filter(
        enrolment__in=enrolments
    ).values_list("enrolment_id", flat=True):
        counts[enrolment_id] = counts.get(enrolment_id, 0) + 1
    return counts


def catalogue(user: User) -> list[CourseCard]:
    """Published courses; a household's own courses (invited or started) come first."""
    from propoor.training.selectors.catalogue import courses

    rows = list(courses())  # type: ignore[no-untyped-call]  # a Course queryset
    household_id = _household_id(user)
    if household_id is None:
        return [CourseCard(course, course.lesson_count) for course in rows]
    enrolments = {
        e.course_id: e
        for e in Enrolment.objects.filter(household_id=household_id).select_related(
            "certificate"
        )
    }
    done = _done_counts(list(enrolments.values()))
    cards = [
        CourseCard(
            course,
            course.lesson_count,
            enrolments.get(course.pk),
            done.get(enrolments[course.pk].pk, 0) if course.pk in enrolments else 0,
            _reason(enrolments[course.pk]) if course.pk in enrolments else "",
        )
        for course in rows
    ]
    # sorted() is stable: within each group the catalogue's own order is kept
    return sorted(cards, key=lambda card: not card.invited)


# --------------------------------------------------------------------- a course


@dataclass(frozen=True)
class LessonRow:
    lesson: Lesson
    done: bool

    @property
    def title(self) -> str:
        return self.lesson.t("title")


@dataclass(frozen=True)
class ModuleRow:
    module: Module
    lessons: list[LessonRow]

    @property
    def title(self) -> str:
        return self.module.t("title")


@dataclass(frozen=True)
class QuizStatus:
    quiz: Quiz | None
    attempts: int = 0
    best_percent: Decimal | None = None
    passed: bool = False


@dataclass(frozen=True)
class CourseOutline:
    course: Course
    modules: list[ModuleRow]
    quiz: QuizStatus
    enrolment: Enrolment | None
    certificate: Certificate | None
    lessons_total: int
    lessons_done: int
    is_household: bool

    @property
    def title(self) -> str:
        return self.course.t("title")

    @property
    def summary(self) -> str:
        return self.course.t("summary")

    @property
    def first_unread(self) -> Lesson | None:
        for module in self.modules:
            for row in module.lessons:
                if not row.done:
                    return row.lesson
        return None

    @property
    def bar(self) -> int:
        if not self.lessons_total:
            return 0
        return round(100 * self.lessons_done / self.lessons_total)


def _enrolment(user: User, course: Course) -> Enrolment | None:
    household_id = _household_id(user)
    if household_id is None:
        return None
    return (
        Enrolment.objects.select_related("course", "household")
        .filter(course=course, household_id=household_id)
        .first()
    )


def _done_lessons(enrolment: Enrolment | None) -> set[int]:
    if enrolment is None:
        return set()
    return set(
        LessonProgress.objects.filter(enrolment=enrolment).values_list(
            "lesson_id", flat=True
        )
    )


def _certificate(enrolment: Enrolment | None) -> Certificate | None:
    if enrolment is None:
        return None
    return Certificate.objects.filter(enrolment=enrolment).first()


def course_outline(user: User, code: str) -> CourseOutline:
    course = course_get(code)
    enrolment = _enrolment(user, course)
    done = _done_lessons(enrolment)
    modules = [
        ModuleRow(
            module,
            [LessonRow(lesson, lesson.pk in done) for lesson in module.lessons.all()],
        )
        for module in Module.objects.filter(course=course).prefetch_related("lessons")
    ]
    quiz = Quiz.objects.filter(course=course).first()
    status = QuizStatus(quiz)
    if enrolment is not None and quiz is not None:
        graded = QuizAttempt.objects.filter(
            enrolment=enrolment, status=AttemptStatus.GRADED
        )
        status = QuizStatus(
            quiz,
            attempts=graded.count(),
            best_percent=enrolment.best_percent,
            passed=enrolment.quiz_passed_at is not None,
        )
    total = sum(len(m.lessons) for m in modules)
    return CourseOutline(
        course=course,
        modules=modules,
        quiz=status,
        enrolment=enrolment,
        certificate=_certificate(enrolment),
        lessons_total=total,
        lessons_done=len(done),
        is_household=_household_id(user) is not None,
    )


# --------------------------------------------------------------------- a lesson


@dataclass(frozen=True)
class LessonPage:
    course: Course
    lesson: Lesson
    html: str
    position: int
    total: int
    previous: Lesson | None
    next: Lesson | None
    done: bool
    is_household: bool

    @property
    def title(self) -> str:
        return self.lesson.t("title")

    @property
    def course_title(self) -> str:
        return self.course.t("title")

    @property
    def previous_title(self) -> str:
        return self.previous.t("title") if self.previous is not None else ""

    @property
    def next_title(self) -> str:
        return self.next.t("title") if self.next is not None else ""


def lesson_get(code: str, slug: str) -> tuple[Course, Lesson]:
    course = course_get(code)
    lesson = Lesson.objects.filter(course=course, slug=slug).first()
    if lesson is None:
        raise NotFound(
            _("Course %(course)s has no lesson %(lesson)s.")
            % {"course": code, "lesson": repr(slug)}
        )
    return course, lesson


def lesson_page(user: User, code: str, slug: str) -> LessonPage:
    course, lesson = lesson_get(code, slug)
    lessons = list(Lesson.objects.filter(course=course).order_by("order"))
    index = next(i for i, row in enumerate(lessons) if row.pk == lesson.pk)
    enrolment = _enrolment(user, course)
    done = (
        enrolment is not None
        and LessonProgress.objects.filter(enrolment=enrolment, lesson=lesson).exists()
    )
    blocks = body_format.parse(lesson.t("body"))
    return LessonPage(
        course=course,
        lesson=lesson,
        html=body_format.to_html(blocks, image_prefix()),
        position=index + 1,
        total=len(lessons),
        previous=lessons[index - 1] if index > 0 else None,
        next=lessons[index + 1] if index + 1 < len(lessons) else None,
        done=done,
        is_household=_household_id(user) is not None,
    )


# --------------------------------------------------------------------- the quiz


@dataclass(frozen=True)
class ChoiceRow:
    key: str
    text: str
    chosen: bool = False
    correct: bool = False


@dataclass(frozen=True)
class QuestionRow:
    key: str
    kind: str
    points: int
    text: str
    choices: list[ChoiceRow]
    explanation: str = ""
    earned: int | None = None  # None before grading

    @property
    def right(self) -> bool:
        return self.earned is not None and self.earned >= self.points


@dataclass(frozen=True)
class AttemptResult:
    attempt: QuizAttempt
    questions: list[QuestionRow]

    @property
    def stale(self) -> bool:
        return self.attempt.status == AttemptStatus.STALE


@dataclass(frozen=True)
class QuizPage:
    course: Course
    quiz: Quiz
    questions: list[QuestionRow]
    enrolment: Enrolment | None
    is_household: bool
    result: AttemptResult | None = None

    @property
    def title(self) -> str:
        return self.quiz.t("title")

    @property
    def course_title(self) -> str:
        return self.course.t("title")

    @property
    def max_score(self) -> int:
        return sum(q.points for q in self.questions)


def _questions(quiz: Quiz, attempt: QuizAttempt | None = None) -> list[QuestionRow]:
    """The quiz's questions; with an attempt: what was chosen, what scored, and why."""
    answers: dict[str, list[str]] = attempt.answers if attempt is not None else {}
    earned: dict[str, int] = attempt.per_question if attempt is not None else {}
    graded = attempt is not None and attempt.status == AttemptStatus.GRADED
    rows = []
    for question in Question.objects.filter(quiz=quiz).prefetch_related("choices"):
        chosen = set(answers.get(question.key, []))
        rows.append(
            QuestionRow(
                key=question.key,
                kind=question.kind,
                points=question.points,
                text=question.t("text"),
                choices=[
                    ChoiceRow(
                        choice.key,
                        choice.t("text"),
                        chosen=choice.key in chosen,
                        correct=graded and choice.correct,
                    )
                    for choice in question.choices.all()
                ],
                explanation=question.t("explanation") if graded else "",
                earned=int(earned.get(question.key, 0)) if graded else None,
            )
        )
    return rows


def quiz_page(user: User, code: str, attempt_id: str = "") -> QuizPage:
    """The quiz to take; with ``attempt_id``, the household's own graded attempt."""
    course = course_get(code)
    quiz = Quiz.objects.filter(course=course).first()
    if quiz is None:
        raise NotFound(_("This course has no quiz."))
    enrolment = _enrolment(user, course)
    result = None
    if attempt_id:
        result = attempt_result(user, course, attempt_id)
    return QuizPage(
        course=course,
        quiz=quiz,
        questions=_questions(quiz),
        enrolment=enrolment,
        is_household=_household_id(user) is not None,
        result=result,
    )


def attempt_result(user: User, course: Course, attempt_id: str) -> AttemptResult:
    """One of the household's own attempts at the course's quiz; anyone else's: 404."""
    try:
        wanted = uuid.UUID(attempt_id)
    except ValueError as exc:
        raise NotFound(_("There is no such attempt.")) from exc
    household_id = _household_id(user)
    attempt = (
        QuizAttempt.objects.select_related("quiz")
        .filter(
            attempt_id=wanted,
            enrolment__household_id=household_id,
            enrolment__course=course,
        )
        .first()
        if household_id is not None
        else None
    )
    if attempt is None:
        raise NotFound(_("There is no such attempt."))
    return AttemptResult(attempt, _questions(attempt.quiz, attempt))


# --------------------------------------------------------------------- my progress


@dataclass(frozen=True)
class ProgressRow:
    enrolment: Enrolment
    lessons_done: int
    lessons_total: int
    attempts: int
    certificate: Certificate | None
    reason: str

    @property
    def course_title(self) -> str:
        return self.enrolment.course.t("title")

    @property
    def bar(self) -> int:
        if not self.lessons_total:
            return 0
        return round(100 * self.lessons_done / self.lessons_total)


def my_progress(user: User) -> list[ProgressRow] | None:
    """The household's enrolments; None for a login that is not a household's."""
    household_id = _household_id(user)
    if household_id is None:
        return None
    from propoor.training.selectors.catalogue import courses

    published = courses()  # type: ignore[no-untyped-call]  # a Course queryset
    totals = {c.pk: c.lesson_count for c in published}
    enrolments = list(
        Enrolment.objects.filter(household_id=household_id)
        .select_related("course")
        .order_by("course__order", "course__code")
    )
    done = _done_counts(enrolments)
    certificates = {
        c.enrolment_id: c for c in Certificate.objects.filter(enrolment__in=enrolments)
    }
    attempts: dict[int, int] = {}
    for enrolment_id in QuizAttempt.objects.filter(
        enrolment__in=enrolments, status=AttemptStatus.GRADED
    ).values_list("enrolment_id", flat=True):
        attempts[enrolment_id] = attempts.get(enrolment_id, 0) + 1
    return [
        ProgressRow(
            enrolment=e,
            lessons_done=done.get(e.pk, 0),
            lessons_total=totals.get(e.course_id, 0),
            attempts=attempts.get(e.pk, 0),
            certificate=certificates.get(e.pk),
            reason=_reason(e),
        )
        for e in enrolments
    ]


# --------------------------------------------------------------------- certificates


def certificate_for(user: User, code: str) -> Certificate:
    """The household's own certificate, or one in a staff member's area; else 404."""
    certificate = (
        Certificate.objects.select_related(
            "enrolment__course", "enrolment__household__village"
        )
        .filter(code=code)
        .first()
    )
    if certificate is None:
        raise NotFound(_("There is no such certificate."))
    household = certificate.enrolment.household
    household_id = _household_id(user)
    if household_id is not None:
        allowed = household_id == household.pk
    else:
        allowed = scope_of(user).covers(household.village_id)
    if not allowed:
        raise NotFound(_("There is no such certificate."))
    return certificate


@dataclass(frozen=True)
class CheckinSession:
    session: TrainingSession
    course: Course
    enrolled: bool  # the user's household is in the session's cohort
    attended: bool

    @property
    def course_title(self) -> str:
        return self.course.t("title")


def checkin_session(user: User, token: str) -> CheckinSession:
    session = (
        TrainingSession.objects.select_related("cohort__course", "cohort__area")
        .filter(checkin_token=token)
        .first()
    )
    if session is None:
        raise NotFound(_("This check-in code is not valid."))
    household_id = _household_id(user)
    enrolment = (
        Enrolment.objects.filter(
            household_id=household_id, cohort=session.cohort
        ).first()
        if household_id is not None
        else None
    )
    return CheckinSession(
        session=session,
        course=session.cohort.course,
        enrolled=enrolment is not None,
        attended=enrolment is not None
        and session.attendance.filter(enrolment=enrolment).exists(),
    )
