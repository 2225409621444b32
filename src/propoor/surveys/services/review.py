"""Review of change requests: approve (applied to the registry) or reject.

Approval applies the change through the households and areas services only
(``household_register``, ``member_add``, ``member_update``, ``household_set_causes``,
``household_update``, ``snapshot_record``, ``village_profile_set``), all in one
transaction with the change's own audit entry: when any of them refuses, nothing is
applied. The members' clear ID numbers are read from the encrypted raw submission
at that moment; the change request itself only ever holds masked ones.

A change is in conflict when the registry moved since the submission was received
(another change to the same household was approved, or the household's snapshot or
members were written): approving it then needs ``force=True``. Approving one change
puts the other pending changes of the same household in conflict.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.roles import REGISTRY_WRITERS, require_role
from propoor.accounts.scope import scope_of
from propoor.areas.services import village_profile_set
from propoor.core.audit import audit_append
from propoor.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from propoor.households import idnumbers
from propoor.households.models import Household
from propoor.households.services import (
    MemberInput,
    household_register,
    household_set_causes,
    household_update,
    member_add,
    member_update,
    snapshot_record,
)
from propoor.kernel import idcard
from propoor.surveys.models import (
    ChangeKind,
    ChangeRequest,
    ChangeStatus,
    Submission,
    SubmissionStatus,
)
from propoor.surveys.services.receive import registry_marker
from propoor.surveys.submissions import (
    extract,
    read_envelope,
    snapshot_from_json,
    unseal,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from propoor.accounts.models import User

logger = logging.getLogger(__name__)

REVIEWERS = REGISTRY_WRITERS
_OPEN = (ChangeStatus.PENDING, ChangeStatus.CONFLICT)
_PLACES = Decimal("0.00001")  # the registry keeps coordinates to 5 places
_MEMBER_FIELDS = ("name", "relation", "labour", "health", "schooling", "in_school")


def _authorize(actor: User | None, change: ChangeRequest) -> None:
    if actor is None:
        return
    require_role(actor, REVIEWERS)
    if not scope_of(actor).covers(change.village_id):
        raise NotFound(_("No such change request."))


def _locked(change: ChangeRequest) -> ChangeRequest:
    locked = (
        ChangeRequest.objects.select_for_update(of=("self",))
        .filter(pk=change.pk)
        .select_related("submission", "submission__form_version", "household")
        # the form's XForm and XLSForm are large and not needed to apply a change
        .defer("submission__form_version__xform", "submission__form_version__xlsform")
        .first()
    )
    if locked is None:
        raise NotFound(_("No such change request."))
    if locked.status not in _OPEN:
        if locked.status == ChangeStatus.APPROVED:
            message = _("The change request was already approved.")
        elif locked.status == ChangeStatus.REJECTED:
            message = _("The change request was already rejected.")
        else:  # pragma: no cover  (only approved and rejected are closed)
            message = _("The change request was already %(status)s.") % {
                "status": locked.status
            }
        raise Conflict(
            message,
            extra={"change": locked.pk, "status": locked.status},
        )
    return locked


def _current_marker(change: ChangeRequest) -> str:
    if change.kind == ChangeKind.UPDATE:
        return registry_marker(household=change.household, year=change.year)
    if change.kind == ChangeKind.VILLAGE:
        return registry_marker(village=change.village_id)
    return ""


@dataclass(frozen=True)
class _Refusal:
    error: ApplicationError
    mark_conflict: bool


def change_approve(
    actor: User | None, *, change: ChangeRequest, force: bool = False
) -> ChangeRequest:
    """Apply the change to the registry; a change in conflict needs ``force``."""
    _authorize(actor, change)
    refusal: _Refusal | None = None
    with transaction.atomic():
        locked = _locked(change)
        if locked.kind == ChangeKind.UPDATE and locked.household is None:
            raise Conflict(
                _("The household of this change no longer exists."),
                extra={"change": locked.pk},
            )
        in_conflict = (
            _current_marker(locked) != locked.base_marker
            or locked.status == ChangeStatus.CONFLICT
        )
        if in_conflict and not force:
            refusal = _Refusal(
                Conflict(
                    _(
                        "The registry changed since this survey was received (another "
                        "change to the same household was approved, or its data was "
                        "edited); compare, then approve it anyway or reject it."
                    ),
                    extra={"change": locked.pk, "conflict": True},
                ),
                mark_conflict=locked.status == ChangeStatus.PENDING,
            )
        else:
            _apply(actor, locked, forced=in_conflict)
    if refusal is not None:
        if refusal.mark_conflict:
            ChangeRequest.objects.filter(
                pk=change.pk, status=ChangeStatus.PENDING
            ).update(status=ChangeStatus.CONFLICT)
            change.status = ChangeStatus.CONFLICT
        raise refusal.error
    change.refresh_from_db()
    return change


def change_reject(
    actor: User | None, *, change: ChangeRequest, reason: str
) -> ChangeRequest:
    """Close the change without applying it; the reason is required."""
    _authorize(actor, change)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Give a reason for rejecting the change."),
            extra={"fields": {"reason": ["Required."]}},
        )
    if len(reason) > 400:
        raise ValidationFailed(
            _("The reason is too long."),
            extra={"fields": {"reason": ["At most 400 characters."]}},
        )
    with transaction.atomic():
        locked = _locked(change)
        locked.status = ChangeStatus.REJECTED
        locked.reviewer = actor
        locked.reviewed_at = timezone.now()
        locked.reason = reason
        locked.save(update_fields=["status", "reviewer", "reviewed_at", "reason"])
        Submission.objects.filter(pk=locked.submission_id).update(
            status=SubmissionStatus.REJECTED
        )
        audit_append(
            action="change.reject",
            actor=actor,
            object_type="change_request",
            object_id=locked.pk,
            data={
                "kind": locked.kind,
                "village": locked.village_id,
                "household": locked.household.number if locked.household else None,
                "submission": locked.submission.instance_id,
                "reason": reason,
            },
        )
    change.refresh_from_db()
    return change


# --- applying -------------------------------------------------------------


def _clear_ids(change: ChangeRequest) -> dict[int, str]:
    """The members' clear ID numbers by repeat index, from the raw submission."""
    submission = change.submission
    if submission.form_version is None:  # pragma: no cover  (a change has a form)
        raise Conflict(_("The submission of this change has no form version."))
    envelope = read_envelope(unseal(submission.xml_encrypted))
    extracted = extract(envelope.root, submission.form_version.mapping)
    numbers: dict[int, str] = {}
    for index, raw in enumerate(extracted.members, start=1):
        text = raw.get("id_number", "").strip().upper()
        if idcard.is_valid(text):
            numbers[index] = idcard.validate(text)
    return numbers


def _member_inputs(
    change: ChangeRequest, members: Sequence[Mapping[str, object]]
) -> list[tuple[Mapping[str, object], MemberInput]]:
    clear = _clear_ids(change) if members else {}
    out = []
    for member in members:
        index = int(str(member["index"]))
        number = clear.get(index, "")
        if not number or idcard.mask(number) != member["id_masked"]:
            raise Conflict(
                _(
                    "The raw submission and its change request disagree on a "
                    "member's ID number; reject the change."
                ),
                extra={"change": change.pk, "member": index},
            )
        out.append(
            (
                member,
                MemberInput(
                    name=str(member["name"]),
                    id_number=number,
                    relation=str(member["relation"]),
                    labour=str(member["labour"]),
                    health=str(member["health"]),
                    schooling=str(member["schooling"]),
                    in_school=bool(member["in_school"]),
                    skills=str(member["skills"]),
                ),
            )
        )
    return out


def _point(payload: Mapping[str, object]) -> tuple[Decimal, Decimal] | None:
    location = payload.get("location")
    if not isinstance(location, dict):
        return None
    return (
        Decimal(str(location["latitude"])).quantize(_PLACES),
        Decimal(str(location["longitude"])).quantize(_PLACES),
    )


def _apply(actor: User | None, change: ChangeRequest, *, forced: bool) -> None:
    payload = change.payload
    household: Household | None = None
    applied: dict[str, object] = {}
    if change.kind == ChangeKind.VILLAGE:
        fields = dict(payload["profile"])
        point = _point(payload)
        if point is not None:
            fields["latitude"], fields["longitude"] = point
        village_profile_set(actor=actor, village_code=change.village_id, **fields)
        applied["profile"] = sorted(fields)
    elif change.kind == ChangeKind.NEW_HOUSEHOLD:
        household, applied = _apply_new(actor, change)
    else:
        household, applied = _apply_update(actor, change)
    now = timezone.now()
    change.status = ChangeStatus.APPROVED
    change.reviewer = actor
    change.reviewed_at = now
    change.household = household
    change.save(update_fields=["status", "reviewer", "reviewed_at", "household"])
    Submission.objects.filter(pk=change.submission_id).update(
        status=SubmissionStatus.APPROVED, household=household
    )
    others = 0
    if household is not None:
        others = (
            ChangeRequest.objects.filter(
                household=household, status=ChangeStatus.PENDING
            )
            .exclude(pk=change.pk)
            .update(status=ChangeStatus.CONFLICT)
        )
    elif change.kind == ChangeKind.VILLAGE:
        others = (
            ChangeRequest.objects.filter(
                village=change.village_id,
                kind=ChangeKind.VILLAGE,
                status=ChangeStatus.PENDING,
            )
            .exclude(pk=change.pk)
            .update(status=ChangeStatus.CONFLICT)
        )
    audit_append(
        action="change.approve",
        actor=actor,
        object_type="change_request",
        object_id=change.pk,
        data={
            "kind": change.kind,
            "village": change.village_id,
            "household": household.number if household is not None else None,
            "year": change.year,
            "submission": change.submission.instance_id,
            "forced": forced,
            "applied": applied,
            "others_in_conflict": others,
        },
    )
    logger.info("change %s (%s) approved", change.pk, change.kind)


def _apply_new(
    actor: User | None, change: ChangeRequest
) -> tuple[Household, dict[str, object]]:
    payload = change.payload
    head = payload["household"]
    point = _point(payload)
    pairs = _member_inputs(change, payload["members"])
    household = household_register(
        actor=actor,
        village_code=change.village_id,
        head_name=head["head_name"],
        members=[m for _submitted, m in pairs],
        category=head["category"],
        main_cause=head["main_cause"],
        secondary_causes=head["secondary_causes"],
        address=head["address"],
        phone=head["phone"],
        latitude=point[0] if point else None,
        longitude=point[1] if point else None,
    )
    snapshot_record(
        actor=actor,
        household=household,
        year=int(payload["year"]),
        **snapshot_from_json(payload["snapshot"]),
    )
    return household, {
        "registered": household.number,
        "members": len(pairs),
        "snapshot": payload["year"],
    }


def _apply_update(
    actor: User | None, change: ChangeRequest
) -> tuple[Household, dict[str, object]]:
    payload = change.payload
    household = change.household
    assert household is not None  # noqa: S101  (checked by change_approve)
    head = payload["household"]
    applied: dict[str, object] = {}
    main, secondary = head["main_cause"], list(head["secondary_causes"])
    current = [household.second_cause, household.third_cause]
    if main and (
        main != household.main_cause or secondary != [c for c in current if c]
    ):
        household_set_causes(
            actor=actor, household=household, main=main, secondary=secondary
        )
        applied["causes"] = [main, *secondary]
    point = _point(payload)
    if point is not None and (household.latitude, household.longitude) != point:
        household_update(
            actor=actor, household=household, latitude=point[0], longitude=point[1]
        )
        applied["location"] = [str(point[0]), str(point[1])]
    existing = {m.id_hash: m for m in household.members.filter(active=True)}
    added, updated = [], []
    for member, data in _member_inputs(change, payload["members"]):
        found = existing.get(idnumbers.id_hash(data.id_number))
        if found is None:
            member_add(actor=actor, household=household, member=data)
            added.append(member["id_masked"])
            continue
        changes = {
            name: getattr(data, name)
            for name in (*_MEMBER_FIELDS, "skills")
            if getattr(data, name) != getattr(found, name)
            and not (name == "skills" and not data.skills)
        }
        if changes:
            member_update(actor=actor, member=found, **changes)
            updated.append(member["id_masked"])
    if added:
        applied["members_added"] = added
    if updated:
        applied["members_updated"] = updated
    snapshot_record(
        actor=actor,
        household=household,
        year=int(payload["year"]),
        **snapshot_from_json(payload["snapshot"]),
    )
    applied["snapshot"] = payload["year"]
    return household, applied
