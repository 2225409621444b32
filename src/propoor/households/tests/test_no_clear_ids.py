"""The invariant: no ID number is shown, logged or audited in clear text."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from propoor.accounts.models import Role
from propoor.core.models import AuditEntry
from propoor.households.models import Member
from propoor.households.services import member_id_reveal
from propoor.households.tests.factories import (
    COUNTY,
    VILLAGE_A1,
    VILLAGE_B1,
    api_client,
    make_area_tree,
    make_id_number,
    make_user,
    snapshot_json,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/households"


def _texts(number: str) -> list[str]:
    """The clear number as it could leak: as given, upper-cased, its body."""
    return [number, number.upper(), number.lower(), number[:17]]


def _assert_absent(numbers: list[str], text: str, where: str) -> None:
    for number in numbers:
        for form in _texts(number):
            assert form not in text, f"clear ID number found in {where}"


def test_no_clear_id_in_responses_audit_logs_or_admin(caplog, settings) -> None:
    settings.DEBUG = True  # so that django.db.backends logs every SQL statement
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    make_area_tree()
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY], username="admin")
    admin.is_staff = True
    admin.is_superuser = True
    admin.save()
    client = api_client(admin)
    head, spouse, child = (
        make_id_number(),
        make_id_number(male=False),
        make_id_number(),
    )
    corrected = make_id_number()
    bodies: list[str] = []

    def call(method: str, path: str, data: object = None) -> dict:
        if method == "get":
            response = client.get(path)
        else:
            response = getattr(client, method)(
                path, json.dumps(data), content_type="application/json"
            )
        bodies.append(response.content.decode())
        return response.json() if response.content else {}

    created = call(
        "post",
        f"{BASE}/",
        {
            "village_code": VILLAGE_A1,
            "head_name": "张三",
            "members": [
                {"name": "张三", "id_number": head, "relation": "head"},
                {"name": "李梅", "id_number": spouse.lower(), "relation": "spouse"},
            ],
            "main_cause": "illness",
        },
    )
    pk = created["id"]
    call("put", f"{BASE}/{pk}/snapshots/2024", snapshot_json())
    member = call(
        "post",
        f"{BASE}/{pk}/members",
        {"name": "张小", "id_number": child, "relation": "child"},
    )
    call(
        "patch",
        f"{BASE}/{pk}/members/{member['id']}",
        {"id_number": corrected},
    )
    # The errors: a duplicate (in another village), a bad check character, a bad length.
    call(
        "post",
        f"{BASE}/",
        {
            "village_code": VILLAGE_B1,
            "head_name": "王五",
            "members": [{"name": "王五", "id_number": head}],
        },
    )
    call(
        "post",
        f"{BASE}/{pk}/members",
        {"name": "x", "id_number": head[:17] + ("1" if head[17] != "1" else "2")},
    )
    call("post", f"{BASE}/{pk}/members", {"name": "x", "id_number": head[:16]})
    call("post", f"{BASE}/{pk}/members", {"name": 1, "id_number": head})
    call("get", f"{BASE}/{pk}")
    call("get", f"{BASE}/{pk}/members?include_removed=true")
    call("get", f"{BASE}/?q=张")
    revealed = member_id_reveal(
        actor=admin, member=Member.objects.get(relation="head"), reason="bank check"
    )
    web = Client()
    web.force_login(admin)
    pages = [
        web.get(f"/admin/households/household/{pk}/change/"),
        web.get("/admin/households/member/"),
        web.get(f"/admin/households/member/{member['id']}/change/"),
        web.get("/admin/households/household/"),
    ]

    numbers = [head, spouse, child, corrected]
    assert revealed == head
    assert [p.status_code for p in pages] == [200, 200, 200, 200]
    assert "**********" in pages[1].content.decode()
    assert len(bodies) == 11
    assert sum("**********" in body for body in bodies) >= 6
    for index, body in enumerate(bodies):
        _assert_absent(numbers, body, f"API response #{index}")
    secrets = [m.id_cipher for m in Member.objects.all()] + [
        m.id_hash for m in Member.objects.all()
    ]
    for page in pages:
        html = page.content.decode()
        _assert_absent(numbers, html, f"admin page {page.request}")
        assert not [s for s in secrets if s in html], "ID cipher or hash in the admin"
    assert not [s for s in secrets if any(s in body for body in bodies)]
    audit = json.dumps(
        list(AuditEntry.objects.values("action", "object_id", "data")),
        ensure_ascii=False,
    )
    assert "member.reveal_id" in audit
    _assert_absent(numbers, audit, "the audit log")
    logged = "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    assert any(r.name == "django.db.backends" for r in caplog.records)
    _assert_absent(numbers, logged, "the log")
    for member_row in Member.objects.all():
        _assert_absent(numbers, f"{member_row} {member_row!r}", "a member's str")
