from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from propoor.accounts.models import Role
from propoor.households.tests.factories import (
    COUNTY,
    VILLAGE_A1,
    VILLAGE_A2,
    make_area_tree,
    make_household,
    make_user,
)

pytestmark = pytest.mark.django_db


def _staff(role: str, codes: list[str]) -> Client:
    user = make_user(role, codes)
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_household", "view_member", "view_user", "view_division"]
        )
    )
    client = Client()
    client.force_login(user)
    return client


def test_staff_see_only_the_households_of_their_scope() -> None:
    make_area_tree()
    mine = make_household(village_code=VILLAGE_A1, head_name="张三")
    theirs = make_household(village_code=VILLAGE_A2, head_name="李四")
    client = _staff(Role.VILLAGE_CADRE, [VILLAGE_A1])

    listing = client.get("/admin/households/household/").content.decode()
    hidden = client.get(f"/admin/households/household/{theirs.pk}/change/")
    shown = client.get(f"/admin/households/household/{mine.pk}/change/")

    assert mine.number in listing
    assert theirs.number not in listing
    assert hidden.status_code == 302  # the admin redirects when the object is not found
    assert shown.status_code == 200


def test_staff_cannot_add_or_change_households_in_the_admin() -> None:
    make_area_tree()
    household = make_household(village_code=VILLAGE_A1)
    client = _staff(Role.COUNTY_ADMIN, [COUNTY])

    add = client.get("/admin/households/household/add/")
    post = client.post(
        f"/admin/households/household/{household.pk}/change/",
        {"head_name": "改名"},
    )

    assert add.status_code == 403
    assert post.status_code == 403
    household.refresh_from_db()
    assert household.head_name == "张三"


def test_staff_see_only_the_users_of_their_scope() -> None:
    make_area_tree()
    make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="cadre_a1")
    make_user(Role.VILLAGE_CADRE, [VILLAGE_A2], username="cadre_a2")
    client = _staff(Role.VILLAGE_CADRE, [VILLAGE_A1])

    listing = client.get("/admin/accounts/user/").content.decode()

    assert "cadre_a1" in listing
    assert "cadre_a2" not in listing


def test_a_county_admin_reads_the_back_office_of_their_scope_only() -> None:
    from propoor.households.tests.factories import VILLAGE_B1, make_household

    inside = make_household(village_code=VILLAGE_A1, year=None)
    make_household(village_code=VILLAGE_B1, year=None)
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])
    buyer = make_user(Role.BUYER, [])
    client = Client()
    client.force_login(cadre)

    listing = client.get("/admin/households/household/")
    household = client.get(f"/admin/households/household/{inside.pk}/change/")

    assert cadre.is_staff is True
    assert buyer.is_staff is False
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1
    assert household.status_code == 200
