from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from propoor.accounts.models import Role
from propoor.areas.services import village_profile_set
from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.households.identification import (
    identification_run,
    standard_install_builtins,
)
from propoor.households.models import (
    Household,
    ItemStatus,
    PlanItem,
    PlanStatus,
    Status,
    SupportPlan,
)
from propoor.households.plans import (
    intervention_install_catalogue,
    plan_approve,
    plan_item_add,
    plan_item_update,
    plan_propose,
    plan_propose_all,
)
from propoor.households.tests.factories import (
    COUNTY,
    VILLAGE_A1,
    VILLAGE_B1,
    make_household,
    make_user,
)

pytestmark = pytest.mark.django_db

YEAR = 2017


def _village_with_4g_and_orchards() -> None:
    village_profile_set(
        actor=None,
        village_code=VILLAGE_A1,
        terrain="hill",
        km_to_county_seat=Decimal("35.0"),
        km_to_paved_road=Decimal("1.0"),
        broadband="partial",
        mobile_4g="full",
        has_service_station=True,
        has_logistics_point=True,
        orchards=True,
        specialty_products="核桃,花椒",
    )


def _poor_household() -> Household:
    standard_install_builtins()
    intervention_install_catalogue()
    household = make_household(village_code=VILLAGE_A1, year=YEAR)
    _village_with_4g_and_orchards()
    return household


def test_the_catalogue_installs_once_with_its_channels() -> None:
    first = intervention_install_catalogue()
    again = intervention_install_catalogue()

    assert len(first) == len(again) == 15
    channels = {i.code: i.channel for i in again if i.kind == "ecommerce"}
    assert channels == {
        "ecommerce-cooperative": "cooperative",
        "ecommerce-own-shop": "own_shop",
        "ecommerce-station": "station",
    }


def test_a_plan_is_proposed_with_ranked_reasoned_items() -> None:
    household = _poor_household()

    plan = plan_propose(None, household=household, year=YEAR)

    items = list(plan.items.order_by("rank"))
    codes = [i.intervention.code for i in items]
    assert len(codes) == 5
    # cause illness (main) and lack of skills (secondary), no e-commerce experience,
    # a smartphone in a village with 4G: training and an own shop both come up
    assert "training-ecommerce" in codes
    assert "ecommerce-own-shop" in codes
    assert [i.rank for i in items] == [1, 2, 3, 4, 5]
    assert [i.score for i in items] == sorted((i.score for i in items), reverse=True)
    training = next(i for i in items if i.intervention.code == "training-ecommerce")
    assert "缺技术" in training.reason
    assert "lack of skills" in training.reason_en
    assert training.budget == Decimal("800.00")
    assert plan.status == PlanStatus.DRAFT


def test_plans_are_proposed_for_every_poor_household_of_the_area() -> None:
    poor = _poor_household()
    make_household(village_code=VILLAGE_B1, year=YEAR, income_wages=Decimal("20000.00"))
    identification_run(None, area_code=COUNTY, year=YEAR)

    made = plan_propose_all(None, area_code=COUNTY, year=YEAR)
    again = plan_propose_all(None, area_code=COUNTY, year=YEAR)

    assert (made, again) == (1, 0)
    assert list(SupportPlan.objects.values_list("household_id", flat=True)) == [poor.pk]
    assert PlanItem.objects.count() == 5


def test_approving_a_plan_moves_the_household_into_the_plan() -> None:
    household = _poor_household()
    identification_run(None, area_code=COUNTY, year=YEAR)
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])
    plan = plan_propose(cadre, household=household, year=YEAR)

    plan_approve(cadre, plan=plan)

    plan.refresh_from_db()
    household.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    assert plan.approved_by == cadre
    assert household.status == Status.IN_PLAN
    with pytest.raises(Conflict):
        plan_approve(cadre, plan=plan)


def test_items_move_forward_and_illegal_moves_are_refused() -> None:
    household = _poor_household()
    plan = plan_propose(None, household=household, year=YEAR)
    item = plan.items.order_by("rank").first()
    assert item is not None

    plan_item_update(None, item=item, status=ItemStatus.IN_PROGRESS)
    plan_item_update(
        None, item=item, status=ItemStatus.DONE, deadline=date(2018, 6, 30)
    )
    with pytest.raises(ValidationFailed, match="cannot move from done to planned"):
        plan_item_update(None, item=item, status=ItemStatus.PLANNED)

    item.refresh_from_db()
    assert (item.status, item.deadline) == (ItemStatus.DONE, date(2018, 6, 30))


def test_a_cadre_adds_an_item_with_a_reason() -> None:
    household = _poor_household()
    plan = plan_propose(None, household=household, year=YEAR)

    item = plan_item_add(
        None, plan=plan, intervention_code="insurance-production", reason="户主要求"
    )

    assert (item.rank, item.reason, item.budget) == (6, "户主要求", Decimal("300.00"))
    with pytest.raises(ValidationFailed):
        plan_item_add(None, plan=plan, intervention_code="nope", reason="x")
    assert plan.items.count() == 6


def test_plans_outside_the_scope_or_role_are_refused() -> None:
    household = _poor_household()
    other_cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_B1])
    buyer = make_user(Role.BUYER, [COUNTY])

    with pytest.raises(NotFound):
        plan_propose(other_cadre, household=household, year=YEAR)
    with pytest.raises(PermissionDenied):
        plan_propose(buyer, household=household, year=YEAR)

    assert SupportPlan.objects.count() == 0
