"""Reads on the household registry, scoped to the acting user.

Registry readers (``REGISTRY_READERS``) see the households inside their area scope; a
household login sees its own household only; other roles get PermissionDenied. A
household outside what the user may see is NotFound, never "forbidden".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from propoor.accounts.roles import REGISTRY_READERS, Role, require_role
from propoor.accounts.scope import scope_of
from propoor.core.errors import NotFound, PermissionDenied
from propoor.households.models import (
    Household,
    IdentificationResult,
    IdentificationRun,
    Member,
    PlanItem,
    PlanStatus,
    Snapshot,
    StatusChange,
    SupportPlan,
)

if TYPE_CHECKING:
    from propoor.accounts.models import User


def _visible_q(user: User | None) -> Q:
    """The filter on Household for what ``user`` may see."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionDenied(_("Log in to see the registry."))
    if not user.is_superuser and user.role == Role.HOUSEHOLD:
        if user.household_id is None:
            return Q(pk__in=[])
        return Q(pk=user.household_id)
    require_role(user, REGISTRY_READERS)
    return scope_of(user).q("village__code")


def household_list(
    user: User | None,
    *,
    village: str | None = None,
    township: str | None = None,
    status: str | None = None,
    category: str | None = None,
    cause: str | None = None,
    poor: bool | None = None,
    q: str | None = None,
) -> QuerySet[Household]:
    """Households the user may see, filtered, ordered by number, village joined.

    ``cause`` matches the main or a secondary cause; ``poor`` is the latest
    identification result's verdict (households never identified match neither).
    """
    households = Household.objects.filter(_visible_q(user))
    if village is not None:
        households = households.filter(village_id=village)
    if township is not None:
        households = households.filter(village__parent_id=township)
    if status is not None:
        households = households.filter(status=status)
    if category is not None:
        households = households.filter(category=category)
    if cause is not None:
        households = households.filter(
            Q(main_cause=cause) | Q(second_cause=cause) | Q(third_cause=cause)
        )
    if poor is not None:
        households = households.filter(
            Exists(
                IdentificationResult.objects.current().filter(
                    household=OuterRef("pk"), poor=poor
                )
            )
        )
    if q is not None and q.strip():
        text = q.strip()
        households = households.filter(
            Q(number__icontains=text) | Q(head_name__icontains=text)
        )
    return households.select_related("village").order_by("number")


def household_get(user: User | None, household_id: int) -> Household:
    found = (
        Household.objects.filter(_visible_q(user))
        .select_related("village")
        .filter(pk=household_id)
        .first()
    )
    if found is None:
        raise NotFound(_("No household %(id)s.") % {"id": household_id})
    return found


def member_get(user: User | None, household_id: int, member_id: int) -> Member:
    household = household_get(user, household_id)
    found = (
        Member.objects.select_related("household")
        .filter(household=household, pk=member_id)
        .first()
    )
    if found is None:
        raise NotFound(
            _("No member %(member)s in household %(household)s.")
            % {"member": member_id, "household": household.number}
        )
    return found


@dataclass(frozen=True)
class MemberView:
    """A member as anyone may see it: the ID number masked, nothing else of it."""

    id: int
    name: str
    id_masked: str
    relation: str
    sex: str
    birth_date: date
    labour: str
    health: str
    schooling: str
    in_school: bool
    skills: str
    active: bool
    removed_reason: str

    @classmethod
    def of(cls, member: Member) -> MemberView:
        return cls(
            id=member.pk,
            name=member.name,
            id_masked=member.id_masked,
            relation=member.relation,
            sex=member.sex,
            birth_date=member.birth_date,
            labour=member.labour,
            health=member.health,
            schooling=member.schooling,
            in_school=member.in_school,
            skills=member.skills,
            active=member.active,
            removed_reason=member.removed_reason,
        )


def member_list(
    user: User | None, household_id: int, *, include_removed: bool = False
) -> list[MemberView]:
    household = household_get(user, household_id)
    members = Member.objects.filter(household=household)
    if not include_removed:
        members = members.filter(active=True)
    return [MemberView.of(m) for m in members.order_by("id")]


@dataclass(frozen=True)
class PlanView:
    plan: SupportPlan
    items: list[PlanItem]


@dataclass(frozen=True)
class HouseholdDetail:
    household: Household
    members: list[MemberView]
    snapshots: list[Snapshot]  # newest year first
    status_history: list[StatusChange]  # oldest first
    latest_result: IdentificationResult | None
    current_plan: PlanView | None


def _current_plan(household: Household, year: int | None = None) -> PlanView | None:
    plans = SupportPlan.objects.filter(household=household)
    if year is not None:
        plans = plans.filter(year=year)
    else:
        plans = plans.exclude(status=PlanStatus.CLOSED)
    plan = plans.select_related("approved_by").order_by("-year", "-id").first()
    if plan is None:
        return None
    items = list(plan.items.select_related("intervention").order_by("rank"))
    return PlanView(plan=plan, items=items)


def household_detail(user: User | None, household_id: int) -> HouseholdDetail:
    household = household_get(user, household_id)
    return HouseholdDetail(
        household=household,
        members=[
            MemberView.of(m)
            for m in Member.objects.filter(household=household).order_by(
                "-active", "id"
            )
        ],
        snapshots=list(
            Snapshot.objects.filter(household=household)
            .select_related("surveyed_by")
            .order_by("-year")
        ),
        status_history=list(
            StatusChange.objects.filter(household=household)
            .select_related("by")
            .order_by("at", "id")
        ),
        latest_result=IdentificationResult.objects.current()
        .filter(household=household)
        .select_related("run__standard")
        .order_by("-year", "-run_id")
        .first(),
        current_plan=_current_plan(household),
    )


def snapshot_list(user: User | None, household_id: int) -> list[Snapshot]:
    household = household_get(user, household_id)
    return list(
        Snapshot.objects.filter(household=household)
        .select_related("surveyed_by")
        .order_by("-year")
    )


def snapshot_get(user: User | None, household_id: int, year: int) -> Snapshot:
    household = household_get(user, household_id)
    found = (
        Snapshot.objects.filter(household=household, year=year)
        .select_related("surveyed_by")
        .first()
    )
    if found is None:
        raise NotFound(
            _("Household %(household)s has no snapshot of %(year)s.")
            % {"household": household.number, "year": year}
        )
    return found


def status_history(user: User | None, household_id: int) -> list[StatusChange]:
    household = household_get(user, household_id)
    return list(
        StatusChange.objects.filter(household=household)
        .select_related("by")
        .order_by("at", "id")
    )


def identification_results(
    user: User | None, household_id: int
) -> list[IdentificationResult]:
    """Every identification result of the household, newest run first."""
    household = household_get(user, household_id)
    return list(
        IdentificationResult.objects.filter(household=household)
        .select_related("run__standard")
        .order_by("-run_id")
    )


def household_plan(
    user: User | None, household_id: int, *, year: int | None = None
) -> PlanView:
    """The household's plan of ``year``, or its current (newest open) plan."""
    household = household_get(user, household_id)
    found = _current_plan(household, year)
    if found is None:
        if year is not None:
            message = _("Household %(household)s has no support plan for %(year)s.")
        else:
            message = _("Household %(household)s has no support plan.")
        raise NotFound(message % {"household": household.number, "year": year})
    return found


def run_list(user: User | None) -> QuerySet[IdentificationRun]:
    """Identification runs over areas inside the user's scope, newest first."""
    if user is None or not user.is_authenticated:
        raise PermissionDenied(_("Log in to see identification runs."))
    require_role(user, REGISTRY_READERS)
    return (
        IdentificationRun.objects.filter(scope_of(user).q("area__code"))
        .select_related("standard", "area", "ran_by")
        .order_by("-started_at", "-id")
    )


def run_get(user: User | None, run_id: int) -> IdentificationRun:
    run = run_list(user).filter(pk=run_id).first()
    if run is None:
        raise NotFound(_("No identification run %(id)s.") % {"id": run_id})
    return run


def plan_get(user: User | None, plan_id: int) -> SupportPlan:
    plan = (
        SupportPlan.objects.filter(
            household__in=Household.objects.filter(_visible_q(user))
        )
        .select_related("household", "approved_by")
        .filter(pk=plan_id)
        .first()
    )
    if plan is None:
        raise NotFound(_("No support plan %(id)s.") % {"id": plan_id})
    return plan


def plan_item_get(user: User | None, item_id: int) -> PlanItem:
    visible = Household.objects.filter(_visible_q(user))
    item = (
        PlanItem.objects.filter(plan__household__in=visible)
        .select_related("plan__household", "intervention")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise NotFound(_("No plan item %(id)s.") % {"id": item_id})
    return item
