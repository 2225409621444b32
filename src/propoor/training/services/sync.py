"""Offline sync: a learner's phone sends what it recorded while offline, in one batch.

Each item is applied on its own (one bad item does not block the others) and answered
with its state: ``applied``, ``duplicate`` (already had it: nothing changed), ``stale``
(answered an older quiz version: kept, not counted), ``conflict`` (the same attempt was
synced before with other answers: the first is kept) or ``rejected`` (what is wrong).
Sending the same batch twice applies it once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from propoor.core.errors import ApplicationError
from propoor.training.models import Course, Lesson, Mode
from propoor.training.services.learning import (
    attempt_submit,
    enrolment_for,
    lesson_complete,
)


@dataclass
class ItemResult:
    index: int
    state: str
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _course(code: str, cache: dict[str, Course]) -> Course:
    if code not in cache:
        course = Course.objects.filter(code=code, published=True).first()
        if course is None:
            raise ApplicationError(
                _("There is no course %(course)s.") % {"course": repr(code)}
            )
        cache[code] = course
    return cache[code]


def _when(raw: object) -> datetime | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        return raw
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApplicationError(
            _("%(value)s is not an ISO 8601 time.") % {"value": repr(raw)}
        ) from exc


def sync(user: object, items: list[dict[str, Any]]) -> list[ItemResult]:
    courses: dict[str, Course] = {}
    results: list[ItemResult] = []
    for index, item in enumerate(items):
        try:
            results.append(_apply(user, index, item, courses))
        except ApplicationError as exc:
            state = "conflict" if exc.status == 409 else "rejected"
            results.append(ItemResult(index, state, exc.message, dict(exc.extra)))
    return results


def _apply(
    user: object, index: int, item: dict[str, Any], courses: dict[str, Course]
) -> ItemResult:
    kind = item.get("type")
    course = _course(str(item.get("course", "")), courses)
    enrolment = enrolment_for(user, course)
    if kind == "lesson":
        lesson = Lesson.objects.filter(
            course=course, slug=str(item.get("lesson", ""))
        ).first()
        if lesson is None:
            raise ApplicationError(
                _("Course %(course)s has no lesson %(lesson)s.")
                % {"course": course.code, "lesson": repr(item.get("lesson"))}
            )
        _progress, created = lesson_complete(
            enrolment, lesson, at=_when(item.get("completed_at")), mode=Mode.OFFLINE
        )
        return ItemResult(index, "applied" if created else "duplicate")
    if kind == "attempt":
        try:
            attempt_id = uuid.UUID(str(item.get("attempt_id")))
        except ValueError as exc:
            raise ApplicationError(
                _("attempt_id must be a UUID made by the device.")
            ) from exc
        version = item.get("quiz_version")
        if not isinstance(version, int):
            raise ApplicationError(
                _("quiz_version must be the version the device downloaded.")
            )
        answers = item.get("answers")
        if not isinstance(answers, dict):
            raise ApplicationError(
                _("answers must be an object of question key → choice keys.")
            )
        outcome = attempt_submit(
            enrolment,
            attempt_id=attempt_id,
            quiz_version=version,
            answers=answers,
            started_at=_when(item.get("started_at")),
            finished_at=_when(item.get("finished_at")),
            mode=Mode.OFFLINE if item.get("offline", True) else Mode.ONLINE,
        )
        attempt = outcome.attempt
        message = (
            _("The quiz changed after this device downloaded it; please take it again.")
            if outcome.state == "stale"
            else ""
        )
        return ItemResult(
            index,
            outcome.state,
            message,
            {
                "attempt_id": str(attempt.attempt_id),
                "score": attempt.score,
                "max_score": attempt.max_score,
                "percent": str(attempt.percent),
                "passed": attempt.passed,
                "per_question": attempt.per_question,
            },
        )
    raise ApplicationError(
        _("Unknown item type %(type)s: expected 'lesson' or 'attempt'.")
        % {"type": repr(kind)}
    )
