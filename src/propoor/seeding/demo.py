"""Demo logins: one user per role, scoped to the right part of the demo county.

Every demo login shares one known password (printed by ``propoor demo``) and is named
``demo_<role>``. The village cadre gets the village with the most households that
carry a cause of poverty (so there is work to see), the township officer and the
cooperative that village's township, the household login one of its poorest
households, the station operator a village of that township with a service station.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from propoor.accounts.models import Role, User
from propoor.accounts.services import user_create
from propoor.areas.models import Division, Level, VillageProfile
from propoor.core.errors import NotFound
from propoor.households.models import Household
from propoor.seeding.services import DEMO_USER_PREFIX

# Public on purpose: the demo prints it next to every login.
DEMO_PASSWORD = "propoor-demo"  # noqa: S105


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    scope: str  # what the login may see, in words


def _label(division: Division | None) -> str:
    if division is None:
        return "— (the public market)"
    return f"{division.level} {division.name} ({division.code})"


def _describe(user: User) -> str:
    """The user's scope in words, from what is stored (not from what was planned)."""
    divisions = list(user.scopes.order_by("code"))
    scope = ", ".join(_label(d) for d in divisions) if divisions else _label(None)
    if user.household is not None:
        scope = f"household {user.household.number} {user.household.head_name}, {scope}"
    return scope


def _work_village(county: Division) -> Division:
    village_code = (
        Household.objects.filter(village__code__startswith=county.prefix)
        .exclude(main_cause="")
        .values("village")
        .annotate(n=Count("id"))
        .order_by("-n", "village")
        .values_list("village", flat=True)
        .first()
    )
    if village_code is None:
        village_code = (
            Division.objects.filter(level=Level.VILLAGE, code__startswith=county.prefix)
            .values_list("code", flat=True)
            .first()
        )
    if village_code is None:
        raise NotFound(
            _("County %(county)s has no village to give the demo logins.")
            % {"county": county.code}
        )
    return Division.objects.get(code=village_code)


def demo_users_create(
    *, county_code: str, password: str = DEMO_PASSWORD
) -> list[DemoLogin]:
    """Create the demo logins that do not exist yet; return all of them, in role order.

    Runs as the system (no actor); each new user is audited by ``user_create``.
    """
    county = Division.objects.filter(code=county_code, level=Level.COUNTY).first()
    if county is None:
        raise NotFound(
            _("No county %(county)s: seed it first.") % {"county": county_code}
        )
    village = _work_village(county)
    township = village.parent
    household = (
        Household.objects.filter(village=village)
        .exclude(main_cause="")
        .order_by("number")
        .first()
    ) or Household.objects.filter(village=village).order_by("number").first()
    # The cadre's village when it has a service station, else the township's first.
    stations = VillageProfile.objects.filter(
        village__parent=township, has_service_station=True
    )
    station_code = (
        village.code
        if stations.filter(village=village).exists()
        else stations.order_by("village_id").values_list("village", flat=True).first()
    )
    station = (
        village if station_code is None else Division.objects.get(code=station_code)
    )
    plan: list[tuple[Role, Division | None]] = [
        (Role.COUNTY_ADMIN, county),
        (Role.TOWNSHIP_OFFICER, township),
        (Role.VILLAGE_CADRE, village),
        (Role.HOUSEHOLD, village),
        (Role.COOPERATIVE, township),
        (Role.STATION_OPERATOR, station),
        (Role.BUYER, None),
        (Role.TRAINER, county),
        (Role.LENDER, county),
        (Role.INSURER, county),
        (Role.AUDITOR, county),
    ]
    logins: list[DemoLogin] = []
    with transaction.atomic():
        for role, division in plan:
            username = f"{DEMO_USER_PREFIX}{role.value}"
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_create(
                    username=username,
                    password=password,
                    role=role.value,
                    scope_codes=[division.code] if division is not None else [],
                    household=household if role == Role.HOUSEHOLD else None,
                )
            logins.append(DemoLogin(username, password, role.value, _describe(user)))
    return logins
