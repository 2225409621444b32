"""Submissions from OpenRosa clients: stored raw first, validated, made into changes.

The order matters:

1. the document is parsed (not XML, no form id or no ``meta/instanceID``:
   :class:`MalformedSubmission`, nothing kept);
2. it is stored at once, in its own transaction: masked for display, encrypted as
   received (it holds clear ID numbers). ``meta/instanceID`` is unique: a resend
   finds the stored submission and answers ``duplicate=True``, also when two copies
   arrive together (the unique constraint decides, caught in a savepoint);
3. it is read against its form version, checked (scope, attachments, values) and
   either refused (status ``invalid`` with its errors, kept for review; the
   :class:`SubmissionError` subclass tells the client why) or turned into a pending
   :class:`~propoor.surveys.models.ChangeRequest`.

A refused submission sent again (ODK Collect retries failed sends) is read afresh:
it may pass now (the photo is smaller, the household was moved into the area).
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from propoor.accounts.roles import REGISTRY_WRITERS, has_role
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division, Level, VillageProfile
from propoor.core.errors import ApplicationError
from propoor.households.models import Household, Member, Snapshot
from propoor.surveys.models import (
    Attachment,
    ChangeKind,
    ChangeRequest,
    ChangeStatus,
    FormKind,
    FormVersion,
    Submission,
    SubmissionStatus,
)
from propoor.surveys.submissions import (
    PROFILE_REQUIRED,
    Envelope,
    Extracted,
    HouseholdValues,
    MalformedXML,
    Problems,
    VillageValues,
    extract,
    household_values,
    read_envelope,
    redact,
    seal,
    village_values,
)

if TYPE_CHECKING:
    from propoor.accounts.models import User

logger = logging.getLogger(__name__)

ALLOWED_ATTACHMENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
# Where each allowed type's content begins (the declared type must match it).
_MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
}


class SubmissionError(ApplicationError):
    """A submission the server refuses; ``status`` is the OpenRosa HTTP answer.

    ``extra`` holds ``errors`` (``[{"field", "message", "code"}]``) and, when the
    submission was kept, its ``instance_id``.
    """

    status: ClassVar[int] = 400
    code: ClassVar[str] = "submission_error"


class MalformedSubmission(SubmissionError):
    status = 400
    code = "malformed_submission"


class OutsideScope(SubmissionError):
    status = 403
    code = "outside_scope"


class UnknownForm(SubmissionError):
    status = 404
    code = "unknown_form"


class AttachmentTooLarge(SubmissionError):
    status = 413
    code = "attachment_too_large"


class UnsupportedMediaType(SubmissionError):
    status = 415
    code = "unsupported_media_type"


class InvalidValues(SubmissionError):
    status = 422
    code = "invalid_values"


# The error a refused submission raises: the first kind of problem in this order.
_PRECEDENCE: tuple[type[SubmissionError], ...] = (
    UnknownForm,
    OutsideScope,
    AttachmentTooLarge,
    UnsupportedMediaType,
    InvalidValues,
)


# What processing writes on a stored submission (the raw document stays as stored,
# unless a refused submission is sent again).
_PROCESSED = [
    "form_version",
    "status",
    "errors",
    "village",
    "household",
    "year",
    "latitude",
    "longitude",
]
_RESENT = ["xml", "xml_encrypted", "submitted_by", "form_id_raw", "version_raw"]


@dataclass(frozen=True)
class IncomingAttachment:
    name: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Received:
    submission: Submission
    duplicate: bool


def max_attachment_bytes() -> int:
    return int(settings.PROPOOR_SURVEY_MAX_ATTACHMENT)


def submission_receive(
    *,
    user: User,
    xml: bytes,
    attachments: Sequence[IncomingAttachment] = (),
) -> Received:
    """Store, check and queue one submission (see the module's docstring)."""
    if not has_role(user, REGISTRY_WRITERS):
        raise OutsideScope(
            "Your account may not submit surveys.",
            extra={"errors": [{"field": "", "message": "Not a survey role."}]},
        )
    try:
        envelope = read_envelope(xml)
    except MalformedXML as exc:
        raise MalformedSubmission(
            str(exc),
            extra={"errors": [{"field": "xml_submission_file", "message": str(exc)}]},
        ) from None
    stored, created = _store_raw(user, envelope, xml)
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=stored.pk)
        if submission.status not in {
            SubmissionStatus.RECEIVED,
            SubmissionStatus.INVALID,
        }:
            refusal, _ = _attach(submission, attachments, Problems())
            duplicate = True
        else:
            if not created:  # a refused submission sent again: read it afresh
                submission.xml = redact(envelope.text)
                submission.xml_encrypted = seal(xml)
                submission.submitted_by = user
                submission.form_id_raw = envelope.form_id
                submission.version_raw = envelope.version
                submission.save(update_fields=_RESENT)
            refusal = _process(user, submission, envelope, attachments, fresh=created)
            duplicate = False
    if refusal is not None:
        raise refusal
    if duplicate:
        logger.info("submission %s received again", submission.instance_id)
    return Received(submission=submission, duplicate=duplicate)


def _stored(instance_id: str) -> Submission | None:
    return next(
        iter(Submission.objects.filter(instance_id=instance_id).order_by()[:1]), None
    )


def _store_raw(user: User, envelope: Envelope, xml: bytes) -> tuple[Submission, bool]:
    """Insert the raw submission; (the stored one, False) when it is a resend."""
    existing = _stored(envelope.instance_id)
    if existing is not None:
        return existing, False
    submission = Submission(
        instance_id=envelope.instance_id,
        form_id_raw=envelope.form_id,
        version_raw=envelope.version,
        submitted_by=user,
        xml=redact(envelope.text),
        xml_encrypted=seal(xml),
        status=SubmissionStatus.RECEIVED,
    )
    try:
        with transaction.atomic():
            submission.save(force_insert=True)
    except IntegrityError:  # the same instance arrived concurrently
        existing = _stored(envelope.instance_id)
        if existing is None:
            raise
        return existing, False
    return submission, True


# --- checks -----------------------------------------------------------------


def _form_version(user: User, envelope: Envelope) -> FormVersion | None:
    found = (
        FormVersion.objects.select_related("form", "form__area")
        .defer("xform", "xlsform")  # large, and not needed to read a submission
        .filter(
            form__form_id=envelope.form_id,
            version=envelope.version,
            form__active=True,
        )
        .order_by()[:1]
    )
    version = next(iter(found), None)
    if version is None:
        return None
    area = version.form.area
    scope = scope_of(user)
    if area is None or scope.everything:
        return version
    overlaps = scope.covers(area.code) or any(
        p.startswith(area.prefix) for p in scope.prefixes
    )
    return version if overlaps else None


def _content_type(declared: str) -> str:
    return declared.split(";", 1)[0].strip().lower()


def _attach(
    submission: Submission,
    attachments: Sequence[IncomingAttachment],
    problems: Problems,
    *,
    fresh: bool = False,
) -> tuple[SubmissionError | None, set[str]]:
    """Keep the acceptable attachments not stored yet; note the others.

    Returns the refusal (if any attachment was refused) and the names now stored;
    ``fresh`` says the submission was just created (none stored yet).
    """
    limit = max_attachment_bytes()
    have: set[str] = set()
    if not fresh:
        have = set(submission.attachments.values_list("name", flat=True))
    rows: list[Attachment] = []
    refused: list[dict[str, str]] = []
    for index, incoming in enumerate(attachments, start=1):
        name = posixpath.basename(incoming.name.replace("\\", "/")).strip()[:200]
        name = name or f"attachment-{index}"
        if name in have:
            continue
        content_type = _content_type(incoming.content_type)
        before = len(problems.items)
        if len(incoming.data) > limit:
            problems.add(
                name,
                f"The attachment {name} has {len(incoming.data)} bytes; the limit is "
                f"{limit}.",
                AttachmentTooLarge.code,
            )
        elif content_type not in ALLOWED_ATTACHMENT_TYPES:
            problems.add(
                name,
                f"The attachment {name} is {content_type or 'of no type'}; send a "
                f"photo as {', '.join(sorted(ALLOWED_ATTACHMENT_TYPES))}.",
                UnsupportedMediaType.code,
            )
        elif not incoming.data.startswith(_MAGIC[content_type]) or (
            content_type == "image/webp" and incoming.data[8:12] != b"WEBP"
        ):
            problems.add(
                name,
                f"The attachment {name} is not the {content_type} it claims to be.",
                UnsupportedMediaType.code,
            )
        if len(problems.items) != before:
            refused.append(problems.items[-1])
            continue
        have.add(name)
        rows.append(
            Attachment(
                submission=submission,
                name=name,
                content_type=content_type,
                size=len(incoming.data),
                data=incoming.data,
            )
        )
    if rows:
        Attachment.objects.bulk_create(rows)
    if not refused:
        return None, have
    error_class = (
        AttachmentTooLarge
        if any(r["code"] == AttachmentTooLarge.code for r in refused)
        else UnsupportedMediaType
    )
    return error_class(
        refused[0]["message"],
        extra={"errors": refused, "instance_id": submission.instance_id},
    ), have


@dataclass
class _Scope:
    village: Division | None = None
    household: Household | None = None


def _check_scope(
    user: User, kind: str, extracted: Extracted, problems: Problems
) -> _Scope:
    """The village (and household) the survey is about, inside the user's scope."""
    found = _Scope()
    scope = scope_of(user)
    code = extracted.top.get("village_code", "")
    if code:
        village = next(
            iter(Division.objects.filter(code=code, level=Level.VILLAGE).order_by()),
            None,
        )
        if village is None:
            problems.add("village_code", f"There is no village {code}.")
        elif not scope.covers(village.code):
            problems.add(
                "village_code", f"Village {code} is not in your area.", "outside_scope"
            )
        else:
            found.village = village
    if kind != FormKind.HOUSEHOLD:
        return found
    number = extracted.top.get("household_number", "")
    new = extracted.top.get("new_household", "").strip().lower()
    if not number or new in {"yes", "true", "1"}:
        return found
    household = Household.objects.filter(number=number).first()
    if household is None or not scope.covers(household.village_id):
        if household is None and scope.covers(number[:12]):
            problems.add("household_number", f"There is no household {number}.")
        else:
            problems.add(
                "household_number",
                f"Household {number} is not in your area.",
                "outside_scope",
            )
        return found
    if found.village is not None and household.village_id != found.village.code:
        problems.add(
            "household_number",
            f"Household {number} belongs to village {household.village_id}, "
            f"not {found.village.code}.",
        )
        return found
    found.household = household
    return found


def _registered_elsewhere(
    user: User, values: HouseholdValues, household: Household | None, problems: Problems
) -> None:
    """A member already registered in another household cannot be added here."""
    by_hash = {m.id_hash: m for m in values.members}
    if not by_hash:
        return
    taken = Member.objects.filter(id_hash__in=list(by_hash))
    if household is not None:
        taken = taken.exclude(household=household)
    scope = scope_of(user)
    for id_hash, number, village in taken.order_by("pk").values_list(
        "id_hash", "household__number", "household__village_id"
    ):
        submitted = by_hash[id_hash]
        where = (
            f"household {number}"
            if scope.covers(village)
            else "a household outside your area"
        )
        problems.add(
            f"members[{submitted.index}].id_number",
            f"ID number {submitted.id_masked} is already registered in {where}.",
        )


def registry_marker(
    *, household: Household | None = None, year: int | None = None, village: str = ""
) -> str:
    """The registry state a change is based on; it moves when the data changes.

    For a household: its latest approved change, its snapshot of the year (when
    last written) and its newest member. For a village: its latest approved
    village change. A change whose base no longer matches is in conflict.
    """
    if household is not None:
        last = (
            ChangeRequest.objects.filter(
                household=household, status=ChangeStatus.APPROVED
            ).aggregate(last=Max("id"))["last"]
            or 0
        )
        written = (
            Snapshot.objects.filter(household=household, year=year)
            .values_list("updated_at", flat=True)
            .first()
        )
        newest = household.members.aggregate(newest=Max("id"))["newest"] or 0
        stamp = written.isoformat() if written is not None else "-"
        return f"c{last}|s{stamp}|m{newest}"
    if village:
        last = (
            ChangeRequest.objects.filter(
                village_id=village,
                kind=ChangeKind.VILLAGE,
                status=ChangeStatus.APPROVED,
            ).aggregate(last=Max("id"))["last"]
            or 0
        )
        return f"c{last}"
    return ""


def _refusal(submission: Submission, problems: Problems) -> SubmissionError:
    codes = {item.get("code", InvalidValues.code) for item in problems.items}
    for item in problems.items:
        item.setdefault("code", InvalidValues.code)
    error_class = next(c for c in _PRECEDENCE if c.code in codes)
    first = next(item for item in problems.items if item["code"] == error_class.code)
    more = len(problems.items) - 1
    message = first["message"] + (
        f" ({more} more problem{'s' if more > 1 else ''}.)" if more else ""
    )
    submission.status = SubmissionStatus.INVALID
    submission.errors = list(problems.items)
    submission.save(update_fields=_PROCESSED)
    logger.info("submission %s refused: %s", submission.instance_id, error_class.code)
    return error_class(
        message,
        extra={
            "errors": list(problems.items),
            "instance_id": submission.instance_id,
        },
    )


def _process(
    user: User,
    submission: Submission,
    envelope: Envelope,
    attachments: Sequence[IncomingAttachment],
    *,
    fresh: bool,
) -> SubmissionError | None:
    """Check the stored submission and queue its change; the refusal, if any."""
    problems = Problems()
    version = _form_version(user, envelope)
    if version is None:
        what = (
            f"version {envelope.version} of form {envelope.form_id}"
            if envelope.version
            else f"form {envelope.form_id} (without a version)"
        )
        known = FormVersion.objects.filter(form__form_id=envelope.form_id).exists()
        problems.add(
            "form",
            f"The server does not know {what}; download the current form."
            if known
            else f"The server does not know form {envelope.form_id}.",
            UnknownForm.code,
        )
        _attach(submission, attachments, Problems(), fresh=fresh)
        return _refusal(submission, problems)
    submission.form_version = version
    kind = version.form.kind
    extracted = extract(envelope.root, version.mapping)
    where = _check_scope(user, kind, extracted, problems)
    submission.village = where.village
    submission.household = where.household
    _, photos = _attach(submission, attachments, problems, fresh=fresh)
    values: HouseholdValues | VillageValues | None
    if kind == FormKind.HOUSEHOLD:
        values, value_problems = household_values(extracted, today=timezone.localdate())
        if values is not None:
            _registered_elsewhere(user, values, where.household, value_problems)
            submission.year = values.year
    else:
        values, value_problems = village_values(extracted)
        if (
            values is not None
            and where.village is not None
            and not VillageProfile.objects.filter(village=where.village).exists()
        ):
            for name in sorted(PROFILE_REQUIRED - set(values.profile)):
                value_problems.add(name, "Required for the village's first profile.")
    problems.items.extend(value_problems.items)
    if values is not None and values.location is not None:
        submission.latitude = values.location.latitude
        submission.longitude = values.location.longitude
    if problems or values is None or where.village is None:
        if not problems:  # pragma: no cover  (a value problem names the village)
            problems.add("village_code", "Give the village code.")
        return _refusal(submission, problems)
    submission.status = SubmissionStatus.PENDING
    submission.errors = []
    submission.save(update_fields=_PROCESSED)
    _queue_change(submission, values, where, sorted(photos))
    return None


def _queue_change(
    submission: Submission,
    values: HouseholdValues | VillageValues,
    where: _Scope,
    photos: list[str],
) -> ChangeRequest:
    assert where.village is not None  # noqa: S101  (checked by the caller)
    if isinstance(values, HouseholdValues):
        kind = ChangeKind.NEW_HOUSEHOLD if values.new else ChangeKind.UPDATE
        marker = registry_marker(household=where.household, year=values.year)
        year: int | None = values.year
    else:
        kind = ChangeKind.VILLAGE
        marker = registry_marker(village=where.village.code)
        year = None
    payload = values.payload()
    payload["photos"] = photos
    return ChangeRequest.objects.create(
        submission=submission,
        kind=kind,
        village=where.village,
        household=where.household if kind == ChangeKind.UPDATE else None,
        year=year,
        payload=payload,
        base_marker=marker,
        status=ChangeStatus.PENDING,
    )
