"""Households: register, update, causes of poverty, status life cycle."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from propoor.accounts.roles import REGISTRY_WRITERS, require_role
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division, Level
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, NotFound, ValidationFailed
from propoor.households.models import (
    Category,
    Household,
    Relation,
    Status,
    StatusChange,
)
from propoor.households.services._common import (
    FieldErrors,
    authorize,
    check_causes,
    choice_error,
    clean_or_fail,
    fail,
    lock_household,
)
from propoor.households.services.members import (
    MemberInput,
    audit_member,
    member_errors,
    new_member,
    protect_members,
    save_members,
)

if TYPE_CHECKING:
    from propoor.accounts.models import User

logger = logging.getLogger(__name__)

ALLOWED_TRANSITIONS: Mapping[str, frozenset[str]] = {
    Status.REGISTERED: frozenset({Status.IDENTIFIED, Status.NOT_POOR}),
    Status.IDENTIFIED: frozenset({Status.IN_PLAN, Status.EXITED, Status.NOT_POOR}),
    Status.IN_PLAN: frozenset({Status.EXITED}),
    Status.EXITED: frozenset({Status.MONITORED, Status.RETURNED}),
    Status.MONITORED: frozenset({Status.EXITED, Status.RETURNED}),
    Status.RETURNED: frozenset({Status.IN_PLAN, Status.IDENTIFIED}),
    Status.NOT_POOR: frozenset({Status.IDENTIFIED}),
}


def _next_number(village: Division) -> str:
    """``<village code>-<4-digit seq>``; call with the village row locked."""
    last = (
        Household.objects.filter(number__startswith=f"{village.code}-")
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    seq = 1 if last is None else int(last.rsplit("-", 1)[1]) + 1
    if seq > 9999:
        raise Conflict(
            _("Village %(village)s has no household numbers left.")
            % {"village": village.code}
        )
    return f"{village.code}-{seq:04d}"


def _head_errors(relations: Sequence[str]) -> FieldErrors:
    if sum(1 for r in relations if r == Relation.HEAD) > 1:
        return {"relation": ["A household has one head."]}
    return {}


def household_register(
    *,
    actor: User | None,
    village_code: str,
    head_name: str,
    members: Sequence[MemberInput] = (),
    category: str = Category.ORDINARY,
    main_cause: str = "",
    secondary_causes: Sequence[str] = (),
    address: str = "",
    phone: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> Household:
    """Register a household and its members in a village; it starts as registered."""
    if actor is not None:
        require_role(actor, REGISTRY_WRITERS)
    village = Division.objects.filter(code=village_code, level=Level.VILLAGE).first()
    if village is None or (
        actor is not None and not scope_of(actor).covers(village_code)
    ):
        raise NotFound(_("No village %(village)s.") % {"village": village_code})
    errors: FieldErrors = {}
    if not head_name.strip():
        errors["head_name"] = ["Give the head's name."]
    if category not in Category.values:
        choice_error(errors, "category", category, Category)
    errors.update(check_causes(main_cause, list(secondary_causes)))
    for index, data in enumerate(members):
        errors.update(member_errors(data, f"members.{index}."))
    errors.update(_head_errors([m.relation for m in members]))
    if errors:
        raise fail(_("The household is not valid."), errors)
    protected = protect_members(actor, members, exclude_member=None)
    secondary = [*secondary_causes, "", ""]
    with transaction.atomic():
        Division.objects.select_for_update().filter(pk=village.pk).first()
        household = Household(
            number=_next_number(village),
            village=village,
            head_name=head_name.strip(),
            address=address.strip(),
            phone=phone.strip(),
            category=category,
            main_cause=main_cause,
            second_cause=secondary[0],
            third_cause=secondary[1],
            latitude=latitude,
            longitude=longitude,
        )
        clean_or_fail(household, _("The household is not valid."))
        household.save()
        rows = [
            new_member(household, data, pid)
            for data, pid in zip(members, protected, strict=True)
        ]
        save_members(actor, rows)
        audit_append(
            action="household.register",
            actor=actor,
            object_type="household",
            object_id=household.pk,
            data={
                "number": household.number,
                "village": village.code,
                "head_name": household.head_name,
                "category": category,
                "causes": [main_cause, *secondary_causes],
                "members": [audit_member(m) for m in rows],
            },
        )
    logger.info("household %s registered with %d members", household.number, len(rows))
    return household


HOUSEHOLD_EDITABLE = frozenset(
    {"head_name", "address", "phone", "category", "latitude", "longitude"}
)


def household_update(
    *, actor: User | None, household: Household, **fields: object
) -> Household:
    """Change the household's own fields (not its village, number, status or causes)."""
    authorize(actor, household.village_id)
    errors: FieldErrors = {
        name: ["This field cannot be changed here."]
        for name in sorted(set(fields) - HOUSEHOLD_EDITABLE)
    }
    for name in sorted(set(fields) & {"address", "phone", "category"}):
        if fields[name] is None:
            errors[name] = ["This field cannot be empty."]
    if "head_name" in fields and not str(fields["head_name"] or "").strip():
        errors["head_name"] = ["Give the head's name."]
    if "category" in fields and fields["category"] not in Category.values:
        choice_error(errors, "category", fields["category"], Category)
    if errors:
        raise fail(_("The household is not valid."), errors)
    with transaction.atomic():
        lock_household(household)
        before = {name: getattr(household, name) for name in fields}
        for name, value in fields.items():
            setattr(household, name, value.strip() if isinstance(value, str) else value)
        try:
            clean_or_fail(household, _("The household is not valid."))
        except ValidationFailed:
            household.refresh_from_db()
            raise
        household.save(update_fields=[*sorted(fields), "updated_at"])
        audit_append(
            action="household.update",
            actor=actor,
            object_type="household",
            object_id=household.pk,
            data={
                "number": household.number,
                "before": before,
                "after": {name: getattr(household, name) for name in fields},
            },
        )
    return household


def household_set_causes(
    *,
    actor: User | None,
    household: Household,
    main: str,
    secondary: Sequence[str] = (),
) -> Household:
    """One main cause of poverty and up to two distinct secondary ones."""
    authorize(actor, household.village_id)
    errors = check_causes(main, list(secondary))
    if not main:
        errors["main_cause"] = ["Name the main cause."]
    if errors:
        raise fail(_("The causes are not valid."), errors)
    rest = [*secondary, "", ""]
    with transaction.atomic():
        lock_household(household)
        before = [household.main_cause, household.second_cause, household.third_cause]
        household.main_cause, household.second_cause, household.third_cause = (
            main,
            rest[0],
            rest[1],
        )
        clean_or_fail(household, _("The causes are not valid."))
        household.save(
            update_fields=["main_cause", "second_cause", "third_cause", "updated_at"]
        )
        audit_append(
            action="household.set_causes",
            actor=actor,
            object_type="household",
            object_id=household.pk,
            data={
                "number": household.number,
                "before": [c for c in before if c],
                "after": [main, *secondary],
            },
        )
    return household


def household_set_status(
    *, actor: User | None, household: Household, new_status: str, reason: str
) -> Household:
    """Move the household through its life cycle (see ALLOWED_TRANSITIONS)."""
    authorize(actor, household.village_id)
    if new_status not in Status.values:
        raise fail(
            _("Unknown status %(status)s.") % {"status": repr(new_status)},
            {"new_status": [f"Choose one of {', '.join(Status.values)}."]},
        )
    if not reason.strip():
        raise fail(_("Give a reason for the status change."), {"reason": ["Required."]})
    with transaction.atomic():
        current = (
            Household.objects.select_for_update()
            .filter(pk=household.pk)
            .values_list("status", flat=True)
            .get()
        )
        allowed = ALLOWED_TRANSITIONS[Status(current)]
        if new_status not in allowed:
            raise Conflict(
                _(
                    "Household %(household)s cannot go from %(current)s to "
                    "%(new)s; from %(current)s it can go to %(allowed)s."
                )
                % {
                    "household": household.number,
                    "current": current,
                    "new": new_status,
                    "allowed": ", ".join(sorted(allowed)),
                },
                extra={"from": current, "to": new_status, "allowed": sorted(allowed)},
            )
        change = StatusChange(
            household=household,
            old_status=current,
            new_status=new_status,
            by=actor,
            reason=reason.strip(),
        )
        clean_or_fail(
            change, _("The status change is not valid."), exclude=["household", "by"]
        )
        change.save()
        household.status = new_status
        household.save(update_fields=["status", "updated_at"])
        audit_append(
            action="household.set_status",
            actor=actor,
            object_type="household",
            object_id=household.pk,
            data={
                "number": household.number,
                "from": current,
                "to": new_status,
                "reason": change.reason,
            },
        )
    return household
