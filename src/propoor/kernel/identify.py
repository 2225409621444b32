"""Identify poor households by a standard, vectorised over a polars frame.

The input is one row per household with the fields of the registry's yearly
Snapshot (:data:`SNAPSHOT_COLUMNS`); money is Int64 fen. A standard reads only some
of them: :func:`input_columns` names those, and a frame of just those is enough.
:func:`identify` returns one row per household with every test's verdict
(:data:`RESULT_COLUMNS`), :func:`explain` tells one household's story indicator by
indicator, and :func:`aggregate_by` gives poverty incidence and MPI aggregates per
village, township and county. Everything is columnar: no per-row Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

import polars as pl

from propoor.kernel.mpi import (
    MpiStandard,
    MpiSummary,
    check_schema,
    deprivation_exprs,
    numerator_expr,
    sum_columns,
    sum_inputs,
    summaries_from_sums,
)
from propoor.kernel.pmt import hundredths_to_decimal
from propoor.kernel.standard import (
    EXIT_CONDITIONS,
    GUARANTEE_FLAGS,
    GUARANTEES,
    IdentificationSpec,
)

__all__ = [
    "DERIVED_COLUMNS",
    "LEVELS",
    "RESULT_COLUMNS",
    "SNAPSHOT_COLUMNS",
    "AreaSummary",
    "aggregate_by",
    "check_snapshot",
    "derive_columns",
    "explain",
    "identify",
    "input_columns",
]

_I = pl.Int64()
_F = pl.Float64()
_B = pl.Boolean()
_S = pl.String()

#: The input columns (the yearly Snapshot's fields) and their types. Money is fen.
SNAPSHOT_COLUMNS: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "household_id": _I,
        "village": _S,  # 12-digit statistical division code
        "size": _I,
        "income_wages": _I,
        "income_business": _I,
        "income_property": _I,
        "income_transfers": _I,
        "income_ecommerce": _I,  # part of income_business earned online
        "costs": _I,
        "spending_medical": _I,
        "spending_disaster": _I,
        "food_secure": _B,
        "clothing_secure": _B,
        "school_age_children": _I,
        "children_out_of_school": _I,
        "medical_insured": _B,
        "medical_care_access": _B,
        "housing_structure": _S,  # concrete | brick_wood | earth_wood | other
        "housing_grade": _S,  # A | B | C | D (C and D are unsafe)
        "safe_water": _B,
        "water_quality": _I,  # 1..5
        "wall_quality": _I,  # 1..5
        "electricity": _B,
        "cooking_fuel": _S,  # electricity | gas | coal | wood | dung
        "sanitation": _S,  # flush | improved_pit | unimproved | none
        "undernourished_member": _B,
        "child_death_5y": _B,
        "max_schooling_years": _I,
        "has_radio": _B,
        "has_tv": _B,
        "has_telephone": _B,
        "has_computer": _B,
        "has_bicycle": _B,
        "has_motorbike": _B,
        "has_refrigerator": _B,
        "has_car": _B,
        "land_cultivated": _F,  # mu
        "land_forest": _F,
        "land_orchard": _F,
        "land_pond": _F,
        "labourers_full": _I,
        "labourers_partial": _I,
        "members_ill_or_disabled": _I,
        "head_female": _B,
        "head_elderly": _B,
        "head_child": _B,
        "smartphones": _I,
        "internet": _S,  # none | mobile | broadband
        "km_to_road": _F,
        "km_to_market": _F,
        "ecommerce_experience": _S,  # none | bought | sold
    }
)

_SMALL_ASSETS = (
    "has_radio",
    "has_tv",
    "has_telephone",
    "has_computer",
    "has_bicycle",
    "has_motorbike",
    "has_refrigerator",
)

#: Columns :func:`derive_columns` adds, which indicators may refer to (each is added
#: when the columns it is computed from are present).
DERIVED_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "net_income_fen": "wages + business + property + transfers - costs (fen)",
        "per_capita_income_fen": "net income / size, rounded half up to the fen",
        "rigid_spending_fen": "medical + disaster spending (fen)",
        "small_assets": "how many of radio, TV, telephone, computer, bicycle, "
        "motorbike, refrigerator the household owns",
        "assets_deprived": "global MPI: at most one small asset and no car",
        "housing_unsafe": "housing grade C or D",
        "housing_inadequate": "unsafe, or earth-and-wood or makeshift structure",
        "cooking_solid_fuel": "cooks with coal, wood or dung",
        "sanitation_unimproved": "unimproved latrine or no toilet",
        "labourers": "full + partial labourers",
        "land_total": "cultivated + forest + orchard + pond land (mu)",
        "education_ok": "no school-age child out of school",
        "medical_ok": "insured and with access to basic care",
        "housing_ok": "housing is safe (grade A or B)",
        "water_ok": "safe drinking water",
    }
)

#: The columns :func:`identify` returns, in order, and their types.
RESULT_COLUMNS: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "household_id": _I,
        "village": _S,
        "per_capita_income_fen": _I,
        "income_line_fen": _I,
        "income_poor": _B,
        **{flag: _B for flag in GUARANTEE_FLAGS.values()},
        "guarantees_met": _B,
        "mpi_numerator": _I,
        "mpi_denominator": _I,
        "mpi_poor": _B,
        "mpi_severe": _B,
        "mpi_vulnerable": _B,
        "pmt_score_hundredths": _I,
        "pmt_eligible": _B,
        "poor": _B,
        "exit_ok": _B,
        "failed_conditions": pl.List(_S),
        "deprived": pl.List(_S),
    }
)

#: Aggregation levels and how many leading digits of the village code name them.
LEVELS: Mapping[str, int] = MappingProxyType(
    {"village": 12, "township": 9, "county": 6, "prefecture": 4, "province": 2}
)

_DEP = "__dep_"
_CHUNK = 10  # names per bit mask in _names_where: tables of 2**10 lists


# --- input -------------------------------------------------------------------------


def check_snapshot(
    frame: pl.DataFrame, spec: IdentificationSpec | None = None
) -> pl.DataFrame:
    """Check the input columns and return the frame with canonical types.

    The frame needs the :func:`input_columns` of ``spec`` (every one of
    :data:`SNAPSHOT_COLUMNS` when no standard is given), without missing values;
    other columns may be absent. Raises ``ValueError`` naming missing columns,
    columns of the wrong kind, columns with missing values, sizes below 1 and
    malformed village codes.
    """
    schema = frame.schema
    needed = list(SNAPSHOT_COLUMNS if spec is None else input_columns(spec))
    missing = [c for c in needed if c not in schema]
    if missing:
        raise ValueError(f"the data lacks column(s): {', '.join(missing)}")
    casts: list[pl.Expr] = []
    for column, dtype in SNAPSHOT_COLUMNS.items():
        have = schema.get(column)
        if have is None or have == dtype:
            continue
        fits = (
            (dtype == _I and have.is_integer())
            or (dtype == _F and have.is_numeric())
            or (dtype == _S and have == pl.Categorical)
        )
        if not fits:
            raise ValueError(f"column {column!r} must hold {dtype}, not {have}")
        casts.append(pl.col(column).cast(dtype))
    if casts:
        frame = frame.with_columns(casts)
    if frame.height == 0:
        return frame
    problems = frame.select(
        pl.sum_horizontal(pl.col(c).null_count().cast(pl.Int64) for c in needed).alias(
            "nulls"
        ),
        (pl.col("size") < 1).sum().alias("small"),
        (pl.col("village").str.len_bytes() != 12).sum().alias("village"),
        (pl.len() - pl.col("household_id").n_unique()).alias("duplicates"),
    ).row(0, named=True)
    if problems["nulls"]:
        counts = frame.select(pl.col(needed).null_count()).row(0, named=True)
        columns = [c for c, n in counts.items() if n]
        raise ValueError(f"column(s) with missing values: {', '.join(columns)}")
    if problems["small"]:
        raise ValueError(f"{problems['small']} household(s) have a size below 1")
    if problems["village"]:
        raise ValueError(
            f"{problems['village']} household(s) have a village code that is not "
            "12 characters long"
        )
    if problems["duplicates"]:
        raise ValueError(f"{problems['duplicates']} rows repeat a household_id")
    return frame


@dataclass(frozen=True)
class _Derivation:
    """A derived column: its name, the columns it is computed from, its expression."""

    name: str
    inputs: tuple[str, ...]
    expr: pl.Expr


def _one_of(column: str, *values: str) -> pl.Expr:
    # A chain of equalities is about twice as fast as is_in for a few values.
    return pl.any_horizontal([pl.col(column) == value for value in values])


def _derivations() -> tuple[tuple[_Derivation, ...], ...]:
    """The derived columns in dependency stages (each stage may use the previous)."""
    incomes = (
        "income_wages",
        "income_business",
        "income_property",
        "income_transfers",
    )
    net = (
        pl.col("income_wages")
        + pl.col("income_business")
        + pl.col("income_property")
        + pl.col("income_transfers")
        - pl.col("costs")
    )
    size = pl.col("size")
    absolute = pl.col("net_income_fen").abs()
    # half up (away from zero): floor((2|n| + s) / 2s), with the sign of n
    per_capita = (2 * absolute + size) // (2 * size)
    housing_unsafe = _one_of("housing_grade", "C", "D")
    lands = ("land_cultivated", "land_forest", "land_orchard", "land_pond")

    def d(name: str, inputs: tuple[str, ...], expr: pl.Expr) -> _Derivation:
        return _Derivation(name, inputs, expr.alias(name))

    first = (
        d("net_income_fen", (*incomes, "costs"), net),
        d(
            "rigid_spending_fen",
            ("spending_medical", "spending_disaster"),
            pl.col("spending_medical") + pl.col("spending_disaster"),
        ),
        d(
            "small_assets",
            _SMALL_ASSETS,
            sum(
                (pl.col(c).cast(pl.Int8) for c in _SMALL_ASSETS),
                pl.lit(0, dtype=pl.Int8),
            ),
        ),
        d("housing_unsafe", ("housing_grade",), housing_unsafe),
        d(
            "housing_inadequate",
            ("housing_grade", "housing_structure"),
            housing_unsafe | _one_of("housing_structure", "earth_wood", "other"),
        ),
        d(
            "cooking_solid_fuel",
            ("cooking_fuel",),
            _one_of("cooking_fuel", "coal", "wood", "dung"),
        ),
        d(
            "sanitation_unimproved",
            ("sanitation",),
            _one_of("sanitation", "unimproved", "none"),
        ),
        d(
            "labourers",
            ("labourers_full", "labourers_partial"),
            pl.col("labourers_full") + pl.col("labourers_partial"),
        ),
        d(
            "land_total",
            lands,
            pl.col("land_cultivated")
            + pl.col("land_forest")
            + pl.col("land_orchard")
            + pl.col("land_pond"),
        ),
        d(
            "education_ok",
            ("children_out_of_school",),
            pl.col("children_out_of_school") == 0,
        ),
        d(
            "medical_ok",
            ("medical_insured", "medical_care_access"),
            pl.col("medical_insured") & pl.col("medical_care_access"),
        ),
        d("housing_ok", ("housing_grade",), ~housing_unsafe),
        d("water_ok", ("safe_water",), pl.col("safe_water")),
    )
    second = (
        d(
            "per_capita_income_fen",
            ("net_income_fen", "size"),
            pl.when(pl.col("net_income_fen") < 0)
            .then(-per_capita)
            .otherwise(per_capita),
        ),
        d(
            "assets_deprived",
            ("small_assets", "has_car"),
            (pl.col("small_assets") <= 1) & ~pl.col("has_car"),
        ),
    )
    return first, second


_DERIVATIONS = _derivations()
_DERIVED_FROM: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {d.name: d.inputs for stage in _DERIVATIONS for d in stage}
)


def _sources(column: str) -> tuple[str, ...]:
    """The input columns behind ``column``: itself, or what it is derived from."""
    inputs = _DERIVED_FROM.get(column)
    if inputs is None:
        return (column,)
    return tuple(source for c in inputs for source in _sources(c))


def input_columns(spec: IdentificationSpec) -> tuple[str, ...]:
    """The input columns :func:`identify` reads for ``spec``, and no others.

    Always ``household_id``, ``village``, ``size`` and the income sources and costs
    (every result reports the per-capita net income, whatever the standard tests);
    the inputs of each guarantee the standard tests or checks at exit; the column of
    each MPI indicator and of each PMT coefficient. A derived column
    (:data:`DERIVED_COLUMNS`) stands for the columns it is computed from.
    :data:`SNAPSHOT_COLUMNS` come first, in their order; then any other column the
    standard names (a custom indicator's), in the standard's order.
    """
    wanted = ["household_id", "village", "per_capita_income_fen"]
    wanted += [GUARANTEE_FLAGS[name] for name in spec.guarantees_used]
    if spec.mpi is not None:
        wanted += [indicator.column for indicator in spec.mpi.indicators]
    if spec.pmt is not None:
        wanted += list(spec.pmt.coefficients)
    needed = dict.fromkeys(source for c in wanted for source in _sources(c))
    return tuple(c for c in SNAPSHOT_COLUMNS if c in needed) + tuple(
        c for c in needed if c not in SNAPSHOT_COLUMNS
    )


def derive_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the :data:`DERIVED_COLUMNS` whose inputs the frame holds."""
    return _derive(frame.lazy()).collect()


def _derive(lazy: pl.LazyFrame) -> pl.LazyFrame:
    have = set(lazy.collect_schema().names())
    for stage in _DERIVATIONS:
        ready = [d for d in stage if have.issuperset(d.inputs)]
        if ready:
            lazy = lazy.with_columns(d.expr for d in ready)
            have.update(d.name for d in ready)
    return lazy


# --- identification ----------------------------------------------------------------


def identify(frame: pl.DataFrame, spec: IdentificationSpec, year: int) -> pl.DataFrame:
    """One row per household with every verdict of ``spec`` for ``year``.

    Columns: :data:`RESULT_COLUMNS`. A test the standard does not configure gives
    nulls (``income_poor``, ``guarantees_met``, ``mpi_*``, ``pmt_*``), and so does
    the flag of a guarantee it neither tests nor checks at exit;
    ``income_line_fen`` is filled whenever the standard has income lines.
    The exact MPI score is ``mpi_numerator / mpi_denominator``.
    The frame needs only the standard's :func:`input_columns`.
    Raises ``ValueError`` for bad input (naming a column the standard needs that
    the frame lacks) or a year the income lines do not cover.
    """
    frame = check_snapshot(frame, spec)
    lazy = _derive(frame.lazy())
    schema = lazy.collect_schema()
    null_b = pl.lit(None, dtype=pl.Boolean)
    null_i = pl.lit(None, dtype=pl.Int64)
    poor_flags: list[pl.Expr] = []
    used = spec.guarantees_used
    passes: dict[str, pl.Expr] = {name: pl.col(GUARANTEE_FLAGS[name]) for name in used}
    stage: list[pl.Expr] = [
        null_b.alias(GUARANTEE_FLAGS[name]) for name in GUARANTEES if name not in used
    ]

    # income
    if spec.income is not None:
        lazy = lazy.with_columns(spec.income.line_expr(year))
        income_poor = pl.col("per_capita_income_fen") < pl.col("income_line_fen")
        stage.append(income_poor.alias("income_poor"))
        poor_flags.append(pl.col("income_poor"))
        passes["income"] = pl.col("per_capita_income_fen") > pl.col("income_line_fen")
    else:
        stage += [null_i.alias("income_line_fen"), null_b.alias("income_poor")]

    # guarantees
    if spec.guarantees is not None:
        met = pl.all_horizontal(
            pl.col(GUARANTEE_FLAGS[c]) for c in spec.guarantees.conditions
        )
        stage.append(met.alias("guarantees_met"))
        poor_flags.append(~pl.col("guarantees_met"))
    else:
        stage.append(null_b.alias("guarantees_met"))

    # MPI
    mpi = spec.mpi
    deprived: pl.Expr = pl.lit([], dtype=pl.List(pl.String))
    if mpi is not None:
        check_schema(schema, mpi)
        lazy = lazy.with_columns(deprivation_exprs(mpi, _DEP))
        numerator = numerator_expr(mpi, _DEP)
        lazy = lazy.with_columns(numerator)
        num = pl.col("mpi_numerator")
        stage += [
            pl.lit(mpi.denominator, dtype=pl.Int64).alias("mpi_denominator"),
            (num >= mpi.k_numerator).alias("mpi_poor"),
            (
                num >= mpi.cut_numerator(mpi.severe_k)
                if mpi.severe_k is not None
                else null_b
            ).alias("mpi_severe"),
            (
                (num >= mpi.cut_numerator(mpi.vulnerable_k)) & (num < mpi.k_numerator)
                if mpi.vulnerable_k is not None
                else null_b
            ).alias("mpi_vulnerable"),
        ]
        poor_flags.append(pl.col("mpi_poor"))
        passes["mpi"] = ~pl.col("mpi_poor")
        deprived = _names_where(
            [(i.name, pl.col(_DEP + i.name) == 1) for i in mpi.indicators]
        )
    else:
        stage += [
            null_i.alias("mpi_numerator"),
            null_i.alias("mpi_denominator"),
            null_b.alias("mpi_poor"),
            null_b.alias("mpi_severe"),
            null_b.alias("mpi_vulnerable"),
        ]

    # PMT
    pmt = spec.pmt
    if pmt is not None:
        pmt.check_schema(schema)
        lazy = lazy.with_columns(pmt.score_expr())
        stage.append(pmt.eligible_expr(pl.col("pmt_score_hundredths")))
        poor_flags.append(pl.col("pmt_eligible"))
        passes["pmt"] = ~pl.col("pmt_eligible")
    else:
        stage += [
            null_i.alias("pmt_score_hundredths"),
            null_b.alias("pmt_eligible"),
        ]
    stage.append(deprived.alias("deprived"))
    lazy = lazy.with_columns(stage)

    # verdicts
    combine = pl.any_horizontal if spec.rule == "any" else pl.all_horizontal
    conditions = [c for c in EXIT_CONDITIONS if c in spec.exit.conditions]
    lazy = lazy.with_columns(
        combine(poor_flags).alias("poor"),
        pl.all_horizontal(passes[c] for c in conditions).alias("exit_ok"),
        _names_where([(c, ~passes[c]) for c in conditions]).alias("failed_conditions"),
    )
    result = lazy.select(list(RESULT_COLUMNS)).collect()
    if spec.income is not None:
        uncovered = result["income_line_fen"].null_count()
        if uncovered:
            village = result.filter(pl.col("income_line_fen").is_null())["village"][0]
            raise ValueError(
                f"no {year} income line covers {uncovered} household(s), "
                f"e.g. in village {village}"
            )
    return result


def _names_where(pairs: Sequence[tuple[str, pl.Expr]]) -> pl.Expr:
    """A List[String] of the names whose condition holds, in the given order.

    Built without per-row work: the conditions of each chunk of up to
    ``_CHUNK`` names form an integer bit mask, which indexes a precomputed
    series holding the list of names of every possible mask.
    """
    if not pairs:
        return pl.lit([], dtype=pl.List(pl.String))
    parts: list[pl.Expr] = []
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        mask = pl.sum_horizontal(
            [
                pl.when(cond).then(pl.lit(1 << j, dtype=pl.Int32)).otherwise(0)
                for j, (_, cond) in enumerate(chunk)
            ]
        )
        table = pl.Series(
            [
                [name for j, (name, _) in enumerate(chunk) if bits >> j & 1]
                for bits in range(1 << len(chunk))
            ],
            dtype=pl.List(pl.String),
        )
        parts.append(pl.lit(table).gather(mask))
    return parts[0] if len(parts) == 1 else pl.concat_list(parts)


# --- explanation -------------------------------------------------------------------

_GUARANTEE_TEXT: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "income": ("Per-capita net income above the line", "人均纯收入高于贫困线"),
        "food": ("No worries about food", "不愁吃"),
        "clothing": ("No worries about clothing", "不愁穿"),
        "education": ("Compulsory education guaranteed", "义务教育有保障"),
        "medical": ("Basic medical care guaranteed", "基本医疗有保障"),
        "housing": ("Safe housing guaranteed", "住房安全有保障"),
        "water": ("Safe drinking water guaranteed", "饮水安全有保障"),
        "mpi": ("Not multidimensionally poor", "非多维贫困"),
        "pmt": ("Not eligible by the proxy means test", "代理家计调查不符合条件"),
    }
)


def _guarantee_facts(name: str, row: Mapping[str, object]) -> dict[str, object]:
    facts: dict[str, tuple[str, ...]] = {
        "food": ("food_secure",),
        "clothing": ("clothing_secure",),
        "education": ("school_age_children", "children_out_of_school"),
        "medical": ("medical_insured", "medical_care_access"),
        "housing": ("housing_grade", "housing_structure"),
        "water": ("safe_water", "water_quality"),
    }
    return {column: row[column] for column in facts[name]}


def _yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def _row_frame(row: Mapping[str, object]) -> pl.DataFrame:
    missing = [c for c in SNAPSHOT_COLUMNS if c not in row]
    if missing:
        raise ValueError(f"the household lacks field(s): {', '.join(missing)}")
    values: dict[str, list[object]] = {}
    for column, dtype in SNAPSHOT_COLUMNS.items():
        value = row[column]
        if dtype == _F and isinstance(value, Decimal | int):
            value = float(value)
        values[column] = [value]
    return pl.DataFrame(values, schema=dict(SNAPSHOT_COLUMNS))


def explain(
    row: Mapping[str, object], spec: IdentificationSpec, year: int | None = None
) -> dict[str, object]:
    """A JSON-ready, indicator-by-indicator explanation of one household.

    ``row`` holds the household's :data:`SNAPSHOT_COLUMNS` (and ``year`` if
    ``year`` is not given). The verdicts are those of :func:`identify`, so the
    explanation can never disagree with the stored result.
    """
    if year is None:
        raw_year = row.get("year")
        if isinstance(raw_year, bool) or not isinstance(raw_year, int):
            raise ValueError("explain needs the year (pass year= or a 'year' field)")
        year = raw_year
    frame = _row_frame(row)
    result = identify(frame, spec, year).row(0, named=True)
    derived = derive_columns(frame).row(0, named=True)
    out: dict[str, object] = {
        "standard": spec.name,
        "year": year,
        "household_id": result["household_id"],
        "rule": spec.rule,
        "tests": list(spec.tests),
        "poor": result["poor"],
        "exit_ok": result["exit_ok"],
        "failed_conditions": result["failed_conditions"],
    }
    reasons_en: list[str] = []
    reasons_zh: list[str] = []

    if spec.income is not None:
        line = spec.income.line_for(year, str(row["village"]))
        per_capita = int(result["per_capita_income_fen"])
        out["income"] = {
            "net_income": _yuan(int(derived["net_income_fen"])),
            "size": derived["size"],
            "per_capita_income": _yuan(per_capita),
            "line": _yuan(line.line_fen),
            "line_region": line.region,
            "poor": result["income_poor"],
        }
        if result["income_poor"]:
            reasons_en.append(
                f"per-capita net income {_yuan(per_capita)} yuan is below the "
                f"{year} line of {_yuan(line.line_fen)} yuan"
            )
            reasons_zh.append(
                f"人均纯收入{_yuan(per_capita)}元低于{year}年贫困线"
                f"{_yuan(line.line_fen)}元"
            )
    else:
        out["income"] = None

    guarantees: list[dict[str, object]] = []
    configured = spec.guarantees.conditions if spec.guarantees is not None else ()
    for name in GUARANTEES:
        ok = bool(derived[GUARANTEE_FLAGS[name]])
        en, zh = _GUARANTEE_TEXT[name]
        guarantees.append(
            {
                "name": name,
                "label_en": en,
                "label_zh": zh,
                "ok": ok,
                "counts": name in configured,
                "facts": _guarantee_facts(name, derived),
            }
        )
        if name in configured and not ok:
            reasons_en.append(f"not met: {en.lower()}")
            reasons_zh.append(f"未达到：{zh}")
    out["guarantees"] = guarantees
    out["guarantees_met"] = result["guarantees_met"]

    mpi = spec.mpi
    if mpi is not None:
        numerator = int(result["mpi_numerator"])
        score = Fraction(numerator, mpi.denominator)
        indicators = [
            {
                "name": i.name,
                "label_en": i.label_en,
                "label_zh": i.label_zh,
                "dimension": i.dimension,
                "column": i.column,
                "value": derived[i.column],
                "cut_off": i.cut_off,
                "deprived": i.name in result["deprived"],
                "weight": str(i.weight),
            }
            for i in mpi.indicators
        ]
        out["mpi"] = {
            "score": str(score),
            "score_decimal": f"{float(score):.4f}",
            "k": str(mpi.k),
            "poor": result["mpi_poor"],
            "severe": result["mpi_severe"],
            "vulnerable": result["mpi_vulnerable"],
            "indicators": indicators,
        }
        if result["mpi_poor"]:
            names = ", ".join(result["deprived"])
            reasons_en.append(
                f"deprivation score {score} reaches k = {mpi.k} ({names})"
            )
            reasons_zh.append(f"多维剥夺得分{score}达到临界值{mpi.k}（{names}）")
    else:
        out["mpi"] = None

    pmt = spec.pmt
    if pmt is not None:
        score_h = int(result["pmt_score_hundredths"])
        terms = [
            {
                "column": column,
                "value": int(derived[column]),
                "coefficient": str(coefficient),
                "contribution": str(
                    (coefficient * int(derived[column])).quantize(Decimal("0.01"))
                ),
            }
            for column, coefficient in pmt.coefficients.items()
        ]
        score_text = str(hundredths_to_decimal(score_h))
        out["pmt"] = {
            "intercept": str(pmt.intercept),
            "terms": terms,
            "score": score_text,
            "threshold": str(pmt.threshold),
            "eligible_if": pmt.eligible_if,
            "eligible": result["pmt_eligible"],
        }
        if result["pmt_eligible"]:
            reasons_en.append(
                f"proxy means score {score_text} {pmt.eligible_if} {pmt.threshold}"
            )
            reasons_zh.append(
                f"代理家计得分{score_text} {pmt.eligible_if} {pmt.threshold}"
            )
    else:
        out["pmt"] = None

    verdict_en = "poor" if result["poor"] else "not poor"
    verdict_zh = "贫困" if result["poor"] else "非贫困"
    joiner_en = " or " if spec.rule == "any" else " and "
    out["summary_en"] = (
        f"{verdict_en.capitalize()} under {spec.name} ({year})"
        + (": " + joiner_en.join(reasons_en) if reasons_en else "")
        + "."
    )
    out["summary_zh"] = (
        f"按{spec.name}（{year}年）认定为{verdict_zh}"
        + ("：" + "；".join(reasons_zh) if reasons_zh else "")
        + "。"
    )
    return out


# --- aggregation -------------------------------------------------------------------


@dataclass(frozen=True)
class AreaSummary:
    """Poverty in one area: incidence ``poor / n`` and, with an MPI, its aggregates."""

    level: str
    code: str
    n: int
    poor: int
    incidence: Fraction
    mpi: MpiSummary | None


def aggregate_by(
    results: pl.DataFrame,
    frame: pl.DataFrame,
    spec: IdentificationSpec,
    levels: Sequence[str] = ("village", "township", "county"),
) -> dict[str, dict[str, AreaSummary]]:
    """Incidence and MPI aggregates per area: ``{level: {code: AreaSummary}}``.

    ``results`` needs ``household_id`` and ``poor`` (the output of
    :func:`identify`, or the stored verdicts); ``frame`` is the snapshot frame the
    results came from (at least the standard's :func:`input_columns`) and supplies
    villages and the MPI deprivations. The township code is the village's first 9
    digits + ``000``, the county's the first 6 + ``000000`` (``prefecture`` and
    ``province`` work too). Vectorised: one ``group_by`` over integer columns per
    level.
    """
    unknown = [level for level in levels if level not in LEVELS]
    if unknown:
        raise ValueError(
            f"unknown level(s): {', '.join(unknown)} (use {', '.join(LEVELS)})"
        )
    for column in ("household_id", "poor"):
        if column not in results.schema:
            raise ValueError(f"the results lack column {column!r}")
    frame = check_snapshot(frame, spec)
    mpi: MpiStandard | None = spec.mpi
    lazy = _derive(frame.lazy())
    if results["household_id"].equals(frame["household_id"]):
        # identify() keeps the frame's order: no join needed
        lazy = lazy.with_columns(results["poor"].alias("__poor"))
    else:
        lazy = lazy.join(
            results.lazy().select("household_id", pl.col("poor").alias("__poor")),
            on="household_id",
            how="left",
        )
    columns: list[pl.Expr] = [
        pl.col("village"),
        pl.col("__poor").cast(pl.Int8),
        pl.col("__poor").is_null().cast(pl.Int8).alias("__nulls"),
    ]
    totals = ["__poor", "__nulls", "__n"]
    if mpi is not None:
        check_schema(lazy.collect_schema(), mpi)
        lazy = lazy.with_columns(deprivation_exprs(mpi, _DEP)).with_columns(
            numerator_expr(mpi, _DEP)
        )
        columns += sum_inputs(mpi, prefix=_DEP)
        totals += sum_columns(mpi)
    # One pass over the households: integer totals per village. Coarser levels are
    # sums of village totals (the codes nest), so they cost next to nothing.
    villages = (
        lazy.select(columns)
        .group_by("village")
        .agg(pl.len().cast(pl.Int64).alias("__n"), pl.exclude("village").sum())
        .collect()
    )
    missing = int(villages["__nulls"].sum())
    if missing:
        raise ValueError(f"{missing} household(s) of the frame have no result")
    out: dict[str, dict[str, AreaSummary]] = {}
    for level in levels:
        digits = LEVELS[level]
        code = pl.col("village").str.slice(0, digits) + "0" * (12 - digits)
        sums = (
            villages.lazy()
            .group_by(code.alias("code"))
            .agg(pl.col(totals).sum())
            .sort("code")
            .collect()
        )
        summaries = summaries_from_sums(sums, mpi, by="code") if mpi is not None else {}
        out[level] = {
            str(row["code"]): AreaSummary(
                level=level,
                code=str(row["code"]),
                n=int(row["__n"]),
                poor=int(row["__poor"]),
                incidence=Fraction(int(row["__poor"]), int(row["__n"])),
                mpi=summaries.get(row["code"]),
            )
            for row in sums.iter_rows(named=True)
        }
    return out
