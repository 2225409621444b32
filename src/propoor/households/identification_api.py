"""JSON endpoints for identification standards and runs, and support plans.

Mounted at /api/v1/identification/ and /api/v1/plans/. Each endpoint parses, calls one
selector (area scope: 404 outside it) and at most one service (role: 403).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from propoor.households import identification, plans, selectors
from propoor.households.models import (
    IdentificationStandard,
    Intervention,
    SupportPlan,
)
from propoor.households.schemas import Money, PlanItemOut, PlanOut
from propoor.households.selectors import PlanView

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from propoor.accounts.models import User
    from propoor.households.models import IdentificationRun

identification_router = Router(tags=["identification"])
plans_router = Router(tags=["plans"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # set by the API's auth


class StandardOut(Schema):
    name: str
    version: int
    title: str
    note: str
    created_at: datetime
    definition: dict[str, object]


class StandardIn(Schema):
    definition: dict[str, object]
    note: str = Field("", max_length=300)


class RunIn(Schema):
    area: str = Field(..., pattern=r"^\d{12}$", description="12-digit division code")
    year: int = Field(..., ge=2010, le=2100)
    standard: str = "cn-national"
    version: int | None = None
    only_changed: bool = False


class RunOut(Schema):
    id: int
    standard: str
    standard_version: int
    area: str
    area_name: str
    year: int
    ran_by: str | None
    started_at: datetime
    finished_at: datetime | None
    only_changed: bool
    households: int
    computed: int
    unchanged: int
    poor: int

    @staticmethod
    def resolve_standard(run: IdentificationRun) -> str:
        return run.standard.name

    @staticmethod
    def resolve_standard_version(run: IdentificationRun) -> int:
        return run.standard.version

    @staticmethod
    def resolve_area(run: IdentificationRun) -> str:
        return run.area_id

    @staticmethod
    def resolve_area_name(run: IdentificationRun) -> str:
        return run.area.name

    @staticmethod
    def resolve_ran_by(run: IdentificationRun) -> str | None:
        return run.ran_by.username if run.ran_by is not None else None


class RunDetailOut(RunOut):
    summary: dict[str, object]


class InterventionOut(Schema):
    code: str
    kind: str
    channel: str
    name: str
    name_en: str
    description: str
    typical_cost: Money
    yearly_income_gain: Money
    responsible_office: str
    duration_months: int


class ProposeIn(Schema):
    year: int = Field(..., ge=2010, le=2100)


class ItemPatch(Schema):
    status: Literal["planned", "in_progress", "done", "dropped"] | None = None
    deadline: date | None = None
    budget: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)


class ItemIn(Schema):
    intervention: str
    reason: str = Field(..., min_length=1, max_length=400)


def _standard_out(standard: object) -> StandardOut:
    return StandardOut.from_orm(standard)


@identification_router.get("/standards", response=list[StandardOut])
def standard_list(request: HttpRequest) -> list[StandardOut]:
    """Every version of every identification standard."""
    return [
        _standard_out(s)
        for s in IdentificationStandard.objects.order_by("name", "-version")
    ]


@identification_router.get("/standards/{name}", response=StandardOut)
def standard_detail(
    request: HttpRequest, name: str, version: int | None = None
) -> StandardOut:
    return _standard_out(identification.standard_get(name=name, version=version))


@identification_router.post("/standards/{name}", response={201: StandardOut})
def standard_revise(
    request: HttpRequest, name: str, body: StandardIn
) -> tuple[int, StandardOut]:
    """Save an edited definition as the standard's next version (county admin)."""
    standard = identification.standard_revise(
        _user(request), name=name, definition=body.definition, note=body.note
    )
    return 201, _standard_out(standard)


@identification_router.post("/runs", response={201: RunDetailOut})
def run_create(request: HttpRequest, body: RunIn) -> tuple[int, RunDetailOut]:
    """Identify the households of an area for a year (a recorded run)."""
    run = identification.identification_run(
        _user(request),
        area_code=body.area,
        year=body.year,
        standard_name=body.standard,
        standard_version=body.version,
        only_changed=body.only_changed,
    )
    return 201, RunDetailOut.from_orm(run)


@identification_router.get("/runs", response=list[RunOut])
@paginate(PageNumberPagination, page_size=50)
def run_list(request: HttpRequest) -> QuerySet[IdentificationRun]:
    return selectors.run_list(_user(request))


@identification_router.get("/runs/{run_id}", response=RunDetailOut)
def run_detail(request: HttpRequest, run_id: int) -> RunDetailOut:
    run = selectors.run_get(_user(request), run_id)
    return RunDetailOut.from_orm(run)


@identification_router.get("/runs/{run_id}/top", response=list[int])
def run_top(
    request: HttpRequest,
    run_id: int,
    n: int = 100,
    by: Literal["mpi", "pmt", "income"] = "mpi",
) -> list[int]:
    """The ``n`` most deprived households of a run (for enrolment quotas)."""
    user = _user(request)
    run = selectors.run_get(user, run_id)
    return identification.run_top_households(user, run=run, n=n, by=by)


@plans_router.get("/interventions", response=list[InterventionOut])
def intervention_list(request: HttpRequest) -> QuerySet[Intervention]:
    """The catalogue of support measures."""
    return Intervention.objects.filter(active=True).order_by("kind", "code")


def _plan_out(plan: SupportPlan) -> PlanOut:
    items = list(plan.items.select_related("intervention").order_by("rank"))
    return PlanOut.of(PlanView(plan=plan, items=items))


@plans_router.post("/households/{household_id}", response={201: PlanOut})
def plan_propose(
    request: HttpRequest, household_id: int, body: ProposeIn
) -> tuple[int, PlanOut]:
    """Draft (or re-draft) the household's plan for a year from the kernel."""
    user = _user(request)
    household = selectors.household_get(user, household_id)
    plan = plans.plan_propose(user, household=household, year=body.year)
    return 201, _plan_out(plan)


@plans_router.post("/{plan_id}/approve", response=PlanOut)
def plan_approve(request: HttpRequest, plan_id: int) -> PlanOut:
    user = _user(request)
    plan = plans.plan_approve(user, plan=selectors.plan_get(user, plan_id))
    return _plan_out(plan)


@plans_router.post("/{plan_id}/items", response={201: PlanItemOut})
def plan_item_add(
    request: HttpRequest, plan_id: int, body: ItemIn
) -> tuple[int, PlanItemOut]:
    user = _user(request)
    item = plans.plan_item_add(
        user,
        plan=selectors.plan_get(user, plan_id),
        intervention_code=body.intervention,
        reason=body.reason,
    )
    return 201, PlanItemOut.of(item)


@plans_router.patch("/items/{item_id}", response=PlanItemOut)
def plan_item_update(
    request: HttpRequest, item_id: int, body: ItemPatch
) -> PlanItemOut:
    user = _user(request)
    item = plans.plan_item_update(
        user,
        item=selectors.plan_item_get(user, item_id),
        status=body.status,
        deadline=body.deadline,
        budget=body.budget,
    )
    return PlanItemOut.of(item)
