from __future__ import annotations

from decimal import Decimal

import pytest

from propoor.accounts.models import Role
from propoor.areas.models import Division, VillageProfile
from propoor.areas.services import division_create, village_profile_set
from propoor.areas.tests.factories import (
    COUNTY,
    TOWNSHIP_A,
    VILLAGE_A1,
    VILLAGE_A2,
    make_area_tree,
)
from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.core.models import AuditEntry
from propoor.households.tests.factories import make_user

pytestmark = pytest.mark.django_db

PROFILE = {
    "terrain": "mountain",
    "km_to_county_seat": Decimal("35.5"),
    "km_to_paved_road": Decimal("2.0"),
    "broadband": "partial",
    "mobile_4g": "full",
    "orchards": True,
    "specialty_products": "核桃, 花椒",
}


def test_division_create_sets_the_prefix_and_audits() -> None:
    tree = make_area_tree()

    village = division_create(
        code="530102001003",
        name="四村",
        name_en="Village A3",
        level="village",
        parent=tree["township_a"],
    )

    assert (village.prefix, village.parent_id, village.western) == (
        "530102001003",
        TOWNSHIP_A,
        True,
    )
    assert tree["township_a"].prefix == "530102001"
    assert AuditEntry.objects.filter(
        action="division.create", object_id="530102001003"
    ).exists()


@pytest.mark.parametrize(
    ("code", "level", "parent_key", "field", "message"),
    [
        (
            "53010200100",
            "village",
            "township_a",
            "code",
            "A division code has 12 digits",
        ),
        ("53010200100a", "village", "township_a", "code", "A division code has 12"),
        (
            "530102003001",
            "village",
            "township_a",
            "code",
            "530102003001 is not under 530102001000: it must start with 530102001.",
        ),
        (
            "530102001000",
            "village",
            "township_a",
            "code",
            "530102001000 is not a village code: digits 10-12 are zero.",
        ),
        (
            "530102003001",
            "township",
            "county",
            "code",
            "A township code has 9 significant digits followed by zeros; "
            "530102003001 does not end in 3 zeros.",
        ),
        (
            "530102001009",
            "village",
            "county",
            "parent",
            "A village sits under a township, not under a county.",
        ),
        ("530102001009", "village", None, "parent", "A village needs its township."),
    ],
)
def test_division_create_refuses_bad_codes(
    code, level, parent_key, field, message
) -> None:
    tree = make_area_tree()
    before = Division.objects.count()

    with pytest.raises(ValidationFailed) as caught:
        division_create(
            code=code,
            name="x",
            level=level,
            parent=tree[parent_key] if parent_key else None,
        )

    assert caught.value.extra["fields"][field][0].startswith(message)
    assert Division.objects.count() == before


def test_division_create_refuses_an_unknown_level_and_a_twin() -> None:
    tree = make_area_tree()

    with pytest.raises(ValidationFailed, match="Unknown level 'hamlet'"):
        division_create(code="530102001009", name="x", level="hamlet")
    with pytest.raises(Conflict, match="Division 530102001001 already exists"):
        division_create(
            code=VILLAGE_A1, name="x", level="village", parent=tree["township_a"]
        )


def test_division_create_by_a_cadre_is_denied() -> None:
    tree = make_area_tree()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])

    with pytest.raises(PermissionDenied):
        division_create(
            code="530102001009",
            name="x",
            level="village",
            parent=tree["township_a"],
            actor=cadre,
        )
    assert not Division.objects.filter(code="530102001009").exists()


def test_a_county_admin_creates_inside_the_county() -> None:
    tree = make_area_tree()
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])

    made = division_create(
        code="530102003000",
        name="新乡",
        level="township",
        parent=tree["county"],
        actor=admin,
    )
    with pytest.raises(NotFound):
        division_create(
            code="530103000000",
            name="x",
            level="county",
            parent=tree["prefecture"],
            actor=admin,
        )

    assert made.prefix == "530102003"


def test_village_profile_set_creates_then_updates() -> None:
    make_area_tree()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])

    village_profile_set(actor=cadre, village_code=VILLAGE_A1, **PROFILE)
    profile = village_profile_set(
        actor=cadre, village_code=VILLAGE_A1, has_service_station=True
    )

    profile.refresh_from_db()
    assert (profile.terrain, profile.has_service_station, profile.orchards) == (
        "mountain",
        True,
        True,
    )
    assert list(
        AuditEntry.objects.filter(object_type="village_profile").values_list(
            "action", flat=True
        )
    ) == ["village_profile.create", "village_profile.update"]


def test_village_profile_set_refuses_bad_values_and_other_villages() -> None:
    make_area_tree()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])
    auditor = make_user(Role.AUDITOR, [COUNTY])

    with pytest.raises(ValidationFailed) as caught:
        village_profile_set(
            actor=cadre,
            village_code=VILLAGE_A1,
            **{**PROFILE, "km_to_paved_road": Decimal("-1"), "terrain": "sea"},
        )
    with pytest.raises(NotFound):
        village_profile_set(actor=cadre, village_code=VILLAGE_A2, **PROFILE)
    with pytest.raises(NotFound):
        village_profile_set(actor=cadre, village_code=TOWNSHIP_A, **PROFILE)
    with pytest.raises(PermissionDenied):
        village_profile_set(actor=auditor, village_code=VILLAGE_A1, **PROFILE)
    with pytest.raises(ValidationFailed, match="Unknown profile fields"):
        village_profile_set(actor=cadre, village_code=VILLAGE_A1, wifi=True)

    assert caught.value.extra == {
        "fields": {"km_to_paved_road": ["A distance cannot be negative."]}
    }
    assert VillageProfile.objects.count() == 0
