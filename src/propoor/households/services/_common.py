"""Helpers shared by the registry services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from propoor.accounts.roles import REGISTRY_WRITERS, require_role
from propoor.accounts.scope import scope_of
from propoor.core.errors import NotFound, ValidationFailed
from propoor.households.models import Cause, Household

if TYPE_CHECKING:
    from propoor.accounts.models import User

FieldErrors = dict[str, list[str]]


def authorize(actor: User | None, village_code: str) -> None:
    """A writer role, and the village inside the actor's scope (else 404)."""
    if actor is None:
        return
    require_role(actor, REGISTRY_WRITERS)
    if not scope_of(actor).covers(village_code):
        raise NotFound(_("No such household."))


def clean_or_fail(
    obj: models.Model, message: str, *, exclude: Sequence[str] = ()
) -> None:
    try:
        obj.full_clean(exclude=list(exclude) or None, validate_unique=False)
    except ValidationError as exc:
        raise ValidationFailed(message, extra={"fields": exc.message_dict}) from exc


def fail(message: str, errors: FieldErrors) -> ValidationFailed:
    return ValidationFailed(message, extra={"fields": errors})


def choice_error(errors: FieldErrors, name: str, value: object, choices: type) -> None:
    if value not in choices.values:  # type: ignore[attr-defined]
        errors.setdefault(name, []).append(
            f"{value!r} is not a valid choice; choose one of "
            f"{', '.join(choices.values)}."  # type: ignore[attr-defined]
        )


def check_causes(main: str, secondary: Sequence[str]) -> FieldErrors:
    errors: FieldErrors = {}
    if main:
        choice_error(errors, "main_cause", main, Cause)
    elif secondary:
        errors["main_cause"] = ["Name the main cause before secondary causes."]
    if len(secondary) > 2:
        errors["secondary_causes"] = ["At most two secondary causes."]
    for cause in secondary:
        if cause not in Cause.values:
            choice_error(errors, "secondary_causes", cause, Cause)
    everything = [main, *secondary] if main else list(secondary)
    if len(set(everything)) != len(everything):
        errors.setdefault("secondary_causes", []).append("The causes must be distinct.")
    return errors


def lock_household(household: Household) -> None:
    """Lock the household's row for the rest of the transaction."""
    Household.objects.select_for_update().filter(pk=household.pk).values_list(
        "pk", flat=True
    ).first()
