"""Learning records as xAPI 1.0.3 statements.

Every learning event the services record (enrolment, lesson read, quiz passed or failed,
session attended, course completed) is also written as a statement, kept as sent, and
exported as JSON lines for any learning record store (`propoor training export-xapi`).
Learners are identified by an ``account`` on this site (the household's registry
number), never by name, phone or ID number. A correction is a ``voided`` statement
pointing at the one it cancels; the cancelled statement is kept and flagged.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from propoor.training.models import Enrolment, Statement

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS: dict[str, tuple[str, str]] = {
    "registered": ("registered", "注册"),
    "completed": ("completed", "完成"),
    "passed": ("passed", "通过"),
    "failed": ("failed", "未通过"),
    "attended": ("attended", "出席"),
    "voided": ("voided", "作废"),
}
ACTIVITY_TYPES = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "lesson": "http://adlnet.gov/expapi/activities/lesson",
    "assessment": "http://adlnet.gov/expapi/activities/assessment",
    "meeting": "http://adlnet.gov/expapi/activities/meeting",
}
VERSION = "1.0.3"


def site() -> str:
    return str(settings.PROPOOR_SITE_URL)


def course_iri(code: str) -> str:
    return f"{site()}/training/courses/{code}"


def lesson_iri(code: str, slug: str) -> str:
    return f"{course_iri(code)}/lessons/{slug}"


def quiz_iri(code: str) -> str:
    return f"{course_iri(code)}/quiz"


def session_iri(cohort_id: int, session_id: int) -> str:
    return f"{site()}/training/cohorts/{cohort_id}/sessions/{session_id}"


def verb(name: str) -> dict[str, Any]:
    en, zh = VERBS[name]
    return {"id": ADL + name, "display": {"en-US": en, "zh-CN": zh}}


def household_agent(number: str) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "account": {"homePage": site(), "name": f"household:{number}"},
    }


def user_agent(username: str) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "account": {"homePage": site(), "name": f"user:{username}"},
    }


def activity(iri: str, kind: str, name_zh: str, name_en: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": iri,
        "definition": {
            "type": ACTIVITY_TYPES[kind],
            "name": {"zh-CN": name_zh, "en-US": name_en},
        },
    }


def iso(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def record(
    enrolment: Enrolment,
    verb_name: str,
    obj: dict[str, Any],
    *,
    at: datetime,
    result: dict[str, Any] | None = None,
    instructor: str = "",
    parent: bool = True,
) -> Statement:
    """Write one statement about the enrolment's household (inside the caller's
    transaction).
    """
    course = enrolment.course
    context: dict[str, Any] = {
        "registration": str(enrolment.registration),
        "platform": "ProPoor",
        "language": "zh-CN",
    }
    if parent and obj.get("id") != course_iri(course.code):
        context["contextActivities"] = {
            "parent": [
                activity(
                    course_iri(course.code), "course", course.title_zh, course.title_en
                )
            ]
        }
    if instructor:
        context["instructor"] = user_agent(instructor)
    statement_id = uuid.uuid4()
    body: dict[str, Any] = {
        "id": str(statement_id),
        "actor": household_agent(enrolment.household.number),
        "verb": verb(verb_name),
        "object": obj,
        "context": context,
        "timestamp": iso(at),
        "version": VERSION,
    }
    if result is not None:
        body["result"] = result
    return Statement.objects.create(
        id=statement_id,
        enrolment=enrolment,
        verb=body["verb"]["id"],
        object_id=obj["id"],
        timestamp=at,
        body=body,
    )


def void(
    statement: Statement, *, by_username: str, at: datetime | None = None
) -> Statement:
    """Cancel a statement by a `voided` one; a voiding statement is never voided."""
    if statement.verb == ADL + "voided" or statement.voided:
        return statement
    moment = at or timezone.now()
    statement_id = uuid.uuid4()
    body = {
        "id": str(statement_id),
        "actor": user_agent(by_username),
        "verb": verb("voided"),
        "object": {"objectType": "StatementRef", "id": str(statement.id)},
        "timestamp": iso(moment),
        "version": VERSION,
    }
    Statement.objects.filter(pk=statement.pk).update(voided=True)
    return Statement.objects.create(
        id=statement_id,
        enrolment=statement.enrolment,
        verb=body["verb"]["id"],
        object_id=str(statement.id),
        timestamp=moment,
        body=body,
    )


def statements(
    since: datetime | None = None, where: Q | None = None
) -> Iterator[dict[str, Any]]:
    """Each statement as an LRS would return it (with `stored`), oldest first."""
    rows = Statement.objects.order_by("stored", "id")
    if where is not None:
        rows = rows.filter(where)
    if since is not None:
        rows = rows.filter(stored__gte=since)
    for row in rows.iterator(chunk_size=2000):
        yield {**row.body, "stored": iso(row.stored)}


def export_jsonl(
    out: IO[str], since: datetime | None = None, where: Q | None = None
) -> int:
    count = 0
    for statement in statements(since, where):
        out.write(json.dumps(statement, ensure_ascii=False, sort_keys=True))
        out.write("\n")
        count += 1
    return count
