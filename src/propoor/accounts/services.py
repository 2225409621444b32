"""Writes on users and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.models import REGISTRY_READERS, ApiToken, Role, User
from propoor.accounts.roles import require_role
from propoor.accounts.scope import Scope, scope_of
from propoor.areas.models import Division
from propoor.core.audit import audit_append
from propoor.core.errors import PermissionDenied, ValidationFailed
from propoor.core.rows import Columns

if TYPE_CHECKING:
    from propoor.households.models import Household

#: A token's last use is recorded to this precision: a write on every call would cost
#: each call.
TOKEN_LAST_USED_EVERY = timedelta(minutes=1)

# Roles that get the read-only, scoped back office (Django admin).
BACK_OFFICE_ROLES = REGISTRY_READERS


def user_create(
    *,
    username: str,
    password: str,
    role: str,
    scope_codes: Sequence[str] = (),
    household: Household | None = None,
    email: str = "",
    actor: User | None = None,
) -> User:
    """Create a user with a role and an area scope (division codes).

    ``actor`` None is the system (seeding, the CLI); a user must be a county
    administrator and may only hand out a scope inside their own.
    """
    if actor is not None:
        require_role(actor, {Role.COUNTY_ADMIN})
    errors: dict[str, list[str]] = {}
    if role not in Role.values:
        errors["role"] = [f"Unknown role {role!r}."]
    if User.objects.filter(username=username).exists():
        errors["username"] = [f"The username {username!r} is taken."]
    codes = list(dict.fromkeys(scope_codes))
    divisions = list(Division.objects.filter(code__in=codes))
    missing = sorted(set(codes) - {d.code for d in divisions})
    if missing:
        errors["scope_codes"] = [f"Unknown division {c}." for c in missing]
    if role == Role.HOUSEHOLD and household is None:
        errors["household"] = ["A household login needs its household."]
    if role != Role.HOUSEHOLD and household is not None:
        errors["household"] = ["Only a household login is tied to a household."]
    if household is not None and not Scope(
        prefixes=tuple(d.prefix for d in divisions)
    ).covers(household.village_id):
        errors.setdefault("household", []).append(
            "The household must lie inside the user's scope."
        )
    user = User(
        username=username,
        role=role,
        household=household,
        email=email,
        # The back office (Django admin, read-only and scoped) is for these roles.
        is_staff=role in BACK_OFFICE_ROLES,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if actor is not None and not actor.is_superuser:
        scope = scope_of(actor)
        outside = [d.code for d in divisions if not scope.covers(d.code)]
        if outside:
            raise PermissionDenied(
                _("You may only give a scope inside your own."),
                extra={"scope_codes": outside},
            )
    if errors:
        raise ValidationFailed(_("The user is not valid."), extra={"fields": errors})
    _set_password(user, password)
    with transaction.atomic():
        try:
            user.full_clean()
        except ValidationError as exc:
            raise ValidationFailed(
                _("The user is not valid."), extra={"fields": exc.message_dict}
            ) from exc
        user.save()
        user.scopes.set(divisions)
        audit_append(
            action="user.create",
            actor=actor,
            object_type="user",
            object_id=user.pk,
            data={
                "username": username,
                "role": role,
                "scope_codes": sorted(d.code for d in divisions),
                "household": household.number if household is not None else None,
            },
        )
    return user


def api_token_issue(*, user: User, name: str) -> tuple[str, ApiToken]:
    """Make a bearer token; the plaintext is returned once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationFailed(
            _("Name the token."),
            extra={"fields": {"name": [_("This field is required.")]}},
        )
    if not user.is_active:
        raise ValidationFailed(_("The user is not active."))
    plaintext = secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, name=name, digest=hashlib.sha256(plaintext.encode()).hexdigest()
    )
    with transaction.atomic():
        try:
            token.full_clean()
        except ValidationError as exc:
            raise ValidationFailed(
                _("The token is not valid."), extra={"fields": exc.message_dict}
            ) from exc
        token.save()
        audit_append(
            action="api_token.issue",
            actor=user,
            object_type="api_token",
            object_id=token.pk,
            data={"user": user.username, "name": name},
        )
    return plaintext, token


def api_token_revoke(*, user: User, token: ApiToken) -> None:
    """Delete one of ``user``'s tokens."""
    if token.user_id != user.pk and not user.is_superuser:
        raise PermissionDenied(_("This is not your token."))
    with transaction.atomic():
        token_id = token.pk
        token.delete()
        audit_append(
            action="api_token.revoke",
            actor=user,
            object_type="api_token",
            object_id=token_id,
            data={"name": token.name},
        )


def digest_ha1(username: str, password: str) -> str:
    """HA1 of HTTP Digest (RFC 7616, MD5): MD5(username:realm:password)."""
    realm = settings.PROPOOR_DIGEST_REALM
    text = f"{username}:{realm}:{password}"
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _set_password(user: User, password: str) -> None:
    user.set_password(password)
    user.digest_ha1 = digest_ha1(user.username, password)


def user_set_password(*, actor: User | None, user: User, password: str) -> User:
    """Change a password (Django's hash and the digest credential together)."""
    if actor is not None and actor.pk != user.pk and not actor.is_superuser:
        raise PermissionDenied(_("You may only change your own password."))
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(
            _("The password is not valid."),
            extra={"fields": {"password": exc.messages}},
        ) from exc
    _set_password(user, password)
    with transaction.atomic():
        user.save(update_fields=["password", "digest_ha1"])
        audit_append(
            action="user.set_password",
            actor=actor,
            object_type="user",
            object_id=user.pk,
        )
    return user


def api_token_user(token: str) -> User | None:
    """The active user a bearer token stands for (``None`` for an unknown token or an
    inactive user); records the token's use, to the minute.

    Asked on every API call, so it is one plain query (the token and its whole user
    row, found by the token's unique digest) rather than an ORM query built anew each
    time.
    """
    digest = hashlib.sha256(token.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_TOKEN_COLUMNS.sql('t')}, {_USER_COLUMNS.sql('u')}"  # noqa: S608
            f" FROM {ApiToken._meta.db_table} t"
            f" JOIN {User._meta.db_table} u ON u.id = t.user_id WHERE t.digest = %s",
            [digest],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    found = _TOKEN_COLUMNS.load(row[: len(_TOKEN_COLUMNS)])
    user = _USER_COLUMNS.load(row[len(_TOKEN_COLUMNS) :])
    if not user.is_active:
        return None
    now = timezone.now()
    if found.last_used is None or now - found.last_used >= TOKEN_LAST_USED_EVERY:
        ApiToken.objects.filter(pk=found.pk).update(last_used=now)
    return user


_TOKEN_COLUMNS = Columns(ApiToken, ("id", "user_id", "last_used"))
_USER_COLUMNS = Columns(User)
