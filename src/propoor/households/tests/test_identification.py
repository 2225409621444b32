from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from propoor.accounts.models import Role
from propoor.core.errors import NotFound, PermissionDenied, ValidationFailed
from propoor.core.models import AuditEntry
from propoor.households.identification import (
    _money_text,
    identification_run,
    run_top_households,
    standard_install_builtins,
    standard_revise,
)
from propoor.households.models import (
    Household,
    IdentificationResult,
    IdentificationRun,
    IdentificationStandard,
    Status,
    StatusChange,
)
from propoor.households.services import snapshot_record
from propoor.households.tests.factories import (
    COUNTY,
    SNAPSHOT_DEFAULTS,
    TOWNSHIP_B,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_household,
    make_user,
)

pytestmark = pytest.mark.django_db

YEAR = 2017  # national line 3,026 yuan (VALIDATION.md)


def _county() -> dict[str, Household]:
    """Three households: poor by income, poor by housing, not poor."""
    standard_install_builtins()
    return {
        # (2000 + 1500 + 1200 - 800) / 2 = 1950 < 3026
        "income_poor": make_household(village_code=VILLAGE_A1, year=YEAR),
        # 4 members, net 16,000 -> 4,000 each, but a D-grade house
        "housing_poor": make_household(
            village_code=VILLAGE_A2,
            members=4,
            year=YEAR,
            income_wages=Decimal("12000.00"),
            income_business=Decimal("3600.00"),
            housing_grade="D",
        ),
        "not_poor": make_household(
            village_code=VILLAGE_B1,
            members=2,
            year=YEAR,
            income_wages=Decimal("9000.00"),
            housing_grade="A",
        ),
    }


def test_a_run_stores_each_households_result_with_its_reasons() -> None:
    homes = _county()
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])

    run = identification_run(admin, area_code=COUNTY, year=YEAR)

    assert (run.households, run.computed, run.unchanged, run.poor) == (3, 3, 0, 2)
    assert run.standard.name == "cn-national"
    assert run.ran_by == admin
    results = {r.household_id: r for r in IdentificationResult.objects.filter(run=run)}
    income = results[homes["income_poor"].pk]
    assert income.poor is True
    assert income.per_capita_income == Decimal("1950.00")
    assert income.income_line == Decimal("3026.00")
    assert income.income_poor is True
    assert income.failed_conditions == ["income"]
    housing = results[homes["housing_poor"].pk]
    assert (housing.poor, housing.income_poor, housing.guarantees_met) == (
        True,
        False,
        False,
    )
    assert housing.per_capita_income == Decimal("4000.00")
    assert housing.failed_conditions == ["housing"]
    fine = results[homes["not_poor"].pk]
    assert (fine.poor, fine.exit_ok, fine.failed_conditions) == (False, True, [])
    assert fine.explanation == {"deprived": []}


def test_a_run_aggregates_incidence_by_village_township_and_county() -> None:
    _county()

    run = identification_run(None, area_code=COUNTY, year=YEAR)

    assert run.summary["county"][COUNTY]["incidence"] == "2/3"
    assert run.summary["township"][TOWNSHIP_B] == {
        "n": 1,
        "poor": 0,
        "incidence": "0",
        "mpi": None,
    }
    assert run.summary["village"][VILLAGE_A1]["poor"] == 1


def test_the_official_standard_moves_statuses_and_keeps_history() -> None:
    homes = _county()

    identification_run(None, area_code=COUNTY, year=YEAR)

    statuses = dict(Household.objects.values_list("id", "status"))
    assert statuses[homes["income_poor"].pk] == Status.IDENTIFIED
    assert statuses[homes["not_poor"].pk] == Status.NOT_POOR
    change = StatusChange.objects.get(household=homes["income_poor"])
    assert (change.old_status, change.new_status) == (
        Status.REGISTERED,
        Status.IDENTIFIED,
    )


def test_rerunning_only_changed_writes_just_the_changed_household() -> None:
    homes = _county()
    first = identification_run(None, area_code=COUNTY, year=YEAR)
    fields = {**SNAPSHOT_DEFAULTS, "size": 2, "income_wages": Decimal("20000.00")}
    snapshot_record(actor=None, household=homes["income_poor"], year=YEAR, **fields)

    second = identification_run(None, area_code=COUNTY, year=YEAR, only_changed=True)

    assert (second.households, second.computed, second.unchanged) == (3, 1, 2)
    assert second.poor == 1
    latest = IdentificationResult.objects.filter(is_latest=True)
    assert sorted(latest.values_list("run_id", flat=True)) == sorted(
        [first.pk, first.pk, second.pk]
    )
    now = latest.get(household=homes["income_poor"])
    assert (now.run_id, now.poor, now.per_capita_income) == (
        second.pk,
        False,
        Decimal("10950.00"),
    )
    # history is kept: the first result is still there, no longer the latest
    assert (
        IdentificationResult.objects.filter(household=homes["income_poor"]).count() == 2
    )


def test_the_global_mpi_gives_exact_scores() -> None:
    homes = _county()

    run = identification_run(
        None, area_code=COUNTY, year=YEAR, standard_name="global-mpi"
    )

    result = IdentificationResult.objects.get(run=run, household=homes["income_poor"])
    # wood fuel, unimproved sanitation: 2 of the 6 living-standard indicators
    assert result.mpi_score == "1/9"
    assert result.mpi_poor is False
    assert result.explanation["deprived"] == ["cooking_fuel", "sanitation"]


def test_the_top_n_households_by_income_are_ranked_poorest_first() -> None:
    homes = _county()
    run = identification_run(None, area_code=COUNTY, year=YEAR)
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])

    top = run_top_households(admin, run=run, n=2, by="income")

    assert top == [homes["income_poor"].pk, homes["housing_poor"].pk]


def test_a_cadre_may_not_run_identification_and_nothing_is_written() -> None:
    _county()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])
    audits = AuditEntry.objects.count()

    with pytest.raises(PermissionDenied):
        identification_run(cadre, area_code=VILLAGE_A1, year=YEAR)

    assert IdentificationRun.objects.count() == 0
    assert AuditEntry.objects.count() == audits


def test_an_area_outside_the_scope_is_not_found() -> None:
    _county()
    officer = make_user(Role.TOWNSHIP_OFFICER, [TOWNSHIP_B])

    with pytest.raises(NotFound):
        identification_run(officer, area_code=VILLAGE_A1, year=YEAR)

    assert IdentificationRun.objects.count() == 0


def test_a_year_without_an_income_line_is_refused() -> None:
    _county()
    make_household(village_code=VILLAGE_A1, year=2012)

    with pytest.raises(ValidationFailed, match="no income line for 2012"):
        identification_run(None, area_code=COUNTY, year=2012)

    assert IdentificationRun.objects.count() == 0


def test_a_revised_standard_is_a_new_version_and_a_bad_one_is_refused() -> None:
    _county()
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])
    definition = IdentificationStandard.objects.get(name="cn-national").definition
    definition["income"]["lines"].append({"year": 2017, "region": "53", "line": "3500"})

    revised = standard_revise(admin, name="cn-national", definition=definition)

    assert revised.version == 2
    with pytest.raises(ValidationFailed):
        standard_revise(admin, name="cn-national", definition={"rule": "sometimes"})
    assert IdentificationStandard.objects.filter(name="cn-national").count() == 2


def test_a_change_to_a_field_the_standard_does_not_read_is_not_recomputed() -> None:
    # given a run, then a new distance to the road (cn-national does not read it)
    homes = _county()
    identification_run(None, area_code=COUNTY, year=YEAR)
    fields = {**SNAPSHOT_DEFAULTS, "size": 2, "km_to_road": Decimal("9.5")}
    snapshot_record(actor=None, household=homes["income_poor"], year=YEAR, **fields)

    second = identification_run(None, area_code=COUNTY, year=YEAR, only_changed=True)

    assert (second.households, second.computed, second.unchanged) == (3, 0, 3)
    assert IdentificationResult.objects.filter(run=second).count() == 0


def test_a_standard_reading_a_column_the_snapshots_lack_is_refused() -> None:
    # given a standard whose indicator reads a column the registry does not hold
    _county()
    admin = make_user(Role.COUNTY_ADMIN, [COUNTY])
    standard_revise(
        admin,
        name="far-away",
        definition={
            "name": "far-away",
            "mpi": {
                "k": "1",
                "indicators": [
                    {
                        "name": "far",
                        "column": "km_to_school",
                        "weight": "1",
                        "deprived_if": "> 5",
                    }
                ],
            },
            "exit": {"conditions": ["mpi"]},
        },
    )

    with pytest.raises(ValidationFailed, match="no column\\(s\\): km_to_school"):
        identification_run(None, area_code=COUNTY, year=YEAR, standard_name="far-away")

    assert IdentificationRun.objects.count() == 0
    assert IdentificationResult.objects.count() == 0


def test_a_negative_per_capita_income_is_stored_exactly() -> None:
    # given costs above income: (2000 + 1500 + 0 + 1200 - 5000.51) / 2 = -150.255
    _county()
    home = make_household(village_code=VILLAGE_A1, year=YEAR, costs=Decimal("5000.51"))

    run = identification_run(None, area_code=COUNTY, year=YEAR)

    result = IdentificationResult.objects.get(run=run, household=home)
    assert (result.per_capita_income, result.income_line) == (
        Decimal("-150.26"),
        Decimal("3026.00"),
    )


@pytest.mark.parametrize(
    "fen", [0, 1, -1, 5, -5, 99, -99, 100, -100, 123456, -123456, 2**63 - 1, -(2**63)]
)
def test_money_text_is_exact(fen: int) -> None:
    text = pl.select(_money_text(pl.lit(fen, dtype=pl.Int64))).item()

    assert text == str((Decimal(fen) / 100).quantize(Decimal("0.01")))
