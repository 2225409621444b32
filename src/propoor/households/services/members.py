"""Members: add, correct, remove (softly), reveal an ID number (audited)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from propoor.accounts.roles import Role, require_role
from propoor.accounts.scope import scope_of
from propoor.core.audit import audit_append
from propoor.core.errors import (
    ApplicationError,
    Conflict,
    DuplicatePerson,
    NotFound,
    ValidationFailed,
)
from propoor.households import idnumbers
from propoor.households.models import (
    Health,
    Household,
    Labour,
    Member,
    Relation,
    Schooling,
)
from propoor.households.services._common import (
    FieldErrors,
    authorize,
    choice_error,
    clean_or_fail,
    fail,
    lock_household,
)

if TYPE_CHECKING:
    from propoor.accounts.models import User


@dataclass(frozen=True)
class MemberInput:
    """One member as entered; ``id_number`` is the clear number (never in repr)."""

    name: str
    id_number: str = field(repr=False)
    relation: str = Relation.OTHER
    labour: str = Labour.FULL
    health: str = Health.HEALTHY
    schooling: str = Schooling.PRIMARY
    in_school: bool = False
    skills: str = ""


def audit_member(member: Member) -> dict[str, object]:
    return {
        "member": member.pk,
        "name": member.name,
        "id_masked": member.id_masked,
        "relation": member.relation,
    }


def duplicate_error(
    actor: User | None, masked: str, existing: Member
) -> DuplicatePerson:
    household = existing.household
    visible = actor is None or scope_of(actor).covers(household.village_id)
    if visible:
        if existing.active:
            message = _(
                "ID number %(id_number)s is already registered in household "
                "%(household)s."
            )
        else:
            message = _(
                "ID number %(id_number)s is already registered in household "
                "%(household)s (as a removed member)."
            )
        return DuplicatePerson(
            message % {"id_number": masked, "household": household.number},
            extra={"id_number": masked, "household": household.number},
        )
    return DuplicatePerson(
        _(
            "ID number %(id_number)s is already registered in a household outside "
            "your area; ask the county office."
        )
        % {"id_number": masked},
        extra={"id_number": masked},
    )


def member_errors(data: MemberInput, prefix: str) -> FieldErrors:
    errors: FieldErrors = {}
    if not data.name.strip():
        errors[f"{prefix}name"] = ["Give the member's name."]
    for name, value, choices in (
        ("relation", data.relation, Relation),
        ("labour", data.labour, Labour),
        ("health", data.health, Health),
        ("schooling", data.schooling, Schooling),
    ):
        if value not in choices.values:
            choice_error(errors, f"{prefix}{name}", value, choices)
    return errors


def protect_members(
    actor: User | None, inputs: Sequence[MemberInput], *, exclude_member: int | None
) -> list[idnumbers.ProtectedId]:
    """Validate and protect the ID numbers; refuse a person already registered."""
    protected: list[idnumbers.ProtectedId] = []
    errors: FieldErrors = {}
    first_message = ""
    for index, data in enumerate(inputs):
        try:
            protected.append(idnumbers.protect(data.id_number))
        except ValidationFailed as exc:
            name = "id_number" if len(inputs) == 1 else f"members.{index}.id_number"
            errors[name] = [exc.message]
            first_message = first_message or exc.message
    if errors:
        raise fail(first_message, errors)
    seen: set[str] = set()
    for pid in protected:
        if pid.hash in seen:
            raise DuplicatePerson(
                _("ID number %(id_number)s is given twice.")
                % {"id_number": pid.masked},
                extra={"id_number": pid.masked},
            )
        seen.add(pid.hash)
    existing = Member.objects.select_related("household").filter(id_hash__in=seen)
    if exclude_member is not None:
        existing = existing.exclude(pk=exclude_member)
    found = existing.order_by("pk").first()
    if found is not None:
        raise duplicate_error(actor, found.id_masked, found)
    return protected


def new_member(
    household: Household, data: MemberInput, pid: idnumbers.ProtectedId
) -> Member:
    return Member(
        household=household,
        name=data.name.strip(),
        id_cipher=pid.cipher,
        id_hash=pid.hash,
        id_masked=pid.masked,
        relation=data.relation,
        sex=pid.sex,
        birth_date=pid.birth_date,
        labour=data.labour,
        health=data.health,
        schooling=data.schooling,
        in_school=data.in_school,
        skills=data.skills.strip(),
    )


def save_members(actor: User | None, members: Sequence[Member]) -> None:
    """Insert members; a concurrent registration of the same person is a 409."""
    for member in members:
        clean_or_fail(member, _("The member is not valid."), exclude=["household"])
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError:
            existing = (
                Member.objects.select_related("household")
                .filter(id_hash=member.id_hash)
                .first()
            )
            if existing is None:
                raise
            raise duplicate_error(actor, member.id_masked, existing) from None


def member_add(
    *, actor: User | None, household: Household, member: MemberInput
) -> Member:
    authorize(actor, household.village_id)
    errors = member_errors(member, "")
    if (
        member.relation == Relation.HEAD
        and household.members.filter(active=True, relation=Relation.HEAD).exists()
    ):
        errors["relation"] = ["The household already has a head."]
    if errors:
        raise fail(_("The member is not valid."), errors)
    (pid,) = protect_members(actor, [member], exclude_member=None)
    row = new_member(household, member, pid)
    with transaction.atomic():
        lock_household(household)
        save_members(actor, [row])
        audit_append(
            action="member.add",
            actor=actor,
            object_type="household",
            object_id=household.pk,
            data={"number": household.number, **audit_member(row)},
        )
    return row


MEMBER_EDITABLE = frozenset(
    {
        "name",
        "id_number",
        "relation",
        "labour",
        "health",
        "schooling",
        "in_school",
        "skills",
    }
)


def _apply(
    actor: User | None,
    member: Member,
    merged: MemberInput,
    changed: Sequence[str],
    pid: idnumbers.ProtectedId | None,
) -> None:
    """Set the changed fields, validate and save (a clash on the ID hash is a 409)."""
    for name in changed:
        value = getattr(merged, name)
        setattr(member, name, value.strip() if isinstance(value, str) else value)
    if pid is not None:
        member.id_cipher, member.id_hash, member.id_masked = (
            pid.cipher,
            pid.hash,
            pid.masked,
        )
        member.sex, member.birth_date = pid.sex, pid.birth_date
    clean_or_fail(member, _("The member is not valid."), exclude=["household"])
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:
        existing = (
            Member.objects.select_related("household")
            .filter(id_hash=member.id_hash)
            .first()
        )
        if existing is None:
            raise
        raise duplicate_error(actor, member.id_masked, existing) from None


def member_update(*, actor: User | None, member: Member, **fields: object) -> Member:
    """Correct a member; a new ``id_number`` is validated, re-encrypted, re-hashed."""
    household = member.household
    authorize(actor, household.village_id)
    if not member.active:
        raise Conflict(
            _("A removed member cannot be changed."), extra={"member": member.pk}
        )
    errors: FieldErrors = {
        name: ["This field cannot be changed here."]
        for name in sorted(set(fields) - MEMBER_EDITABLE)
    }
    for name, value in fields.items():
        if value is None and name not in errors:
            errors[name] = ["This field cannot be empty."]
    if errors:
        raise fail(_("The member is not valid."), errors)
    merged = MemberInput(
        name=str(fields.get("name", member.name)),
        id_number=str(fields.get("id_number", "")),
        relation=str(fields.get("relation", member.relation)),
        labour=str(fields.get("labour", member.labour)),
        health=str(fields.get("health", member.health)),
        schooling=str(fields.get("schooling", member.schooling)),
        in_school=bool(fields.get("in_school", member.in_school)),
        skills=str(fields.get("skills", member.skills)),
    )
    errors = member_errors(merged, "")
    if (
        merged.relation == Relation.HEAD
        and household.members.filter(active=True, relation=Relation.HEAD)
        .exclude(pk=member.pk)
        .exists()
    ):
        errors["relation"] = ["The household already has a head."]
    if errors:
        raise fail(_("The member is not valid."), errors)
    pid = None
    if "id_number" in fields:
        (pid,) = protect_members(actor, [merged], exclude_member=member.pk)
    with transaction.atomic():
        lock_household(household)
        before = {
            "name": member.name,
            "id_masked": member.id_masked,
            "relation": member.relation,
        }
        changed = sorted(set(fields) - {"id_number"})
        try:
            _apply(actor, member, merged, changed, pid)
        except ApplicationError:
            member.refresh_from_db()  # leave the caller's object as stored
            raise
        if pid is not None:
            changed.append("id_number")
        audit_append(
            action="member.update",
            actor=actor,
            object_type="household",
            object_id=household.pk,
            data={
                "number": household.number,
                "member": member.pk,
                "changed": sorted(changed),
                "before": before,
                "after": {
                    "name": member.name,
                    "id_masked": member.id_masked,
                    "relation": member.relation,
                },
            },
        )
    return member


def member_remove(*, actor: User | None, member: Member, reason: str) -> Member:
    """Soft removal: the member leaves the household; the row stays for history."""
    household = member.household
    authorize(actor, household.village_id)
    if not reason.strip():
        raise fail(
            _("Give a reason for removing the member."), {"reason": ["Required."]}
        )
    if not member.active:
        raise Conflict(
            _("The member was already removed."), extra={"member": member.pk}
        )
    if member.relation == Relation.HEAD:
        raise Conflict(
            _("The head cannot be removed; make another member the head first."),
            extra={"member": member.pk},
        )
    with transaction.atomic():
        lock_household(household)
        member.active = False
        member.removed_reason = reason.strip()[:200]
        clean_or_fail(member, _("The member is not valid."), exclude=["household"])
        member.save(update_fields=["active", "removed_reason"])
        audit_append(
            action="member.remove",
            actor=actor,
            object_type="household",
            object_id=household.pk,
            data={
                "number": household.number,
                **audit_member(member),
                "reason": member.removed_reason,
            },
        )
    return member


def member_id_reveal(*, actor: User, member: Member, reason: str) -> str:
    """The clear ID number, for a county administrator, with the reason audited."""
    require_role(actor, {Role.COUNTY_ADMIN})
    if not scope_of(actor).covers(member.household.village_id):
        raise NotFound(_("No such member."))
    if not reason.strip():
        raise fail(
            _("Give a reason to reveal an ID number."), {"reason": ["Required."]}
        )
    audit_append(
        action="member.reveal_id",
        actor=actor,
        object_type="household",
        object_id=member.household_id,
        data={"member": member.pk, "id_masked": member.id_masked, "reason": reason},
    )
    return idnumbers.decrypt(member.id_cipher)
