"""Reads on the division tree.

A user sees a division when it lies inside their scope, or when it is an ancestor of
one of their scope divisions (the breadcrumb of a village cadre's village). Villages as
such (lists, profiles) are only shown inside the scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from propoor.accounts.scope import Scope, scope_of
from propoor.areas.models import LEVEL_DIGITS, Division, Level, VillageProfile
from propoor.core.errors import NotFound

if TYPE_CHECKING:
    from propoor.accounts.models import User


def ancestor_codes(prefix: str) -> list[str]:
    """Codes of the divisions strictly above a significant prefix, top first.

    ``"530102001"`` (a township) -> province, prefecture and county codes.
    """
    return [
        prefix[:digits].ljust(12, "0")
        for digits in sorted(LEVEL_DIGITS.values())
        if digits < len(prefix)
    ]


def _visible_q(scope: Scope) -> Q:
    """Divisions inside the scope, or above one of its divisions."""
    if scope.everything:
        return Q()
    above = sorted({c for p in scope.prefixes for c in ancestor_codes(p)})
    return scope.q("code") | Q(code__in=above)


def _visible(user: User | None) -> QuerySet[Division]:
    return Division.objects.filter(_visible_q(scope_of(user)))


def division_get(user: User | None, code: str) -> Division:
    found = _visible(user).select_related("parent").filter(code=code).first()
    if found is None:
        raise NotFound(_("No division %(code)s.") % {"code": code})
    return found


def division_children(user: User | None, code: str) -> list[Division]:
    """The visible children of a visible division."""
    parent = division_get(user, code)
    return list(_visible(user).filter(parent=parent).order_by("code"))


def division_breadcrumb(user: User | None, code: str) -> list[Division]:
    """The division and its visible ancestors, top first."""
    division = division_get(user, code)
    chain = ancestor_codes(division.prefix)
    above = {d.code: d for d in _visible(user).filter(code__in=chain)}
    return [above[c] for c in chain if c in above] + [division]


@dataclass
class TreeNode:
    code: str
    name: str
    name_en: str
    level: str
    children: list[TreeNode] = field(default_factory=list)


def division_tree(user: User | None) -> list[TreeNode]:
    """Every visible division, nested; the roots are those without a visible parent."""
    nodes: dict[str, TreeNode] = {}
    parents: dict[str, str | None] = {}
    for code, name, name_en, level, parent_id in (
        _visible(user)
        .order_by("code")
        .values_list("code", "name", "name_en", "level", "parent_id")
    ):
        nodes[code] = TreeNode(code=code, name=name, name_en=name_en, level=level)
        parents[code] = parent_id
    roots: list[TreeNode] = []
    for code, node in nodes.items():
        above = parents[code]
        if above is not None and above in nodes:
            nodes[above].children.append(node)
        else:
            roots.append(node)
    return roots


def village_list(
    user: User | None, *, township: str | None = None
) -> QuerySet[Division]:
    """Villages inside the user's scope (optionally of one township), with profiles."""
    scope = scope_of(user)
    villages = Division.objects.filter(scope.q("code"), level=Level.VILLAGE)
    if township is not None:
        villages = villages.filter(parent_id=township)
    return villages.select_related("profile", "parent").order_by("code")


@dataclass(frozen=True)
class VillageDetail:
    village: Division
    profile: VillageProfile | None
    breadcrumb: list[Division]


def village_detail(user: User | None, code: str) -> VillageDetail:
    village = village_list(user).filter(code=code).first()
    if village is None:
        raise NotFound(_("No village %(village)s.") % {"village": code})
    profile = VillageProfile.objects.filter(village=village).first()
    return VillageDetail(
        village=village,
        profile=profile,
        breadcrumb=division_breadcrumb(user, code)[:-1],
    )
