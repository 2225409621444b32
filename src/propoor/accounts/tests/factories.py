"""Shared test users (reused by other apps' tests)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.test import Client

from propoor.accounts.models import User
from propoor.accounts.services import api_token_issue, user_create

if TYPE_CHECKING:
    from propoor.households.models import Household

TEST_PASSWORD = "correct-horse-battery-staple"
_serial = itertools.count(1)


def make_user(
    role: str,
    scope_codes: Sequence[str] = (),
    username: str | None = None,
    *,
    household: Household | None = None,
) -> User:
    """A user of ``role`` scoped to ``scope_codes`` (password: TEST_PASSWORD)."""
    if username is None:
        username = f"{role}-{next(_serial)}"
    return user_create(
        username=username,
        password=TEST_PASSWORD,
        role=role,
        scope_codes=scope_codes,
        household=household,
    )


def api_client(user: User) -> Client:
    """A test client that authenticates every request with a fresh bearer token."""
    token, _ = api_token_issue(user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {token}"})
