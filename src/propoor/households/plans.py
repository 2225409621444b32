"""Support plans: the kernel proposes, cadres edit, approve and track.

Proposals come from :mod:`propoor.kernel.planning` (causes, capacities, wishes and the
village's resources → a ranked list with reasons). A plan is proposed as a draft; a
county administrator, township officer or village cadre of the household's area edits
its items and approves it (the household moves to "in plan"); items then move
planned → in progress → done (or dropped) with deadlines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from importlib import resources

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.models import REGISTRY_WRITERS
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division, VillageProfile
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.households.models import (
    Household,
    IdentificationResult,
    Intervention,
    ItemStatus,
    PlanItem,
    PlanStatus,
    Snapshot,
    Status,
    StatusChange,
    SupportPlan,
)
from propoor.households.signals import plan_approved
from propoor.kernel import planning

Progress = Callable[[int, int], None]
DEFAULT_ITEMS = 5


def _require_writer(actor: object | None, household: Household | None = None) -> None:
    if actor is None or getattr(actor, "is_superuser", False):
        return
    if getattr(actor, "role", None) not in REGISTRY_WRITERS:
        raise PermissionDenied(_("Your role may not change support plans."))
    if household is not None and not scope_of(actor).covers(household.village_id):  # type: ignore[arg-type]
        raise NotFound(_("No such household in your scope."))


def _catalogue_file() -> list[dict[str, object]]:
    text = (
        resources.files("propoor.households")
        .joinpath("data/interventions.json")
        .read_text(encoding="utf-8")
    )
    data: list[dict[str, object]] = json.loads(text)
    return data


def intervention_install_catalogue() -> list[Intervention]:
    """Create or update the shipped catalogue of interventions (idempotent)."""
    saved = []
    with transaction.atomic():
        for entry in _catalogue_file():
            code = str(entry["code"])
            item = Intervention.objects.filter(code=code).first() or Intervention(
                code=code
            )
            for name in (
                "kind",
                "channel",
                "name",
                "name_en",
                "description",
                "responsible_office",
            ):
                setattr(item, name, str(entry.get(name, "")))
            item.typical_cost = Decimal(str(entry["typical_cost"]))
            item.yearly_income_gain = Decimal(str(entry["yearly_income_gain"]))
            item.duration_months = int(str(entry["duration_months"]))
            item.full_clean()
            item.save()
            saved.append(item)
    return saved


def _kernel_catalogue() -> list[planning.Intervention]:
    return [
        planning.Intervention(
            code=i.code,
            kind=i.kind,
            typical_cost=i.typical_cost,
            yearly_income_gain=i.yearly_income_gain,
            duration_months=i.duration_months,
            channel=i.channel or None,
        )
        for i in Intervention.objects.filter(active=True)
    ]


def _village_cases(codes: Iterable[str]) -> dict[str, planning.Village]:
    villages = {}
    for p in VillageProfile.objects.filter(village_id__in=list(codes)):
        specialties = tuple(
            s.strip()
            for s in p.specialty_products.replace("，", ",").split(",")
            if s.strip()
        )
        villages[p.village_id] = planning.Village(
            terrain=p.terrain,
            has_service_station=p.has_service_station,
            has_logistics_point=p.has_logistics_point,
            has_cold_storage=p.has_cold_storage,
            broadband=p.broadband,
            mobile_4g=p.mobile_4g,
            landscape=p.landscape,
            folk_culture=p.folk_culture,
            orchards=p.orchards,
            vegetable_gardens=p.vegetable_gardens,
            fish_ponds=p.fish_ponds,
            specialty_products=specialties,
        )
    return villages


_SNAPSHOT_FIELDS = (
    "household_id",
    "labourers_full",
    "labourers_partial",
    "land_cultivated",
    "land_forest",
    "land_orchard",
    "land_pond",
    "skills",
    "smartphones",
    "internet",
    "km_to_road",
    "ecommerce_experience",
    "members_ill_or_disabled",
    "wishes",
)


def _cases(household_ids: list[int], year: int) -> list[planning.HouseholdCase]:
    households = {
        h["id"]: h
        for h in Household.objects.filter(id__in=household_ids).values(
            "id", "village_id", "main_cause", "second_cause", "third_cause"
        )
    }
    villages = _village_cases({h["village_id"] for h in households.values()})
    cases = []
    snapshots = Snapshot.objects.filter(
        household_id__in=household_ids, year=year
    ).values(*_SNAPSHOT_FIELDS)
    for s in snapshots:
        h = households[s["household_id"]]
        secondary = tuple(c for c in (h["second_cause"], h["third_cause"]) if c)
        cases.append(
            planning.HouseholdCase(
                household_id=h["id"],
                causes=planning.Causes(
                    main=h["main_cause"] or "other", secondary=secondary
                ),
                capacities=planning.Capacities(
                    labourers_full=s["labourers_full"],
                    labourers_partial=s["labourers_partial"],
                    land_cultivated=s["land_cultivated"],
                    land_forest=s["land_forest"],
                    land_orchard=s["land_orchard"],
                    land_pond=s["land_pond"],
                    skills=tuple(s["skills"] or ()),
                    smartphones=s["smartphones"],
                    internet=s["internet"],
                    km_to_road=s["km_to_road"],
                    ecommerce_experience=s["ecommerce_experience"],
                    members_ill_or_disabled=s["members_ill_or_disabled"],
                ),
                village=villages.get(h["village_id"], planning.Village()),
                wishes=tuple(s["wishes"] or ()),
            )
        )
    return cases


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return date(year, month, min(day.day, days[month - 1]))


def _items_for(
    plan_id: int,
    proposals: list[planning.PlanProposal],
    interventions: dict[str, Intervention],
    today: date,
) -> list[PlanItem]:
    items = []
    for rank, proposal in enumerate(proposals, start=1):
        intervention = interventions[proposal.code]
        items.append(
            PlanItem(
                plan_id=plan_id,
                intervention=intervention,
                rank=rank,
                score=proposal.score,
                reason=proposal.reasons_zh,
                reason_en=proposal.reasons_en,
                deadline=_add_months(today, intervention.duration_months),
                budget=intervention.typical_cost,
            )
        )
    return items


def poor_household_ids(*, area_prefix: str, year: int) -> list[int]:
    """Households the official standard's latest run of ``year`` found poor."""
    return list(
        IdentificationResult.objects.current()
        .filter(poor=True, year=year, household__village__code__startswith=area_prefix)
        .order_by("household_id")
        .values_list("household_id", flat=True)
    )


def plan_propose_all(
    actor: object | None,
    *,
    area_code: str,
    year: int,
    limit: int = DEFAULT_ITEMS,
    progress: Progress | None = None,
) -> int:
    """Draft plans for every poor household of the area that has none for ``year``."""
    _require_writer(actor)
    if actor is not None and not scope_of(actor).covers(area_code):  # type: ignore[arg-type]
        raise NotFound(
            _("No area with code %(code)s in your scope.") % {"code": repr(area_code)}
        )
    area = Division.objects.filter(code=area_code).first()
    if area is None:
        raise NotFound(_("No area with code %(code)s.") % {"code": repr(area_code)})
    poor = poor_household_ids(area_prefix=area.prefix, year=year)
    planned = set(
        SupportPlan.objects.filter(
            year=year, household__village__code__startswith=area.prefix
        ).values_list("household_id", flat=True)
    )
    todo = [h for h in poor if h not in planned]
    if not todo:
        return 0
    catalogue = _kernel_catalogue()
    interventions = {i.code: i for i in Intervention.objects.all()}
    today = timezone.localdate()
    made = 0
    for start in range(0, len(todo), 2_000):
        chunk = todo[start : start + 2_000]
        proposals = planning.propose_many(_cases(chunk, year), catalogue, limit=limit)
        with transaction.atomic():
            plans = SupportPlan.objects.bulk_create(
                [SupportPlan(household_id=h, year=year) for h in proposals]
            )
            items: list[PlanItem] = []
            for plan in plans:
                items += _items_for(
                    plan.pk, proposals[plan.household_id], interventions, today
                )
            PlanItem.objects.bulk_create(items, batch_size=5_000)
        made += len(plans)
        if progress is not None:
            progress(made, len(todo))
    audit_append(
        action="plan.propose_all",
        actor=actor,
        object_type="area",
        object_id=area_code,
        data={"year": year, "plans": made},
    )
    return made


def plan_propose(
    actor: object | None, *, household: Household, year: int, limit: int = DEFAULT_ITEMS
) -> SupportPlan:
    """Draft (or re-draft, while still a draft) the plan of one household."""
    _require_writer(actor, household)
    cases = _cases([household.pk], year)
    if not cases:
        raise ValidationFailed(
            _("Household %(household)s has no %(year)s survey snapshot to plan from.")
            % {"household": household.number, "year": year}
        )
    proposals = planning.propose(cases[0], _kernel_catalogue(), limit=limit)
    interventions = {i.code: i for i in Intervention.objects.all()}
    with transaction.atomic():
        plan, created = SupportPlan.objects.select_for_update().get_or_create(
            household=household, year=year
        )
        if not created and plan.status != PlanStatus.DRAFT:
            raise Conflict(
                _(
                    "The %(year)s plan of household %(household)s is already "
                    "%(status)s; edit its items instead."
                )
                % {
                    "year": year,
                    "household": household.number,
                    "status": plan.get_status_display(),
                }
            )
        plan.items.all().delete()
        PlanItem.objects.bulk_create(
            _items_for(plan.pk, proposals, interventions, timezone.localdate())
        )
        audit_append(
            action="plan.propose",
            actor=actor,
            object_type="household",
            object_id=household.pk,
            data={"year": year, "items": [p.code for p in proposals]},
        )
    return plan


def plan_approve(actor: object | None, *, plan: SupportPlan) -> SupportPlan:
    household = plan.household
    _require_writer(actor, household)
    with transaction.atomic():
        plan = SupportPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != PlanStatus.DRAFT:
            raise Conflict(
                _("Only a draft plan can be approved; this one is %(status)s.")
                # the status's label in lower case: its code in English
                % {"status": str(plan.get_status_display()).lower()}
            )
        if not plan.items.exclude(status=ItemStatus.DROPPED).exists():
            raise ValidationFailed(_("A plan needs at least one item to be approved."))
        plan.status = PlanStatus.APPROVED
        plan.approved_by = actor if getattr(actor, "pk", None) else None  # type: ignore[assignment]
        plan.approved_at = timezone.now()
        plan.save(update_fields=["status", "approved_by", "approved_at"])
        household = Household.objects.select_for_update().get(pk=household.pk)
        if household.status in (Status.IDENTIFIED, Status.RETURNED):
            StatusChange.objects.create(
                household=household,
                old_status=household.status,
                new_status=Status.IN_PLAN,
                by=plan.approved_by,
                reason=f"plan {plan.year} approved",
            )
            Household.objects.filter(pk=household.pk).update(status=Status.IN_PLAN)
        audit_append(
            action="plan.approve",
            actor=actor,
            object_type="support_plan",
            object_id=plan.pk,
            data={"household": household.pk, "year": plan.year},
        )
        transaction.on_commit(
            lambda: plan_approved.send(sender=SupportPlan, plan=plan, actor=actor)
        )
    return plan


_ITEM_MOVES = {
    ItemStatus.PLANNED: {ItemStatus.IN_PROGRESS, ItemStatus.DROPPED},
    ItemStatus.IN_PROGRESS: {ItemStatus.DONE, ItemStatus.DROPPED},
    ItemStatus.DONE: set(),
    ItemStatus.DROPPED: {ItemStatus.PLANNED},
}


def plan_item_update(
    actor: object | None,
    *,
    item: PlanItem,
    status: str | None = None,
    deadline: date | None = None,
    budget: Decimal | None = None,
) -> PlanItem:
    _require_writer(actor, item.plan.household)
    with transaction.atomic():
        item = PlanItem.objects.select_for_update().get(pk=item.pk)
        changes: dict[str, object] = {}
        if status is not None and status != item.status:
            allowed = (
                _ITEM_MOVES.get(ItemStatus(item.status), set())
                if status in ItemStatus.values
                else set()
            )
            if status not in allowed:
                raise ValidationFailed(
                    _("A plan item cannot move from %(current)s to %(new)s.")
                    % {"current": item.status, "new": status},
                    extra={"status": status, "from": item.status},
                )
            changes["status"] = status
            item.status = status
        if deadline is not None:
            changes["deadline"] = deadline.isoformat()
            item.deadline = deadline
        if budget is not None:
            if budget < 0:
                raise ValidationFailed(
                    _("A budget cannot be negative."), extra={"budget": str(budget)}
                )
            changes["budget"] = str(budget)
            item.budget = budget
        item.full_clean()
        item.save()
        audit_append(
            action="plan_item.update",
            actor=actor,
            object_type="plan_item",
            object_id=item.pk,
            data=changes,
        )
    return item


def plan_item_add(
    actor: object | None, *, plan: SupportPlan, intervention_code: str, reason: str
) -> PlanItem:
    _require_writer(actor, plan.household)
    intervention = Intervention.objects.filter(
        code=intervention_code, active=True
    ).first()
    if intervention is None:
        raise ValidationFailed(
            _("No active intervention with code %(code)s.")
            % {"code": repr(intervention_code)},
            extra={"intervention": intervention_code},
        )
    if not reason.strip():
        raise ValidationFailed(
            _("Say why this item is in the plan."), extra={"reason": ""}
        )
    with transaction.atomic():
        last = plan.items.order_by("-rank").values_list("rank", flat=True).first() or 0
        item = PlanItem(
            plan=plan,
            intervention=intervention,
            rank=last + 1,
            score=Decimal("0.00"),
            reason=reason.strip(),
            reason_en=reason.strip(),
            deadline=_add_months(timezone.localdate(), intervention.duration_months),
            budget=intervention.typical_cost,
        )
        item.full_clean()
        item.save()
        audit_append(
            action="plan_item.add",
            actor=actor,
            object_type="support_plan",
            object_id=plan.pk,
            data={"intervention": intervention.code},
        )
    return item
