from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from propoor.accounts.models import Role
from propoor.core.errors import NotFound, PermissionDenied
from propoor.households.models import (
    IdentificationResult,
    IdentificationRun,
    IdentificationStandard,
    Intervention,
    PlanItem,
    PlanStatus,
    SupportPlan,
)
from propoor.households.selectors import (
    household_detail,
    household_get,
    household_list,
    household_plan,
    identification_results,
    member_list,
    snapshot_get,
)
from propoor.households.services import household_set_status, member_remove
from propoor.households.tests.factories import (
    COUNTY,
    TOWNSHIP_A,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_area_tree,
    make_household,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def households():
    """Two households in A1, one in A2, one in B1."""
    make_area_tree()
    return {
        "a1_first": make_household(village_code=VILLAGE_A1, head_name="张三"),
        "a1_second": make_household(
            village_code=VILLAGE_A1,
            head_name="李四",
            main_cause="disaster",
            secondary_causes=("lack_water",),
        ),
        "a2": make_household(village_code=VILLAGE_A2, head_name="王五"),
        "b1": make_household(village_code=VILLAGE_B1, head_name="赵六"),
    }


def _numbers(queryset) -> list[str]:
    return list(queryset.values_list("number", flat=True))


def _result(household, *, poor: bool, latest: bool = True) -> IdentificationResult:
    standard = IdentificationStandard.objects.get_or_create(
        name="cn-national", version=1, defaults={"title": "National", "definition": {}}
    )[0]
    run = IdentificationRun.objects.create(
        standard=standard,
        area_id=COUNTY,
        year=2024,
        started_at=timezone.now(),
    )
    return IdentificationResult.objects.create(
        run=run,
        household=household,
        year=2024,
        poor=poor,
        per_capita_income=Decimal("1950.00"),
        income_line=Decimal("2300.00"),
        exit_ok=not poor,
        input_digest="0" * 64,
        is_latest=latest,
    )


def test_a_village_cadre_lists_only_their_village(households) -> None:
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])

    assert _numbers(household_list(cadre)) == [
        "530102001001-0001",
        "530102001001-0002",
    ]


def test_a_township_officer_sees_every_village_of_the_township(households) -> None:
    officer = make_user(Role.TOWNSHIP_OFFICER, [TOWNSHIP_A])

    assert _numbers(household_list(officer)) == [
        "530102001001-0001",
        "530102001001-0002",
        "530102001002-0001",
    ]


def test_a_county_admin_filters_by_township_village_cause_and_text(households) -> None:
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])

    assert len(_numbers(household_list(admin))) == 4
    assert _numbers(household_list(admin, township=TOWNSHIP_A)) == [
        "530102001001-0001",
        "530102001001-0002",
        "530102001002-0001",
    ]
    assert _numbers(household_list(admin, village=VILLAGE_B1)) == ["530102002001-0001"]
    assert _numbers(household_list(admin, cause="disaster")) == ["530102001001-0002"]
    assert _numbers(household_list(admin, cause="lack_skills")) == [
        "530102001001-0001",
        "530102001002-0001",
        "530102002001-0001",
    ]
    assert _numbers(household_list(admin, q="王五")) == ["530102001002-0001"]
    assert _numbers(household_list(admin, q="2002001-00")) == ["530102002001-0001"]


def test_the_list_filters_by_status_category_and_latest_verdict(households) -> None:
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])
    household_set_status(
        actor=None, household=households["a2"], new_status="identified", reason="run"
    )
    _result(households["a2"], poor=True)
    _result(households["b1"], poor=True, latest=False)
    _result(households["b1"], poor=False)

    assert _numbers(household_list(admin, status="identified")) == ["530102001002-0001"]
    assert _numbers(household_list(admin, category="dibao")) == []
    assert _numbers(household_list(admin, poor=True)) == ["530102001002-0001"]
    assert _numbers(household_list(admin, poor=False)) == ["530102002001-0001"]


def test_the_list_has_its_village_joined(households, django_assert_num_queries) -> None:
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])
    listed = household_list(admin)

    with django_assert_num_queries(1):
        names = [h.village.name for h in listed]

    assert names == ["一村", "一村", "二村", "三村"]


def test_a_household_outside_the_scope_is_not_found(households) -> None:
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])

    with pytest.raises(NotFound, match=f"No household {households['a2'].pk}"):
        household_get(cadre, households["a2"].pk)


def test_a_household_login_sees_only_its_own_household(households) -> None:
    own = households["a1_first"]
    farmer = make_user(Role.HOUSEHOLD, [VILLAGE_A1], household=own)

    assert _numbers(household_list(farmer)) == [own.number]
    assert household_get(farmer, own.pk) == own
    with pytest.raises(NotFound):
        household_get(farmer, households["a1_second"].pk)


def test_a_role_without_registry_access_is_denied(households) -> None:
    buyer = make_user(Role.BUYER, [COUNTY])

    with pytest.raises(PermissionDenied):
        household_list(buyer)


def test_a_superuser_sees_everything(households) -> None:
    root = make_user(Role.BUYER, [])
    root.is_superuser = True
    root.save()

    assert len(_numbers(household_list(root))) == 4


def test_the_detail_gathers_members_snapshots_history_result_and_plan(
    households,
) -> None:
    household = households["a1_first"]
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])
    household_set_status(
        actor=admin, household=household, new_status="identified", reason="run 1"
    )
    _result(household, poor=True, latest=False)
    latest = _result(household, poor=True)
    intervention = Intervention.objects.create(
        code="training.basic",
        kind="training",
        name="电商培训",
        name_en="E-commerce training",
        responsible_office="商务局",
        duration_months=3,
    )
    plan = SupportPlan.objects.create(household=household, year=2024)
    PlanItem.objects.create(
        plan=plan,
        intervention=intervention,
        rank=1,
        score=Decimal("0.90"),
        reason="缺技术",
    )
    SupportPlan.objects.create(household=household, year=2023, status=PlanStatus.CLOSED)

    detail = household_detail(admin, household.pk)

    assert detail.household == household
    assert [
        (m.relation, m.id_masked[:4], m.id_masked[4:14]) for m in detail.members
    ] == [
        ("head", "5301", "*" * 10),
        ("spouse", "5301", "*" * 10),
    ]
    assert not hasattr(detail.members[0], "id_cipher")
    assert [s.year for s in detail.snapshots] == [2024]
    assert [(c.old_status, c.new_status) for c in detail.status_history] == [
        ("registered", "identified")
    ]
    assert detail.latest_result == latest
    assert detail.current_plan is not None
    assert detail.current_plan.plan == plan
    assert [i.intervention.code for i in detail.current_plan.items] == [
        "training.basic"
    ]
    assert household_plan(admin, household.pk, year=2023).plan.year == 2023
    assert [r.pk for r in identification_results(admin, household.pk)] == [
        latest.pk,
        latest.pk - 1,
    ]


def test_a_household_without_a_plan_has_none(households) -> None:
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])
    household = households["b1"]

    assert household_detail(admin, household.pk).current_plan is None
    with pytest.raises(NotFound, match="has no support plan"):
        household_plan(admin, household.pk)


def test_member_list_hides_removed_members_unless_asked(households) -> None:
    household = households["a1_first"]
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])
    spouse = household.members.get(relation="spouse")
    member_remove(actor=None, member=spouse, reason="moved")

    assert [m.relation for m in member_list(admin, household.pk)] == ["head"]
    assert [
        (m.relation, m.active)
        for m in member_list(admin, household.pk, include_removed=True)
    ] == [("head", True), ("spouse", False)]


def test_snapshot_get_by_year(households) -> None:
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])
    household = households["a1_first"]

    assert snapshot_get(admin, household.pk, 2024).size == 2
    with pytest.raises(NotFound, match="has no snapshot of 2023"):
        snapshot_get(admin, household.pk, 2023)


def test_the_status_history_is_in_time_order(households) -> None:
    household = households["a1_first"]
    for status in ("identified", "in_plan"):
        household_set_status(
            actor=None, household=household, new_status=status, reason="r"
        )
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])

    history = household_detail(admin, household.pk).status_history

    assert [c.new_status for c in history] == ["identified", "in_plan"]
    assert all(isinstance(c.at, datetime) for c in history)
