"""JSON endpoints for training, mounted at /api/v1/training/.

Courses and their offline packages, the offline sync, the household's own progress,
cohorts and sessions, attendance, certificate verification (public) and revocation,
plan-driven enrolment and the xAPI export.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from typing import TYPE_CHECKING, Any, Literal

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from propoor.accounts.roles import Role, require_role
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division
from propoor.core.errors import NotFound
from propoor.training import services, xapi
from propoor.training.models import (
    Certificate,
    Cohort,
    Enrolment,
    LessonProgress,
    TrainingSession,
)
from propoor.training.selectors import catalogue

if TYPE_CHECKING:
    from propoor.accounts.models import User

router = Router(tags=["training"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # set by the API's auth


class CourseRow(Schema):
    code: str
    version: int
    title: str
    summary: str
    core: bool
    lessons: int
    quiz_version: int | None
    pass_mark: int | None


@router.get("/courses", response=list[CourseRow])
def course_list(request: HttpRequest) -> list[CourseRow]:
    return [
        CourseRow(
            code=c.code,
            version=c.version,
            title=c.t("title"),
            summary=c.t("summary"),
            core=c.core,
            lessons=c.lesson_count,
            quiz_version=c.quiz.version if hasattr(c, "quiz") else None,
            pass_mark=c.quiz.pass_mark if hasattr(c, "quiz") else None,
        )
        for c in catalogue.courses()
    ]


@router.get("/courses/{code}", url_name="training_course")
def course_detail(request: HttpRequest, code: str) -> dict[str, Any]:
    """The course's offline package: lessons as HTML, the quiz without its answers."""
    return catalogue.course_package(catalogue.course_get(code))


class LessonItem(Schema):
    type: Literal["lesson"]
    course: str = Field(..., max_length=60)
    lesson: str = Field(..., max_length=80)
    completed_at: datetime | None = None


class AttemptItem(Schema):
    type: Literal["attempt"]
    course: str = Field(..., max_length=60)
    attempt_id: uuid.UUID
    quiz_version: int = Field(..., ge=1)
    answers: dict[str, list[str]]
    started_at: datetime | None = None
    finished_at: datetime | None = None
    offline: bool = True


class SyncIn(Schema):
    items: list[LessonItem | AttemptItem] = Field(..., max_length=200)


class SyncResult(Schema):
    index: int
    state: Literal["applied", "duplicate", "stale", "conflict", "rejected"]
    message: str
    extra: dict[str, Any]


class SyncOut(Schema):
    results: list[SyncResult]


@router.post("/sync", response=SyncOut)
def sync(request: HttpRequest, body: SyncIn) -> SyncOut:
    """Apply what a phone recorded (online or offline), each item on its own."""
    items = [item.dict() for item in body.items]
    for item in items:
        if "attempt_id" in item:
            item["attempt_id"] = str(item["attempt_id"])
    results = services.sync(_user(request), items)
    return SyncOut(
        results=[
            SyncResult(index=r.index, state=r.state, message=r.message, extra=r.extra)  # type: ignore[arg-type]
            for r in results
        ]
    )


class EnrolmentOut(Schema):
    course: str
    title: str
    status: str
    source: str
    reason: str
    lessons_done: int
    lessons_total: int
    best_percent: Decimal | None
    quiz_passed_at: datetime | None
    completed_at: datetime | None
    certificate: str | None
    cohort: str | None


@router.get("/me", response=list[EnrolmentOut])
def my_enrolments(request: HttpRequest) -> list[EnrolmentOut]:
    """The logged-in household's courses and progress."""
    user = _user(request)
    if user.household_id is None:
        return []
    rows = Enrolment.objects.filter(household_id=user.household_id).select_related(
        "course", "cohort", "certificate"
    )
    done = dict(
        LessonProgress.objects.filter(enrolment__in=rows)
        .values("enrolment_id")
        .annotate(n=Count("id"))
        .values_list("enrolment_id", "n")
    )
    english = (request.LANGUAGE_CODE or "").startswith("en")
    out = []
    for e in rows:
        certificate = getattr(e, "certificate", None)
        out.append(
            EnrolmentOut(
                course=e.course.code,
                title=e.course.t("title"),
                status=e.status,
                source=e.source,
                reason=(e.reason_en if english else e.reason) or e.reason,
                lessons_done=done.get(e.pk, 0),
                lessons_total=e.course.lessons.count(),
                best_percent=e.best_percent,
                quiz_passed_at=e.quiz_passed_at,
                completed_at=e.completed_at,
                certificate=certificate.code
                if certificate and certificate.revoked_at is None
                else None,
                cohort=e.cohort.name if e.cohort else None,
            )
        )
    return out


class VerificationOut(Schema):
    status: Literal["valid", "revoked", "unknown"]
    code: str
    learner: str
    village: str
    course_zh: str
    course_en: str
    issued_on: date | None
    issuer: str
    revoked_on: date | None
    revoked_reason: str


@router.get("/certificates/verify/{code}", response=VerificationOut, auth=None)
def certificate_verify(request: HttpRequest, code: str) -> VerificationOut:
    """Public: anyone holding a certificate's code may check it."""
    v = services.certificate_verify(code)
    return VerificationOut(**v.__dict__)


class RevokeIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


@router.post("/certificates/{code}/revoke", response=VerificationOut)
def certificate_revoke(
    request: HttpRequest, code: str, body: RevokeIn
) -> VerificationOut:
    user = _user(request)
    certificate = (
        Certificate.objects.filter(code=code)
        .filter(scope_of(user).q("enrolment__household__village__code"))
        .first()
    )
    if certificate is None:
        raise NotFound(_("No such certificate."))
    services.certificate_revoke(user, certificate, reason=body.reason)
    return VerificationOut(**services.certificate_verify(code).__dict__)


class EnrolFromPlansIn(Schema):
    area: str = Field("", pattern=r"^(\d{12})?$")


class EnrolReportOut(Schema):
    plans: int
    invited: int
    already: int
    joined_cohort: int


@router.post("/enrol-from-plans", response=EnrolReportOut)
def enrol_from_plans(request: HttpRequest, body: EnrolFromPlansIn) -> EnrolReportOut:
    """Invite every household whose approved plan includes training (idempotent)."""
    user = _user(request)
    require_role(user, (Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER))
    area = body.area
    if area:
        division = Division.objects.filter(code=area).first()
        if division is None or not scope_of(user).covers(area):
            raise NotFound(_("No such area."))
        area = division.prefix
    elif not user.is_superuser:
        prefixes = scope_of(user).prefixes
        if len(prefixes) != 1:
            raise NotFound(_("Name the area (one of yours)."))
        area = prefixes[0]
    report = services.enrol_from_plans(actor=user, area_code=area)
    return EnrolReportOut(**report.__dict__)


class CohortIn(Schema):
    course: str
    area: str = Field(..., pattern=r"^\d{12}$")
    name: str = Field(..., min_length=1, max_length=120)
    venue: str = Field(..., min_length=1, max_length=200)
    trainer: str = Field(..., description="The trainer's username")
    capacity: int = Field(..., ge=1, le=500)
    starts_on: date
    ends_on: date


class CohortOut(Schema):
    id: int
    course: str
    name: str
    area: str
    venue: str
    trainer: str
    capacity: int
    members: int
    starts_on: date
    ends_on: date


def _cohort_out(c: Cohort) -> CohortOut:
    return CohortOut(
        id=c.pk,
        course=c.course.code,
        name=c.name,
        area=c.area_id,
        venue=c.venue,
        trainer=c.trainer.username,
        capacity=c.capacity,
        members=c.enrolments.count(),
        starts_on=c.starts_on,
        ends_on=c.ends_on,
    )


def _cohorts(user: User):  # type: ignore[no-untyped-def]
    rows = Cohort.objects.select_related("course", "trainer")
    if user.role == Role.TRAINER and not user.is_superuser:
        return rows.filter(trainer=user)
    return rows.filter(scope_of(user).q("area__code"))


def _cohort(user: User, cohort_id: int) -> Cohort:
    cohort = _cohorts(user).filter(pk=cohort_id).first()
    if cohort is None:
        raise NotFound(_("No such cohort."))
    return cohort


@router.get("/cohorts", response=list[CohortOut])
def cohort_list(request: HttpRequest) -> list[CohortOut]:
    return [_cohort_out(c) for c in _cohorts(_user(request))]


@router.post("/cohorts", response={201: CohortOut})
def cohort_create(request: HttpRequest, body: CohortIn) -> tuple[int, CohortOut]:
    from propoor.accounts.models import User as UserModel

    user = _user(request)
    area = Division.objects.filter(code=body.area).first()
    if area is None:
        raise NotFound(_("No such area."))
    trainer = UserModel.objects.filter(username=body.trainer, is_active=True).first()
    if trainer is None:
        raise NotFound(
            _("No trainer %(username)s.") % {"username": repr(body.trainer)},
            extra={"field": "trainer"},
        )
    cohort = services.cohort_create(
        user,
        course=catalogue.course_get(body.course),
        area=area,
        name=body.name,
        venue=body.venue,
        trainer=trainer,
        capacity=body.capacity,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
    )
    return 201, _cohort_out(cohort)


class MemberIn(Schema):
    household: int


@router.post("/cohorts/{cohort_id}/members", response=CohortOut)
def cohort_add(request: HttpRequest, cohort_id: int, body: MemberIn) -> CohortOut:
    user = _user(request)
    cohort = _cohort(user, cohort_id)
    enrolment = (
        Enrolment.objects.filter(course=cohort.course, household_id=body.household)
        .filter(scope_of(user).q("household__village__code"))
        .select_related("household")
        .first()
    )
    if enrolment is None:
        raise NotFound(_("That household is not enrolled in the cohort's course."))
    services.cohort_add(user, cohort, enrolment)
    return _cohort_out(cohort)


class SessionIn(Schema):
    starts_at: datetime
    ends_at: datetime
    topic: str = Field("", max_length=200)


class SessionOut(Schema):
    id: int
    cohort: int
    starts_at: datetime
    ends_at: datetime
    topic: str
    checkin_url: str
    present: int


def _session_out(s: TrainingSession) -> SessionOut:
    return SessionOut(
        id=s.pk,
        cohort=s.cohort_id,
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        topic=s.topic,
        checkin_url=f"{xapi.site()}/training/checkin/{s.checkin_token}/",
        present=s.attendance.count(),
    )


@router.post("/cohorts/{cohort_id}/sessions", response={201: SessionOut})
def session_create(
    request: HttpRequest, cohort_id: int, body: SessionIn
) -> tuple[int, SessionOut]:
    user = _user(request)
    session = services.session_create(
        user,
        _cohort(user, cohort_id),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        topic=body.topic,
    )
    return 201, _session_out(session)


class RollCallIn(Schema):
    present: list[int] = Field(..., description="Enrolment ids of those present")


class RollCallOut(Schema):
    present: int
    added: int
    removed: int


@router.post("/sessions/{session_id}/roll-call", response=RollCallOut)
def roll_call(request: HttpRequest, session_id: int, body: RollCallIn) -> RollCallOut:
    user = _user(request)
    session = TrainingSession.objects.filter(
        pk=session_id, cohort__in=_cohorts(user)
    ).first()
    if session is None:
        raise NotFound(_("No such session."))
    return RollCallOut(**services.roll_call(user, session, set(body.present)))


class CheckinOut(Schema):
    session: int
    course: str
    method: str
    created: bool


@router.post("/checkin/{token}", response=CheckinOut)
def checkin(request: HttpRequest, token: str) -> CheckinOut:
    attendance, created = services.checkin(_user(request), token)
    return CheckinOut(
        session=attendance.session_id,
        course=attendance.enrolment.course.code,
        method=attendance.method,
        created=created,
    )


@router.get("/xapi/statements")
def xapi_statements(
    request: HttpRequest, since: datetime | None = None
) -> HttpResponse:
    """Every statement as JSON lines (county administrators and auditors)."""
    user = _user(request)
    require_role(user, (Role.COUNTY_ADMIN, Role.AUDITOR))
    out = StringIO()
    xapi.export_jsonl(
        out, since, scope_of(user).q("enrolment__household__village__code")
    )
    return HttpResponse(
        out.getvalue(), content_type="application/x-ndjson; charset=utf-8"
    )
