from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from propoor.accounts.models import Role
from propoor.core.models import AuditEntry
from propoor.households.models import Household, Member, Snapshot, StatusChange
from propoor.households.tests.factories import (
    COUNTY,
    TOWNSHIP_A,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    api_client,
    make_area_tree,
    make_household,
    make_id_number,
    make_user,
    snapshot_json,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/households"
VALID_ID = "11010519491231002X"


@pytest.fixture
def tree():
    return make_area_tree()


@pytest.fixture
def cadre(tree):
    return make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="cadre_a1")


@pytest.fixture
def cadre_client(cadre) -> Client:
    return api_client(cadre)


def _create_body(**overrides):
    body = {
        "village_code": VILLAGE_A1,
        "head_name": "王芳",
        "members": [{"name": "王芳", "id_number": VALID_ID, "relation": "head"}],
        "main_cause": "illness",
        "secondary_causes": ["lack_skills"],
    }
    body.update(overrides)
    return body


def test_without_credentials_the_api_answers_401(tree) -> None:
    response = Client().get(f"{BASE}/")

    assert response.status_code == 401
    assert response.json() == {
        "message": "Log in or send a bearer token.",
        "code": "unauthorized",
        "extra": {},
    }


def test_an_unknown_bearer_token_is_refused(tree) -> None:
    client = Client(headers={"Authorization": "Bearer not-a-token"})

    assert client.get(f"{BASE}/").status_code == 401


def test_a_session_login_works_too(cadre) -> None:
    make_household(village_code=VILLAGE_A1)
    client = Client()
    client.force_login(cadre)

    response = client.get(f"{BASE}/")

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_create_returns_the_detail_with_masked_ids(cadre_client) -> None:
    response = cadre_client.post(
        f"{BASE}/", _create_body(), content_type="application/json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body["number"] == "530102001001-0001"
    assert body["village"] == VILLAGE_A1
    assert body["status"] == "registered"
    assert body["secondary_causes"] == ["lack_skills"]
    assert [
        (m["name"], m["id_masked"], m["sex"], m["birth_date"]) for m in body["members"]
    ] == [("王芳", "1101**********002X", "female", "1949-12-31")]
    assert "id_number" not in body["members"][0]
    assert VALID_ID not in response.content.decode()


def test_create_with_a_bad_check_character_is_422_and_writes_nothing(
    cadre_client,
) -> None:
    bad = "110105194912310021"
    body = _create_body(members=[{"name": "王芳", "id_number": bad}])

    response = cadre_client.post(f"{BASE}/", body, content_type="application/json")

    assert response.status_code == 422
    assert response.json() == {
        "message": "ID number 1101**********0021 is not valid: the check character "
        "is 1 but the first 17 digits give X",
        "code": "validation_failed",
        "extra": {
            "fields": {
                "id_number": [
                    "ID number 1101**********0021 is not valid: the check character "
                    "is 1 but the first 17 digits give X"
                ]
            }
        },
    }
    assert Household.objects.count() == 0
    assert not AuditEntry.objects.filter(action="household.register").exists()


def test_create_with_a_malformed_body_is_422(cadre_client) -> None:
    response = cadre_client.post(
        f"{BASE}/", {"village_code": VILLAGE_A1}, content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert Household.objects.count() == 0


def test_a_person_in_another_village_is_409_and_no_member_is_written(tree) -> None:
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])
    client = api_client(admin)
    first = client.post(
        f"{BASE}/",
        _create_body(village_code=VILLAGE_B1),
        content_type="application/json",
    )
    assert first.status_code == 201

    second = client.post(
        f"{BASE}/",
        _create_body(
            village_code=VILLAGE_A1,
            members=[
                {"name": "张三", "id_number": make_id_number(), "relation": "head"},
                {"name": "王芳", "id_number": VALID_ID},
            ],
        ),
        content_type="application/json",
    )

    assert second.status_code == 409
    assert second.json() == {
        "message": "ID number 1101**********002X is already registered in household "
        "530102002001-0001.",
        "code": "duplicate_person",
        "extra": {"id_number": "1101**********002X", "household": "530102002001-0001"},
    }
    assert Member.objects.count() == 1
    assert Household.objects.filter(village_id=VILLAGE_A1).count() == 0


def test_a_cadre_gets_404_for_another_villages_household(cadre_client) -> None:
    other = make_household(village_code=VILLAGE_A2)

    responses = [
        cadre_client.get(f"{BASE}/{other.pk}"),
        cadre_client.get(f"{BASE}/{other.pk}/snapshots/2024"),
        cadre_client.get(f"{BASE}/{other.pk}/status-history"),
        cadre_client.patch(
            f"{BASE}/{other.pk}", {"phone": "1"}, content_type="application/json"
        ),
        cadre_client.post(
            f"{BASE}/{other.pk}/status",
            {"status": "identified", "reason": "x"},
            content_type="application/json",
        ),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert responses[0].json() == {
        "message": f"No household {other.pk}.",
        "code": "not_found",
        "extra": {},
    }
    other.refresh_from_db()
    assert (other.phone, other.status) == ("", "registered")


def test_a_read_only_role_gets_403_on_writes(tree) -> None:
    household = make_household(village_code=VILLAGE_A1)
    auditor = make_user(Role.AUDITOR, [COUNTY])
    client = api_client(auditor)

    read = client.get(f"{BASE}/{household.pk}")
    write = client.post(
        f"{BASE}/{household.pk}/status",
        {"status": "identified", "reason": "x"},
        content_type="application/json",
    )
    create = client.post(f"{BASE}/", _create_body(), content_type="application/json")

    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["code"] == "permission_denied"
    assert create.status_code == 403
    assert StatusChange.objects.count() == 0
    assert Household.objects.count() == 1


def test_a_township_officer_lists_all_villages_of_the_township(tree) -> None:
    for village in (VILLAGE_A1, VILLAGE_A2, VILLAGE_B1):
        make_household(village_code=village)
    officer = make_user(Role.TOWNSHIP_OFFICER, [TOWNSHIP_A])

    body = api_client(officer).get(f"{BASE}/").json()

    assert body["count"] == 2
    assert [(h["number"], h["village_name"]) for h in body["items"]] == [
        ("530102001001-0001", "一村"),
        ("530102001002-0001", "二村"),
    ]


def test_a_household_user_sees_only_itself(tree) -> None:
    own = make_household(village_code=VILLAGE_A1)
    neighbour = make_household(village_code=VILLAGE_A1)
    farmer = make_user(Role.HOUSEHOLD, [VILLAGE_A1], household=own)
    client = api_client(farmer)

    listed = client.get(f"{BASE}/").json()
    mine = client.get(f"{BASE}/{own.pk}")
    theirs = client.get(f"{BASE}/{neighbour.pk}")
    write = client.patch(
        f"{BASE}/{own.pk}", {"phone": "1"}, content_type="application/json"
    )

    assert [h["number"] for h in listed["items"]] == [own.number]
    assert mine.status_code == 200
    assert theirs.status_code == 404
    assert write.status_code == 403


def test_list_filters_and_paginates(tree) -> None:
    for _ in range(3):
        make_household(village_code=VILLAGE_A1)
    make_household(village_code=VILLAGE_B1, head_name="赵六")
    client = api_client(make_user(Role.COUNTY_ADMIN, [COUNTY]))

    page = client.get(f"{BASE}/", {"page": 2, "page_size": 2}).json()
    by_name = client.get(f"{BASE}/", {"q": "赵"}).json()
    by_township = client.get(f"{BASE}/", {"township": TOWNSHIP_A}).json()

    assert page["count"] == 4
    assert [h["number"] for h in page["items"]] == [
        "530102001001-0003",
        "530102002001-0001",
    ]
    assert [h["number"] for h in by_name["items"]] == ["530102002001-0001"]
    assert by_township["count"] == 3


def test_snapshot_money_is_a_string_with_two_places(cadre, cadre_client) -> None:
    household = make_household(actor=cadre, year=2024, income_wages=Decimal("2800"))

    body = cadre_client.get(f"{BASE}/{household.pk}/snapshots/2024").json()

    assert body["income_wages"] == "2800.00"
    assert body["costs"] == "800.00"
    assert body["net_income"] == "4700.00"
    assert body["per_capita_income"] == "2350.00"
    assert body["surveyed_by"] == "cadre_a1"


def test_snapshot_put_creates_and_updates(cadre, cadre_client) -> None:
    household = make_household(actor=cadre, year=None)

    created = cadre_client.put(
        f"{BASE}/{household.pk}/snapshots/2023",
        snapshot_json(surveyed_on="2023-12-01"),
        content_type="application/json",
    )
    updated = cadre_client.put(
        f"{BASE}/{household.pk}/snapshots/2023",
        {"income_business": "1600.50"},
        content_type="application/json",
    )
    listed = cadre_client.get(f"{BASE}/{household.pk}/snapshots").json()

    assert created.status_code == 200
    assert updated.json()["income_business"] == "1600.50"
    assert [s["year"] for s in listed] == [2023]
    assert Snapshot.objects.get().income_business == Decimal("1600.50")


def test_snapshot_put_with_bad_values_is_422_naming_the_fields(
    cadre, cadre_client
) -> None:
    household = make_household(actor=cadre, year=None)

    response = cadre_client.put(
        f"{BASE}/{household.pk}/snapshots/2024",
        snapshot_json(
            surveyed_on="2024-12-01",
            income_wages="-5",
            children_out_of_school=3,
            school_age_children=1,
        ),
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["extra"] == {
        "fields": {
            "children_out_of_school": [
                "Cannot exceed the number of school-age children (1)."
            ],
            "income_wages": ["Cannot be negative."],
        }
    }
    assert Snapshot.objects.count() == 0


def test_status_change_and_history(cadre_client, cadre) -> None:
    household = make_household(actor=cadre, year=None)

    ok = cadre_client.post(
        f"{BASE}/{household.pk}/status",
        {"status": "identified", "reason": "below the line"},
        content_type="application/json",
    )
    illegal = cadre_client.post(
        f"{BASE}/{household.pk}/status",
        {"status": "monitored", "reason": "x"},
        content_type="application/json",
    )
    history = cadre_client.get(f"{BASE}/{household.pk}/status-history").json()

    assert ok.json()["status"] == "identified"
    assert illegal.status_code == 409
    assert illegal.json()["extra"] == {
        "from": "identified",
        "to": "monitored",
        "allowed": ["exited", "in_plan", "not_poor"],
    }
    assert [
        (h["old_status"], h["new_status"], h["by"], h["reason"]) for h in history
    ] == [("registered", "identified", "cadre_a1", "below the line")]


def test_update_and_causes(cadre_client, cadre) -> None:
    household = make_household(actor=cadre, year=None)

    updated = cadre_client.patch(
        f"{BASE}/{household.pk}",
        {"address": "一组 3 号", "category": "dibao"},
        content_type="application/json",
    )
    causes = cadre_client.put(
        f"{BASE}/{household.pk}/causes",
        {"main": "lack_labour", "secondary": ["illness", "lack_capital"]},
        content_type="application/json",
    )
    bad = cadre_client.put(
        f"{BASE}/{household.pk}/causes",
        {"main": "lack_labour", "secondary": ["illness", "illness"]},
        content_type="application/json",
    )

    assert (updated.json()["address"], updated.json()["category"]) == (
        "一组 3 号",
        "dibao",
    )
    assert (causes.json()["main_cause"], causes.json()["secondary_causes"]) == (
        "lack_labour",
        ["illness", "lack_capital"],
    )
    assert bad.status_code == 422
    household.refresh_from_db()
    assert household.second_cause == "illness"
    assert household.third_cause == "lack_capital"


def test_members_add_update_remove(cadre_client, cadre) -> None:
    household = make_household(actor=cadre, members=1, year=None)

    added = cadre_client.post(
        f"{BASE}/{household.pk}/members",
        {"name": "小红", "id_number": VALID_ID, "relation": "child"},
        content_type="application/json",
    )
    member_id = added.json()["id"]
    updated = cadre_client.patch(
        f"{BASE}/{household.pk}/members/{member_id}",
        {"schooling": "senior", "in_school": True},
        content_type="application/json",
    )
    removed = cadre_client.delete(
        f"{BASE}/{household.pk}/members/{member_id}?reason=married"
    )
    listed = cadre_client.get(f"{BASE}/{household.pk}/members").json()

    assert added.status_code == 201
    assert added.json()["id_masked"] == "1101**********002X"
    assert (updated.json()["schooling"], updated.json()["in_school"]) == (
        "senior",
        True,
    )
    assert (removed.json()["active"], removed.json()["removed_reason"]) == (
        False,
        "married",
    )
    assert [m["relation"] for m in listed] == ["head"]


def test_a_member_of_another_household_is_404(cadre_client, cadre) -> None:
    household = make_household(actor=cadre, members=1, year=None)
    other = make_household(actor=cadre, members=1, year=None)
    stranger = other.members.get()

    response = cadre_client.patch(
        f"{BASE}/{household.pk}/members/{stranger.pk}",
        {"name": "x"},
        content_type="application/json",
    )

    assert response.status_code == 404
    stranger.refresh_from_db()
    assert stranger.name == "张三"


def test_identification_and_plan_are_read_only_views(cadre_client, cadre) -> None:
    household = make_household(actor=cadre, year=None)

    results = cadre_client.get(f"{BASE}/{household.pk}/identification")
    plan = cadre_client.get(f"{BASE}/{household.pk}/plan")
    post = cadre_client.post(f"{BASE}/{household.pk}/plan", {})

    assert (results.status_code, results.json()) == (200, [])
    assert plan.status_code == 404
    assert plan.json()["message"] == (
        "Household 530102001001-0001 has no support plan."
    )
    assert post.status_code == 405


def test_explicit_nulls_are_refused(cadre_client, cadre) -> None:
    household = make_household(actor=cadre, members=1, year=None)
    head = household.members.get()

    member = cadre_client.patch(
        f"{BASE}/{household.pk}/members/{head.pk}",
        {"name": None},
        content_type="application/json",
    )
    own = cadre_client.patch(
        f"{BASE}/{household.pk}",
        {"phone": None, "head_name": None},
        content_type="application/json",
    )

    assert member.status_code == 422
    assert member.json()["extra"] == {
        "fields": {"name": ["This field cannot be empty."]}
    }
    assert own.status_code == 422
    assert own.json()["extra"] == {
        "fields": {
            "head_name": ["Give the head's name."],
            "phone": ["This field cannot be empty."],
        }
    }
    head.refresh_from_db()
    household.refresh_from_db()
    assert (head.name, household.phone, household.head_name) == ("张三", "", "张三")
