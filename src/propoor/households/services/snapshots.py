"""Yearly survey snapshots: create or update, validated field by field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.core.audit import audit_append
from propoor.core.errors import ValidationFailed
from propoor.core.money import MoneyField, to_money
from propoor.households.models import Household, Snapshot
from propoor.households.services._common import (
    FieldErrors,
    authorize,
    fail,
    lock_household,
)

if TYPE_CHECKING:
    from propoor.accounts.models import User

FIRST_YEAR = 2010


_SNAPSHOT_FIELDS = {
    f.name: f
    for f in Snapshot._meta.get_fields()
    if f.concrete
    and f.name not in {"id", "household", "year", "surveyed_by", "updated_at"}
}
MONEY_FIELDS = frozenset(
    name for name, f in _SNAPSHOT_FIELDS.items() if isinstance(f, MoneyField)
)
_DECIMAL_FIELDS = frozenset(
    name
    for name, f in _SNAPSHOT_FIELDS.items()
    if isinstance(f, models.DecimalField) and name not in MONEY_FIELDS
)
_CHOICE_FIELDS = frozenset(name for name, f in _SNAPSHOT_FIELDS.items() if f.choices)
_LIST_FIELDS = frozenset({"skills", "wishes"})
# Fields a new snapshot must be given (the others have a default).
SNAPSHOT_REQUIRED = frozenset(
    name
    for name, f in _SNAPSHOT_FIELDS.items()
    if not f.has_default() and not f.blank and name != "surveyed_on"
)


def _coerce(name: str, value: object, errors: FieldErrors) -> object:
    """Turn one input value into the field's type, or note why it cannot be."""

    def bad(message: str) -> None:
        errors.setdefault(name, []).append(message)

    if name in MONEY_FIELDS or name in _DECIMAL_FIELDS:
        if isinstance(value, float):
            bad("Give an amount as a string or a Decimal, not a float.")
            return None
        try:
            amount = (
                to_money(value)  # type: ignore[arg-type]
                if name in MONEY_FIELDS
                else Decimal(str(value))
            )
        except (ValueError, TypeError, InvalidOperation):
            bad(f"Not a number: {value!r}.")
            return None
        if name in MONEY_FIELDS and Decimal(str(value)) != amount:
            bad("An amount has at most two decimal places.")
            return None
        if amount < 0:
            bad("Cannot be negative.")
            return None
        return amount
    if name in _CHOICE_FIELDS:
        choices = [c[0] for c in _SNAPSHOT_FIELDS[name].choices]  # type: ignore[union-attr]
        if value not in choices:
            bad(f"{value!r} is not a valid choice; choose one of {', '.join(choices)}.")
            return None
        return value
    if name in _LIST_FIELDS:
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, str) for v in value
        ):
            bad("Give a list of strings.")
            return None
        return list(value)
    internal = _SNAPSHOT_FIELDS[name].get_internal_type()
    if internal == "BooleanField":
        if not isinstance(value, bool):
            bad("Give true or false.")
            return None
        return value
    if internal in {"PositiveSmallIntegerField", "SmallIntegerField", "IntegerField"}:
        if isinstance(value, bool) or not isinstance(value, int):
            bad("Give a whole number.")
            return None
        if value < 0:
            bad("Cannot be negative.")
            return None
        return value
    if internal == "DateField" and not isinstance(value, date):
        bad("Give a date.")
        return None
    return value


def _snapshot_rules(snap: Snapshot, bad: set[str]) -> FieldErrors:
    """Rules across fields; fields already found bad are not judged again."""
    errors: FieldErrors = {}

    def rule(names: tuple[str, ...], ok: bool, target: str, message: str) -> None:
        if not ok and not bad.intersection(names):
            errors.setdefault(target, []).append(message)

    today = timezone.localdate()
    size = snap.size or 0
    rule(("size",), size >= 1, "size", "A household has at least one person.")
    rule(
        ("children_out_of_school", "school_age_children"),
        snap.children_out_of_school <= snap.school_age_children,
        "children_out_of_school",
        "Cannot exceed the number of school-age children "
        f"({snap.school_age_children}).",
    )
    for name in ("school_age_children", "members_ill_or_disabled"):
        rule(
            (name, "size"),
            getattr(snap, name) <= size,
            name,
            f"Cannot exceed the household size ({size}).",
        )
    rule(
        ("labourers_full", "labourers_partial", "size"),
        snap.labourers_full + snap.labourers_partial <= size,
        "labourers_partial" if snap.labourers_partial else "labourers_full",
        f"Full and partial labourers together cannot exceed the household size "
        f"({size}).",
    )
    rule(
        ("head_elderly", "head_child"),
        not (snap.head_elderly and snap.head_child),
        "head_child",
        "The head cannot be both a child and elderly.",
    )
    rule(
        ("income_ecommerce", "income_business"),
        snap.income_ecommerce <= snap.income_business,
        "income_ecommerce",
        "E-commerce income is part of business income and cannot exceed it "
        f"({snap.income_business}).",
    )
    rule(
        (),
        FIRST_YEAR <= snap.year <= today.year,
        "year",
        f"The year must lie between {FIRST_YEAR} and {today.year}.",
    )
    if isinstance(snap.surveyed_on, date):
        rule(
            ("surveyed_on",),
            snap.surveyed_on <= today,
            "surveyed_on",
            "The survey date cannot be in the future.",
        )
        rule(
            ("surveyed_on",),
            snap.surveyed_on.year >= snap.year,
            "surveyed_on",
            f"A survey of {snap.year} cannot be dated before {snap.year}.",
        )
    return errors


def snapshot_record(
    *, actor: User | None, household: Household, year: int, **fields: object
) -> Snapshot:
    """Create or update the household's survey snapshot of ``year``.

    On update, fields not given keep their value. Raises ValidationFailed with
    ``extra["fields"]`` naming every bad field; nothing is written then.
    """
    authorize(actor, household.village_id)
    errors: FieldErrors = {
        name: ["Unknown field."] for name in sorted(set(fields) - set(_SNAPSHOT_FIELDS))
    }
    if isinstance(year, bool) or not isinstance(year, int):
        raise fail(_("The snapshot is not valid."), {"year": ["Give a whole year."]})
    values: dict[str, object] = {}
    for name, value in fields.items():
        if name in errors:
            continue
        if value is None and not _SNAPSHOT_FIELDS[name].null:
            errors.setdefault(name, []).append("This field cannot be empty.")
            continue
        before = len(errors.get(name, []))
        coerced = _coerce(name, value, errors)
        if len(errors.get(name, [])) == before:
            values[name] = coerced
    with transaction.atomic():
        lock_household(household)
        snap = (
            Snapshot.objects.select_for_update()
            .filter(household=household, year=year)
            .first()
        )
        created = snap is None
        if snap is None:
            snap = Snapshot(household=household, year=year)
            snap.surveyed_on = timezone.localdate()
            for name in sorted(SNAPSHOT_REQUIRED - set(fields)):
                errors.setdefault(name, []).append("This field is required.")
        for name, value in values.items():
            setattr(snap, name, value)
        if actor is not None:
            snap.surveyed_by = actor
        for name, messages in _snapshot_rules(snap, set(errors)).items():
            errors.setdefault(name, []).extend(messages)
        if not errors:
            try:
                snap.full_clean(
                    exclude=["household", "surveyed_by"], validate_unique=False
                )
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if errors:
            raise ValidationFailed(
                _(
                    "The %(year)s snapshot of household %(household)s is not valid: "
                    "check %(fields)s."
                )
                % {
                    "year": year,
                    "household": household.number,
                    "fields": ", ".join(sorted(errors)),
                },
                extra={"fields": {k: errors[k] for k in sorted(errors)}},
            )
        snap.save()
        audit_append(
            action="snapshot.create" if created else "snapshot.update",
            actor=actor,
            object_type="household",
            object_id=household.pk,
            data={
                "number": household.number,
                "year": year,
                "fields": {k: values[k] for k in sorted(values)},
            },
        )
    return snap
