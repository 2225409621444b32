from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from propoor.kernel.pmt import PmtModel, hundredths_to_decimal, pmt_scores

OPENG2P = PmtModel(
    intercept=Decimal("39.84"),
    coefficients={
        "wall_quality": Decimal("6.50"),
        "water_quality": Decimal("6.10"),
        "size": Decimal("-2.85"),
        "head_female": Decimal("-4.88"),
        "head_elderly": Decimal("-6.50"),
        "head_child": Decimal("-9.76"),
    },
    threshold=Decimal("40"),
    eligible_if="<=",
)


def _households() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "wall_quality": [1, 3],
            "water_quality": [2, 4],
            "size": [9, 3],
            "head_female": [False, True],
            "head_elderly": [False, False],
            "head_child": [True, False],
        }
    )


def test_openg2p_published_example() -> None:
    # given the child-headed and the female-headed household of OpenG2P's example
    frame = _households()

    # when scored
    result = pmt_scores(frame, OPENG2P)

    # then 23.13 is eligible and 70.31 is not
    assert result["pmt_score_hundredths"].to_list() == [2313, 7031]
    assert [hundredths_to_decimal(v) for v in result["pmt_score_hundredths"]] == [
        Decimal("23.13"),
        Decimal("70.31"),
    ]
    assert result["pmt_eligible"].to_list() == [True, False]


def test_single_household_score_matches() -> None:
    row = _households().row(0, named=True)

    assert OPENG2P.score(row) == Decimal("23.13")
    assert OPENG2P.is_eligible(Decimal("40.00")) is True
    assert OPENG2P.is_eligible(Decimal("40.01")) is False


def test_definition_round_trips() -> None:
    definition = OPENG2P.to_definition()

    assert definition["intercept"] == "39.84"
    assert PmtModel.from_definition(definition) == OPENG2P


def test_float_coefficients_from_json_are_exact() -> None:
    model = PmtModel.from_definition(
        {"intercept": 39.84, "coefficients": {"size": -2.85}, "threshold": 40}
    )

    assert model.coefficients["size"] == Decimal("-2.85")


def test_three_decimals_are_refused() -> None:
    with pytest.raises(ValueError, match=r"coefficient of 'size' has more than two"):
        PmtModel.from_definition(
            {"intercept": "1", "coefficients": {"size": "0.125"}, "threshold": "1"}
        )


def test_float_input_column_is_refused() -> None:
    with pytest.raises(
        ValueError, match="integers or 0/1 flags in 'size', not Float64"
    ):
        pmt_scores(_households().with_columns(pl.col("size") * 1.0), OPENG2P)


def test_missing_input_column_is_named() -> None:
    with pytest.raises(ValueError, match="needs column 'head_child'"):
        pmt_scores(_households().drop("head_child"), OPENG2P)


def test_bad_comparison_is_refused() -> None:
    with pytest.raises(ValueError, match="eligible_if must be one of"):
        PmtModel.from_definition(
            {
                "intercept": "1",
                "coefficients": {"a": "1"},
                "threshold": "1",
                "eligible_if": "==",
            }
        )
