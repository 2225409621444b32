from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from propoor.accounts.models import REGISTRY_WRITERS, ApiToken, Role, User
from propoor.accounts.roles import has_role, require_role
from propoor.accounts.scope import scope_of
from propoor.accounts.services import api_token_issue, api_token_revoke, user_create
from propoor.areas.tests.factories import COUNTY, TOWNSHIP_A, VILLAGE_A1, make_area_tree
from propoor.core.errors import PermissionDenied, ValidationFailed
from propoor.core.models import AuditEntry
from propoor.households.tests.factories import TEST_PASSWORD, make_household, make_user

pytestmark = pytest.mark.django_db


def test_user_create_sets_role_scope_and_a_hashed_password() -> None:
    make_area_tree()

    user = user_create(
        username="officer",
        password=TEST_PASSWORD,
        role=Role.TOWNSHIP_OFFICER,
        scope_codes=[TOWNSHIP_A],
    )

    assert user.role == "township_officer"
    assert scope_of(user).prefixes == ("530102001",)
    assert user.check_password(TEST_PASSWORD)
    assert user.password != TEST_PASSWORD
    entry = AuditEntry.objects.get(action="user.create")
    assert entry.data == {
        "username": "officer",
        "role": "township_officer",
        "scope_codes": [TOWNSHIP_A],
        "household": None,
    }


def test_user_create_names_every_bad_field() -> None:
    make_area_tree()

    with pytest.raises(ValidationFailed) as caught:
        user_create(
            username="x",
            password="123",
            role="emperor",
            scope_codes=["999999999999"],
        )

    fields = caught.value.extra["fields"]
    assert sorted(fields) == ["password", "role", "scope_codes"]
    assert fields["role"] == ["Unknown role 'emperor'."]
    assert fields["scope_codes"] == ["Unknown division 999999999999."]
    assert User.objects.count() == 0


def test_a_household_login_needs_its_household_inside_its_scope() -> None:
    household = make_household(village_code=VILLAGE_A1, year=None)

    with pytest.raises(ValidationFailed, match="The user is not valid") as missing:
        user_create(
            username="farmer",
            password=TEST_PASSWORD,
            role=Role.HOUSEHOLD,
            scope_codes=[VILLAGE_A1],
        )
    with pytest.raises(ValidationFailed) as outside:
        user_create(
            username="farmer",
            password=TEST_PASSWORD,
            role=Role.HOUSEHOLD,
            scope_codes=["530102002001"],
            household=household,
        )
    farmer = user_create(
        username="farmer",
        password=TEST_PASSWORD,
        role=Role.HOUSEHOLD,
        scope_codes=[VILLAGE_A1],
        household=household,
    )

    assert missing.value.extra["fields"] == {
        "household": ["A household login needs its household."]
    }
    assert outside.value.extra["fields"] == {
        "household": ["The household must lie inside the user's scope."]
    }
    assert farmer.household == household


def test_a_county_admin_may_create_users_only_inside_their_scope() -> None:
    make_area_tree()
    admin = make_user(Role.COUNTY_ADMIN, [TOWNSHIP_A])
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])

    made = user_create(
        username="new",
        password=TEST_PASSWORD,
        role=Role.VILLAGE_CADRE,
        scope_codes=[VILLAGE_A1],
        actor=admin,
    )
    with pytest.raises(PermissionDenied, match="inside your own"):
        user_create(
            username="wide",
            password=TEST_PASSWORD,
            role=Role.VILLAGE_CADRE,
            scope_codes=[COUNTY],
            actor=admin,
        )
    with pytest.raises(PermissionDenied):
        user_create(
            username="byCadre",
            password=TEST_PASSWORD,
            role=Role.VILLAGE_CADRE,
            scope_codes=[VILLAGE_A1],
            actor=cadre,
        )

    assert made.username == "new"
    assert not User.objects.filter(username__in=["wide", "byCadre"]).exists()


def test_require_role() -> None:
    make_area_tree()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])
    auditor = make_user(Role.AUDITOR, [COUNTY])

    require_role(cadre, REGISTRY_WRITERS)
    with pytest.raises(PermissionDenied) as caught:
        require_role(auditor, REGISTRY_WRITERS)
    with pytest.raises(PermissionDenied, match="Log in"):
        require_role(None, REGISTRY_WRITERS)

    assert caught.value.message == "A auditor may not do this."
    assert caught.value.extra == {
        "role": "auditor",
        "allowed_roles": ["county_admin", "township_officer", "village_cadre"],
    }
    assert has_role(cadre, {Role.VILLAGE_CADRE}) is True


def test_api_token_issue_stores_only_the_digest() -> None:
    make_area_tree()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])

    plaintext, token = api_token_issue(user=cadre, name="phone")

    stored = ApiToken.objects.get()
    assert stored.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in str(
        list(ApiToken.objects.values()) + list(AuditEntry.objects.values())
    )
    assert len(plaintext) >= 40
    assert token.name == "phone"


def test_a_bearer_token_authenticates_until_revoked() -> None:
    make_area_tree()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])
    plaintext, token = api_token_issue(user=cadre, name="phone")
    client = Client(headers={"Authorization": f"Bearer {plaintext}"})

    before = client.get("/api/v1/households/")
    token.refresh_from_db()
    used = token.last_used
    api_token_revoke(user=cadre, token=token)
    after = client.get("/api/v1/households/")

    assert before.status_code == 200
    assert used is not None
    assert after.status_code == 401


def test_a_blank_token_name_is_refused() -> None:
    make_area_tree()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])

    with pytest.raises(ValidationFailed, match="Name the token"):
        api_token_issue(user=cadre, name="  ")
    assert ApiToken.objects.count() == 0


def test_an_inactive_users_token_is_refused() -> None:
    make_area_tree()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])
    plaintext, _ = api_token_issue(user=cadre, name="phone")
    cadre.is_active = False
    cadre.save()

    response = Client(headers={"Authorization": f"Bearer {plaintext}"}).get(
        "/api/v1/households/"
    )

    assert response.status_code == 401
