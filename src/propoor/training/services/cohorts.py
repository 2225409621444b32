"""Cohorts and in-person sessions: schedule, capacity, QR check-in and roll call."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.roles import Role, has_role, require_role
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.training import xapi
from propoor.training.models import (
    Attendance,
    AttendanceMethod,
    Cohort,
    Course,
    Enrolment,
    Statement,
    TrainingSession,
)

ORGANISERS = (Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER, Role.TRAINER)
CHECKIN_WINDOW = timedelta(hours=1)


def cohort_create(
    actor: object,
    *,
    course: Course,
    area: Division,
    name: str,
    venue: str,
    trainer: object,
    capacity: int,
    starts_on: date,
    ends_on: date,
) -> Cohort:
    require_role(actor, ORGANISERS)
    if not scope_of(actor).covers(area.code):  # type: ignore[arg-type]
        raise NotFound(_("No such area."))
    if not has_role(trainer, (Role.TRAINER,)):  # type: ignore[arg-type]
        raise ValidationFailed(
            _("The trainer must hold the trainer role."), extra={"field": "trainer"}
        )
    if capacity < 1:
        raise ValidationFailed(
            _("Capacity must be at least 1."), extra={"field": "capacity"}
        )
    if ends_on < starts_on:
        raise ValidationFailed(
            _("The cohort ends before it starts."), extra={"field": "ends_on"}
        )
    if not name.strip() or not venue.strip():
        raise ValidationFailed(_("A cohort needs a name and a venue."))
    cohort = Cohort.objects.create(
        course=course,
        area=area,
        name=name.strip(),
        venue=venue.strip(),
        trainer=trainer,
        capacity=capacity,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    audit_append(
        action="training.cohort_create",
        actor=actor,
        object_type="training.cohort",
        object_id=cohort.pk,
        data={"course": course.code, "area": area.code, "capacity": capacity},
    )
    return cohort


def session_create(
    actor: object,
    cohort: Cohort,
    *,
    starts_at: datetime,
    ends_at: datetime,
    topic: str = "",
) -> TrainingSession:
    _require_organiser(actor, cohort)
    if ends_at <= starts_at:
        raise ValidationFailed(
            _("A session ends after it starts."), extra={"field": "ends_at"}
        )
    return TrainingSession.objects.create(
        cohort=cohort,
        starts_at=starts_at,
        ends_at=ends_at,
        topic=topic.strip(),
        checkin_token=secrets.token_urlsafe(18),
    )


def _require_organiser(actor: object, cohort: Cohort) -> None:
    require_role(actor, ORGANISERS)
    if getattr(actor, "role", "") == Role.TRAINER and not getattr(
        actor, "is_superuser", False
    ):
        if cohort.trainer_id != getattr(actor, "pk", None):
            raise PermissionDenied(_("Only the cohort's own trainer may do this."))
    elif not scope_of(actor).covers(cohort.area_id):  # type: ignore[arg-type]
        raise NotFound(_("No such cohort."))


def _join(enrolment: Enrolment, cohort: Cohort, actor: object | None) -> None:
    """Put the enrolment in the cohort if a seat is free (cohort row locked)."""
    Cohort.objects.select_for_update().get(pk=cohort.pk)
    taken = Enrolment.objects.filter(cohort=cohort).count()
    if taken >= cohort.capacity:
        raise Conflict(
            _("The cohort is full."),
            extra={"cohort": cohort.pk, "capacity": cohort.capacity},
        )
    Enrolment.objects.filter(pk=enrolment.pk).update(cohort=cohort)
    enrolment.cohort = cohort
    audit_append(
        action="training.cohort_join",
        actor=actor,
        object_type="training.enrolment",
        object_id=enrolment.pk,
        data={"cohort": cohort.pk},
    )


def cohort_place(
    enrolment: Enrolment, *, actor: object | None = None, today: date | None = None
) -> Cohort | None:
    """The nearest cohort of the course with a free seat that has not ended, or None.

    Nearest: the cohort whose area is the longest prefix of the household's village
    (its own village before its township), then the one that starts first.
    """
    village = enrolment.household.village_id
    today = today or timezone.localdate()
    candidates = (
        Cohort.objects.filter(course_id=enrolment.course_id, ends_on__gte=today)
        .select_related("area")
        .annotate(taken=Count("enrolments"))
    )
    fitting = sorted(
        (
            c
            for c in candidates
            if village.startswith(c.area.prefix) and c.taken < c.capacity
        ),
        key=lambda c: (-len(c.area.prefix), c.starts_on, c.pk),
    )
    for cohort in fitting:
        try:
            with transaction.atomic():
                _join(enrolment, cohort, actor)
            return cohort
        except Conflict:
            continue  # filled meanwhile
    return None


def cohort_add(actor: object, cohort: Cohort, enrolment: Enrolment) -> Enrolment:
    _require_organiser(actor, cohort)
    if enrolment.course_id != cohort.course_id:
        raise ValidationFailed(_("The enrolment is for another course."))
    if not enrolment.household.village_id.startswith(cohort.area.prefix):
        raise ValidationFailed(_("The household lives outside the cohort's area."))
    with transaction.atomic():
        if Enrolment.objects.filter(pk=enrolment.pk, cohort=cohort).exists():
            return enrolment
        _join(enrolment, cohort, actor)
    return enrolment


def _attend(
    session: TrainingSession, enrolment: Enrolment, method: str, by: object | None
) -> tuple[Attendance, bool]:
    from propoor.training.services.learning import _locked, completion_check

    with transaction.atomic():
        enrolment = _locked(enrolment)
        existing = Attendance.objects.filter(
            session=session, enrolment=enrolment
        ).first()
        if existing is not None:
            return existing, False
        attendance = Attendance.objects.create(
            session=session,
            enrolment=enrolment,
            method=method,
            recorded_by=by if getattr(by, "pk", None) else None,  # type: ignore[misc]
        )
        cohort = session.cohort
        xapi.record(
            enrolment,
            "attended",
            xapi.activity(
                xapi.session_iri(cohort.pk, session.pk),
                "meeting",
                f"{cohort.name} {timezone.localtime(session.starts_at):%Y-%m-%d %H:%M}",
                f"{cohort.name} {timezone.localtime(session.starts_at):%Y-%m-%d %H:%M}",
            ),
            at=session.starts_at,
            instructor=cohort.trainer.username,
        )
        completion_check(enrolment)
    return attendance, True


def checkin(
    user: object, token: str, *, at: datetime | None = None
) -> tuple[Attendance, bool]:
    """A learner scans the session's QR code: the household's attendance."""
    session = (
        TrainingSession.objects.select_related("cohort__course", "cohort__trainer")
        .filter(checkin_token=token)
        .first()
    )
    if session is None:
        raise NotFound(_("This check-in code is not valid."))
    moment = at or timezone.now()
    if (
        not session.starts_at - CHECKIN_WINDOW
        <= moment
        <= session.ends_at + CHECKIN_WINDOW
    ):
        raise ValidationFailed(
            _(
                "Check-in is open from an hour before the session until an hour "
                "after it."
            ),
            extra={
                "starts_at": session.starts_at.isoformat(),
                "ends_at": session.ends_at.isoformat(),
            },
        )
    household_id = getattr(user, "household_id", None)
    if household_id is None:
        raise PermissionDenied(_("Check in with the household's own login."))
    enrolment = (
        Enrolment.objects.select_related("household", "course")
        .filter(household_id=household_id, course=session.cohort.course)
        .first()
    )
    if enrolment is None or enrolment.cohort_id != session.cohort_id:
        raise PermissionDenied(
            _(
                "This household is not in the session's cohort; ask the trainer to "
                "add it."
            )
        )
    return _attend(session, enrolment, AttendanceMethod.QR, user)


def roll_call(
    actor: object, session: TrainingSession, present: set[int]
) -> dict[str, int]:
    """The trainer's roll: marks those present; unmarks (and voids) roll-call entries
    not in it.

    QR check-ins are the learner's own record and are not removed by the roll.
    """
    cohort = session.cohort
    _require_organiser(actor, cohort)
    members = {
        e.pk: e
        for e in Enrolment.objects.filter(cohort=cohort).select_related(
            "household", "course"
        )
    }
    unknown = sorted(present - set(members))
    if unknown:
        raise ValidationFailed(
            _("Some of those marked present are not in the cohort."),
            extra={"enrolments": unknown},
        )
    added = removed = 0
    with transaction.atomic():
        for pk in sorted(present):
            added += _attend(session, members[pk], AttendanceMethod.ROLL_CALL, actor)[1]
        stale = Attendance.objects.filter(
            session=session, method=AttendanceMethod.ROLL_CALL
        ).exclude(enrolment_id__in=present)
        for attendance in stale.select_related("enrolment"):
            for statement in Statement.objects.filter(
                enrolment=attendance.enrolment,
                verb=xapi.ADL + "attended",
                object_id=xapi.session_iri(cohort.pk, session.pk),
                voided=False,
            ):
                xapi.void(statement, by_username=getattr(actor, "username", "system"))
            attendance.delete()
            removed += 1
        audit_append(
            action="training.roll_call",
            actor=actor,
            object_type="training.session",
            object_id=session.pk,
            data={"present": sorted(present), "added": added, "removed": removed},
        )
    return {"present": len(present), "added": added, "removed": removed}
