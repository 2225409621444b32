"""Role checks. Area scope lives in :mod:`propoor.accounts.scope`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from propoor.accounts.models import REGISTRY_READERS, REGISTRY_WRITERS, Role
from propoor.core.errors import PermissionDenied

if TYPE_CHECKING:
    from propoor.accounts.models import User

__all__ = [
    "REGISTRY_READERS",
    "REGISTRY_WRITERS",
    "Role",
    "has_role",
    "require_role",
]


def has_role(user: User | None, roles: Iterable[str]) -> bool:
    """True when ``user`` is active and holds one of ``roles`` (superusers hold all)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.role in {str(r) for r in roles}


def require_role(user: User | None, roles: Iterable[str]) -> None:
    """Raise PermissionDenied unless ``user`` is active and holds one of ``roles``."""
    roles = {str(r) for r in roles}
    if has_role(user, roles):
        return
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionDenied(_("Log in to do this."))
    raise PermissionDenied(
        _("A %(role)s may not do this.")
        % {"role": str(user.get_role_display()).lower()},
        extra={"role": user.role, "allowed_roles": sorted(roles)},
    )
