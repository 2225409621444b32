"""Submissions from OpenRosa clients: checked, then stored with their outcome at once.

The order matters:

1. the document is parsed (not XML, no form id or no ``meta/instanceID``:
   :class:`MalformedSubmission`, nothing kept);
2. ``meta/instanceID`` is unique: a submission already stored is a resend (below);
3. a new submission is read against its form version and checked (scope,
   attachments, values) without writing anything, then stored in one transaction
   with what the checks decided: the document (masked for display, encrypted as
   received: it holds clear ID numbers), its acceptable attachments, and either its
   problems (status ``invalid``, kept for review; the :class:`SubmissionError`
   subclass tells the client why) or a pending
   :class:`~propoor.surveys.models.ChangeRequest`. When two copies arrive together the
   unique constraint decides: the second insert fails and that copy is answered as a
   resend. When checking or storing fails unexpectedly, the raw document is still
   stored alone (status ``received``) before the error goes on: nothing is lost.

A resend answers ``duplicate=True`` and keeps the attachments not stored yet (ODK
Collect splits large submissions over several POSTs). A refused (or only received)
submission sent again is read afresh instead: it may pass now (the photo is smaller,
the household was moved into the area); ODK Collect retries failed sends.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Max, Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from propoor.accounts.roles import REGISTRY_WRITERS, has_role
from propoor.accounts.scope import scope_of
from propoor.areas.models import Level, VillageProfile
from propoor.core.errors import ApplicationError
from propoor.households.models import Household, Snapshot
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
# A stored submission in these states is read afresh when sent again.
_READ_AGAIN = frozenset({SubmissionStatus.RECEIVED, SubmissionStatus.INVALID})


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
    """Check, store and queue one submission (see the module's docstring)."""
    if not has_role(user, REGISTRY_WRITERS):
        raise OutsideScope(
            _("Your account may not submit surveys."),
            # ODK Collect shows these messages (openrosa.describe_error)
            extra={"errors": [{"field": "", "message": _("Not a survey role.")}]},
        )
    try:
        envelope = read_envelope(xml)
    except MalformedXML as exc:
        raise MalformedSubmission(
            str(exc),
            extra={"errors": [{"field": "xml_submission_file", "message": str(exc)}]},
        ) from None
    stored = _stored(envelope.instance_id)
    if stored is None:
        submission, checked = _store_new(user, envelope, xml, attachments)
        if checked is not None:
            if checked.refusal is not None:
                raise checked.refusal
            return Received(submission=submission, duplicate=False)
        stored = submission  # a copy arriving at the same time was stored first
    return _receive_again(user, stored, envelope, xml, attachments)


def _stored(instance_id: str) -> Submission | None:
    """The stored submission of this instance ID (only its status read), if any."""
    row = _fetch_one(_STORED_SQL, [instance_id])
    if row is None:
        return None
    return Submission.from_db(
        connection.alias, ["id", "instance_id", "status"], [row[0], instance_id, row[1]]
    )


def _raw(user: User, envelope: Envelope, xml: bytes) -> Submission:
    """The submission as received, not saved yet."""
    return Submission(
        instance_id=envelope.instance_id,
        form_id_raw=envelope.form_id,
        version_raw=envelope.version,
        submitted_by=user,
        xml=redact(envelope.text),
        xml_encrypted=seal(xml),
        status=SubmissionStatus.RECEIVED,
    )


def _store_new(
    user: User,
    envelope: Envelope,
    xml: bytes,
    attachments: Sequence[IncomingAttachment],
) -> tuple[Submission, _Checked | None]:
    """Check a new submission and store it with the outcome.

    Returns (the stored submission, what the checks decided), or (the submission
    stored by a copy that arrived at the same time, None).
    """
    submission = _raw(user, envelope, xml)
    try:
        checked = _check(user, submission, envelope, attachments, have=set())
        with transaction.atomic():
            _insert(submission)
            _write(submission, checked)
    except Exception as exc:
        if isinstance(exc, IntegrityError):  # the same instance, stored concurrently
            existing = _stored(envelope.instance_id)
            if existing is not None:
                return existing, None
        _keep_raw(user, envelope, xml)
        raise
    return submission, checked


def _keep_raw(user: User, envelope: Envelope, xml: bytes) -> None:
    """Store the raw submission alone after an unexpected failure.

    It waits as ``received``: nothing is lost, and a resend reads it afresh.
    """
    try:
        with transaction.atomic():
            _raw(user, envelope, xml).save(force_insert=True)
    except DatabaseError:  # stored meanwhile, or the database is what failed
        logger.exception("submission %s could not be kept", envelope.instance_id)


def _receive_again(
    user: User,
    stored: Submission,
    envelope: Envelope,
    xml: bytes,
    attachments: Sequence[IncomingAttachment],
) -> Received:
    """A submission already stored: a duplicate, or read afresh when refused."""
    if stored.status not in _READ_AGAIN:
        # Its status never returns to one read again: no lock needed. Two resends
        # adding the same photo at once: the unique name keeps one.
        refusal = _add_attachments(stored, attachments)
        duplicate = True
        submission = stored
    else:
        with transaction.atomic():
            submission = (
                Submission.objects.select_for_update()
                .defer("xml", "xml_encrypted")
                .get(pk=stored.pk)
            )
            if submission.status not in _READ_AGAIN:  # read again meanwhile
                refusal = _add_attachments(submission, attachments)
                duplicate = True
            else:
                submission.xml = redact(envelope.text)
                submission.xml_encrypted = seal(xml)
                submission.submitted_by = user
                submission.form_id_raw = envelope.form_id
                submission.version_raw = envelope.version
                have = set(submission.attachments.values_list("name", flat=True))
                checked = _check(user, submission, envelope, attachments, have=have)
                submission.save(update_fields=[*_RESENT, *_PROCESSED])
                _write(submission, checked)
                refusal = checked.refusal
                duplicate = False
    if refusal is not None:
        raise refusal
    if duplicate:
        logger.info("submission %s received again", submission.instance_id)
    return Received(submission=submission, duplicate=duplicate)


def _add_attachments(
    submission: Submission, attachments: Sequence[IncomingAttachment]
) -> SubmissionError | None:
    """Keep a resend's attachments not stored yet; the refusal, if any."""
    if not attachments:
        return None
    have = set(submission.attachments.values_list("name", flat=True))
    rows, refusal, _names = _accept(submission, attachments, Problems(), have)
    if rows:
        Attachment.objects.bulk_create(rows, ignore_conflicts=True)
    return refusal


@dataclass(frozen=True)
class _Checked:
    """What checking a submission decided, written with it (see :func:`_write`)."""

    attachments: list[Attachment]
    change: ChangeRequest | None
    refusal: SubmissionError | None


def _write(submission: Submission, checked: _Checked) -> None:
    """Insert the accepted attachments and the change of the saved submission."""
    for row in checked.attachments:
        row.submission = submission  # now with its id
        _insert(row)
    if checked.change is not None:
        checked.change.submission = submission
        _insert(checked.change)


def _insert(row: Model) -> None:
    """Insert a new row as ``row.save(force_insert=True)`` would, on the hot path.

    Every concrete field is written as the ORM writes it (``pre_save``, then
    ``get_db_prep_save``), the SQL without Django's query compiler, which costs more
    CPU than the insert itself. No signals are sent (the project uses none); the
    primary key must be the automatic one.
    """
    meta = row._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    params = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    columns = ", ".join(f.column for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Only the model's own names go into the SQL; the values are parameters.
    sql = f"INSERT INTO {meta.db_table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {meta.pk.column}", params)
        (pk,) = cursor.fetchone()
    row.pk = pk
    row._state.adding = False
    row._state.db = connection.alias


# --- reads on the hot path ----------------------------------------------------
# Every submission runs these. Building them with the ORM costs several times the
# CPU the database spends answering them (bench/surveys.py), so they are plain SQL
# on the models' tables, kept together (every receiving test runs them).

_STORED_SQL = "SELECT id, status FROM surveys_submission WHERE instance_id = %s"
_FORM_VERSION_SQL = (
    "SELECT v.id, v.md5, f.kind, f.area_id, a.prefix"
    " FROM surveys_formversion v"
    " JOIN surveys_form f ON f.id = v.form_id"
    " LEFT JOIN areas_division a ON a.code = f.area_id"
    " WHERE f.form_id = %s AND v.version = %s AND f.active = %s"
)
_VILLAGE_SQL = "SELECT code FROM areas_division WHERE code = %s AND level = %s"
_REGISTERED_SQL = (
    "SELECT m.id_hash, h.number, h.village_id"
    " FROM households_member m"
    " JOIN households_household h ON h.id = m.household_id"
    " WHERE m.id_hash IN ({hashes}){other} ORDER BY m.id"
)


def _fetch_one(sql: str, params: Sequence[object]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row


def _registered(
    id_hashes: Sequence[str], household: Household | None
) -> list[tuple[str, str, str]]:
    """(ID hash, household number, village) of the members already registered
    with these ID hashes, outside ``household``."""
    sql = _REGISTERED_SQL.format(  # placeholders only: the values are parameters
        hashes=", ".join(["%s"] * len(id_hashes)),
        other="" if household is None else " AND m.household_id <> %s",
    )
    params: list[object] = list(id_hashes)
    if household is not None:
        params.append(household.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(str(h), str(n), str(v)) for h, n, v in cursor.fetchall()]


# --- checks -----------------------------------------------------------------


@dataclass(frozen=True)
class _Version:
    """What reading a submission needs of its form version (never the blobs)."""

    id: int
    kind: str
    mapping: Mapping[str, str]


# Parsed mappings by (form version id, md5 of its XForm): a version never changes
# once uploaded, so each process reads its mapping once.
_MAPPINGS: dict[tuple[int, str], Mapping[str, str]] = {}
_MAPPINGS_KEPT = 64


def _mapping(version_id: int, md5: str) -> Mapping[str, str]:
    key = (version_id, md5)
    mapping = _MAPPINGS.get(key)
    if mapping is None:
        mapping = MappingProxyType(
            FormVersion.objects.values_list("mapping", flat=True).get(pk=version_id)
        )
        if len(_MAPPINGS) >= _MAPPINGS_KEPT:
            _MAPPINGS.clear()
        _MAPPINGS[key] = mapping
    return mapping


def _form_version(user: User, envelope: Envelope) -> _Version | None:
    """The active form version the submission names, when the user may fill it."""
    found = _fetch_one(_FORM_VERSION_SQL, [envelope.form_id, envelope.version, True])
    if found is None:
        return None
    version_id, md5, kind, area_code, area_prefix = found
    if area_code is not None:  # a form used in one area: does the user's overlap?
        scope = scope_of(user)
        if not scope.covers(area_code) and not any(
            p.startswith(area_prefix) for p in scope.prefixes
        ):
            return None
    return _Version(id=version_id, kind=kind, mapping=_mapping(version_id, md5))


def _content_type(declared: str) -> str:
    return declared.split(";", 1)[0].strip().lower()


def _accept(
    submission: Submission,
    attachments: Sequence[IncomingAttachment],
    problems: Problems,
    have: set[str],
) -> tuple[list[Attachment], SubmissionError | None, set[str]]:
    """The acceptable attachments not stored yet (``have``), as unsaved rows.

    Notes the others in ``problems``; returns the rows, the refusal (if any
    attachment was refused) and the names stored once the rows are.
    """
    limit = max_attachment_bytes()
    have = set(have)
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
                _("The attachment %(name)s has %(size)s bytes; the limit is %(limit)s.")
                % {"name": name, "size": len(incoming.data), "limit": limit},
                AttachmentTooLarge.code,
            )
        elif content_type not in ALLOWED_ATTACHMENT_TYPES:
            if content_type:
                message = _(
                    "The attachment %(name)s is %(type)s; send a photo as %(types)s."
                )
            else:
                message = _(
                    "The attachment %(name)s is of no type; send a photo as %(types)s."
                )
            problems.add(
                name,
                message
                % {
                    "name": name,
                    "type": content_type,
                    "types": ", ".join(sorted(ALLOWED_ATTACHMENT_TYPES)),
                },
                UnsupportedMediaType.code,
            )
        elif not incoming.data.startswith(_MAGIC[content_type]) or (
            content_type == "image/webp" and incoming.data[8:12] != b"WEBP"
        ):
            problems.add(
                name,
                _("The attachment %(name)s is not the %(type)s it claims to be.")
                % {"name": name, "type": content_type},
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
    if not refused:
        return rows, None, have
    error_class = (
        AttachmentTooLarge
        if any(r["code"] == AttachmentTooLarge.code for r in refused)
        else UnsupportedMediaType
    )
    return (
        rows,
        error_class(
            refused[0]["message"],
            extra={"errors": refused, "instance_id": submission.instance_id},
        ),
        have,
    )


@dataclass
class _Scope:
    village: str | None = None  # its code
    household: Household | None = None


def _check_scope(
    user: User, kind: str, extracted: Extracted, problems: Problems
) -> _Scope:
    """The village (and household) the survey is about, inside the user's scope."""
    found = _Scope()
    scope = scope_of(user)
    code = extracted.top.get("village_code", "")
    if code:
        if _fetch_one(_VILLAGE_SQL, [code, Level.VILLAGE.value]) is None:
            problems.add(
                "village_code",
                _("There is no village %(village)s.") % {"village": code},
            )
        elif not scope.covers(code):
            problems.add(
                "village_code",
                _("Village %(village)s is not in your area.") % {"village": code},
                "outside_scope",
            )
        else:
            found.village = code
    if kind != FormKind.HOUSEHOLD:
        return found
    number = extracted.top.get("household_number", "")
    new = extracted.top.get("new_household", "").strip().lower()
    if not number or new in {"yes", "true", "1"}:
        return found
    household = Household.objects.filter(number=number).first()
    if household is None or not scope.covers(household.village_id):
        if household is None and scope.covers(number[:12]):
            problems.add(
                "household_number",
                _("There is no household %(household)s.") % {"household": number},
            )
        else:
            problems.add(
                "household_number",
                _("Household %(household)s is not in your area.")
                % {"household": number},
                "outside_scope",
            )
        return found
    if found.village is not None and household.village_id != found.village:
        problems.add(
            "household_number",
            _(
                "Household %(household)s belongs to village %(village)s, "
                "not %(submitted)s."
            )
            % {
                "household": number,
                "village": household.village_id,
                "submitted": found.village,
            },
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
    scope = scope_of(user)
    for id_hash, number, village in _registered(list(by_hash), household):
        submitted = by_hash[id_hash]
        if scope.covers(village):
            message = _(
                "ID number %(id_number)s is already registered in household "
                "%(household)s."
            )
        else:
            message = _(
                "ID number %(id_number)s is already registered in a household "
                "outside your area."
            )
        problems.add(
            f"members[{submitted.index}].id_number",
            message % {"id_number": submitted.id_masked, "household": number},
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
    """Mark the submission refused (not saved) and make the client's error."""
    codes = {item.get("code", InvalidValues.code) for item in problems.items}
    for item in problems.items:
        item.setdefault("code", InvalidValues.code)
    error_class = next(c for c in _PRECEDENCE if c.code in codes)
    first = next(item for item in problems.items if item["code"] == error_class.code)
    more = len(problems.items) - 1
    message = first["message"]
    if more:
        message = ngettext(
            "%(problem)s (%(more)s more problem.)",
            "%(problem)s (%(more)s more problems.)",
            more,
        ) % {"problem": message, "more": more}
    submission.status = SubmissionStatus.INVALID
    submission.errors = list(problems.items)
    logger.info("submission %s refused: %s", submission.instance_id, error_class.code)
    return error_class(
        message,
        extra={
            "errors": list(problems.items),
            "instance_id": submission.instance_id,
        },
    )


def _check(
    user: User,
    submission: Submission,
    envelope: Envelope,
    attachments: Sequence[IncomingAttachment],
    *,
    have: set[str],
) -> _Checked:
    """Check the submission and set its outcome on it (not saved).

    Reads only; ``have`` names the attachments already stored with it. Returns the
    attachments and the change to insert once the submission is saved, and the
    refusal, if any.
    """
    problems = Problems()
    version = _form_version(user, envelope)
    if version is None:
        known = FormVersion.objects.filter(form__form_id=envelope.form_id).exists()
        if not known:
            message = _("The server does not know form %(form)s.")
        elif envelope.version:
            message = _(
                "The server does not know version %(version)s of form %(form)s; "
                "download the current form."
            )
        else:
            message = _(
                "The server does not know form %(form)s (without a version); "
                "download the current form."
            )
        problems.add(
            "form",
            message % {"form": envelope.form_id, "version": envelope.version},
            UnknownForm.code,
        )
        rows, _refused, _names = _accept(submission, attachments, Problems(), have)
        return _Checked(rows, None, _refusal(submission, problems))
    submission.form_version_id = version.id
    kind = version.kind
    extracted = extract(envelope.root, version.mapping)
    where = _check_scope(user, kind, extracted, problems)
    submission.village_id = where.village
    submission.household = where.household
    rows, _refused, photos = _accept(submission, attachments, problems, have)
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
                value_problems.add(name, _("Required for the village's first profile."))
    problems.items.extend(value_problems.items)
    if values is not None and values.location is not None:
        submission.latitude = values.location.latitude
        submission.longitude = values.location.longitude
    if problems or values is None or where.village is None:
        if not problems:  # pragma: no cover  (a value problem names the village)
            problems.add("village_code", _("Give the village code."))
        return _Checked(rows, None, _refusal(submission, problems))
    submission.status = SubmissionStatus.PENDING
    submission.errors = []
    change = _change(submission, values, where, sorted(photos))
    return _Checked(rows, change, None)


def _change(
    submission: Submission,
    values: HouseholdValues | VillageValues,
    where: _Scope,
    photos: list[str],
) -> ChangeRequest:
    """The pending change request of an accepted submission (not saved)."""
    assert where.village is not None  # noqa: S101  (checked by the caller)
    if isinstance(values, HouseholdValues):
        kind = ChangeKind.NEW_HOUSEHOLD if values.new else ChangeKind.UPDATE
        marker = registry_marker(household=where.household, year=values.year)
        year: int | None = values.year
    else:
        kind = ChangeKind.VILLAGE
        marker = registry_marker(village=where.village)
        year = None
    payload = values.payload()
    payload["photos"] = photos
    return ChangeRequest(
        submission=submission,
        kind=kind,
        village_id=where.village,
        household=where.household if kind == ChangeKind.UPDATE else None,
        year=year,
        payload=payload,
        base_marker=marker,
        status=ChangeStatus.PENDING,
    )
