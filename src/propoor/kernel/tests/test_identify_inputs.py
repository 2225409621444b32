"""A standard reads only its input columns, and a frame of just those is enough."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from propoor.kernel.identify import (
    DERIVED_COLUMNS,
    SNAPSHOT_COLUMNS,
    aggregate_by,
    derive_columns,
    identify,
    input_columns,
)
from propoor.kernel.standard import (
    EXIT_CONDITIONS,
    GUARANTEES,
    IdentificationSpec,
    builtin_names,
    load_builtin,
)
from propoor.kernel.tests.factories import frame_of, snapshot_row, synthetic_snapshots

CN = IdentificationSpec.from_definition(load_builtin("cn-national"))
GLOBAL = IdentificationSpec.from_definition(load_builtin("global-mpi"))
YEAR = 2019

#: Household, village, size and what the per-capita net income is computed from.
BASE = (
    "household_id",
    "village",
    "size",
    "income_wages",
    "income_business",
    "income_property",
    "income_transfers",
    "costs",
)


def _spec(**definition: object) -> IdentificationSpec:
    return IdentificationSpec.from_definition({"name": "test", **definition})


# --- which columns ------------------------------------------------------------------


def test_the_national_standard_reads_income_and_the_guarantee_inputs() -> None:
    assert input_columns(CN) == (
        *BASE,
        "food_secure",
        "clothing_secure",
        "children_out_of_school",
        "medical_insured",
        "medical_care_access",
        "housing_grade",
        "safe_water",
    )


def test_the_global_mpi_reads_its_indicators_and_what_they_are_derived_from() -> None:
    assert input_columns(GLOBAL) == (
        *BASE,
        "children_out_of_school",  # school attendance
        "housing_structure",  # housing_inadequate
        "housing_grade",  # housing_inadequate
        "safe_water",
        "electricity",
        "cooking_fuel",  # cooking_solid_fuel
        "sanitation",  # sanitation_unimproved
        "undernourished_member",
        "child_death_5y",
        "max_schooling_years",
        "has_radio",  # small_assets → assets_deprived
        "has_tv",
        "has_telephone",
        "has_computer",
        "has_bicycle",
        "has_motorbike",
        "has_refrigerator",
        "has_car",  # assets_deprived
    )


def test_guarantees_checked_only_at_exit_and_pmt_columns_are_read() -> None:
    # given a PMT standard on a derived column that checks safe water at exit
    spec = _spec(
        pmt={
            "intercept": "10",
            "coefficients": {"labourers": "5", "head_female": "-1.50"},
            "threshold": "20",
        },
        exit={"conditions": ["pmt", "water"]},
    )

    assert input_columns(spec) == (
        *BASE,
        "safe_water",
        "labourers_full",
        "labourers_partial",
        "head_female",
    )


def test_a_custom_column_comes_last() -> None:
    # given an MPI with an indicator on a column the snapshot does not have
    spec = _spec(
        mpi={
            "k": "1/2",
            "indicators": [
                {"name": "far", "column": "km_to_school", "weight": "1/2"}
                | {"deprived_if": "> 5"},
                {"name": "dark", "column": "electricity", "weight": "1/2"}
                | {"deprived_if": "== false"},
            ],
        },
        exit={"conditions": ["mpi"]},
    )

    assert input_columns(spec) == (*BASE, "electricity", "km_to_school")
    with pytest.raises(ValueError, match=r"the data lacks column\(s\): km_to_school$"):
        identify(frame_of(snapshot_row()), spec, YEAR)


# --- a frame of just those columns -------------------------------------------------


def test_a_missing_column_the_standard_needs_is_named() -> None:
    frame = frame_of(snapshot_row()).select(input_columns(GLOBAL)).drop("has_car")

    with pytest.raises(ValueError, match=r"the data lacks column\(s\): has_car$"):
        identify(frame, GLOBAL, YEAR)


def test_a_missing_input_of_a_derived_pmt_column_is_named() -> None:
    spec = _spec(
        pmt={"intercept": "0", "coefficients": {"labourers": "1"}, "threshold": "1"},
        exit={"conditions": ["pmt"]},
    )
    frame = frame_of(snapshot_row()).drop("labourers_partial", "km_to_road")

    with pytest.raises(
        ValueError, match=r"the data lacks column\(s\): labourers_partial$"
    ):
        identify(frame, spec, YEAR)


def test_columns_the_standard_does_not_read_may_be_missing_or_empty() -> None:
    # given the national standard's columns plus an unused one with a missing value
    frame = (
        frame_of(snapshot_row())
        .select(*input_columns(CN), "km_to_road")
        .with_columns(pl.lit(None, dtype=pl.Float64).alias("km_to_road"))
    )

    result = identify(frame, CN, YEAR).row(0, named=True)

    assert (result["per_capita_income_fen"], result["poor"]) == (600000, False)


def test_guarantees_a_standard_does_not_use_have_no_flag() -> None:
    frame = frame_of(snapshot_row(food_secure=False))

    row = identify(frame, GLOBAL, YEAR).row(0, named=True)

    assert [
        row[c]
        for c in (
            "food_secure",
            "clothing_secure",
            "education_ok",
            "medical_ok",
            "housing_ok",
            "water_ok",
        )
    ] == [None] * 6
    assert row["per_capita_income_fen"] == 600000


def test_derive_columns_adds_what_the_frame_has_the_inputs_for() -> None:
    # given every column, and only the assets (TV, telephone, motorbike, fridge)
    full = frame_of(snapshot_row())
    assets = full.select(c for c in full.columns if c.startswith("has_"))

    # then all derived columns, and only the two the assets make
    columns = derive_columns(full).columns
    assert columns[: len(SNAPSHOT_COLUMNS)] == list(SNAPSHOT_COLUMNS)
    assert sorted(columns[len(SNAPSHOT_COLUMNS) :]) == sorted(DERIVED_COLUMNS)
    assert derive_columns(assets).row(0, named=True) == {
        **assets.row(0, named=True),
        "small_assets": 4,
        "assets_deprived": False,
    }


# --- properties ----------------------------------------------------------------------


@st.composite
def standards(draw: st.DrawFn) -> IdentificationSpec:
    """Any mix of the four tests, guarantee conditions and exit conditions."""
    blocks = draw(
        st.sets(st.sampled_from(["income", "guarantees", "mpi", "pmt"]), min_size=1)
    )
    definition: dict[str, object] = {
        "name": "drawn",
        "rule": draw(st.sampled_from(["any", "all"])),
    }
    if "income" in blocks:
        definition["income"] = load_builtin("cn-national")["income"]
    if "guarantees" in blocks:
        definition["guarantees"] = {
            "conditions": draw(
                st.lists(st.sampled_from(GUARANTEES), min_size=1, unique=True)
            )
        }
    if "mpi" in blocks:
        mpi = load_builtin("global-mpi")["mpi"]
        assert isinstance(mpi, dict)
        chosen = draw(
            st.lists(st.sampled_from(mpi["indicators"]), min_size=1, unique_by=str)
        )
        definition["mpi"] = {
            "k": draw(st.sampled_from(["1/3", "1/2", "1"])),
            "indicators": [i | {"weight": f"1/{len(chosen)}"} for i in chosen],
        }
    if "pmt" in blocks:
        columns = draw(
            st.lists(
                st.sampled_from(
                    ["size", "wall_quality", "head_female", "labourers", "small_assets"]
                ),
                min_size=1,
                unique=True,
            )
        )
        definition["pmt"] = {
            "intercept": "39.84",
            "coefficients": {
                c: draw(st.sampled_from(["-2.85", "6.50", "1"])) for c in columns
            },
            "threshold": "40",
        }
    allowed = [c for c in EXIT_CONDITIONS if c in GUARANTEES or c in blocks]
    definition["exit"] = {
        "conditions": draw(st.lists(st.sampled_from(allowed), min_size=1, unique=True))
    }
    return IdentificationSpec.from_definition(definition)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(builtin_names()),
    n=st.integers(1, 200),
    seed=st.integers(0, 2**32 - 1),
)
def test_builtin_standards_give_the_same_result_on_their_columns_alone(
    name: str, n: int, seed: int
) -> None:
    # given random households, in full and cut down to the standard's columns
    spec = IdentificationSpec.from_definition(load_builtin(name))
    full = synthetic_snapshots(n, seed)
    subset = full.select(input_columns(spec))

    # when identified and aggregated from each
    results = identify(subset, spec, YEAR)

    # then the verdicts and the aggregates are the same
    assert_frame_equal(results, identify(full, spec, YEAR))
    assert aggregate_by(results, subset, spec) == aggregate_by(results, full, spec)


@settings(max_examples=150, deadline=None)
@given(
    spec=standards(),
    n=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_standard_gives_the_same_result_on_its_columns_alone(
    spec: IdentificationSpec, n: int, seed: int
) -> None:
    full = synthetic_snapshots(n, seed)
    subset = full.select(input_columns(spec))

    results = identify(subset, spec, YEAR)

    assert_frame_equal(results, identify(full, spec, YEAR))
    assert aggregate_by(results, subset, spec) == aggregate_by(results, full, spec)
