"""Multidimensional poverty by the Alkire–Foster method, exact and vectorised.

Household *i* is deprived in indicator *j* (``g_ij = 1``) when its value in the
indicator's column meets the indicator's condition (``value < 13``). Its weighted
score is ``c_i = Σ_j w_j g_ij`` and it is poor when ``c_i ≥ k``.

Weights and ``k`` are ``Fraction``. To stay exact *and* columnar, every weight and
``k`` is put over their least common denominator ``D``: integer weights
``W_j = w_j·D``, the integer score numerator ``Σ_j g_ij W_j`` (Int64) and the exact
integer comparison ``numerator ≥ k·D``. Aggregates are sums of those integers per
group, turned into ``Fraction`` once per group:

- ``H = q / n``, ``A = Σ_poor c_i / q`` (0 when ``q = 0``), ``M0 = H·A``;
- uncensored headcount of *j*: share of all households deprived in *j*;
- censored headcount of *j*: share of all households poor *and* deprived in *j*;
- contribution of *j*: ``w_j h_j / M0`` (0 when ``M0 = 0``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, TypeAlias, get_args, overload

import polars as pl

from propoor.kernel.exact import common_denominator, parse_fraction

__all__ = [
    "OPS",
    "GroupKey",
    "Indicator",
    "IndicatorSummary",
    "MpiStandard",
    "MpiSummary",
    "Op",
    "Scalar",
    "Threshold",
    "aggregate",
    "check_frame",
    "check_schema",
    "deprivation_exprs",
    "deprivations",
    "format_condition",
    "numerator_expr",
    "parse_condition",
    "scores",
    "sum_aggs",
    "sum_columns",
    "sum_inputs",
    "summaries_from_sums",
    "summarise",
]

Op: TypeAlias = Literal["<", "<=", ">", ">=", "==", "!=", "in", "not in"]
OPS: tuple[Op, ...] = get_args(Op)
Scalar: TypeAlias = bool | int | float | str
Threshold: TypeAlias = Scalar | tuple[Scalar, ...]
GroupKey: TypeAlias = str | int | float | bool | None

_ORDERING: frozenset[str] = frozenset({"<", "<=", ">", ">="})
_MEMBERSHIP: frozenset[str] = frozenset({"in", "not in"})
#: Largest common denominator accepted: a household's numerator (at most D) fits
#: Int32 and the totals of up to 2**32 households fit Int64.
MAX_DENOMINATOR = 2**31 - 1
#: Up to this many values, ``in`` is a chain of equalities (faster than a hash set).
_EQUALITY_CHAIN = 8
#: Column names ``scores`` adds after the indicators; no indicator may use them.
RESERVED_NAMES = frozenset({"mpi_numerator", "mpi_poor"})
_INDICATOR_KEYS = frozenset(
    {
        "name",
        "column",
        "weight",
        "deprived_if",
        "op",
        "threshold",
        "dimension",
        "label_en",
        "label_zh",
    }
)


# --- conditions -------------------------------------------------------------------

_CONDITION = re.compile(r"^\s*(?:(not\s+in|in)(?=[\s\[(])|(<=|>=|==|!=|<|>))(.*)$")
_INTEGER = re.compile(r"^[+-]?\d+$")


def parse_condition(text: str) -> tuple[Op, Threshold]:
    """Parse ``"< 13"``, ``">= 0.5"``, ``"== true"``, ``"in coal, wood, dung"``.

    A value is a boolean (``true``/``false``), an integer, a decimal number, or
    text (optionally quoted). ``in`` and ``not in`` take a comma-separated list,
    optionally in brackets.
    """
    match = _CONDITION.match(text)
    if match is None:
        raise ValueError(
            f"cannot read the condition {text!r}: expected an operator "
            "(<, <=, >, >=, ==, !=, in, not in) followed by a value, like '< 13'"
        )
    op_text = " ".join((match.group(1) or match.group(2)).split())
    op = next(o for o in OPS if o == op_text)
    rest = match.group(3).strip()
    if not rest:
        raise ValueError(f"the condition {text!r} has no value after {op_text!r}")
    if op in _MEMBERSHIP:
        if rest[0] in "[(" and rest[-1] in "])":
            rest = rest[1:-1]
        items = tuple(_parse_value(part) for part in rest.split(","))
        if any(isinstance(item, str) and item == "" for item in items):
            raise ValueError(f"the condition {text!r} has an empty value in its list")
        return op, items
    return op, _parse_value(rest)


def format_condition(op: Op, threshold: Threshold) -> str:
    """The inverse of :func:`parse_condition`: ``"< 13"``, ``"in coal, wood"``."""
    if isinstance(threshold, tuple):
        return f"{op} " + ", ".join(_format_value(v) for v in threshold)
    return f"{op} {_format_value(threshold)}"


def _parse_value(token: str) -> Scalar:
    text = token.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INTEGER.match(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return number


def _format_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        parsed = _parse_value(value)
        if isinstance(parsed, str) and parsed == value and "," not in value:
            return value
        return '"' + value + '"'
    return repr(value)


# --- indicators and standards ---------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    """One deprivation indicator: deprived when ``column op threshold`` holds.

    ``threshold`` is a number for ``< <= > >=``; a number, text or boolean for
    ``==`` and ``!=``; a non-empty tuple of numbers or of texts for ``in`` and
    ``not in``.
    """

    name: str
    column: str
    weight: Fraction
    op: Op
    threshold: Threshold
    dimension: str = ""
    label_en: str = ""
    label_zh: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("an indicator needs a non-empty name")
        if self.name.startswith("__") or self.name in RESERVED_NAMES:
            raise ValueError(f"{self.name!r} cannot be used as an indicator name")
        if not isinstance(self.column, str) or not self.column.strip():
            raise ValueError(f"indicator {self.name!r} needs a column")
        if not isinstance(self.weight, Fraction):
            raise ValueError(
                f"the weight of indicator {self.name!r} must be a Fraction, "
                f"not {self.weight!r}"
            )
        if not 0 < self.weight <= 1:
            raise ValueError(
                f"the weight of indicator {self.name!r} must be in (0, 1], "
                f"not {self.weight}"
            )
        if self.op not in OPS:
            raise ValueError(
                f"indicator {self.name!r} has the unknown operator {self.op!r}; "
                f"use one of {', '.join(OPS)}"
            )
        threshold = self.threshold
        if isinstance(threshold, list):
            threshold = tuple(threshold)
            object.__setattr__(self, "threshold", threshold)
        where = f"indicator {self.name!r}"
        if self.op in _MEMBERSHIP:
            if not isinstance(threshold, tuple) or not threshold:
                raise ValueError(
                    f"{where}: '{self.op}' needs a non-empty list of values"
                )
            kinds = {_kind(v, where) for v in threshold}
            if len(kinds) > 1:
                raise ValueError(
                    f"{where}: the list mixes {' and '.join(sorted(kinds))}"
                )
        else:
            if isinstance(threshold, tuple):
                raise ValueError(
                    f"{where}: '{self.op}' needs a single value, not a list"
                )
            kind = _kind(threshold, where)
            if self.op in _ORDERING and kind != "numbers":
                raise ValueError(
                    f"{where}: '{self.op}' needs a number, not {threshold!r}"
                )

    @property
    def kind(self) -> Literal["numbers", "texts", "booleans"]:
        """What the indicator's column must hold."""
        value = (
            self.threshold[0] if isinstance(self.threshold, tuple) else self.threshold
        )
        return _kind(value, f"indicator {self.name!r}")

    @property
    def cut_off(self) -> str:
        """The condition as text: ``"< 13"``."""
        return format_condition(self.op, self.threshold)

    def expr(self) -> pl.Expr:
        """Boolean expression: deprived or not."""
        col = pl.col(self.column)
        t = self.threshold
        if self.op == "in" or self.op == "not in":
            values = list(t) if isinstance(t, tuple) else [t]
            if len(values) <= _EQUALITY_CHAIN:
                member = pl.any_horizontal([col == pl.lit(v) for v in values])
                return member if self.op == "in" else ~member
            kind = self.kind
            dtype: type[pl.DataType] = (
                pl.Float64
                if kind == "numbers"
                else pl.String
                if kind == "texts"
                else pl.Boolean
            )
            member = col.cast(dtype).is_in(pl.Series(values, dtype=dtype).implode())
            return member if self.op == "in" else ~member
        if isinstance(t, tuple):  # pragma: no cover - excluded by __post_init__
            raise TypeError("a list threshold needs 'in' or 'not in'")
        value = pl.lit(t)
        match self.op:
            case "<":
                return col < value
            case "<=":
                return col <= value
            case ">":
                return col > value
            case ">=":
                return col >= value
            case "==":
                return col == value
            case _:
                return col != value

    def is_deprived(self, value: Scalar) -> bool:
        """The same condition on one Python value (for explanations and references)."""
        t = self.threshold
        if isinstance(t, tuple):
            return (value in t) == (self.op == "in")
        if self.op == "==":
            return value == t
        if self.op == "!=":
            return value != t
        if isinstance(value, str) or isinstance(t, str):
            raise ValueError(f"indicator {self.name!r} compares numbers, not text")
        match self.op:
            case "<":
                return value < t
            case "<=":
                return value <= t
            case ">":
                return value > t
            case _:
                return value >= t

    @classmethod
    def from_definition(cls, data: Mapping[str, object]) -> Indicator:
        """Build from ``{"name", "column", "weight", "deprived_if": "< 13"}``.

        ``op`` and ``threshold`` may be given instead of ``deprived_if``; optional
        ``dimension``, ``label_en`` and ``label_zh`` describe the indicator.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"an indicator must be an object, not {data!r}")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("every indicator needs a 'name'")
        unknown = sorted(set(data) - _INDICATOR_KEYS)
        if unknown:
            raise ValueError(
                f"indicator {name!r} has unknown keys: {', '.join(unknown)}"
            )
        column = data.get("column", name)
        if not isinstance(column, str):
            raise ValueError(f"the column of indicator {name!r} must be text")
        if "weight" not in data:
            raise ValueError(f"indicator {name!r} needs a 'weight'")
        weight = parse_fraction(
            data["weight"], what=f"the weight of indicator {name!r}"
        )
        op: Op
        threshold: Threshold
        if "deprived_if" in data:
            text = data["deprived_if"]
            if not isinstance(text, str):
                raise ValueError(f"'deprived_if' of indicator {name!r} must be text")
            try:
                op, threshold = parse_condition(text)
            except ValueError as error:
                raise ValueError(f"indicator {name!r}: {error}") from None
        elif "op" in data and "threshold" in data:
            raw_op, raw = data["op"], data["threshold"]
            matched = [o for o in OPS if o == raw_op]
            if not matched:
                raise ValueError(
                    f"indicator {name!r} has the unknown operator {raw_op!r}"
                )
            op = matched[0]
            threshold = _threshold(raw, f"indicator {name!r}")
        else:
            raise ValueError(
                f"indicator {name!r} needs 'deprived_if' (like '< 13') "
                "or 'op' and 'threshold'"
            )
        return cls(
            name=name,
            column=column,
            weight=weight,
            op=op,
            threshold=threshold,
            dimension=_text(data, "dimension", name),
            label_en=_text(data, "label_en", name),
            label_zh=_text(data, "label_zh", name),
        )

    def to_definition(self) -> dict[str, object]:
        """The JSON-ready definition :meth:`from_definition` reads back."""
        out: dict[str, object] = {
            "name": self.name,
            "column": self.column,
            "weight": str(self.weight),
            "deprived_if": self.cut_off,
        }
        for key in ("dimension", "label_en", "label_zh"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


def _kind(value: object, where: str) -> Literal["numbers", "texts", "booleans"]:
    if isinstance(value, bool):
        return "booleans"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{where}: the threshold must be finite")
        return "numbers"
    if isinstance(value, str):
        return "texts"
    raise ValueError(
        f"{where}: a threshold must be a number, text or boolean, not {value!r}"
    )


def _threshold(raw: object, where: str) -> Threshold:
    if isinstance(raw, list | tuple):
        items: list[Scalar] = []
        for item in raw:
            _kind(item, where)
            if not isinstance(item, bool | int | float | str):  # pragma: no cover
                raise ValueError(f"{where}: bad threshold {item!r}")
            items.append(item)
        return tuple(items)
    _kind(raw, where)
    if not isinstance(raw, bool | int | float | str):  # pragma: no cover
        raise ValueError(f"{where}: bad threshold {raw!r}")
    return raw


def _text(data: Mapping[str, object], key: str, name: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"{key!r} of indicator {name!r} must be text")
    return value


@dataclass(frozen=True)
class MpiStandard:
    """A set of indicators whose weights sum to exactly 1, and the cut-off ``k``.

    ``severe_k`` (score at least this is *severely* poor) and ``vulnerable_k``
    (score from this up to, not including, ``k`` is *vulnerable*) are optional
    bands. ``denominator`` ``D``, ``integer_weights`` ``W_j = w_j·D`` and
    ``k_numerator`` ``k·D`` are derived.
    """

    indicators: tuple[Indicator, ...]
    k: Fraction
    severe_k: Fraction | None = None
    vulnerable_k: Fraction | None = None
    denominator: int = field(init=False, repr=False, compare=False)
    integer_weights: tuple[int, ...] = field(init=False, repr=False, compare=False)
    k_numerator: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        indicators = tuple(self.indicators)
        object.__setattr__(self, "indicators", indicators)
        if not indicators:
            raise ValueError("an MPI standard needs at least one indicator")
        if not all(isinstance(i, Indicator) for i in indicators):
            raise ValueError("the indicators must be Indicator objects")
        seen: set[str] = set()
        for indicator in indicators:
            if indicator.name in seen:
                raise ValueError(f"two indicators are named {indicator.name!r}")
            seen.add(indicator.name)
        total = sum((i.weight for i in indicators), Fraction(0))
        if total != 1:
            raise ValueError(f"the weights must sum to exactly 1, they sum to {total}")
        for label, value in (("k", self.k), ("severe_k", self.severe_k)):
            if value is None:
                continue
            if not isinstance(value, Fraction) or not 0 < value <= 1:
                raise ValueError(f"{label} must be a Fraction in (0, 1], not {value}")
        if self.severe_k is not None and self.severe_k < self.k:
            raise ValueError(
                f"severe_k ({self.severe_k}) must not be below k ({self.k})"
            )
        if self.vulnerable_k is not None and (
            not isinstance(self.vulnerable_k, Fraction)
            or not 0 < self.vulnerable_k < self.k
        ):
            raise ValueError(
                f"vulnerable_k must be a Fraction in (0, k), not {self.vulnerable_k}"
            )
        cut_offs = [self.k, self.severe_k, self.vulnerable_k]
        d = common_denominator(
            [i.weight for i in indicators] + [c for c in cut_offs if c is not None]
        )
        if d > MAX_DENOMINATOR:
            raise ValueError(
                f"the weights and k need a common denominator of {d}, "
                f"more than {MAX_DENOMINATOR}; use simpler fractions"
            )
        object.__setattr__(self, "denominator", d)
        object.__setattr__(
            self, "integer_weights", tuple(int(i.weight * d) for i in indicators)
        )
        object.__setattr__(self, "k_numerator", int(self.k * d))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.indicators)

    def cut_numerator(self, cut: Fraction) -> int:
        """``cut·D`` for one of the standard's own cut-offs (exact)."""
        value = cut * self.denominator
        if value.denominator != 1:
            raise ValueError(f"{cut} is not one of the standard's cut-offs")
        return int(value)

    @classmethod
    def from_definition(
        cls, data: Mapping[str, object], *, k: object = None
    ) -> MpiStandard:
        """Build from ``{"k": "1/3", "indicators": [...], "bands": {...}}``.

        ``k`` (if given) overrides the definition's. ``bands`` may hold ``severe``
        (a cut-off) and ``vulnerable`` (``[from, to]`` with ``to`` equal to ``k``).
        """
        if not isinstance(data, Mapping):
            raise ValueError("an MPI definition must be an object")
        unknown = sorted(set(data) - {"k", "indicators", "bands"})
        if unknown:
            raise ValueError(
                f"the MPI definition has unknown keys: {', '.join(unknown)}"
            )
        raw_k = data.get("k") if k is None else k
        if raw_k is None:
            raise ValueError("the MPI standard needs a poverty cut-off 'k'")
        cut = parse_fraction(raw_k, what="k")
        if not 0 < cut <= 1:
            raise ValueError(f"k must be in (0, 1], not {cut}")
        raw = data.get("indicators")
        if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
            raise ValueError("the MPI standard needs a non-empty list of 'indicators'")
        indicators = tuple(Indicator.from_definition(item) for item in raw)
        severe: Fraction | None = None
        vulnerable: Fraction | None = None
        bands = data.get("bands")
        if bands is not None:
            if not isinstance(bands, Mapping):
                raise ValueError("'bands' must be an object")
            extra = sorted(set(bands) - {"severe", "vulnerable"})
            if extra:
                raise ValueError(f"'bands' has unknown keys: {', '.join(extra)}")
            if bands.get("severe") is not None:
                severe = parse_fraction(bands["severe"], what="the severe band")
            if bands.get("vulnerable") is not None:
                span = bands["vulnerable"]
                if (
                    not isinstance(span, Sequence)
                    or isinstance(span, str)
                    or len(span) != 2
                ):
                    raise ValueError("the vulnerable band must be [from, to]")
                vulnerable = parse_fraction(span[0], what="the vulnerable band")
                upper = parse_fraction(span[1], what="the vulnerable band")
                if upper != cut:
                    raise ValueError(
                        f"the vulnerable band must end at k ({cut}), not at {upper}"
                    )
        return cls(
            indicators=indicators, k=cut, severe_k=severe, vulnerable_k=vulnerable
        )

    def to_definition(self) -> dict[str, object]:
        """The JSON-ready definition :meth:`from_definition` reads back."""
        out: dict[str, object] = {
            "k": str(self.k),
            "indicators": [i.to_definition() for i in self.indicators],
        }
        bands: dict[str, object] = {}
        if self.severe_k is not None:
            bands["severe"] = str(self.severe_k)
        if self.vulnerable_k is not None:
            bands["vulnerable"] = [str(self.vulnerable_k), str(self.k)]
        if bands:
            out["bands"] = bands
        return out


# --- computation ----------------------------------------------------------------


def check_frame(frame: pl.DataFrame, standard: MpiStandard) -> None:
    """Raise ``ValueError`` unless every indicator's column exists, has the right
    type, and holds no missing (null or NaN) value."""
    check_schema(frame.schema, standard)
    schema = frame.schema
    checks: list[pl.Expr] = []
    for indicator in standard.indicators:
        dtype = schema[indicator.column]
        missing = pl.col(indicator.column).is_null()
        if dtype.is_float():
            missing = missing | pl.col(indicator.column).is_nan()
        checks.append(missing.sum().alias(indicator.column))
    counts = frame.select(checks).row(0, named=True) if frame.height else {}
    for column, count in counts.items():
        if count:
            raise ValueError(f"column {column!r} has {count} missing value(s)")


def check_schema(schema: Mapping[str, pl.DataType], standard: MpiStandard) -> None:
    """Raise ``ValueError`` unless every indicator's column exists with a type its
    condition can compare."""
    for indicator in standard.indicators:
        where = f"indicator {indicator.name!r}"
        if indicator.column not in schema:
            raise ValueError(
                f"{where} refers to column {indicator.column!r}, "
                "which the data does not have"
            )
        dtype = schema[indicator.column]
        kind = indicator.kind
        if kind == "numbers" and not dtype.is_numeric():
            raise ValueError(
                f"{where} compares numbers but column {indicator.column!r} "
                f"holds {dtype}"
            )
        if kind == "texts" and not (dtype == pl.String or dtype == pl.Categorical):
            raise ValueError(
                f"{where} compares text but column {indicator.column!r} holds {dtype}"
            )
        if kind == "booleans" and dtype != pl.Boolean:
            raise ValueError(
                f"{where} compares true/false but column {indicator.column!r} "
                f"holds {dtype}"
            )


def deprivation_exprs(standard: MpiStandard, prefix: str = "") -> list[pl.Expr]:
    """One Int8 (0/1) expression per indicator, named ``prefix + name``."""
    return [i.expr().cast(pl.Int8).alias(prefix + i.name) for i in standard.indicators]


def numerator_expr(standard: MpiStandard, prefix: str = "") -> pl.Expr:
    """The Int64 score numerator ``Σ_j g_ij W_j`` from the deprivation columns.

    Summed in Int32 (exact: it is at most ``D ≤ MAX_DENOMINATOR``), then widened.
    """
    total = pl.lit(0, dtype=pl.Int32)
    for i, w in zip(standard.indicators, standard.integer_weights, strict=True):
        total = total + pl.col(prefix + i.name).cast(pl.Int32) * pl.lit(
            w, dtype=pl.Int32
        )
    return total.cast(pl.Int64).alias("mpi_numerator")


def deprivations(frame: pl.DataFrame, standard: MpiStandard) -> pl.DataFrame:
    """One Int8 (0/1) column per indicator, named by the indicator."""
    check_frame(frame, standard)
    return frame.select(deprivation_exprs(standard))


def scores(frame: pl.DataFrame, standard: MpiStandard) -> pl.DataFrame:
    """The deprivation columns plus ``mpi_numerator`` (Int64) and ``mpi_poor``.

    The exact score of row *i* is ``mpi_numerator[i] / standard.denominator``.
    """
    check_frame(frame, standard)
    return (
        frame.lazy()
        .select(deprivation_exprs(standard))
        .with_columns(numerator_expr(standard))
        .with_columns(
            (pl.col("mpi_numerator") >= standard.k_numerator).alias("mpi_poor")
        )
        .collect()
    )


@dataclass(frozen=True)
class IndicatorSummary:
    name: str
    weight: Fraction
    uncensored_headcount: Fraction
    censored_headcount: Fraction
    contribution: Fraction


@dataclass(frozen=True)
class MpiSummary:
    """Alkire–Foster aggregates of one population (or one group of it)."""

    k: Fraction
    n: int
    q: int
    H: Fraction
    A: Fraction
    M0: Fraction
    indicators: tuple[IndicatorSummary, ...]

    def indicator(self, name: str) -> IndicatorSummary:
        for item in self.indicators:
            if item.name == name:
                return item
        raise KeyError(name)

    def as_dict(self, *, exact: bool = True) -> dict[str, object]:
        """JSON-ready: fractions as ``"3/8"`` text (``exact``) or as floats."""

        def num(value: Fraction) -> str | float:
            return str(value) if exact else float(value)

        return {
            "k": num(self.k),
            "n": self.n,
            "q": self.q,
            "H": num(self.H),
            "A": num(self.A),
            "M0": num(self.M0),
            "indicators": {
                i.name: {
                    "weight": num(i.weight),
                    "uncensored_headcount": num(i.uncensored_headcount),
                    "censored_headcount": num(i.censored_headcount),
                    "contribution": num(i.contribution),
                }
                for i in self.indicators
            },
        }


def sum_inputs(
    standard: MpiStandard, *, prefix: str = "", numerator: str = "mpi_numerator"
) -> list[pl.Expr]:
    """Per-row integer columns whose group sums a summary needs.

    ``__q`` poor (0/1), ``__s`` the numerator if poor else 0, and per indicator *j*
    ``__u{j}`` deprived and ``__c{j}`` poor and deprived (0/1, Int8: polars sums
    small integers as Int64). Sum them with ``pl.len()`` as ``__n`` (see
    :func:`sum_columns`); totals of sub-groups add up, so coarser groups can be
    summed from finer ones.
    """
    poor = (pl.col(numerator) >= standard.k_numerator).cast(pl.Int8)
    exprs: list[pl.Expr] = [
        poor.alias("__q"),
        (pl.col(numerator).cast(pl.Int64) * poor).alias("__s"),
    ]
    for j, indicator in enumerate(standard.indicators):
        g = pl.col(prefix + indicator.name).cast(pl.Int8)
        exprs.append(g.alias(f"__u{j}"))
        exprs.append((g * poor).alias(f"__c{j}"))
    return exprs


def sum_columns(standard: MpiStandard) -> list[str]:
    """The names of the columns :func:`sum_inputs` produces."""
    m = len(standard.indicators)
    return ["__q", "__s"] + [f"__{x}{j}" for j in range(m) for x in "uc"]


def sum_aggs(standard: MpiStandard) -> list[pl.Expr]:
    """``group_by().agg`` expressions over :func:`sum_inputs` columns (and ``__n``)."""
    return [
        pl.len().cast(pl.Int64).alias("__n"),
        pl.col(sum_columns(standard)).sum(),
    ]


def summaries_from_sums(
    sums: pl.DataFrame, standard: MpiStandard, *, by: str | None = None
) -> dict[GroupKey, MpiSummary]:
    """Turn rows of :func:`sum_exprs` totals into exact summaries (key ``by``)."""
    m = len(standard.indicators)
    out: dict[GroupKey, MpiSummary] = {}
    for row in sums.iter_rows(named=True):
        key: GroupKey = None if by is None else row[by]
        out[key] = _summary(
            standard,
            n=int(row["__n"]),
            q=int(row["__q"] or 0),
            s=int(row["__s"] or 0),
            uncensored=[int(row[f"__u{j}"] or 0) for j in range(m)],
            censored=[int(row[f"__c{j}"] or 0) for j in range(m)],
        )
    return out


def summarise(
    scored: pl.DataFrame | pl.LazyFrame,
    standard: MpiStandard,
    *,
    by: str | None = None,
    prefix: str = "",
    numerator: str = "mpi_numerator",
) -> dict[GroupKey, MpiSummary]:
    """Aggregate precomputed deprivations (``prefix + name``, 0/1) and numerators.

    Vectorised: one polars ``group_by`` sums integers per group; only the per-group
    totals become ``Fraction``. Without ``by`` the single key is ``None``. Groups come
    back sorted by key (nulls last).
    """
    lazy = scored.lazy()
    inputs = sum_inputs(standard, prefix=prefix, numerator=numerator)
    if by is None:
        totals = lazy.select(inputs).select(sum_aggs(standard)).collect()
        return summaries_from_sums(totals, standard)
    table = (
        lazy.select(pl.col(by), *inputs)
        .group_by(by)
        .agg(sum_aggs(standard))
        .sort(by, nulls_last=True)
        .collect()
    )
    return summaries_from_sums(table, standard, by=by)


def _summary(
    standard: MpiStandard,
    *,
    n: int,
    q: int,
    s: int,
    uncensored: Sequence[int],
    censored: Sequence[int],
) -> MpiSummary:
    d = standard.denominator
    zero = Fraction(0)
    items = tuple(
        IndicatorSummary(
            name=i.name,
            weight=i.weight,
            uncensored_headcount=Fraction(u, n) if n else zero,
            censored_headcount=Fraction(c, n) if n else zero,
            # w_j h_j / M0 = (W_j/D)(c_j/n) / (s/(D n)) = W_j c_j / s
            contribution=Fraction(w * c, s) if s else zero,
        )
        for i, w, u, c in zip(
            standard.indicators,
            standard.integer_weights,
            uncensored,
            censored,
            strict=True,
        )
    )
    return MpiSummary(
        k=standard.k,
        n=n,
        q=q,
        H=Fraction(q, n) if n else zero,
        A=Fraction(s, d * q) if q else zero,
        M0=Fraction(s, d * n) if n else zero,
        indicators=items,
    )


@overload
def aggregate(
    frame: pl.DataFrame, standard: MpiStandard, group_by: None = None
) -> MpiSummary: ...


@overload
def aggregate(
    frame: pl.DataFrame, standard: MpiStandard, group_by: str
) -> dict[GroupKey, MpiSummary]: ...


def aggregate(
    frame: pl.DataFrame, standard: MpiStandard, group_by: str | None = None
) -> MpiSummary | dict[GroupKey, MpiSummary]:
    """H, A, M0 and per-indicator headcounts and contributions, exactly.

    With ``group_by`` a dict from each value of that column (sorted, nulls last) to
    the summary of its rows. An empty frame gives ``n = 0`` and zeros.
    """
    check_frame(frame, standard)
    if group_by is not None and group_by not in frame.schema:
        raise ValueError(f"cannot group by {group_by!r}: the data has no such column")
    prefix = "__g_"
    keep = [pl.col(group_by)] if group_by is not None else []
    scored = (
        frame.lazy()
        .select([*keep, *deprivation_exprs(standard, prefix)])
        .with_columns(numerator_expr(standard, prefix))
    )
    result = summarise(scored, standard, by=group_by, prefix=prefix)
    if group_by is None:
        return result[None]
    return result
