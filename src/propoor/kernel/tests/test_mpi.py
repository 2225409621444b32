from __future__ import annotations

from fractions import Fraction

import polars as pl
import pytest

from propoor.kernel.mpi import (
    Indicator,
    MpiStandard,
    MpiSummary,
    aggregate,
    deprivations,
    parse_condition,
    scores,
)


def _ham(summary: MpiSummary) -> tuple[Fraction, Fraction, Fraction]:
    return summary.H, summary.A, summary.M0


# --- Case A (Alkire–Foster's 4-person example, VALIDATION.md) ---------------------

CASE_A = pl.DataFrame(
    {
        "x1": [13.1, 15.2, 12.5, 20.0],
        "x2": [14, 7, 10, 11],
        "x3": [4, 5, 1, 3],
        "x4": [1, 0, 0, 1],
    }
)


def _case_a(k: Fraction) -> MpiStandard:
    cut_offs = {"x1": 13, "x2": 12, "x3": 3, "x4": 1}
    return MpiStandard(
        indicators=tuple(
            Indicator(
                name=f"d{c[1]}", column=c, weight=Fraction(1, 4), op="<", threshold=z
            )
            for c, z in cut_offs.items()
        ),
        k=k,
    )


def test_case_a_deprivation_matrix() -> None:
    matrix = deprivations(CASE_A, _case_a(Fraction(1, 2)))

    assert matrix.schema == pl.Schema({f"d{j}": pl.Int8 for j in range(1, 5)})
    assert matrix.rows() == [(0, 0, 0, 0), (0, 1, 0, 1), (1, 1, 1, 1), (0, 1, 0, 0)]


def test_case_a_k_one_half() -> None:
    # given Case A with k = 1/2
    standard = _case_a(Fraction(1, 2))

    # when aggregated
    summary = aggregate(CASE_A, standard)

    # then the published values come out exactly
    assert (summary.n, summary.q) == (4, 2)
    assert _ham(summary) == (
        Fraction(1, 2),
        Fraction(3, 4),
        Fraction(3, 8),
    )
    assert [i.censored_headcount for i in summary.indicators] == [
        Fraction(1, 4),
        Fraction(1, 2),
        Fraction(1, 4),
        Fraction(1, 2),
    ]
    assert [i.contribution for i in summary.indicators] == [
        Fraction(1, 6),
        Fraction(1, 3),
        Fraction(1, 6),
        Fraction(1, 3),
    ]
    assert [i.uncensored_headcount for i in summary.indicators] == [
        Fraction(1, 4),
        Fraction(3, 4),
        Fraction(1, 4),
        Fraction(1, 2),
    ]


def test_case_a_k_one_quarter() -> None:
    summary = aggregate(CASE_A, _case_a(Fraction(1, 4)))

    assert _ham(summary) == (
        Fraction(3, 4),
        Fraction(7, 12),
        Fraction(7, 16),
    )


def test_case_a_k_three_quarters() -> None:
    summary = aggregate(CASE_A, _case_a(Fraction(3, 4)))

    assert _ham(summary) == (
        Fraction(1, 4),
        Fraction(1),
        Fraction(1, 4),
    )


def test_case_a_scores_are_exact_numerators() -> None:
    standard = _case_a(Fraction(1, 2))

    result = scores(CASE_A, standard)

    assert standard.denominator == 4
    assert result["mpi_numerator"].to_list() == [0, 2, 4, 1]
    assert result["mpi_poor"].to_list() == [False, True, True, False]


# --- Case B (published output of the R package `mpi`) -----------------------------

CASE_B = pl.DataFrame(
    {
        "education": [1, 0, 1, 1, 0],
        "health": [0, 1, 1, 1, 0],
        "water": [1, 0, 1, 1, 1],
    }
)


def _case_b() -> MpiStandard:
    return MpiStandard.from_definition(
        {
            "k": 0.33,
            "indicators": [
                {"name": "education", "weight": 0.4, "deprived_if": "== 1"},
                {"name": "health", "weight": 0.3, "deprived_if": "== 1"},
                {"name": "water", "weight": 0.3, "deprived_if": "== 1"},
            ],
        }
    )


def test_case_b_scores() -> None:
    standard = _case_b()

    result = scores(CASE_B, standard)

    assert [Fraction(n, standard.denominator) for n in result["mpi_numerator"]] == [
        Fraction(7, 10),
        Fraction(3, 10),
        Fraction(1),
        Fraction(1),
        Fraction(3, 10),
    ]
    assert result["mpi_poor"].to_list() == [True, False, True, True, False]


def test_case_b_aggregates() -> None:
    summary = aggregate(CASE_B, _case_b())

    assert _ham(summary) == (
        Fraction(3, 5),
        Fraction(9, 10),
        Fraction(27, 50),
    )


def test_float_weights_are_read_exactly() -> None:
    standard = _case_b()

    assert [i.weight for i in standard.indicators] == [
        Fraction(2, 5),
        Fraction(3, 10),
        Fraction(3, 10),
    ]
    assert standard.k == Fraction(33, 100)


# --- grouping --------------------------------------------------------------------


def test_group_by_gives_one_summary_per_group_sorted() -> None:
    # given Case A split into villages y (a, c) and x (b, d)
    frame = CASE_A.with_columns(pl.Series("village", ["y", "x", "y", "x"]))

    # when aggregated by village
    groups = aggregate(frame, _case_a(Fraction(1, 2)), group_by="village")

    # then x has b (poor, 1/2) and d (not poor); y has a (not) and c (poor, 1)
    assert list(groups) == ["x", "y"]
    assert (groups["x"].n, groups["x"].q, groups["x"].H, groups["x"].A) == (
        2,
        1,
        Fraction(1, 2),
        Fraction(1, 2),
    )
    assert _ham(groups["y"]) == (Fraction(1, 2), Fraction(1), Fraction(1, 2))
    assert [i.contribution for i in groups["x"].indicators] == [
        0,
        Fraction(1, 2),
        0,
        Fraction(1, 2),
    ]


def test_no_poor_gives_zero_a_and_contributions() -> None:
    summary = aggregate(CASE_A.head(1), _case_a(Fraction(1, 2)))

    assert (summary.q, summary.H, summary.A, summary.M0) == (0, 0, 0, 0)
    assert all(i.contribution == 0 for i in summary.indicators)


def test_empty_frame_gives_zeros() -> None:
    summary = aggregate(CASE_A.clear(), _case_a(Fraction(1, 2)))

    assert (summary.n, summary.q, summary.H, summary.M0) == (0, 0, 0, 0)


def test_summary_as_dict_exact_and_float() -> None:
    summary = aggregate(CASE_A, _case_a(Fraction(1, 2)))

    exact = summary.as_dict()
    floats = summary.as_dict(exact=False)

    assert exact["M0"] == "3/8"
    assert exact["indicators"] == {
        "d1": {
            "weight": "1/4",
            "uncensored_headcount": "1/4",
            "censored_headcount": "1/4",
            "contribution": "1/6",
        },
        "d2": {
            "weight": "1/4",
            "uncensored_headcount": "3/4",
            "censored_headcount": "1/2",
            "contribution": "1/3",
        },
        "d3": {
            "weight": "1/4",
            "uncensored_headcount": "1/4",
            "censored_headcount": "1/4",
            "contribution": "1/6",
        },
        "d4": {
            "weight": "1/4",
            "uncensored_headcount": "1/2",
            "censored_headcount": "1/2",
            "contribution": "1/3",
        },
    }
    assert (floats["H"], floats["A"], floats["M0"]) == (0.5, 0.75, 0.375)


# --- conditions ------------------------------------------------------------------


def test_membership_and_text_conditions() -> None:
    # given fuel and toilet text columns
    frame = pl.DataFrame(
        {"fuel": ["gas", "wood", "dung"], "toilet": ["flush", "none", "flush"]}
    )
    standard = MpiStandard.from_definition(
        {
            "k": "1/2",
            "indicators": [
                {
                    "name": "solid",
                    "column": "fuel",
                    "weight": "1/2",
                    "deprived_if": "in wood, dung, coal",
                },
                {
                    "name": "toilet",
                    "weight": "1/2",
                    "op": "not in",
                    "threshold": ["flush", "improved_pit"],
                },
            ],
        }
    )

    result = scores(frame, standard)

    assert result.rows() == [(0, 0, 0, False), (1, 1, 2, True), (1, 0, 1, True)]


def test_boolean_condition() -> None:
    frame = pl.DataFrame({"electricity": [True, False]})
    standard = MpiStandard.from_definition(
        {
            "k": 1,
            "indicators": [
                {
                    "name": "power",
                    "column": "electricity",
                    "weight": 1,
                    "deprived_if": "== false",
                }
            ],
        }
    )

    assert deprivations(frame, standard)["power"].to_list() == [0, 1]


def test_parse_condition_reads_each_operator() -> None:
    assert parse_condition("< 13") == ("<", 13)
    assert parse_condition("<=0.5") == ("<=", 0.5)
    assert parse_condition("> -2") == (">", -2)
    assert parse_condition(">= 1") == (">=", 1)
    assert parse_condition("== true") == ("==", True)
    assert parse_condition('!= "yes"') == ("!=", "yes")
    assert parse_condition("in [coal, wood]") == ("in", ("coal", "wood"))
    assert parse_condition("not  in 1, 2") == ("not in", (1, 2))


def test_indicator_round_trips_through_its_definition() -> None:
    indicator = Indicator(
        name="fuel",
        column="cooking_fuel",
        weight=Fraction(1, 18),
        op="in",
        threshold=("coal", "wood", "dung"),
        dimension="living standards",
    )

    assert Indicator.from_definition(indicator.to_definition()) == indicator


# --- validation ------------------------------------------------------------------


def _one(name: str, weight: Fraction) -> Indicator:
    return Indicator(name=name, column=name, weight=weight, op="<", threshold=1)


def test_weights_must_sum_to_exactly_one() -> None:
    with pytest.raises(ValueError, match="sum to exactly 1, they sum to 51/50"):
        MpiStandard(
            indicators=(
                _one("a", Fraction(33, 100)),
                _one("b", Fraction(33, 100)),
                _one("c", Fraction(33, 100)),
                _one("d", Fraction(3, 100)),
            ),
            k=Fraction(1, 3),
        )
    with pytest.raises(ValueError, match="they sum to 99/100"):
        _case_b_with_weights(["0.33", "0.33", "0.33"])


def _case_b_with_weights(weights: list[str]) -> MpiStandard:
    return MpiStandard.from_definition(
        {
            "k": "1/3",
            "indicators": [
                {"name": n, "weight": w, "deprived_if": "== 1"}
                for n, w in zip(["a", "b", "c"], weights, strict=True)
            ],
        }
    )


@pytest.mark.parametrize("k", [Fraction(0), Fraction(-1, 2), Fraction(3, 2)])
def test_k_must_be_in_zero_one(k: Fraction) -> None:
    with pytest.raises(ValueError, match=r"k must be a Fraction in \(0, 1\]"):
        MpiStandard(indicators=(_one("a", Fraction(1)),), k=k)


def test_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="two indicators are named 'a'"):
        MpiStandard(
            indicators=(_one("a", Fraction(1, 2)), _one("a", Fraction(1, 2))),
            k=Fraction(1, 2),
        )


def test_ordering_needs_a_number() -> None:
    with pytest.raises(ValueError, match="'<' needs a number, not 'abc'"):
        Indicator(name="a", column="a", weight=Fraction(1), op="<", threshold="abc")


def test_membership_needs_a_list_of_one_kind() -> None:
    with pytest.raises(ValueError, match="the list mixes numbers and texts"):
        Indicator(name="a", column="a", weight=Fraction(1), op="in", threshold=(1, "x"))
    with pytest.raises(ValueError, match="needs a non-empty list"):
        Indicator(name="a", column="a", weight=Fraction(1), op="in", threshold=())


def test_unknown_column_is_named() -> None:
    standard = MpiStandard(indicators=(_one("nope", Fraction(1)),), k=Fraction(1))

    with pytest.raises(ValueError, match="refers to column 'nope', which the data"):
        deprivations(CASE_A, standard)


def test_text_column_with_numeric_condition_is_refused() -> None:
    standard = MpiStandard(indicators=(_one("a", Fraction(1)),), k=Fraction(1))

    with pytest.raises(
        ValueError, match="compares numbers but column 'a' holds String"
    ):
        deprivations(pl.DataFrame({"a": ["x"]}), standard)


def test_missing_values_are_refused() -> None:
    standard = MpiStandard(indicators=(_one("a", Fraction(1)),), k=Fraction(1))

    with pytest.raises(ValueError, match="column 'a' has 2 missing value"):
        deprivations(pl.DataFrame({"a": [1.0, None, float("nan")]}), standard)


def test_unknown_group_column_is_named() -> None:
    with pytest.raises(ValueError, match="cannot group by 'zz'"):
        aggregate(CASE_A, _case_a(Fraction(1, 2)), group_by="zz")


def test_bands_must_fit_k() -> None:
    with pytest.raises(ValueError, match="must end at k"):
        MpiStandard.from_definition(
            {
                "k": "1/3",
                "bands": {"vulnerable": ["1/5", "1/2"]},
                "indicators": [{"name": "a", "weight": 1, "deprived_if": "< 1"}],
            }
        )


def test_long_membership_lists_use_a_set() -> None:
    # given more values than the equality chain handles, on an integer column
    frame = pl.DataFrame({"code": [1, 9, 10, 11]})
    standard = MpiStandard.from_definition(
        {
            "k": 1,
            "indicators": [
                {
                    "name": "rare",
                    "column": "code",
                    "weight": 1,
                    "deprived_if": "not in 1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
                }
            ],
        }
    )

    assert deprivations(frame, standard)["rare"].to_list() == [0, 0, 0, 1]
