"""Demo logins: one per role, each scoped where its work is."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from propoor.accounts.models import Role, User
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division
from propoor.core.errors import NotFound
from propoor.households.models import Household
from propoor.seeding.demo import DEMO_PASSWORD, demo_users_create

pytestmark = pytest.mark.django_db

COUNTY = "530102000000"


@pytest.fixture
def seeded() -> None:
    call_command("seed", households=300, seed=7, year=2024, no_progress=True)


def _scopes(username: str) -> list[str]:
    return sorted(
        User.objects.get(username=username).scopes.values_list("code", flat=True)
    )


def test_one_login_per_role_with_the_demo_password(seeded: None) -> None:
    logins = demo_users_create(county_code=COUNTY)

    assert [x.role for x in logins] == list(Role.values)
    assert [x.username for x in logins] == [f"demo_{r}" for r in Role.values]
    assert {x.password for x in logins} == {DEMO_PASSWORD}
    for login in logins:
        user = authenticate(username=login.username, password=DEMO_PASSWORD)
        assert user is not None
        assert user.role == login.role


def test_scopes_follow_the_division_tree(seeded: None) -> None:
    logins = {x.role: x for x in demo_users_create(county_code=COUNTY)}

    village = _scopes("demo_village_cadre")
    assert len(village) == 1
    township = Division.objects.get(code=village[0]).parent_id
    assert _scopes("demo_county_admin") == [COUNTY]
    assert _scopes("demo_township_officer") == [township]
    assert _scopes("demo_cooperative") == [township]
    assert _scopes("demo_household") == village
    assert _scopes("demo_buyer") == []
    for role in ("trainer", "lender", "insurer", "auditor"):
        assert _scopes(f"demo_{role}") == [COUNTY]
    station = _scopes("demo_station_operator")
    assert Division.objects.get(code=station[0]).parent_id == township
    assert logins[Role.COUNTY_ADMIN].scope.startswith("county ")
    assert logins[Role.BUYER].scope == "— (the public market)"


def test_the_cadre_gets_the_village_with_most_households_with_causes(
    seeded: None,
) -> None:
    demo_users_create(county_code=COUNTY)
    with_causes = {
        code: Household.objects.filter(village=code).exclude(main_cause="").count()
        for code in Division.objects.filter(level="village").values_list(
            "code", flat=True
        )
    }

    village = _scopes("demo_village_cadre")[0]

    assert with_causes[village] == max(with_causes.values())


def test_the_household_login_is_a_household_of_the_cadres_village(seeded: None) -> None:
    logins = {x.role: x for x in demo_users_create(county_code=COUNTY)}
    user = User.objects.get(username="demo_household")

    assert user.household is not None
    assert user.household.village_id == _scopes("demo_village_cadre")[0]
    assert user.household.main_cause != ""
    assert scope_of(user).covers(user.household.village_id)
    assert logins[Role.HOUSEHOLD].scope.startswith(
        f"household {user.household.number} {user.household.head_name}, village "
    )


def test_creating_the_demo_logins_twice_creates_nothing_new(seeded: None) -> None:
    first = demo_users_create(county_code=COUNTY)
    users = User.objects.count()

    second = demo_users_create(county_code=COUNTY)

    assert second == first
    assert User.objects.count() == users == 11


def test_a_county_that_is_not_seeded_has_no_demo_logins() -> None:
    with pytest.raises(NotFound, match="No county 530102000000"):
        demo_users_create(county_code=COUNTY)

    assert User.objects.count() == 0


def test_reset_deletes_the_demo_logins_with_the_county(seeded: None) -> None:
    demo_users_create(county_code=COUNTY)

    call_command(
        "seed", households=300, seed=7, year=2024, no_progress=True, reset=True
    )

    assert User.objects.filter(username__startswith="demo_").count() == 0
    assert Household.objects.count() == 300
