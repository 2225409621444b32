from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propoor.kernel.identify import (
    RESULT_COLUMNS,
    aggregate_by,
    derive_columns,
    explain,
    identify,
)
from propoor.kernel.mpi import aggregate
from propoor.kernel.standard import IdentificationSpec, load_builtin
from propoor.kernel.tests.factories import frame_of, snapshot_row, synthetic_snapshots

CN = IdentificationSpec.from_definition(load_builtin("cn-national"))
GLOBAL = IdentificationSpec.from_definition(load_builtin("global-mpi"))
PMT = {
    "intercept": "39.84",
    "coefficients": {
        "wall_quality": "6.50",
        "water_quality": "6.10",
        "size": "-2.85",
        "head_female": "-4.88",
        "head_elderly": "-6.50",
        "head_child": "-9.76",
    },
    "threshold": "40",
}

#: Deprived in the six living-standard indicators of the global MPI and nothing else.
LIVING_STANDARDS_DEPRIVED = {
    "cooking_fuel": "wood",
    "sanitation": "none",
    "safe_water": False,
    "electricity": False,
    "housing_grade": "D",
    "has_tv": False,
    "has_telephone": False,
    "has_motorbike": False,
    "has_refrigerator": True,
}


def _spec(**definition: object) -> IdentificationSpec:
    return IdentificationSpec.from_definition({"name": "test", **definition})


# --- the national standard -----------------------------------------------------


def test_a_comfortable_household_is_not_poor_and_may_exit() -> None:
    # given a household of 4 with 24,000 yuan net income
    frame = frame_of(snapshot_row())

    # when identified by the national standard for 2019
    result = identify(frame, CN, 2019)

    # then it is above the 3,218 yuan line and every guarantee holds
    assert result.schema == pl.Schema(RESULT_COLUMNS)
    row = result.row(0, named=True)
    assert row == {
        "household_id": 1,
        "village": "520322101001",
        "per_capita_income_fen": 600000,
        "income_line_fen": 321800,
        "income_poor": False,
        "food_secure": True,
        "clothing_secure": True,
        "education_ok": True,
        "medical_ok": True,
        "housing_ok": True,
        "water_ok": True,
        "guarantees_met": True,
        "mpi_numerator": None,
        "mpi_denominator": None,
        "mpi_poor": None,
        "mpi_severe": None,
        "mpi_vulnerable": None,
        "pmt_score_hundredths": None,
        "pmt_eligible": None,
        "poor": False,
        "exit_ok": True,
        "failed_conditions": [],
        "deprived": [],
    }


def test_income_below_the_line_is_poor() -> None:
    # given net income of 9,000.01 yuan for 3 people: 3,000.00 each after rounding
    frame = frame_of(
        snapshot_row(
            size=3,
            income_wages=900_001,
            income_business=0,
            income_transfers=0,
            costs=0,
        )
    )

    result = identify(frame, CN, 2019).row(0, named=True)

    assert result["per_capita_income_fen"] == 300000
    assert (result["income_poor"], result["poor"], result["exit_ok"]) == (
        True,
        True,
        False,
    )
    assert result["failed_conditions"] == ["income"]


def test_per_capita_income_rounds_half_up_to_the_fen() -> None:
    # given net incomes of 10, -10, 9 and 6 fen for households of 4
    rows = [
        snapshot_row(
            household_id=i + 1,
            income_wages=max(net, 0),
            income_business=0,
            income_transfers=0,
            costs=max(-net, 0),
        )
        for i, net in enumerate([10, -10, 9, 6])
    ]

    result = identify(frame_of(*rows), CN, 2019)

    # 2.5 -> 3, -2.5 -> -3 (half away from zero), 2.25 -> 2, 1.5 -> 2
    assert result["per_capita_income_fen"].to_list() == [3, -3, 2, 2]


def test_failed_guarantees_are_listed_in_fixed_order() -> None:
    # given a household above the line but with unsafe housing, a child out of
    # school, no medical insurance and no food security
    frame = frame_of(
        snapshot_row(
            housing_grade="C",
            children_out_of_school=1,
            medical_insured=False,
            food_secure=False,
        )
    )

    result = identify(frame, CN, 2019).row(0, named=True)

    assert (result["guarantees_met"], result["poor"], result["exit_ok"]) == (
        False,
        True,
        False,
    )
    assert result["failed_conditions"] == ["food", "education", "medical", "housing"]
    assert (
        result["food_secure"],
        result["education_ok"],
        result["medical_ok"],
        result["housing_ok"],
    ) == (False, False, False, False)


def test_a_year_without_a_line_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="no income line for 2011"):
        identify(frame_of(snapshot_row()), CN, 2011)


def test_regional_lines_pick_the_longest_prefix() -> None:
    # given a national line and higher lines for province 52 and county 520322
    spec = _spec(
        income={
            "lines": [
                {"year": 2019, "region": "", "line": "3218"},
                {"year": 2019, "region": "52", "line": "3500"},
                {"year": 2019, "region": "520322", "line": "3600.50"},
            ]
        },
        exit={"conditions": ["income"]},
    )
    frame = frame_of(
        snapshot_row(household_id=1, village="520322101001"),
        snapshot_row(household_id=2, village="520102001001"),
        snapshot_row(household_id=3, village="110105001001"),
    )

    result = identify(frame, spec, 2019)

    assert result["income_line_fen"].to_list() == [360050, 350000, 321800]


def test_a_village_no_line_covers_is_an_error() -> None:
    spec = _spec(
        income={"lines": [{"year": 2019, "region": "52", "line": "3500"}]},
        exit={"conditions": ["income"]},
    )
    frame = frame_of(snapshot_row(village="110105001001"))

    with pytest.raises(
        ValueError, match=r"no 2019 income line covers 1 household.*110105001001"
    ):
        identify(frame, spec, 2019)


def test_rule_all_needs_every_test_to_say_poor() -> None:
    # given a household below the line whose guarantees all hold
    row = snapshot_row(income_wages=100_000, income_business=0, income_transfers=0)
    definition = load_builtin("cn-national")

    any_result = identify(frame_of(row), CN, 2019).row(0, named=True)
    all_spec = IdentificationSpec.from_definition(definition | {"rule": "all"})
    all_result = identify(frame_of(row), all_spec, 2019).row(0, named=True)

    assert (any_result["income_poor"], any_result["guarantees_met"]) == (True, True)
    assert any_result["poor"] is True
    assert all_result["poor"] is False


# --- the global MPI --------------------------------------------------------------


def test_deprived_in_all_living_standards_scores_exactly_one_third() -> None:
    # given a household deprived in the six living-standard indicators only
    frame = frame_of(snapshot_row(**LIVING_STANDARDS_DEPRIVED))

    # when identified by the global MPI
    row = identify(frame, GLOBAL, 2019).row(0, named=True)

    # then its score is exactly 1/3 and it is poor (but not severely)
    assert Fraction(row["mpi_numerator"], row["mpi_denominator"]) == Fraction(1, 3)
    assert (row["mpi_poor"], row["mpi_severe"], row["mpi_vulnerable"]) == (
        True,
        False,
        False,
    )
    assert row["deprived"] == [
        "cooking_fuel",
        "sanitation",
        "drinking_water",
        "electricity",
        "housing",
        "assets",
    ]
    assert (row["poor"], row["exit_ok"], row["failed_conditions"]) == (
        True,
        False,
        ["mpi"],
    )
    assert row["income_poor"] is None


def test_four_living_standards_are_vulnerable_and_health_plus_school_severe() -> None:
    # given 4/18 = 2/9 (between 1/5 and 1/3) and 1/6 + 1/6 + 1/6 = 1/2
    vulnerable = snapshot_row(
        household_id=1,
        cooking_fuel="coal",
        sanitation="unimproved",
        safe_water=False,
        electricity=False,
    )
    severe = snapshot_row(
        household_id=2,
        undernourished_member=True,
        child_death_5y=True,
        max_schooling_years=5,
    )

    result = identify(frame_of(vulnerable, severe), GLOBAL, 2019)

    scores = [
        Fraction(n, d)
        for n, d in zip(result["mpi_numerator"], result["mpi_denominator"], strict=True)
    ]
    assert scores == [Fraction(2, 9), Fraction(1, 2)]
    assert result["mpi_poor"].to_list() == [False, True]
    assert result["mpi_vulnerable"].to_list() == [True, False]
    assert result["mpi_severe"].to_list() == [False, True]


def test_pmt_inside_a_standard() -> None:
    # given OpenG2P's two households under a PMT-only standard
    spec = _spec(pmt=PMT, exit={"conditions": ["pmt"]})
    frame = frame_of(
        snapshot_row(
            household_id=1, wall_quality=1, water_quality=2, size=9, head_child=True
        ),
        snapshot_row(
            household_id=2, wall_quality=3, water_quality=4, size=3, head_female=True
        ),
    )

    result = identify(frame, spec, 2019)

    assert result["pmt_score_hundredths"].to_list() == [2313, 7031]
    assert result["pmt_eligible"].to_list() == [True, False]
    assert result["poor"].to_list() == [True, False]
    assert result["failed_conditions"].to_list() == [["pmt"], []]


# --- input checks ----------------------------------------------------------------


def test_missing_columns_are_named() -> None:
    frame = frame_of(snapshot_row()).drop("safe_water", "costs")

    with pytest.raises(
        ValueError, match="the data lacks column\\(s\\): costs, safe_water"
    ):
        identify(frame, CN, 2019)


def test_wrong_column_type_is_named() -> None:
    frame = frame_of(snapshot_row()).with_columns(pl.col("size").cast(pl.String))

    with pytest.raises(ValueError, match="column 'size' must hold Int64, not String"):
        identify(frame, CN, 2019)


def test_narrower_integer_columns_are_accepted() -> None:
    frame = frame_of(snapshot_row()).with_columns(pl.col("size").cast(pl.Int16))

    assert identify(frame, CN, 2019)["per_capita_income_fen"].to_list() == [600000]


def test_missing_values_are_named() -> None:
    frame = frame_of(snapshot_row()).with_columns(
        pl.lit(None, dtype=pl.Boolean).alias("food_secure")
    )

    with pytest.raises(
        ValueError, match="column\\(s\\) with missing values: food_secure"
    ):
        identify(frame, CN, 2019)


def test_size_zero_and_bad_villages_are_refused() -> None:
    with pytest.raises(ValueError, match="1 household\\(s\\) have a size below 1"):
        identify(frame_of(snapshot_row(size=0)), CN, 2019)
    with pytest.raises(ValueError, match="village code that is not 12"):
        identify(frame_of(snapshot_row(village="5203")), CN, 2019)
    with pytest.raises(ValueError, match="1 rows repeat a household_id"):
        identify(frame_of(snapshot_row(), snapshot_row()), CN, 2019)


# --- derived columns -------------------------------------------------------------


def test_derived_columns() -> None:
    frame = frame_of(snapshot_row(**LIVING_STANDARDS_DEPRIVED))

    row = derive_columns(frame).row(0, named=True)

    assert {
        k: row[k]
        for k in (
            "net_income_fen",
            "small_assets",
            "assets_deprived",
            "housing_unsafe",
            "housing_inadequate",
            "cooking_solid_fuel",
            "sanitation_unimproved",
            "labourers",
            "land_total",
        )
    } == {
        "net_income_fen": 2_400_000,
        "small_assets": 1,
        "assets_deprived": True,
        "housing_unsafe": True,
        "housing_inadequate": True,
        "cooking_solid_fuel": True,
        "sanitation_unimproved": True,
        "labourers": 3,
        "land_total": 4.5,
    }


# --- explanation -----------------------------------------------------------------


def test_explain_global_mpi_indicator_by_indicator() -> None:
    row = snapshot_row(**LIVING_STANDARDS_DEPRIVED)

    story = explain(row, GLOBAL, year=2019)

    mpi = story["mpi"]
    assert isinstance(mpi, dict)
    assert (mpi["score"], mpi["k"], mpi["poor"]) == ("1/3", "1/3", True)
    indicators = mpi["indicators"]
    assert indicators[0] == {
        "name": "nutrition",
        "label_en": "A member is undernourished",
        "label_zh": "有家庭成员营养不良",
        "dimension": "health",
        "column": "undernourished_member",
        "value": False,
        "cut_off": "== true",
        "deprived": False,
        "weight": "1/6",
    }
    assert [(i["name"], i["value"], i["deprived"]) for i in indicators[4:]] == [
        ("cooking_fuel", True, True),
        ("sanitation", True, True),
        ("drinking_water", False, True),
        ("electricity", False, True),
        ("housing", True, True),
        ("assets", True, True),
    ]
    assert story["summary_en"] == (
        "Poor under global-mpi (2019): deprivation score 1/3 reaches k = 1/3 "
        "(cooking_fuel, sanitation, drinking_water, electricity, housing, assets)."
    )


def test_explain_national_income_and_guarantees() -> None:
    row = snapshot_row(
        size=3,
        income_wages=900_001,
        income_business=0,
        income_transfers=0,
        costs=0,
        housing_grade="D",
    )

    story = explain({**row, "year": 2019}, CN)

    assert story["income"] == {
        "net_income": "9000.01",
        "size": 3,
        "per_capita_income": "3000.00",
        "line": "3218.00",
        "line_region": "",
        "poor": True,
    }
    assert story["failed_conditions"] == ["income", "housing"]
    assert story["summary_en"] == (
        "Poor under cn-national (2019): per-capita net income 3000.00 yuan is below "
        "the 2019 line of 3218.00 yuan or not met: safe housing guaranteed."
    )
    assert story["summary_zh"] == (
        "按cn-national（2019年）认定为贫困：人均纯收入3000.00元低于2019年贫困线"
        "3218.00元；未达到：住房安全有保障。"
    )


def test_explain_pmt_terms() -> None:
    spec = _spec(pmt=PMT, exit={"conditions": ["pmt"]})
    row = snapshot_row(wall_quality=1, water_quality=2, size=9, head_child=True)

    story = explain(row, spec, year=2019)

    pmt = story["pmt"]
    assert isinstance(pmt, dict)
    assert (pmt["score"], pmt["eligible"]) == ("23.13", True)
    assert pmt["terms"][2] == {
        "column": "size",
        "value": 9,
        "coefficient": "-2.85",
        "contribution": "-25.65",
    }


def test_explain_needs_a_year() -> None:
    with pytest.raises(ValueError, match="explain needs the year"):
        explain(snapshot_row(), CN)


# --- aggregation -----------------------------------------------------------------


def test_aggregate_by_village_township_and_county() -> None:
    # given two villages of township 520322101 and one of township 520322102
    rows = [
        snapshot_row(
            household_id=1, village="520322101001", **LIVING_STANDARDS_DEPRIVED
        ),
        snapshot_row(household_id=2, village="520322101001"),
        snapshot_row(
            household_id=3,
            village="520322101002",
            undernourished_member=True,
            child_death_5y=True,
        ),
        snapshot_row(household_id=4, village="520322102001"),
    ]
    frame = frame_of(*rows)
    results = identify(frame, GLOBAL, 2019)

    # when aggregated
    areas = aggregate_by(results, frame, GLOBAL)

    # then each level has its codes, incidences and MPI aggregates
    assert list(areas) == ["village", "township", "county"]
    assert {
        code: (a.n, a.poor, a.incidence) for code, a in areas["village"].items()
    } == {
        "520322101001": (2, 1, Fraction(1, 2)),
        "520322101002": (1, 1, Fraction(1)),
        "520322102001": (1, 0, Fraction(0)),
    }
    assert {code: (a.n, a.poor) for code, a in areas["township"].items()} == {
        "520322101000": (3, 2),
        "520322102000": (1, 0),
    }
    county = areas["county"]["520322000000"]
    assert (county.n, county.poor, county.incidence) == (4, 2, Fraction(1, 2))
    assert county.mpi is not None
    summary = county.mpi.as_dict()
    assert (summary["H"], summary["A"], summary["M0"]) == ("1/2", "1/3", "1/6")
    assert (county.mpi.n, county.mpi.q) == (4, 2)
    assert county.mpi.indicator("nutrition").censored_headcount == Fraction(1, 4)
    assert county.mpi.indicator("nutrition").contribution == Fraction(1, 4)


def test_aggregate_by_joins_results_in_any_order() -> None:
    frame = frame_of(
        snapshot_row(household_id=1, **LIVING_STANDARDS_DEPRIVED),
        snapshot_row(household_id=2),
    )
    results = identify(frame, GLOBAL, 2019).reverse()

    areas = aggregate_by(results, frame, GLOBAL, levels=("county",))

    assert areas["county"]["520322000000"].poor == 1


def test_aggregate_by_without_mpi_and_missing_results() -> None:
    frame = frame_of(snapshot_row(household_id=1), snapshot_row(household_id=2))
    results = identify(frame, CN, 2019)

    areas = aggregate_by(results, frame, CN, levels=("province",))

    assert areas["province"]["520000000000"].mpi is None
    with pytest.raises(
        ValueError, match="1 household\\(s\\) of the frame have no result"
    ):
        aggregate_by(results.head(1), frame, CN)
    with pytest.raises(ValueError, match=re.escape("unknown level(s): street")):
        aggregate_by(results, frame, CN, levels=("street",))


# --- properties ------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_village_aggregates_equal_a_direct_mpi_aggregate(n: int, seed: int) -> None:
    # given random households
    frame = synthetic_snapshots(n, seed)
    results = identify(frame, GLOBAL, 2019)

    # when rolled up by area, and aggregated directly per village and county
    areas = aggregate_by(results, frame, GLOBAL)
    assert GLOBAL.mpi is not None
    direct = aggregate(derive_columns(frame), GLOBAL.mpi, group_by="village")
    whole = aggregate(derive_columns(frame), GLOBAL.mpi)

    # then they agree exactly
    assert {code: a.mpi for code, a in areas["village"].items()} == direct
    assert areas["county"]["520322000000"].mpi == whole
    assert sum(a.poor for a in areas["village"].values()) == results["poor"].sum()


@settings(max_examples=100, deadline=None)
@given(
    nets=st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=20),
    size=st.integers(1, 12),
)
def test_per_capita_income_matches_decimal_half_up(nets: list[int], size: int) -> None:
    rows = [
        snapshot_row(
            household_id=i + 1,
            size=size,
            income_wages=max(net, 0),
            income_business=0,
            income_transfers=0,
            costs=max(-net, 0),
        )
        for i, net in enumerate(nets)
    ]

    result = identify(frame_of(*rows), CN, 2019)

    assert result["per_capita_income_fen"].to_list() == [
        int((Decimal(net) / size).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        for net in nets
    ]
