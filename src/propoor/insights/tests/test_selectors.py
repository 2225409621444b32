from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from propoor.accounts.models import Role
from propoor.core.errors import NotFound, PermissionDenied
from propoor.households.models import IdentificationResult, Snapshot
from propoor.households.services import snapshot_record
from propoor.households.tests.factories import (
    COUNTY,
    TOWNSHIP_A,
    TOWNSHIP_B,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_area_tree,
    make_household,
    make_user,
)
from propoor.insights.explanation import snapshot_row
from propoor.insights.selectors import (
    county_dashboard,
    household_report,
    household_search,
    village_overview,
    village_report,
)
from propoor.web.tests.data import YEAR, County, build_county

pytestmark = pytest.mark.django_db


@pytest.fixture
def county() -> County:
    return build_county()


# The test county (see propoor.web.tests.data), identified in 2020:
#   A1: 张三 poor (income), 李四 poor (income, guarantees, MPI 11/18), 王五 not poor
#   A2: 赵六 poor (income), 钱七 not poor
#   B1: 孙八 not poor, 周九 poor (income, guarantees, MPI 11/18)


def test_the_dashboard_counts_the_official_standards_latest_results(
    county: County,
) -> None:
    board = county_dashboard(county.admin)

    assert board.year == YEAR
    assert board.years == (YEAR,)
    assert (board.standard, board.mpi_standard) == ("cn-national", "global-mpi")
    assert board.area is not None
    assert board.area.code == COUNTY
    headline = board.headline
    assert (headline.households, headline.assessed, headline.poor) == (7, 7, 4)
    assert headline.incidence == Fraction(4, 7)
    assert (headline.exited, headline.monitored, headline.returned) == (1, 0, 0)


def test_m0_is_exact_alkire_foster_over_the_mpi_standards_results(
    county: County,
) -> None:
    board = county_dashboard(county.admin)

    # Two of seven households are MPI-poor, each with a score of 11/18.
    assert board.headline.m0 == Fraction(2, 7) * Fraction(11, 18)
    assert [
        (t.code, t.assessed, t.poor, t.mpi_poor, t.m0) for t in board.townships
    ] == [
        (TOWNSHIP_A, 5, 3, 1, Fraction(11, 90)),
        (TOWNSHIP_B, 2, 1, 1, Fraction(11, 36)),
    ]
    assert [(v.code, v.incidence, v.m0) for v in board.villages] == [
        (VILLAGE_A1, Fraction(2, 3), Fraction(11, 54)),
        (VILLAGE_A2, Fraction(1, 2), Fraction(0)),
        (VILLAGE_B1, Fraction(1, 2), Fraction(11, 36)),
    ]


def test_indicator_contributions_sum_to_one(county: County) -> None:
    board = county_dashboard(county.admin)

    contributions = {c.indicator: c for c in board.contributions}
    # w_j h_j / M0 with h_j = 2/7: schooling (1/6) gives 3/11, a living standard
    # (1/18) gives 1/11.
    assert contributions["years_of_schooling"].contribution == Fraction(3, 11)
    assert contributions["school_attendance"].contribution == Fraction(3, 11)
    for name in ("cooking_fuel", "sanitation", "drinking_water", "housing", "assets"):
        assert contributions[name].contribution == Fraction(1, 11)
        assert contributions[name].censored_headcount == Fraction(2, 7)
    assert "electricity" not in contributions
    assert sum(c.contribution for c in board.contributions) == 1
    assert board.contributions[0].label_zh in {"无成员受教育满六年", "有适龄儿童失学"}


def test_causes_statuses_and_plan_progress(county: County) -> None:
    board = county_dashboard(county.admin)

    assert [(c.cause, c.households) for c in board.causes] == [
        ("illness", 2),
        ("disability", 1),
        ("lack_skills", 1),
    ]
    assert [(s.status, s.households) for s in board.statuses] == [
        ("identified", 3),
        ("in_plan", 1),
        ("exited", 1),
        ("not_poor", 2),
    ]
    plan = board.plan
    assert (plan.planned, plan.in_progress, plan.done, plan.dropped) == (3, 1, 1, 0)


def test_a_village_cadre_sees_only_their_village(county: County) -> None:
    board = county_dashboard(county.cadre_a1)

    assert board.area is not None
    assert board.area.code == VILLAGE_A1
    assert (board.headline.households, board.headline.poor) == (3, 2)
    assert [v.code for v in board.villages] == [VILLAGE_A1]
    assert [t.code for t in board.townships] == [TOWNSHIP_A]
    assert board.plan.total == 5


def test_an_area_outside_the_scope_is_not_found(county: County) -> None:
    with pytest.raises(NotFound):
        county_dashboard(county.cadre_a1, area_code=VILLAGE_B1)
    with pytest.raises(NotFound):
        county_dashboard(county.admin, area_code="999999999999")


def test_roles_outside_the_registry_may_not_read_the_dashboard(county: County) -> None:
    buyer = make_user(Role.BUYER, [COUNTY])

    with pytest.raises(PermissionDenied):
        county_dashboard(buyer)


def test_a_dashboard_without_identification_is_empty_but_counts_households() -> None:
    make_area_tree()
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])
    make_household(village_code=VILLAGE_A1, year=YEAR)

    board = county_dashboard(admin)

    assert board.year is None
    assert board.years == ()
    assert board.standard is None
    assert board.headline.households == 1
    assert board.headline.incidence is None
    assert board.headline.m0 is None
    assert (board.townships, board.villages, board.contributions) == ((), (), ())


def test_a_year_without_results_gives_an_empty_board(county: County) -> None:
    board = county_dashboard(county.admin, year=2019)

    assert board.year == 2019
    assert board.years == (YEAR,)
    assert board.headline.assessed == 0
    assert board.villages == ()


def test_the_household_search_uses_the_official_verdict(county: County) -> None:
    # 张三 is poor by the national standard but not by the global MPI.
    search = household_search(county.admin, poor=True, village=VILLAGE_A1)

    assert [h.head_name for h in search.page] == ["张三", "李四"]
    assert all(h.latest_poor is True for h in search.page)
    assert search.filters == {"poor": True, "village": VILLAGE_A1}
    assert [g.township.code for g in search.village_groups if g.township] == [
        TOWNSHIP_A,
        TOWNSHIP_B,
    ]


def test_the_household_report_explains_each_standard(county: County) -> None:
    report = household_report(county.admin, county.poor.pk)

    official, mpi = report.explanations
    assert official.standard_name == "cn-national"
    assert official.income is not None
    assert official.income.per_capita_income == Decimal("1950.00")
    assert official.income.line == Decimal("4000.00")
    assert official.income.ratio == Fraction(39, 80)
    assert [g.name for g in official.guarantees] == [
        "food",
        "clothing",
        "education",
        "medical",
        "housing",
        "water",
    ]
    assert all(g.ok for g in official.guarantees)
    assert official.mpi is None
    assert official.failed_conditions == ("income",)
    assert mpi.standard_name == "global-mpi"
    assert mpi.poor is False
    assert mpi.mpi is not None
    assert mpi.mpi.score == Fraction(1, 9)  # wood fuel and an unimproved latrine
    assert [i.name for i in mpi.mpi.indicators if i.deprived] == [
        "cooking_fuel",
        "sanitation",
    ]
    assert mpi.guarantees == ()  # the global MPI does not count them


def test_the_report_says_when_the_survey_changed_since_the_run(county: County) -> None:
    snapshot_record(
        actor=county.admin,
        household=county.poor,
        year=YEAR,
        income_wages=Decimal("40000.00"),
    )

    official = household_report(county.admin, county.poor.pk).explanations[0]

    assert official.poor is True  # the stored verdict
    assert official.agrees is False
    assert official.income is not None
    assert official.income.poor is False


def test_snapshot_rows_carry_money_in_fen(county: County) -> None:
    snapshot = Snapshot.objects.get(household=county.poor, year=YEAR)

    row = snapshot_row(snapshot, VILLAGE_A1)

    assert row["income_wages"] == 200000
    assert row["costs"] == 80000
    assert row["land_cultivated"] == 3.5
    assert row["village"] == VILLAGE_A1
    assert row["household_id"] == county.poor.pk


def test_the_village_overview_and_report(county: County) -> None:
    overview = village_overview(county.admin)
    report = village_report(county.admin, VILLAGE_B1)

    assert [(v.village.code, v.households, v.assessed, v.poor) for v in overview] == [
        (VILLAGE_A1, 3, 3, 2),
        (VILLAGE_A2, 2, 2, 1),
        (VILLAGE_B1, 2, 2, 1),
    ]
    assert report.households == 2
    assert report.year == YEAR
    assert report.poverty is not None
    assert report.poverty.incidence == Fraction(1, 2)
    assert report.exit_threshold == Fraction(3, 100)
    assert report.detail.profile is not None


def test_results_that_are_no_longer_latest_are_not_counted(county: County) -> None:
    IdentificationResult.objects.filter(household=county.deprived).update(
        is_latest=False
    )

    board = county_dashboard(county.admin)

    assert (board.headline.assessed, board.headline.poor) == (6, 3)


def test_a_second_run_replaces_the_first_without_double_counting(
    county: County,
) -> None:
    from propoor.households.identification import identification_run

    for standard in ("cn-national", "global-mpi"):
        identification_run(
            county.admin, area_code=COUNTY, year=YEAR, standard_name=standard
        )
    identification_run(
        county.admin, area_code=TOWNSHIP_B, year=YEAR, standard_name="cn-national"
    )

    board = county_dashboard(county.admin)
    report = household_report(county.admin, county.poor.pk)

    assert (board.headline.assessed, board.headline.poor) == (7, 4)
    assert board.headline.m0 == Fraction(2, 7) * Fraction(11, 18)
    assert sum(c.contribution for c in board.contributions) == 1
    assert [e.standard_name for e in report.explanations] == [
        "cn-national",
        "global-mpi",
    ]
    assert [(v.village.code, v.assessed) for v in village_overview(county.admin)] == [
        (VILLAGE_A1, 3),
        (VILLAGE_A2, 2),
        (VILLAGE_B1, 2),
    ]
