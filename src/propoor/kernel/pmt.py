"""Proxy means test (PMT): a linear score of observable household traits.

``score = intercept + Σ coefficient_c · value_c``; a household is eligible when the
score compares with the threshold as ``eligible_if`` says (``score ≤ 40``).

The model is data (the coefficients come from a regression the county publishes),
and the arithmetic is exact: coefficients, intercept and threshold have at most two
decimals and the inputs are integers or 0/1 flags, so the score is an exact integer
number of *hundredths*, computed as an Int64 column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Literal, TypeAlias, get_args

import polars as pl

__all__ = [
    "Comparison",
    "PmtModel",
    "hundredths",
    "hundredths_to_decimal",
    "pmt_scores",
]

Comparison: TypeAlias = Literal["<=", "<", ">=", ">"]
_COMPARISONS: tuple[Comparison, ...] = get_args(Comparison)
_HUNDREDTH = Decimal("0.01")


def hundredths(value: Decimal, *, what: str = "value") -> int:
    """``Decimal("6.50")`` → ``650``; refuses more than two decimals."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{what} must be a finite Decimal, not {value!r}")
    scaled = value * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} has more than two decimals: {value}")
    return int(scaled)


def hundredths_to_decimal(value: int) -> Decimal:
    """``2313`` → ``Decimal("23.13")``."""
    return (Decimal(value) / 100).quantize(_HUNDREDTH)


@dataclass(frozen=True)
class PmtModel:
    """``intercept + Σ coefficients[column]·column``; eligible if ``score <= threshold``
    (or the comparison ``eligible_if`` names)."""

    intercept: Decimal
    coefficients: Mapping[str, Decimal] = field(hash=False)
    threshold: Decimal
    eligible_if: Comparison = "<="

    def __post_init__(self) -> None:
        hundredths(self.intercept, what="the PMT intercept")
        hundredths(self.threshold, what="the PMT threshold")
        if not self.coefficients:
            raise ValueError("a PMT model needs at least one coefficient")
        for column, coefficient in self.coefficients.items():
            if not isinstance(column, str) or not column:
                raise ValueError(
                    f"a PMT coefficient needs a column name, not {column!r}"
                )
            hundredths(coefficient, what=f"the PMT coefficient of {column!r}")
        if self.eligible_if not in _COMPARISONS:
            raise ValueError(
                f"eligible_if must be one of {', '.join(_COMPARISONS)}, "
                f"not {self.eligible_if!r}"
            )
        object.__setattr__(
            self, "coefficients", MappingProxyType(dict(self.coefficients))
        )

    @property
    def threshold_hundredths(self) -> int:
        return hundredths(self.threshold)

    def check_frame(self, frame: pl.DataFrame) -> None:
        """Each coefficient's column exists and holds integers or booleans, no nulls."""
        self.check_schema(frame.schema)
        if frame.height:
            nulls = frame.select(
                pl.col(c).null_count().alias(c) for c in self.coefficients
            ).row(0, named=True)
            for column, count in nulls.items():
                if count:
                    raise ValueError(f"column {column!r} has {count} missing value(s)")

    def check_schema(self, schema: Mapping[str, pl.DataType]) -> None:
        """Each coefficient's column exists and holds integers or booleans."""
        for column in self.coefficients:
            if column not in schema:
                raise ValueError(
                    f"the PMT needs column {column!r}, which the data lacks"
                )
            dtype = schema[column]
            if not (dtype.is_integer() or dtype == pl.Boolean):
                raise ValueError(
                    f"the PMT needs integers or 0/1 flags in {column!r}, not {dtype}"
                )

    def score_expr(self) -> pl.Expr:
        """The Int64 score in hundredths, named ``pmt_score_hundredths``."""
        terms = [
            pl.col(column).cast(pl.Int64) * pl.lit(hundredths(c), dtype=pl.Int64)
            for column, c in self.coefficients.items()
        ]
        return (
            pl.lit(hundredths(self.intercept), dtype=pl.Int64)
            + pl.sum_horizontal(terms)
        ).alias("pmt_score_hundredths")

    def eligible_expr(self, score: pl.Expr) -> pl.Expr:
        """Boolean ``pmt_eligible`` from an Int64 hundredths score."""
        t = self.threshold_hundredths
        match self.eligible_if:
            case "<=":
                eligible = score <= t
            case "<":
                eligible = score < t
            case ">=":
                eligible = score >= t
            case _:
                eligible = score > t
        return eligible.alias("pmt_eligible")

    def score(self, values: Mapping[str, int | bool]) -> Decimal:
        """The score of one household, as a Decimal with two places."""
        total = hundredths(self.intercept)
        for column, coefficient in self.coefficients.items():
            value = values[column]
            if not isinstance(value, int):
                raise ValueError(f"{column!r} must be an integer, not {value!r}")
            total += hundredths(coefficient) * int(value)
        return hundredths_to_decimal(total)

    def is_eligible(self, score: Decimal) -> bool:
        t = self.threshold
        match self.eligible_if:
            case "<=":
                return score <= t
            case "<":
                return score < t
            case ">=":
                return score >= t
            case _:
                return score > t

    @classmethod
    def from_definition(cls, data: Mapping[str, object]) -> PmtModel:
        """Build from ``{"intercept": "39.84", "coefficients": {...}, "threshold":
        "40", "eligible_if": "<="}``; numbers may be text or JSON numbers."""
        if not isinstance(data, Mapping):
            raise ValueError("a PMT definition must be an object")
        unknown = sorted(
            set(data) - {"intercept", "coefficients", "threshold", "eligible_if"}
        )
        if unknown:
            raise ValueError(
                f"the PMT definition has unknown keys: {', '.join(unknown)}"
            )
        raw = data.get("coefficients")
        if not isinstance(raw, Mapping) or not raw:
            raise ValueError("the PMT needs 'coefficients': {column: number}")
        eligible_if = data.get("eligible_if", "<=")
        matched = [c for c in _COMPARISONS if c == eligible_if]
        if not matched:
            raise ValueError(
                f"eligible_if must be one of {', '.join(_COMPARISONS)}, "
                f"not {eligible_if!r}"
            )
        return cls(
            intercept=_decimal(data.get("intercept"), "the PMT intercept"),
            coefficients={
                str(c): _decimal(v, f"the PMT coefficient of {c!r}")
                for c, v in raw.items()
            },
            threshold=_decimal(data.get("threshold"), "the PMT threshold"),
            eligible_if=matched[0],
        )

    def to_definition(self) -> dict[str, object]:
        return {
            "intercept": str(self.intercept),
            "coefficients": {c: str(v) for c, v in self.coefficients.items()},
            "threshold": str(self.threshold),
            "eligible_if": self.eligible_if,
        }


def _decimal(value: object, what: str) -> Decimal:
    if value is None:
        raise ValueError(f"{what} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{what} must be a number, not {value!r}")
    try:
        result = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"{what} must be a number, not {value!r}") from None
    hundredths(result, what=what)
    return result


def pmt_scores(frame: pl.DataFrame, model: PmtModel) -> pl.DataFrame:
    """``pmt_score_hundredths`` (Int64) and ``pmt_eligible`` (Boolean) per row."""
    model.check_frame(frame)
    score = model.score_expr()
    return (
        frame.lazy()
        .select(score)
        .with_columns(model.eligible_expr(pl.col("pmt_score_hundredths")))
        .collect()
    )
