from __future__ import annotations

import pytest

from propoor.accounts.models import Role
from propoor.areas.models import VillageProfile
from propoor.areas.tests.factories import (
    COUNTY,
    TOWNSHIP_A,
    VILLAGE_A1,
    VILLAGE_A2,
    make_area_tree,
)
from propoor.households.tests.factories import api_client, make_user

pytestmark = pytest.mark.django_db

BASE = "/api/v1/areas"
PROFILE = {
    "terrain": "mountain",
    "km_to_county_seat": "35.5",
    "km_to_paved_road": "2.0",
    "broadband": "partial",
    "mobile_4g": "full",
    "orchards": True,
}


def test_the_tree_of_a_cadre_ends_at_their_village() -> None:
    make_area_tree()
    client = api_client(make_user(Role.VILLAGE_CADRE, [VILLAGE_A1]))

    tree = client.get(f"{BASE}/tree").json()

    node = tree[0]
    path = []
    while node:
        path.append((node["code"], node["level"]))
        node = node["children"][0] if node["children"] else None
    assert path == [
        ("530000000000", "province"),
        ("530100000000", "prefecture"),
        ("530102000000", "county"),
        ("530102001000", "township"),
        ("530102001001", "village"),
    ]


def test_division_and_children() -> None:
    make_area_tree()
    client = api_client(make_user(Role.TOWNSHIP_OFFICER, [TOWNSHIP_A]))

    division = client.get(f"{BASE}/divisions/{TOWNSHIP_A}").json()
    children = client.get(f"{BASE}/divisions/{TOWNSHIP_A}/children").json()
    other = client.get(f"{BASE}/divisions/530102002000")

    assert division == {
        "code": TOWNSHIP_A,
        "name": "护国街道",
        "name_en": "Huguo",
        "level": "township",
        "parent": COUNTY,
        "western": True,
        "breadcrumb": [
            {
                "code": "530000000000",
                "name": "云南省",
                "name_en": "Yunnan",
                "level": "province",
            },
            {
                "code": "530100000000",
                "name": "昆明市",
                "name_en": "Kunming",
                "level": "prefecture",
            },
            {"code": COUNTY, "name": "五华区", "name_en": "Wuhua", "level": "county"},
        ],
    }
    assert [c["code"] for c in children] == [VILLAGE_A1, VILLAGE_A2]
    assert other.status_code == 404


def test_village_profile_put_then_get() -> None:
    make_area_tree()
    client = api_client(make_user(Role.VILLAGE_CADRE, [VILLAGE_A1]))

    put = client.put(
        f"{BASE}/villages/{VILLAGE_A1}/profile",
        PROFILE,
        content_type="application/json",
    )
    village = client.get(f"{BASE}/villages/{VILLAGE_A1}").json()
    listed = client.get(f"{BASE}/villages").json()

    assert put.status_code == 200
    assert village["profile"]["terrain"] == "mountain"
    assert village["profile"]["km_to_county_seat"] == "35.5"
    assert [b["code"] for b in village["breadcrumb"]][-1] == TOWNSHIP_A
    assert listed["count"] == 1
    assert listed["items"][0]["profile"]["orchards"] is True


def test_village_profile_put_by_a_reader_is_403_and_elsewhere_404() -> None:
    make_area_tree()
    auditor = api_client(make_user(Role.AUDITOR, [COUNTY]))
    cadre = api_client(make_user(Role.VILLAGE_CADRE, [VILLAGE_A1]))

    denied = auditor.put(
        f"{BASE}/villages/{VILLAGE_A1}/profile",
        PROFILE,
        content_type="application/json",
    )
    hidden = cadre.put(
        f"{BASE}/villages/{VILLAGE_A2}/profile",
        PROFILE,
        content_type="application/json",
    )
    bad = cadre.put(
        f"{BASE}/villages/{VILLAGE_A1}/profile",
        {**PROFILE, "terrain": "sea"},
        content_type="application/json",
    )

    assert denied.status_code == 403
    assert hidden.status_code == 404
    assert bad.status_code == 422
    assert list(bad.json()["extra"]["fields"]) == ["terrain"]
    assert VillageProfile.objects.count() == 0
