from __future__ import annotations

import re
from fractions import Fraction

import pytest

from propoor.kernel.standard import (
    IdentificationSpec,
    IncomeLine,
    IncomeTest,
    builtin_names,
    load_builtin,
)


def test_builtin_standards_are_listed_and_valid() -> None:
    assert builtin_names() == ("cn-national", "global-mpi")
    for name in builtin_names():
        spec = IdentificationSpec.from_definition(load_builtin(name))
        assert spec.name == name


def test_cn_national_lines_and_blocks() -> None:
    spec = IdentificationSpec.from_definition(load_builtin("cn-national"))

    assert spec.income is not None
    assert [(line.year, line.line_fen) for line in spec.income.lines] == [
        (2010, 230000),
        (2013, 273600),
        (2014, 273600),
        (2015, 280000),
        (2016, 285500),
        (2017, 302600),
        (2018, 320000),
        (2019, 321800),
        (2020, 400000),
    ]
    assert spec.rule == "any"
    assert spec.tests == ("income", "guarantees")
    assert spec.exit.conditions == (
        "income",
        "food",
        "clothing",
        "education",
        "medical",
        "housing",
        "water",
    )
    assert "not in VALIDATION.md" in spec.income.line_for(2019, "520322101001").source


def test_global_mpi_weights_sum_to_exactly_one() -> None:
    spec = IdentificationSpec.from_definition(load_builtin("global-mpi"))

    assert spec.mpi is not None
    weights = [i.weight for i in spec.mpi.indicators]
    assert sum(weights, Fraction(0)) == 1
    assert weights == [Fraction(1, 6)] * 4 + [Fraction(1, 18)] * 6
    assert (spec.mpi.k, spec.mpi.severe_k, spec.mpi.vulnerable_k) == (
        Fraction(1, 3),
        Fraction(1, 2),
        Fraction(1, 5),
    )


@pytest.mark.parametrize("name", ["cn-national", "global-mpi"])
def test_definitions_round_trip(name: str) -> None:
    spec = IdentificationSpec.from_definition(load_builtin(name))

    assert IdentificationSpec.from_definition(spec.to_definition()) == spec


def test_unknown_builtin_is_named() -> None:
    with pytest.raises(ValueError, match="no built-in standard 'nope'"):
        load_builtin("nope")


def test_longest_region_prefix_wins() -> None:
    # given a national, a provincial and a county line for 2019
    test = IncomeTest(
        lines=(
            IncomeLine(2019, "", 321800),
            IncomeLine(2019, "52", 350000),
            IncomeLine(2019, "520322", 360000),
        )
    )

    # then each village takes the line of its longest matching prefix
    assert test.line_for(2019, "520322101001").line_fen == 360000
    assert test.line_for(2019, "520100101001").line_fen == 350000
    assert test.line_for(2019, "110105001001").line_fen == 321800


def test_missing_year_is_named() -> None:
    test = IncomeTest(lines=(IncomeLine(2019, "", 321800),))

    with pytest.raises(ValueError, match="no income line for 2011"):
        test.line_for(2011, "520322101001")


def _base() -> dict[str, object]:
    return {
        "name": "t",
        "income": {"lines": [{"year": 2019, "region": "", "line": 3218}]},
        "exit": {"conditions": ["income"]},
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "the definition has unknown keys: colour"),
        ({"rule": "most"}, "'rule' must be 'any' or 'all', not 'most'"),
        ({"name": 3}, "'name' must be text"),
        ({"income": None}, "needs at least one test"),
        (
            {"income": None, "guarantees": {}},
            "the exit condition 'income' needs an 'income' block",
        ),
        ({"exit": {"conditions": ["fun"]}}, "'exit' has unknown conditions: fun"),
        ({"exit": {"conditions": ["mpi"]}}, "'mpi' needs an 'mpi' block"),
        (
            {"income": {"lines": [{"year": 2019, "line": "3218.005"}]}},
            "the 2019 line must be an amount in yuan with at most two decimals",
        ),
        (
            {"income": {"lines": [{"year": 2019, "region": "52x", "line": 1}]}},
            "must be a division-code prefix",
        ),
        (
            {
                "income": {
                    "lines": [
                        {"year": 2019, "line": 1},
                        {"year": 2019, "region": "", "line": 2},
                    ]
                }
            },
            "two 2019 lines are given for the nation",
        ),
        (
            {
                "mpi": {
                    "k": "1/3",
                    "indicators": [
                        {"name": "a", "weight": "1/2", "deprived_if": "< 1"}
                    ],
                }
            },
            "in 'mpi': the weights must sum to exactly 1, they sum to 1/2",
        ),
        (
            {"pmt": {"intercept": 1, "coefficients": {}, "threshold": 1}},
            "in 'pmt': the PMT needs 'coefficients'",
        ),
        (
            {"guarantees": {"conditions": ["food", "food"]}},
            "'guarantees' lists a condition twice",
        ),
    ],
)
def test_bad_definitions_name_the_problem(
    change: dict[str, object], message: str
) -> None:
    definition = _base() | change
    definition = {k: v for k, v in definition.items() if v is not None}

    with pytest.raises(ValueError, match=re.escape(message)):
        IdentificationSpec.from_definition(definition)


def test_guarantees_used_are_those_tested_or_checked_at_exit() -> None:
    # given a standard testing food and housing that checks water at exit
    spec = IdentificationSpec.from_definition(
        {
            "name": "test",
            "guarantees": {"conditions": ["housing", "food"]},
            "exit": {"conditions": ["water", "food"]},
        }
    )

    assert spec.guarantees_used == ("food", "housing", "water")
    global_mpi = IdentificationSpec.from_definition(load_builtin("global-mpi"))
    assert global_mpi.guarantees_used == ()
