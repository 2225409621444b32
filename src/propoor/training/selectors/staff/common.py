"""What the staff selectors share: roles, scope, the visible cohorts and households."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from propoor.accounts.models import User
from propoor.accounts.roles import Role, require_role
from propoor.accounts.scope import Scope, scope_of
from propoor.areas.models import Division
from propoor.core.errors import NotFound
from propoor.households.models import (
    Household,
)
from propoor.training.models import (
    Cohort,
)

if TYPE_CHECKING:
    pass

STAFF = (Role.TRAINER, Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER, Role.VILLAGE_CADRE)
TRAINING_KIND = "training"
CENT = Decimal("0.01")


def _share(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def _staff_scope(user: User) -> Scope:
    require_role(user, STAFF)
    return scope_of(user)


def _visible_cohorts(user: User) -> QuerySet[Cohort]:
    scope = _staff_scope(user)
    cohorts = Cohort.objects.select_related("course", "area", "trainer")
    if scope.everything:
        return cohorts
    return cohorts.filter(scope.q("area__code") | Q(trainer=user))


def _cohort_get(user: User, cohort_id: int) -> Cohort:
    cohort = _visible_cohorts(user).filter(pk=cohort_id).first()
    if cohort is None:
        raise NotFound(_("No such cohort."), extra={"cohort": cohort_id})
    return cohort


def _area(scope: Scope, area_code: str | None) -> Division | None:
    """The area a page is narrowed to (None: the whole scope); outside it: NotFound."""
    if not area_code:
        return None
    area = Division.objects.filter(code=area_code).first()
    if area is None or not scope.covers(area.code):
        raise NotFound(_("No such area."), extra={"area": area_code})
    return area


def _households(scope: Scope, area: Division | None) -> QuerySet[Household]:
    households = Household.objects.filter(scope.q("village__code"))
    if area is not None:
        households = households.filter(village__code__startswith=area.prefix)
    return households
