"""Training in the demo county: approved plans invite households, cohorts meet at the
township's service stations, and months of learning happened through the real services.

Deterministic for a seed. Runs once: a county whose households already have enrolments
is left as it is.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from propoor.accounts.models import User
from propoor.areas.models import Division, Level
from propoor.households.models import ItemStatus, PlanStatus, SupportPlan
from propoor.households.plans import plan_approve, plan_item_add
from propoor.training import services
from propoor.training.models import Course, Enrolment, Question

# Enough for every page to show real figures; more only slows `make demo` down.
MAX_PLANS = 150


@dataclass(frozen=True)
class TrainingDemo:
    plans_approved: int
    enrolments: int
    cohorts: int
    sessions: int
    completed: int
    certificates: int


def _right(course: Course) -> dict[str, list[str]]:
    return {
        q.key: sorted(c.key for c in q.choices.all() if c.correct)
        for q in Question.objects.filter(quiz__course=course).prefetch_related(
            "choices"
        )
    }


def _wrong(right: dict[str, list[str]], course: Course) -> dict[str, list[str]]:
    keys = {
        q.key: [c.key for c in q.choices.all()]
        for q in Question.objects.filter(quiz__course=course).prefetch_related(
            "choices"
        )
    }
    return {k: [next(c for c in keys[k] if [c] != v)] for k, v in right.items()}


def training_demo_build(
    *,
    township: Division,
    admin: User,
    trainer: User,
    household_user: User,
    seed: int = 7,
) -> TrainingDemo:
    """Approve the township's plans (adding training where the plan lacks it for a
    third of them), open cohorts per course at the township, hold sessions, record
    progress. Everything goes through the services, as a county would do it."""
    rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    services.curriculum_install()
    now = timezone.now()
    today = timezone.localdate()
    plans = list(
        SupportPlan.objects.filter(
            household__village__parent=township, status=PlanStatus.DRAFT
        ).order_by("household__number")[:MAX_PLANS]
    )
    own = getattr(household_user, "household", None)
    approved = 0
    courses = list(Course.objects.filter(published=True).order_by("order"))
    cohorts = []
    for number, course in enumerate(courses[:4], 1):
        starts = today - timedelta(days=75 - number * 7)
        cohorts.append(
            services.cohort_create(
                admin,
                course=course,
                area=township,
                name=f"{township.name}{course.title_zh}第1期",
                venue=f"{township.name}电商服务中心",
                trainer=trainer,
                capacity=40,
                starts_on=starts,
                ends_on=starts + timedelta(days=90),
            )
        )
    sessions = []
    for cohort in cohorts:
        for week in range(4):
            day = cohort.starts_on + timedelta(days=7 * week)
            start = timezone.make_aware(datetime.combine(day, time(14, 30)))
            sessions.append(
                services.session_create(
                    trainer,
                    cohort,
                    starts_at=start,
                    ends_at=start + timedelta(hours=2),
                    topic=f"第{week + 1}次课",
                )
            )
    with TestCase.captureOnCommitCallbacks(execute=True):  # invitations follow approval
        for plan in plans:
            has_training = (
                plan.items.filter(intervention__kind="training")
                .exclude(status=ItemStatus.DROPPED)
                .exists()
            )
            if not has_training and (
                rng.random() < 0.35 or plan.household_id == getattr(own, "pk", None)
            ):
                plan_item_add(
                    admin,
                    plan=plan,
                    intervention_code="training-ecommerce",
                    reason="需要电商技能 Needs e-commerce skills",
                )
            plan_approve(admin, plan=plan)
            approved += 1
    if own is not None:
        for course in courses[:3]:
            services.enrol(course, own, source="self", actor=household_user)
    enrolments = list(
        Enrolment.objects.filter(household__village__parent=township)
        .select_related("course", "household", "cohort")
        .order_by("household__number", "course__order")
    )
    # Invitations went out about three months ago.
    Enrolment.objects.filter(pk__in=[e.pk for e in enrolments]).update(
        invited_at=now - timedelta(days=95)
    )
    answers = {c.pk: (_right(c), _wrong(_right(c), c)) for c in courses}
    completed = 0
    for enrolment in enrolments:
        enrolment.refresh_from_db()
        stage = rng.random()
        is_own = own is not None and enrolment.household_id == own.pk
        if is_own:
            stage = {1: 0.9, 2: 0.5, 3: 0.1}.get(enrolment.course.order, 0.1)
        if stage < 0.3:
            continue  # invited, not started yet
        lessons = list(enrolment.course.lessons.order_by("order"))
        start = now - timedelta(days=rng.randint(20, 85), hours=rng.randint(0, 10))
        read = (
            len(lessons) if stage >= 0.55 else rng.randint(1, max(1, len(lessons) - 1))
        )
        for i, lesson in enumerate(lessons[:read]):
            services.lesson_complete(
                enrolment,
                lesson,
                at=start + timedelta(days=i, minutes=rng.randint(5, 50)),
                mode="offline" if rng.random() < 0.3 else "online",
            )
        if stage >= 0.55:
            right, wrong = answers[enrolment.course_id]
            finish = start + timedelta(days=len(lessons) + 1)
            if stage < 0.7:
                services.attempt_submit(
                    enrolment,
                    attempt_id=uuid.uuid4(),
                    quiz_version=enrolment.course.quiz.version,
                    answers=wrong,
                    finished_at=finish,
                )
            else:
                services.attempt_submit(
                    enrolment,
                    attempt_id=uuid.uuid4(),
                    quiz_version=enrolment.course.quiz.version,
                    answers=right,
                    finished_at=finish,
                    mode="offline" if rng.random() < 0.3 else "online",
                )
                completed += 1
    with transaction.atomic():
        for session in sessions:
            if session.starts_at > now:
                continue
            members = list(session.cohort.enrolments.values_list("pk", flat=True))
            present = {pk for pk in members if rng.random() < 0.8}
            services.roll_call(trainer, session, present)
    from propoor.training.models import Certificate

    return TrainingDemo(
        plans_approved=approved,
        enrolments=len(enrolments),
        cohorts=len(cohorts),
        sessions=len(sessions),
        completed=completed,
        certificates=Certificate.objects.filter(
            enrolment__household__village__parent=township
        ).count(),
    )


def demo_township(county: Division) -> Division:
    """The township of the demo cadre's village (where the demo logins work)."""
    user = User.objects.filter(
        role="village_cadre", username__startswith="demo_"
    ).first()
    if user is not None:
        village = user.scopes.first()
        if village is not None and village.parent is not None:
            return village.parent
    return (
        Division.objects.filter(level=Level.TOWNSHIP, code__startswith=county.prefix)
        .order_by("code")
        .first()
    )  # type: ignore[return-value]


def already_built(county: Division) -> bool:
    return Enrolment.objects.filter(
        household__village__code__startswith=county.prefix
    ).exists()
