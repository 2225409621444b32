from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from propoor.households.identification_io import snapshot_frame
from propoor.households.tests.factories import VILLAGE_A1, VILLAGE_B1, make_household
from propoor.kernel.identify import SNAPSHOT_COLUMNS, input_columns
from propoor.kernel.standard import IdentificationSpec, load_builtin

pytestmark = pytest.mark.django_db

YEAR = 2017
CN = IdentificationSpec.from_definition(load_builtin("cn-national"))


def test_a_standards_columns_are_loaded_alone_with_the_values_of_a_full_load() -> None:
    # given two households, one with a D-grade house
    make_household(village_code=VILLAGE_A1, year=YEAR, housing_grade="D")
    make_household(
        village_code=VILLAGE_B1, year=YEAR, members=3, income_wages=Decimal("0.10")
    )

    # when the national standard's columns are loaded, and every column
    subset = snapshot_frame(area_prefix="530102", year=YEAR, columns=input_columns(CN))
    full = snapshot_frame(area_prefix="530102", year=YEAR)

    # then the subset holds just those columns, typed and valued as in the full load
    assert subset.columns == list(input_columns(CN))
    assert subset.equals(full.select(input_columns(CN)))
    assert full.columns == list(SNAPSHOT_COLUMNS)
    assert subset.schema["food_secure"] == pl.Boolean
    assert subset["income_wages"].to_list() == [200000, 10]
    assert subset["housing_grade"].to_list() == ["D", "B"]


def test_an_unknown_column_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="the snapshots have no column\\(s\\): wealth"):
        snapshot_frame(area_prefix="530102", year=YEAR, columns=["size", "wealth"])
    with pytest.raises(ValueError, match="at least one snapshot column"):
        snapshot_frame(area_prefix="530102", year=YEAR, columns=[])
