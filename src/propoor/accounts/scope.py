"""Area scope: what part of the division tree a user may see.

Selectors call :func:`scope_of` once and filter with :meth:`Scope.filter`; views and
APIs never repeat the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

if TYPE_CHECKING:
    from propoor.accounts.models import User


@dataclass(frozen=True)
class Scope:
    prefixes: tuple[str, ...]
    everything: bool = False

    def q(self, field: str) -> Q:
        """A filter on a field holding a 12-digit division code."""
        if self.everything:
            return Q()
        if not self.prefixes:
            return Q(pk__in=[])
        query = Q()
        for prefix in self.prefixes:
            query |= Q(**{f"{field}__startswith": prefix})
        return query

    def covers(self, code: str) -> bool:
        return self.everything or any(code.startswith(p) for p in self.prefixes)


NOTHING = Scope(prefixes=())


def scope_of(user: User | None) -> Scope:
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    cached: Scope | None = getattr(user, "_propoor_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = Scope(prefixes=(), everything=True)
    else:
        prefixes = tuple(sorted(user.scopes.values_list("prefix", flat=True)))
        scope = Scope(prefixes=prefixes)
    user._propoor_scope = scope  # type: ignore[attr-defined]  # per-request cache
    return scope
