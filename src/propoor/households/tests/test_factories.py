from __future__ import annotations

import pytest

from propoor.accounts.models import Role
from propoor.households.models import Member, Snapshot
from propoor.households.tests.factories import (
    VILLAGE_A1,
    VILLAGE_B1,
    make_area_tree,
    make_household,
    make_user,
)

pytestmark = pytest.mark.django_db


def test_make_area_tree_builds_the_named_divisions_once() -> None:
    first = make_area_tree()
    second = make_area_tree()

    assert sorted(first) == [
        "county",
        "prefecture",
        "province",
        "township_a",
        "township_b",
        "village_a1",
        "village_a2",
        "village_b1",
    ]
    assert first["village_a1"].code == VILLAGE_A1
    assert first["village_a1"].prefix == VILLAGE_A1
    assert first["township_a"].prefix == "530102001"
    assert first["county"].prefix == "530102"
    assert {k: d.code for k, d in second.items()} == {
        k: d.code for k, d in first.items()
    }


def test_make_household_registers_members_and_a_snapshot() -> None:
    household = make_household(members=3, year=2024)

    assert household.number == f"{VILLAGE_A1}-0001"
    assert Member.objects.filter(household=household).count() == 3
    snapshot = Snapshot.objects.get(household=household)
    assert (snapshot.year, snapshot.size) == (2024, 3)


def test_make_household_numbers_households_per_village() -> None:
    make_household()
    second = make_household(village_code=VILLAGE_A1)
    other = make_household(village_code=VILLAGE_B1)

    assert second.number == f"{VILLAGE_A1}-0002"
    assert other.number == f"{VILLAGE_B1}-0001"


def test_make_user_gives_the_role_and_scope() -> None:
    make_area_tree()

    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])

    assert cadre.role == "village_cadre"
    assert list(cadre.scopes.values_list("code", flat=True)) == [VILLAGE_A1]
