"""Request and response shapes of the registry API.

Amounts are Decimal inside and strings with two places in JSON (``"2800.00"``). An ID
number is only ever accepted (``id_number``) and only ever shown masked (``id_masked``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import Field, PlainSerializer

from propoor.households.models import (
    Household,
    IdentificationResult,
    PlanItem,
    Snapshot,
    StatusChange,
)
from propoor.households.selectors import HouseholdDetail, MemberView, PlanView

Money = Annotated[
    Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json")
]


class HouseholdOut(Schema):
    id: int
    number: str
    village: str
    village_name: str
    head_name: str
    address: str
    phone: str
    category: str
    status: str
    main_cause: str
    secondary_causes: list[str]
    latitude: Decimal | None
    longitude: Decimal | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def of(household: Household) -> HouseholdOut:
        return HouseholdOut(
            id=household.pk,
            number=household.number,
            village=household.village_id,
            village_name=household.village.name,
            head_name=household.head_name,
            address=household.address,
            phone=household.phone,
            category=household.category,
            status=household.status,
            main_cause=household.main_cause,
            secondary_causes=[
                c for c in (household.second_cause, household.third_cause) if c
            ],
            latitude=household.latitude,
            longitude=household.longitude,
            created_at=household.created_at,
            updated_at=household.updated_at,
        )


class HouseholdRow(Schema):
    """One line of the household list."""

    id: int
    number: str
    village: str
    village_name: str
    head_name: str
    category: str
    status: str
    main_cause: str

    @staticmethod
    def resolve_village(obj: Household) -> str:
        return obj.village_id

    @staticmethod
    def resolve_village_name(obj: Household) -> str:
        return obj.village.name


class MemberOut(Schema):
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

    @staticmethod
    def of(view: MemberView) -> MemberOut:
        return MemberOut.model_validate(view, from_attributes=True)


class MemberIn(Schema):
    name: str = Field(max_length=60)
    id_number: str = Field(description="18-character resident ID number")
    relation: str = "other"
    labour: str = "full"
    health: str = "healthy"
    schooling: str = "primary"
    in_school: bool = False
    skills: str = ""


class MemberPatch(Schema):
    name: str | None = Field(None, max_length=60)
    id_number: str | None = None
    relation: str | None = None
    labour: str | None = None
    health: str | None = None
    schooling: str | None = None
    in_school: bool | None = None
    skills: str | None = None


class HouseholdIn(Schema):
    village_code: str
    head_name: str = Field(max_length=60)
    members: list[MemberIn] = Field(default_factory=list)
    category: str = "ordinary"
    main_cause: str = ""
    secondary_causes: list[str] = Field(default_factory=list)
    address: str = ""
    phone: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None


class HouseholdPatch(Schema):
    head_name: str | None = Field(None, max_length=60)
    address: str | None = None
    phone: str | None = None
    category: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None


class CausesIn(Schema):
    main: str
    secondary: list[str] = Field(default_factory=list)


class StatusIn(Schema):
    status: str
    reason: str


class StatusChangeOut(Schema):
    old_status: str
    new_status: str
    at: datetime
    by: str | None
    reason: str

    @staticmethod
    def of(change: StatusChange) -> StatusChangeOut:
        return StatusChangeOut(
            old_status=change.old_status,
            new_status=change.new_status,
            at=change.at,
            by=change.by.username if change.by is not None else None,
            reason=change.reason,
        )


class SnapshotOut(Schema):
    year: int
    surveyed_on: date
    surveyed_by: str | None
    size: int
    income_wages: Money
    income_business: Money
    income_property: Money
    income_transfers: Money
    income_ecommerce: Money
    costs: Money
    spending_medical: Money
    spending_disaster: Money
    net_income: Money
    per_capita_income: Money
    food_secure: bool
    clothing_secure: bool
    school_age_children: int
    children_out_of_school: int
    medical_insured: bool
    medical_care_access: bool
    housing_structure: str
    housing_grade: str
    safe_water: bool
    water_quality: int
    wall_quality: int
    electricity: bool
    cooking_fuel: str
    sanitation: str
    undernourished_member: bool
    child_death_5y: bool
    max_schooling_years: int
    has_radio: bool
    has_tv: bool
    has_telephone: bool
    has_computer: bool
    has_bicycle: bool
    has_motorbike: bool
    has_refrigerator: bool
    has_car: bool
    land_cultivated: Decimal
    land_forest: Decimal
    land_orchard: Decimal
    land_pond: Decimal
    labourers_full: int
    labourers_partial: int
    members_ill_or_disabled: int
    head_female: bool
    head_elderly: bool
    head_child: bool
    skills: list[str]
    smartphones: int
    internet: str
    km_to_road: Decimal
    km_to_market: Decimal
    ecommerce_experience: str
    wishes: list[str]
    wishes_note: str
    updated_at: datetime

    @staticmethod
    def of(snapshot: Snapshot) -> SnapshotOut:
        fields = {
            name: getattr(snapshot, name)
            for name in SnapshotOut.model_fields
            if name not in {"surveyed_by", "net_income", "per_capita_income"}
        }
        net = snapshot.net_income
        return SnapshotOut(
            **fields,
            surveyed_by=(
                snapshot.surveyed_by.username
                if snapshot.surveyed_by is not None
                else None
            ),
            net_income=net,
            per_capita_income=(net / snapshot.size).quantize(Decimal("0.01")),
        )


class SnapshotIn(Schema):
    """Fields left out keep their value; a new snapshot needs the required ones."""

    surveyed_on: date | None = None
    size: int | None = None
    income_wages: Decimal | None = None
    income_business: Decimal | None = None
    income_property: Decimal | None = None
    income_transfers: Decimal | None = None
    income_ecommerce: Decimal | None = None
    costs: Decimal | None = None
    spending_medical: Decimal | None = None
    spending_disaster: Decimal | None = None
    food_secure: bool | None = None
    clothing_secure: bool | None = None
    school_age_children: int | None = None
    children_out_of_school: int | None = None
    medical_insured: bool | None = None
    medical_care_access: bool | None = None
    housing_structure: str | None = None
    housing_grade: str | None = None
    safe_water: bool | None = None
    water_quality: int | None = None
    wall_quality: int | None = None
    electricity: bool | None = None
    cooking_fuel: str | None = None
    sanitation: str | None = None
    undernourished_member: bool | None = None
    child_death_5y: bool | None = None
    max_schooling_years: int | None = None
    has_radio: bool | None = None
    has_tv: bool | None = None
    has_telephone: bool | None = None
    has_computer: bool | None = None
    has_bicycle: bool | None = None
    has_motorbike: bool | None = None
    has_refrigerator: bool | None = None
    has_car: bool | None = None
    land_cultivated: Decimal | None = None
    land_forest: Decimal | None = None
    land_orchard: Decimal | None = None
    land_pond: Decimal | None = None
    labourers_full: int | None = None
    labourers_partial: int | None = None
    members_ill_or_disabled: int | None = None
    head_female: bool | None = None
    head_elderly: bool | None = None
    head_child: bool | None = None
    skills: list[str] | None = None
    smartphones: int | None = None
    internet: str | None = None
    km_to_road: Decimal | None = None
    km_to_market: Decimal | None = None
    ecommerce_experience: str | None = None
    wishes: list[str] | None = None
    wishes_note: str | None = None


class ResultOut(Schema):
    id: int
    run: int
    standard: str
    standard_version: int
    year: int
    poor: bool
    per_capita_income: Money
    income_line: Money | None
    income_poor: bool | None
    guarantees_met: bool | None
    mpi_score: str
    mpi_poor: bool | None
    pmt_score: Decimal | None
    pmt_eligible: bool | None
    exit_ok: bool
    failed_conditions: list[object]
    explanation: dict[str, object]
    is_latest: bool

    @staticmethod
    def of(result: IdentificationResult) -> ResultOut:
        standard = result.run.standard
        return ResultOut(
            id=result.pk,
            run=result.run_id,
            standard=standard.name,
            standard_version=standard.version,
            year=result.year,
            poor=result.poor,
            per_capita_income=result.per_capita_income,
            income_line=result.income_line,
            income_poor=result.income_poor,
            guarantees_met=result.guarantees_met,
            mpi_score=result.mpi_score,
            mpi_poor=result.mpi_poor,
            pmt_score=result.pmt_score,
            pmt_eligible=result.pmt_eligible,
            exit_ok=result.exit_ok,
            failed_conditions=list(result.failed_conditions or []),
            explanation=dict(result.explanation or {}),
            is_latest=result.is_latest,
        )


class PlanItemOut(Schema):
    rank: int
    intervention: str
    intervention_name: str
    intervention_name_en: str
    kind: str
    score: Decimal
    reason: str
    reason_en: str
    status: str
    deadline: date | None
    budget: Money

    @staticmethod
    def of(item: PlanItem) -> PlanItemOut:
        return PlanItemOut(
            rank=item.rank,
            intervention=item.intervention.code,
            intervention_name=item.intervention.name,
            intervention_name_en=item.intervention.name_en,
            kind=item.intervention.kind,
            score=item.score,
            reason=item.reason,
            reason_en=item.reason_en,
            status=item.status,
            deadline=item.deadline,
            budget=item.budget,
        )


class PlanOut(Schema):
    id: int
    year: int
    status: str
    proposed_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    items: list[PlanItemOut]

    @staticmethod
    def of(view: PlanView) -> PlanOut:
        plan = view.plan
        return PlanOut(
            id=plan.pk,
            year=plan.year,
            status=plan.status,
            proposed_at=plan.proposed_at,
            approved_by=(
                plan.approved_by.username if plan.approved_by is not None else None
            ),
            approved_at=plan.approved_at,
            items=[PlanItemOut.of(i) for i in view.items],
        )


class HouseholdDetailOut(HouseholdOut):
    members: list[MemberOut]
    snapshots: list[SnapshotOut]
    status_history: list[StatusChangeOut]
    latest_result: ResultOut | None
    current_plan: PlanOut | None

    @staticmethod
    def of_detail(detail: HouseholdDetail) -> HouseholdDetailOut:
        return HouseholdDetailOut(
            **HouseholdOut.of(detail.household).model_dump(),
            members=[MemberOut.of(m) for m in detail.members],
            snapshots=[SnapshotOut.of(s) for s in detail.snapshots],
            status_history=[StatusChangeOut.of(c) for c in detail.status_history],
            latest_result=(
                ResultOut.of(detail.latest_result)
                if detail.latest_result is not None
                else None
            ),
            current_plan=(
                PlanOut.of(detail.current_plan)
                if detail.current_plan is not None
                else None
            ),
        )
