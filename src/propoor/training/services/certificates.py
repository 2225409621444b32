"""Certificates: issued when a course's completion rule is met, verifiable by code."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.roles import Role, require_role
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, ValidationFailed
from propoor.core.privacy import mask_name
from propoor.training import xapi
from propoor.training.models import Certificate, Enrolment, Statement

# Crockford's base32 without I, L, O, U: nothing a farmer reading it aloud can confuse.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REVOKERS = (Role.COUNTY_ADMIN, Role.TRAINER)


def certificate_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _n in range(12))
    return f"PP-{body[:4]}-{body[4:8]}-{body[8:]}"


def normalise_code(raw: str) -> str:
    """Accept a code typed by hand: any case, spaces, O for 0, I/L for 1."""
    cleaned = (
        raw.strip()
        .upper()
        .replace(" ", "")
        .replace("O", "0")
        .replace("I", "1")
        .replace("L", "1")
    )
    cleaned = cleaned.removeprefix("PP").replace("-", "")
    if len(cleaned) != 12 or any(c not in ALPHABET for c in cleaned):
        return ""
    return f"PP-{cleaned[:4]}-{cleaned[4:8]}-{cleaned[8:]}"


def certificate_issue(enrolment: Enrolment) -> Certificate:
    """Called by completion; idempotent. The date is the day the rule was met (China
    time).
    """
    existing = Certificate.objects.filter(enrolment=enrolment).first()
    if existing is not None:
        return existing
    issued_on = timezone.localtime(enrolment.completed_at or timezone.now()).date()
    for _try in range(5):
        code = certificate_code()
        if not Certificate.objects.filter(code=code).exists():
            break
    certificate = Certificate.objects.create(
        enrolment=enrolment,
        code=code,
        issued_on=issued_on,
        issuer=settings.PROPOOR_TRAINING_ISSUER,
    )
    audit_append(
        action="training.certificate_issued",
        object_type="training.certificate",
        object_id=certificate.code,
        data={
            "enrolment": enrolment.pk,
            "course": enrolment.course.code,
            "issued_on": issued_on,
        },
    )
    return certificate


def certificate_revoke(
    actor: object, certificate: Certificate, *, reason: str
) -> Certificate:
    """Revoke with a reason; the course-completed statement is voided (an xAPI
    correction).
    """
    require_role(actor, REVOKERS)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            _("Say why the certificate is revoked."), extra={"field": "reason"}
        )
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update()
            .select_related("enrolment__course")
            .get(pk=certificate.pk)
        )
        if certificate.revoked_at is not None:
            raise Conflict(
                _("The certificate is already revoked."),
                extra={"code": certificate.code},
            )
        certificate.revoked_at = timezone.now()
        certificate.revoked_reason = reason
        certificate.revoked_by = actor if getattr(actor, "pk", None) else None  # type: ignore[assignment]
        certificate.save(update_fields=["revoked_at", "revoked_reason", "revoked_by"])
        course = certificate.enrolment.course
        completed = Statement.objects.filter(
            enrolment=certificate.enrolment,
            verb=xapi.ADL + "completed",
            object_id=xapi.course_iri(course.code),
            voided=False,
        )
        for statement in completed:
            xapi.void(statement, by_username=getattr(actor, "username", "system"))
        audit_append(
            action="training.certificate_revoked",
            actor=actor,
            object_type="training.certificate",
            object_id=certificate.code,
            data={"reason": reason},
        )
    return certificate


@dataclass(frozen=True)
class Verification:
    """What the public verification page may show: nothing that identifies more than
    this.
    """

    status: str  # valid | revoked | unknown
    code: str = ""
    learner: str = ""
    village: str = ""
    course_zh: str = ""
    course_en: str = ""
    issued_on: date | None = None
    issuer: str = ""
    revoked_on: date | None = None
    revoked_reason: str = ""


def certificate_verify(raw_code: str) -> Verification:
    code = normalise_code(raw_code)
    if not code:
        return Verification("unknown", code=raw_code.strip()[:40])
    certificate = (
        Certificate.objects.select_related(
            "enrolment__course", "enrolment__household__village"
        )
        .filter(code=code)
        .first()
    )
    if certificate is None:
        return Verification("unknown", code=code)
    enrolment = certificate.enrolment
    revoked = certificate.revoked_at is not None
    return Verification(
        status="revoked" if revoked else "valid",
        code=certificate.code,
        learner=mask_name(enrolment.household.head_name),
        village=enrolment.household.village.name,
        course_zh=enrolment.course.title_zh,
        course_en=enrolment.course.title_en,
        issued_on=certificate.issued_on,
        issuer=certificate.issuer,
        revoked_on=timezone.localtime(certificate.revoked_at).date()
        if certificate.revoked_at
        else None,
        revoked_reason=certificate.revoked_reason,
    )


def verify_url(code: str) -> str:
    return f"{settings.PROPOOR_SITE_URL}/training/verify/{code}/"
