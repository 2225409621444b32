from __future__ import annotations

import pytest

from propoor.accounts.models import Role
from propoor.areas.selectors import (
    ancestor_codes,
    division_breadcrumb,
    division_children,
    division_get,
    division_tree,
    village_detail,
    village_list,
)
from propoor.areas.services import village_profile_set
from propoor.areas.tests.factories import (
    COUNTY,
    PREFECTURE,
    PROVINCE,
    TOWNSHIP_A,
    TOWNSHIP_B,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_area_tree,
)
from propoor.core.errors import NotFound
from propoor.households.tests.factories import make_user

pytestmark = pytest.mark.django_db


def _codes(divisions) -> list[str]:
    return [d.code for d in divisions]


def _flatten(nodes, depth=0) -> list[tuple[int, str]]:
    out = []
    for node in nodes:
        out.append((depth, node.code))
        out.extend(_flatten(node.children, depth + 1))
    return out


def test_ancestor_codes_of_a_township_prefix() -> None:
    assert ancestor_codes("530102001") == [PROVINCE, PREFECTURE, COUNTY]
    assert ancestor_codes("53") == []


def test_a_cadre_sees_the_breadcrumb_but_not_the_sibling_village() -> None:
    make_area_tree()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])

    assert division_get(cadre, TOWNSHIP_A).code == TOWNSHIP_A
    assert _codes(division_breadcrumb(cadre, VILLAGE_A1)) == [
        PROVINCE,
        PREFECTURE,
        COUNTY,
        TOWNSHIP_A,
        VILLAGE_A1,
    ]
    assert _codes(division_children(cadre, TOWNSHIP_A)) == [VILLAGE_A1]
    with pytest.raises(NotFound, match=f"No division {VILLAGE_A2}"):
        division_get(cadre, VILLAGE_A2)
    with pytest.raises(NotFound):
        division_get(cadre, TOWNSHIP_B)


def test_the_tree_of_a_township_officer() -> None:
    make_area_tree()
    officer = make_user(Role.TOWNSHIP_OFFICER, [TOWNSHIP_A])

    assert _flatten(division_tree(officer)) == [
        (0, PROVINCE),
        (1, PREFECTURE),
        (2, COUNTY),
        (3, TOWNSHIP_A),
        (4, VILLAGE_A1),
        (4, VILLAGE_A2),
    ]


def test_the_tree_of_a_county_admin_has_everything_below() -> None:
    make_area_tree()
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])

    assert [code for _, code in _flatten(division_tree(admin))] == [
        PROVINCE,
        PREFECTURE,
        COUNTY,
        TOWNSHIP_A,
        VILLAGE_A1,
        VILLAGE_A2,
        TOWNSHIP_B,
        VILLAGE_B1,
    ]


def test_a_user_without_scope_sees_nothing() -> None:
    make_area_tree()
    buyer = make_user(Role.BUYER, [])

    assert division_tree(buyer) == []
    assert list(village_list(buyer)) == []


def test_village_list_is_only_inside_the_scope() -> None:
    make_area_tree()
    officer = make_user(Role.TOWNSHIP_OFFICER, [TOWNSHIP_A])
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])

    assert _codes(village_list(officer)) == [VILLAGE_A1, VILLAGE_A2]
    assert _codes(village_list(admin, township=TOWNSHIP_B)) == [VILLAGE_B1]
    assert _codes(village_list(officer, township=TOWNSHIP_B)) == []


def test_village_detail_has_the_profile_and_breadcrumb() -> None:
    make_area_tree()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])
    village_profile_set(
        actor=None,
        village_code=VILLAGE_A1,
        terrain="hill",
        km_to_county_seat="12.5",
        km_to_paved_road="0.0",
        broadband="full",
        mobile_4g="full",
    )

    detail = village_detail(cadre, VILLAGE_A1)

    assert detail.village.code == VILLAGE_A1
    assert detail.profile is not None
    assert detail.profile.terrain == "hill"
    assert _codes(detail.breadcrumb) == [PROVINCE, PREFECTURE, COUNTY, TOWNSHIP_A]
    with pytest.raises(NotFound):
        village_detail(cadre, TOWNSHIP_A)
