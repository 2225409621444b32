"""A small county for page and browser tests, built through the services.

Seven households in three villages of the test tree, surveyed in 2020 (national line
4,000 yuan), identified by the official standard (cn-national) and by the global
MPI, with an approved support plan, village profiles and a few status changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from propoor.accounts.models import Role, User
from propoor.areas.services import village_profile_set
from propoor.households.identification import (
    identification_run,
    standard_install_builtins,
)
from propoor.households.models import Cause, Household, SupportPlan
from propoor.households.plans import (
    intervention_install_catalogue,
    plan_approve,
    plan_item_update,
    plan_propose,
)
from propoor.households.services import household_set_status
from propoor.households.tests.factories import (
    COUNTY,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_area_tree,
    make_household,
    make_user,
)

YEAR = 2020

# Every deprivation of the global MPI's living standards, and no schooling.
DEPRIVED = {
    "housing_grade": "D",
    "housing_structure": "earth_wood",
    "cooking_fuel": "wood",
    "sanitation": "none",
    "safe_water": False,
    "water_quality": 1,
    "max_schooling_years": 3,
    "school_age_children": 1,
    "children_out_of_school": 1,
    "has_tv": False,
    "has_telephone": False,
    "has_motorbike": False,
}
COMFORTABLE = {
    "income_wages": Decimal("26000.00"),
    "income_business": Decimal("8000.00"),
    "housing_structure": "concrete",
    "housing_grade": "A",
    "cooking_fuel": "gas",
    "sanitation": "flush",
    "max_schooling_years": 9,
    "has_refrigerator": True,
    "internet": "broadband",
}


@dataclass
class County:
    admin: User
    cadre_a1: User
    poor: Household  # 张三, A1: poor by income, in a plan
    deprived: Household  # 李四, A1: poor by income, guarantees and the MPI
    comfortable: Household  # 王五, A1: not poor, exited
    others: list[Household]


def _plan(admin: User, household: Household, year: int) -> SupportPlan:
    """The household's proposed plan, approved, its first item done and the second
    under way (the rest stay planned)."""
    plan = plan_approve(admin, plan=plan_propose(admin, household=household, year=year))
    first, second = list(plan.items.order_by("rank"))[:2]
    for item, moves in ((first, ("in_progress", "done")), (second, ("in_progress",))):
        for status in moves:
            plan_item_update(admin, item=item, status=status)
    return plan


def build_county(*, extra: int = 0) -> County:
    """The test county; ``extra`` more households spread over the villages."""
    make_area_tree()
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY], username="county-admin")
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="cadre-a1")
    standard_install_builtins()
    village_profile_set(
        actor=None,
        village_code=VILLAGE_A1,
        terrain="mountain",
        km_to_county_seat=Decimal("38.5"),
        km_to_paved_road=Decimal("2.0"),
        broadband="partial",
        mobile_4g="full",
        has_service_station=True,
        population=1260,
        orchards=True,
        landscape=True,
        specialty_products="柑橘、核桃",
    )
    village_profile_set(
        actor=None,
        village_code=VILLAGE_B1,
        terrain="hill",
        km_to_county_seat=Decimal("12.0"),
        km_to_paved_road=Decimal("0.0"),
        broadband="full",
        mobile_4g="full",
        has_logistics_point=True,
        population=830,
        fish_ponds=True,
    )
    poor = make_household(
        village_code=VILLAGE_A1, year=YEAR, head_name="张三", main_cause=Cause.ILLNESS
    )
    deprived = make_household(
        village_code=VILLAGE_A1,
        members=4,
        year=YEAR,
        head_name="李四",
        main_cause=Cause.LACK_SKILLS,
        secondary_causes=(Cause.POOR_TRANSPORT,),
        **DEPRIVED,
    )
    comfortable = make_household(
        village_code=VILLAGE_A1,
        members=3,
        year=YEAR,
        head_name="王五",
        main_cause=Cause.LACK_CAPITAL,
        secondary_causes=(),
        **COMFORTABLE,
    )
    others = [
        make_household(
            village_code=VILLAGE_A2,
            members=3,
            year=YEAR,
            head_name="赵六",
            main_cause=Cause.DISABILITY,
            housing_grade="C",
        ),
        make_household(
            village_code=VILLAGE_A2,
            members=2,
            year=YEAR,
            head_name="钱七",
            main_cause=Cause.LACK_LAND,
            **COMFORTABLE,
        ),
        make_household(
            village_code=VILLAGE_B1,
            members=5,
            year=YEAR,
            head_name="孙八",
            main_cause=Cause.LACK_LABOUR,
            **{**COMFORTABLE, "cooking_fuel": "coal"},
        ),
        make_household(
            village_code=VILLAGE_B1,
            members=3,
            year=YEAR,
            head_name="周九",
            main_cause=Cause.ILLNESS,
            **DEPRIVED,
        ),
    ]
    villages = (VILLAGE_A1, VILLAGE_A2, VILLAGE_B1)
    causes = tuple(Cause)
    for n in range(extra):
        rich = n % 3 == 0
        overrides: dict[str, object] = dict(COMFORTABLE) if rich else {}
        if n % 4 == 1:
            overrides.update(DEPRIVED)
        others.append(
            make_household(
                village_code=villages[n % len(villages)],
                members=2 + n % 4,
                year=YEAR,
                head_name="吴" + "一二三四五六七八九十"[n % 10],
                main_cause=causes[n % len(causes)],
                secondary_causes=(),
                **overrides,
            )
        )
    for standard in ("cn-national", "global-mpi"):
        identification_run(admin, area_code=COUNTY, year=YEAR, standard_name=standard)
    # The official run moved the poor to "identified", the others to "not_poor";
    # approving 张三's plan below moves him to "in_plan".
    household_set_status(
        actor=admin, household=comfortable, new_status="identified", reason="2019"
    )
    household_set_status(
        actor=admin, household=comfortable, new_status="exited", reason="income up"
    )
    intervention_install_catalogue()
    _plan(admin, poor, YEAR)
    return County(
        admin=admin,
        cadre_a1=cadre,
        poor=poor,
        deprived=deprived,
        comfortable=comfortable,
        others=others,
    )
