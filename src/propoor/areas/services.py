"""Writes on the division tree and village profiles."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from propoor.accounts.roles import REGISTRY_WRITERS, Role, require_role
from propoor.accounts.scope import scope_of
from propoor.areas.models import LEVEL_DIGITS, Division, Level, VillageProfile
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, NotFound, ValidationFailed

if TYPE_CHECKING:
    from propoor.accounts.models import User

# The level directly above each level.
PARENT_LEVEL = {
    Level.PREFECTURE: Level.PROVINCE,
    Level.COUNTY: Level.PREFECTURE,
    Level.TOWNSHIP: Level.COUNTY,
    Level.VILLAGE: Level.TOWNSHIP,
}


def _level_name(level: str) -> str:
    """The level's name in the active language, in lower case ("county" in English)."""
    return str(Level(level).label).lower()


def code_problem(code: str, level: str) -> str | None:
    """Why ``code`` is not a valid 12-digit code at ``level`` (None when it is)."""
    if len(code) != 12 or not code.isascii() or not code.isdigit():
        return _("A division code has 12 digits; got %(code)s.") % {"code": repr(code)}
    digits = LEVEL_DIGITS[level]
    if code[digits:] != "0" * (12 - digits):
        return _(
            "A %(level)s code has %(digits)s significant digits followed by zeros; "
            "%(code)s does not end in %(zeros)s zeros."
        ) % {
            "level": _level_name(level),
            "digits": digits,
            "code": code,
            "zeros": 12 - digits,
        }
    # The last significant group must not be all zeros (that is the parent's code).
    previous = max((d for d in LEVEL_DIGITS.values() if d < digits), default=0)
    if code[previous:digits] == "0" * (digits - previous):
        return _(
            "%(code)s is not a %(level)s code: digits %(first)s-%(last)s are zero."
        ) % {
            "code": code,
            "level": _level_name(level),
            "first": previous + 1,
            "last": digits,
        }
    return None


def division_create(
    *,
    code: str,
    name: str,
    level: str,
    parent: Division | None = None,
    name_en: str = "",
    western: bool | None = None,
    actor: User | None = None,
) -> Division:
    """Add a node to the division tree.

    ``actor`` None is the system (seeding, import); a user must be a county
    administrator whose scope covers the parent.
    """
    if level not in LEVEL_DIGITS:
        raise ValidationFailed(
            _("Unknown level %(level)s.") % {"level": repr(level)},
            extra={"fields": {"level": [f"Choose one of {', '.join(LEVEL_DIGITS)}."]}},
        )
    if actor is not None:
        require_role(actor, {Role.COUNTY_ADMIN})
        if parent is None or not scope_of(actor).covers(parent.code):
            raise NotFound(_("No such parent division."))
    errors: dict[str, list[str]] = {}
    problem = code_problem(code, level)
    if problem is not None:
        errors["code"] = [problem]
    if level == Level.PROVINCE:
        if parent is not None:
            errors["parent"] = ["A province has no parent."]
    elif parent is None:
        errors["parent"] = [f"A {level} needs its {PARENT_LEVEL[Level(level)]}."]
    else:
        expected = PARENT_LEVEL[Level(level)]
        if parent.level != expected:
            errors["parent"] = [
                f"A {level} sits under a {expected}, not under a {parent.level}."
            ]
        elif not code.startswith(parent.prefix):
            errors["code"] = [
                *errors.get("code", []),
                f"{code} is not under {parent.code}: it must start with "
                f"{parent.prefix}.",
            ]
    if errors:
        raise ValidationFailed(
            _("Division %(code)s is not valid.") % {"code": code},
            extra={"fields": errors},
        )
    if Division.objects.filter(code=code).exists():
        raise Conflict(
            _("Division %(code)s already exists.") % {"code": code},
            extra={"code": code},
        )
    if western is None:
        western = parent.western if parent is not None else False
    division = Division(
        code=code,
        name=name.strip(),
        name_en=name_en.strip(),
        level=level,
        parent=parent,
        prefix=code[: LEVEL_DIGITS[level]],
        western=western,
    )
    with transaction.atomic():
        _full_clean(division, _("Division %(code)s is not valid.") % {"code": code})
        division.save(force_insert=True)
        audit_append(
            action="division.create",
            actor=actor,
            object_type="division",
            object_id=code,
            data={"name": division.name, "level": level, "parent": division.parent_id},
        )
    return division


PROFILE_FIELDS = frozenset(
    f.name
    for f in VillageProfile._meta.get_fields()
    if f.concrete and f.name != "village"
)
_PROFILE_DECIMALS = frozenset(
    {"km_to_county_seat", "km_to_paved_road", "latitude", "longitude"}
)


def village_profile_set(
    *, actor: User | None, village_code: str, **fields: object
) -> VillageProfile:
    """Create or update a village's profile; fields not given keep their value."""
    if actor is not None:
        require_role(actor, REGISTRY_WRITERS)
    village = Division.objects.filter(code=village_code, level=Level.VILLAGE).first()
    if village is None or (
        actor is not None and not scope_of(actor).covers(village.code)
    ):
        raise NotFound(_("No village %(village)s.") % {"village": village_code})
    unknown = sorted(set(fields) - PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("Unknown profile fields."),
            extra={"fields": {name: ["Unknown field."] for name in unknown}},
        )
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {}
    for name, value in fields.items():
        if name in _PROFILE_DECIMALS and value is not None:
            if isinstance(value, float):
                errors[name] = ["Give a decimal number as a string, not a float."]
                continue
            try:
                value = Decimal(str(value))
            except InvalidOperation:
                errors[name] = [f"Not a number: {value!r}."]
                continue
            if name.startswith("km_") and value < 0:
                errors[name] = ["A distance cannot be negative."]
                continue
        values[name] = value
    if errors:
        raise ValidationFailed(
            _("The village profile is not valid."), extra={"fields": errors}
        )
    with transaction.atomic():
        profile = (
            VillageProfile.objects.select_for_update().filter(village=village).first()
        )
        created = profile is None
        if profile is None:
            profile = VillageProfile(village=village)
        for name, value in values.items():
            setattr(profile, name, value)
        if profile.latitude is not None and not -90 <= profile.latitude <= 90:
            errors["latitude"] = ["A latitude lies between -90 and 90."]
        if profile.longitude is not None and not -180 <= profile.longitude <= 180:
            errors["longitude"] = ["A longitude lies between -180 and 180."]
        if errors:
            raise ValidationFailed(
                _("The village profile is not valid."), extra={"fields": errors}
            )
        _full_clean(profile, _("The village profile is not valid."))
        profile.save()
        audit_append(
            action="village_profile.create" if created else "village_profile.update",
            actor=actor,
            object_type="village_profile",
            object_id=village.code,
            data={"fields": {k: values[k] for k in sorted(values)}},
        )
    return profile


def _full_clean(obj: Division | VillageProfile, message: str) -> None:
    try:
        obj.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise ValidationFailed(message, extra={"fields": exc.message_dict}) from exc
