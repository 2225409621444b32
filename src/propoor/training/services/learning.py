"""Enrolment, lesson progress, quiz attempts (online and synced offline), completion.

Concurrency: every change to an enrolment's progress takes the enrolment row's lock
(``select_for_update``) first, so two syncs of the same attempt, or an attempt and a
roll call, apply once and issue at most one certificate.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.roles import Role, require_role
from propoor.accounts.scope import scope_of
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.households.models import (
    Household,
    ItemStatus,
    PlanItem,
    PlanStatus,
    SupportPlan,
)
from propoor.training import xapi
from propoor.training.grading import QuestionSpec, grade
from propoor.training.models import (
    AttemptStatus,
    Attendance,
    CompletionRule,
    Course,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Lesson,
    LessonProgress,
    Mode,
    Quiz,
    QuizAttempt,
)

TRAINING_KIND = "training"
ENROLLERS = (Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER, Role.VILLAGE_CADRE, Role.TRAINER)


# ---------------------------------------------------------------- enrolment


def _course_matches(course: Course, interventions: set[str], causes: set[str]) -> str:
    """Why the course fits a household whose plan has training ("" if it doesn't)."""
    if course.core:
        return "core"
    if set(course.interventions) & interventions:
        return "intervention:" + sorted(set(course.interventions) & interventions)[0]
    if set(course.causes) & causes:
        return "cause:" + sorted(set(course.causes) & causes)[0]
    return ""


REASONS = {
    "core": (
        "支持计划包含电商培训，这是必修课程",
        "The support plan includes training; this course is for everyone",
    ),
    "intervention": ("支持计划包含“{}”", "The support plan includes “{}”"),
    "cause": ("致贫原因：{}", "Cause of poverty: {}"),
}


def _reason(match: str, names: dict[str, tuple[str, str]]) -> tuple[str, str]:
    kind, _sep, value = match.partition(":")
    zh, en = REASONS[kind]
    name_zh, name_en = names.get(value, (value, value))
    return zh.format(name_zh), en.format(name_en)


@dataclass(frozen=True)
class EnrolReport:
    plans: int
    invited: int
    already: int
    joined_cohort: int


def enrol(
    course: Course,
    household: Household,
    *,
    source: str,
    actor: object | None = None,
    reason: str = "",
    reason_en: str = "",
    plan_item: PlanItem | None = None,
) -> tuple[Enrolment, bool]:
    """The household's enrolment in the course, created (and recorded) when new."""
    with transaction.atomic():
        existing = Enrolment.objects.filter(course=course, household=household).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                enrolment = Enrolment.objects.create(
                    course=course,
                    household=household,
                    source=source,
                    reason=reason,
                    reason_en=reason_en,
                    plan_item=plan_item,
                )
        except IntegrityError:  # a concurrent enrolment won the race
            return Enrolment.objects.get(course=course, household=household), False
        enrolment.course = course
        enrolment.household = household
        xapi.record(
            enrolment,
            "registered",
            xapi.activity(
                xapi.course_iri(course.code), "course", course.title_zh, course.title_en
            ),
            at=enrolment.invited_at,
        )
        audit_append(
            action="training.enrol",
            actor=actor,
            object_type="training.enrolment",
            object_id=enrolment.pk,
            data={"course": course.code, "household": household.pk, "source": source},
        )
    return enrolment, True


def enrol_from_plan(
    plan: SupportPlan, *, actor: object | None = None
) -> tuple[int, int, int]:
    """Invite an approved plan's household to the courses its training item calls for.

    Returns (invited, already enrolled, joined a cohort). A plan without a live training
    item invites nobody.
    """
    if plan.status != PlanStatus.APPROVED:
        return 0, 0, 0
    items = list(
        PlanItem.objects.filter(plan=plan)
        .exclude(status=ItemStatus.DROPPED)
        .select_related("intervention")
    )
    training = next((i for i in items if i.intervention.kind == TRAINING_KIND), None)
    if training is None:
        return 0, 0, 0
    household = plan.household
    interventions = {i.intervention.code for i in items}
    causes = {
        c
        for c in (household.main_cause, household.second_cause, household.third_cause)
        if c
    }
    names = {
        i.intervention.code: (i.intervention.name, i.intervention.name_en)
        for i in items
    }
    names.update({c: (c, c) for c in causes})
    invited = already = joined = 0
    from propoor.training.services.cohorts import cohort_place  # cohorts use enrol()

    for course in Course.objects.filter(published=True).order_by("order"):
        match = _course_matches(course, interventions, causes)
        if not match:
            continue
        reason, reason_en = _reason(match, names)
        enrolment, created = enrol(
            course,
            household,
            source=EnrolmentSource.PLAN,
            actor=actor,
            reason=reason,
            reason_en=reason_en,
            plan_item=training,
        )
        invited += created
        already += not created
        if (
            enrolment.cohort_id is None
            and cohort_place(enrolment, actor=actor) is not None
        ):
            joined += 1
    return invited, already, joined


def enrol_from_plans(
    *, actor: object | None = None, area_code: str = ""
) -> EnrolReport:
    """Run the plan rule over every approved plan (idempotent)."""
    plans = SupportPlan.objects.filter(
        status=PlanStatus.APPROVED, items__intervention__kind=TRAINING_KIND
    )
    if area_code:  # a division prefix ("530102001")
        plans = plans.filter(household__village__code__startswith=area_code)
    totals = [0, 0, 0]
    count = 0
    for plan in (
        plans.select_related("household").distinct().order_by("household_id", "-year")
    ):
        count += 1
        for i, n in enumerate(enrol_from_plan(plan, actor=actor)):
            totals[i] += n
    return EnrolReport(count, *totals)


def enrolment_for(user: object, course: Course, *, create: bool = True) -> Enrolment:
    """The logged-in household's enrolment; a household may enrol itself anywhere."""
    household_id = getattr(user, "household_id", None)
    if household_id is None:
        raise PermissionDenied(
            _("Only a household's own login can take a course for credit."),
            extra={"role": getattr(user, "role", "")},
        )
    enrolment = (
        Enrolment.objects.select_related("course", "household")
        .filter(course=course, household_id=household_id)
        .first()
    )
    if enrolment is None:
        if not create:
            raise NotFound(_("This household is not enrolled in the course."))
        enrolment, _created = enrol(
            course,
            Household.objects.get(pk=household_id),
            source=EnrolmentSource.SELF,
            actor=user,
        )
    return enrolment


def enrolment_by_trainer(
    actor: object, course: Course, household: Household
) -> Enrolment:
    require_role(actor, ENROLLERS)
    if not scope_of(actor).covers(household.village_id):  # type: ignore[arg-type]
        raise NotFound(_("No such household."))
    enrolment, _created = enrol(
        course, household, source=EnrolmentSource.TRAINER, actor=actor
    )
    return enrolment


# ---------------------------------------------------------------- progress


def _bounded(moment: datetime | None, enrolment: Enrolment) -> datetime:
    """A client's clock is trusted only within [enrolment, now]."""
    now = timezone.now()
    if moment is None:
        return now
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return max(min(moment, now), enrolment.invited_at)


def _locked(enrolment: Enrolment) -> Enrolment:
    locked = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("course", "household")
        .get(pk=enrolment.pk)
    )
    return locked


def _start(enrolment: Enrolment, at: datetime) -> None:
    if enrolment.status == EnrolmentStatus.INVITED:
        enrolment.status = EnrolmentStatus.IN_PROGRESS
        enrolment.started_at = at
        enrolment.save(update_fields=["status", "started_at"])


def lesson_complete(
    enrolment: Enrolment,
    lesson: Lesson,
    *,
    at: datetime | None = None,
    mode: str = Mode.ONLINE,
) -> tuple[LessonProgress, bool]:
    """Mark a lesson read; a second report keeps the earlier time and changes nothing
    else.
    """
    if lesson.course_id != enrolment.course_id:
        raise ValidationFailed(_("The lesson is not part of this course."))
    with transaction.atomic():
        enrolment = _locked(enrolment)
        moment = _bounded(at, enrolment)
        progress = LessonProgress.objects.filter(
            enrolment=enrolment, lesson=lesson
        ).first()
        if progress is not None:
            if moment < progress.completed_at:
                progress.completed_at = moment
                progress.save(update_fields=["completed_at"])
            return progress, False
        _start(enrolment, moment)
        progress = LessonProgress.objects.create(
            enrolment=enrolment, lesson=lesson, completed_at=moment, mode=mode
        )
        xapi.record(
            enrolment,
            "completed",
            xapi.activity(
                xapi.lesson_iri(enrolment.course.code, lesson.slug),
                "lesson",
                lesson.title_zh,
                lesson.title_en,
            ),
            at=moment,
            result={"completion": True},
        )
        completion_check(enrolment)
    return progress, True


def quiz_specs(quiz: Quiz) -> list[QuestionSpec]:
    return [
        QuestionSpec(
            key=q.key,
            kind=q.kind,
            points=q.points,
            choices=frozenset(c.key for c in q.choices.all()),
            correct=frozenset(c.key for c in q.choices.all() if c.correct),
        )
        for q in quiz.questions.prefetch_related("choices")
    ]


def _answers_digest(quiz_version: int, answers: dict[str, list[str]]) -> str:
    canonical = json.dumps(
        {"v": quiz_version, "a": {k: sorted(v) for k, v in sorted(answers.items())}},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class AttemptOutcome:
    attempt: QuizAttempt
    created: bool

    @property
    def state(self) -> str:
        if not self.created:
            return "duplicate"
        return "stale" if self.attempt.status == AttemptStatus.STALE else "applied"


def attempt_submit(
    enrolment: Enrolment,
    *,
    attempt_id: uuid.UUID,
    quiz_version: int,
    answers: dict[str, Any],
    finished_at: datetime | None = None,
    started_at: datetime | None = None,
    mode: str = Mode.ONLINE,
) -> AttemptOutcome:
    """Grade and keep one attempt, exactly once per ``attempt_id``.

    - the same attempt sent again (same answers) → the stored result, nothing changes;
    - the same attempt id with different answers → Conflict, nothing changes;
    - an attempt on an older quiz version → kept as *stale*, not counted (the learner
      is asked to retake the current quiz);
    - otherwise graded; the best grade counts, and the pass time is the earliest passing
      attempt's finish time (bounded by the server's clock).
    """
    quiz = Quiz.objects.filter(course_id=enrolment.course_id).first()
    if quiz is None:
        raise NotFound(_("This course has no quiz."))
    specs = quiz_specs(quiz)
    with transaction.atomic():
        enrolment = _locked(enrolment)
        previous = QuizAttempt.objects.filter(attempt_id=attempt_id).first()
        stale = quiz_version != quiz.version
        if stale:
            normalised = {
                str(k): sorted(v) if isinstance(v, list) else [str(v)]
                for k, v in answers.items()
            }
            result = None
        else:
            result = grade(specs, answers, quiz.pass_mark)
            from propoor.training.grading import normalise

            normalised = normalise(specs, answers)
        digest = _answers_digest(quiz_version, normalised)
        if previous is not None:
            if (
                previous.enrolment_id != enrolment.pk
                or previous.answers_digest != digest
            ):
                raise Conflict(
                    _(
                        "This attempt was already synced with different answers; "
                        "the first one is kept."
                    ),
                    extra={
                        "attempt_id": str(attempt_id),
                        "kept_percent": str(previous.percent),
                    },
                )
            return AttemptOutcome(previous, False)
        finished = _bounded(finished_at, enrolment)
        started = _bounded(started_at, enrolment) if started_at else None
        _start(enrolment, finished)
        attempt = QuizAttempt.objects.create(
            attempt_id=attempt_id,
            enrolment=enrolment,
            quiz=quiz,
            quiz_version=quiz_version,
            answers=normalised,
            answers_digest=digest,
            mode=mode,
            started_at=started,
            finished_at=finished,
            status=AttemptStatus.STALE if stale else AttemptStatus.GRADED,
            score=result.score if result else 0,
            max_score=result.max_score if result else 0,
            percent=result.percent if result else 0,
            passed=bool(result and result.passed),
            per_question=result.per_question if result else {},
        )
        if result is not None:
            course = enrolment.course
            xapi.record(
                enrolment,
                "passed" if result.passed else "failed",
                xapi.activity(
                    xapi.quiz_iri(course.code),
                    "assessment",
                    quiz.title_zh,
                    quiz.title_en,
                ),
                at=finished,
                result={
                    "score": {
                        "scaled": float(result.score / result.max_score)
                        if result.max_score
                        else 0.0,
                        "raw": result.score,
                        "min": 0,
                        "max": result.max_score,
                    },
                    "success": result.passed,
                    "completion": True,
                },
            )
            updates = []
            if (
                enrolment.best_percent is None
                or result.percent > enrolment.best_percent
            ):
                enrolment.best_percent = result.percent
                updates.append("best_percent")
            if result.passed and (
                enrolment.quiz_passed_at is None or finished < enrolment.quiz_passed_at
            ):
                enrolment.quiz_passed_at = finished
                updates.append("quiz_passed_at")
            if updates:
                enrolment.save(update_fields=updates)
            completion_check(enrolment)
    return AttemptOutcome(attempt, True)


# ---------------------------------------------------------------- completion


def completion_check(enrolment: Enrolment) -> bool:
    """Complete the enrolment (and issue its certificate) once the course's rule is met.

    Call with the enrolment locked. The completion time is when the last condition was
    met, not when the server noticed: an offline learner's certificate carries the day
    they finished.
    """
    if (
        enrolment.status == EnrolmentStatus.COMPLETED
        or enrolment.quiz_passed_at is None
    ):
        return False
    course = enrolment.course
    moments = [enrolment.quiz_passed_at]
    if course.completion_rule == CompletionRule.LESSONS_AND_QUIZ:
        total = Lesson.objects.filter(course=course).count()
        done = list(
            LessonProgress.objects.filter(enrolment=enrolment).values_list(
                "completed_at", flat=True
            )
        )
        if len(done) < total:
            return False
        moments.extend(done)
    elif course.completion_rule == CompletionRule.ATTENDANCE_AND_QUIZ:
        attended = list(
            Attendance.objects.filter(enrolment=enrolment)
            .order_by("session__starts_at")
            .values_list("session__starts_at", flat=True)
        )
        if len(attended) < course.sessions_required:
            return False
        moments.extend(attended[: course.sessions_required])
    completed_at = max(moments)
    enrolment.status = EnrolmentStatus.COMPLETED
    enrolment.completed_at = completed_at
    enrolment.save(update_fields=["status", "completed_at"])
    xapi.record(
        enrolment,
        "completed",
        xapi.activity(
            xapi.course_iri(course.code), "course", course.title_zh, course.title_en
        ),
        at=completed_at,
        result={"completion": True, "success": True},
    )
    from propoor.training.services.certificates import certificate_issue

    certificate_issue(enrolment)
    return True
