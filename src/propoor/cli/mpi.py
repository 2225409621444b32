"""``propoor mpi``: Alkire–Foster MPI of a CSV file, with no database.

    propoor mpi DATA.csv --standard STANDARD.toml [--k K] [--group-by COLUMN]
                [--format json|table]

STANDARD.toml holds an optional ``k`` and one ``[[indicators]]`` table per
indicator::

    k = "1/3"

    [[indicators]]
    name = "schooling"
    column = "years"        # defaults to the name
    weight = "1/6"          # a fraction string or a number (0.4 is exactly 2/5)
    deprived_if = "< 6"     # <, <=, >, >=, ==, !=, in, not in

``--k`` overrides the file's ``k``; one of them is required. Bad input prints
``propoor mpi: error: <what is wrong>`` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import NoReturn

import polars as pl

from propoor.kernel.exact import parse_fraction
from propoor.kernel.mpi import GroupKey, MpiStandard, MpiSummary, aggregate

__all__ = ["main"]

PROG = "propoor mpi"
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


class InputError(Exception):
    """Bad input: the message says what is wrong."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Alkire–Foster multidimensional poverty of the households in "
        "a CSV file, computed exactly.",
    )
    parser.add_argument("data", metavar="DATA.csv", help="one row per household")
    parser.add_argument(
        "--standard",
        required=True,
        metavar="STANDARD.toml",
        help="indicators, weights and (optionally) k",
    )
    parser.add_argument("--k", help="poverty cut-off, e.g. 1/3 (overrides the file)")
    parser.add_argument(
        "--group-by", metavar="COLUMN", help="also report each value of COLUMN"
    )
    parser.add_argument("--format", choices=("json", "table"), default="table")
    return parser


def main(argv: list[str]) -> int:
    """Run ``propoor mpi``; return the exit status (0, or 2 for bad input)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        standard = _read_standard(Path(args.standard), args.k)
        frame = _read_data(Path(args.data), standard, args.group_by)
        overall = aggregate(frame, standard)
        groups = (
            aggregate(frame, standard, group_by=args.group_by)
            if args.group_by is not None
            else None
        )
    except InputError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    if args.format == "json":
        print(json.dumps(_json(overall, groups), ensure_ascii=False, indent=2))
    else:
        print(_table(overall, groups, args.group_by))
    return 0


# --- input -----------------------------------------------------------------------


def _read_standard(path: Path, k_option: str | None) -> MpiStandard:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"cannot read the standard {path}: no such file") from None
    except OSError as error:
        raise InputError(f"cannot read the standard {path}: {error.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path} is not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"k", "indicators", "name", "title"})
    if unknown:
        raise InputError(f"{path} has unknown keys: {', '.join(unknown)}")
    indicators = data.get("indicators")
    if not isinstance(indicators, list) or not indicators:
        raise InputError(f"{path} has no [[indicators]]")
    for item in indicators:
        if not isinstance(item, dict):
            raise InputError(f"{path}: each indicator must be a [[indicators]] table")
    k: object = data.get("k")
    if k_option is not None:
        k = parse_fraction(k_option, what="--k")
    if k is None:
        raise InputError(f"no poverty cut-off: give --k or set k in {path}")
    return MpiStandard.from_definition({"indicators": indicators}, k=k)


def _read_data(path: Path, standard: MpiStandard, group_by: str | None) -> pl.DataFrame:
    if not path.is_file():
        raise InputError(f"cannot read the data {path}: no such file")
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.NoDataError:
        raise InputError(f"the data {path} is empty") from None
    except pl.exceptions.ComputeError as error:
        raise InputError(f"cannot read the data {path}: {error}") from None
    kinds: dict[str, str] = {}
    for indicator in standard.indicators:
        column = indicator.column
        if column not in raw.columns:
            raise InputError(
                f"unknown column {column!r} (indicator {indicator.name!r}); "
                f"the data has: {', '.join(raw.columns)}"
            )
        kind = indicator.kind
        if kinds.setdefault(column, kind) != kind:
            raise InputError(
                f"column {column!r} is compared as {kinds[column]} and as {kind}"
            )
    if group_by is not None and group_by not in raw.columns:
        raise InputError(
            f"unknown --group-by column {group_by!r}; "
            f"the data has: {', '.join(raw.columns)}"
        )
    needed = [*kinds, *([group_by] if group_by is not None else [])]
    for column in dict.fromkeys(needed):
        _no_empty(raw, column)
    converted = [_convert(raw, column, kind) for column, kind in kinds.items()]
    frame = raw.with_columns(converted)
    return frame


def _no_empty(raw: pl.DataFrame, column: str) -> None:
    empty = raw.select(pl.col(column).is_null().arg_true().first()).item()
    if empty is not None:
        raise InputError(f"column {column!r} is empty on line {empty + 2}")


def _convert(raw: pl.DataFrame, column: str, kind: str) -> pl.Expr:
    values = pl.col(column).str.strip_chars()
    if kind == "numbers":
        converted = values.cast(pl.Float64, strict=False)
        what = "a non-numeric value"
    elif kind == "booleans":
        lowered = values.str.to_lowercase()
        converted = (
            pl.when(lowered.is_in(pl.Series(sorted(_TRUE)).implode()))
            .then(True)
            .when(lowered.is_in(pl.Series(sorted(_FALSE)).implode()))
            .then(False)
            .otherwise(None)
        )
        what = "a value that is not true or false"
    else:
        return values.alias(column)
    bad = raw.select(converted.is_null().arg_true().first()).item()
    if bad is not None:
        value = raw[column][bad]
        raise InputError(f"column {column!r} has {what} on line {bad + 2}: {value!r}")
    return converted.alias(column)


# --- output ----------------------------------------------------------------------


def _numbers(summary: MpiSummary) -> dict[str, object]:
    return {
        "n": summary.n,
        "q": summary.q,
        "k": float(summary.k),
        "H": float(summary.H),
        "A": float(summary.A),
        "M0": float(summary.M0),
        "indicators": {
            i.name: {
                "weight": float(i.weight),
                "uncensored_headcount": float(i.uncensored_headcount),
                "censored_headcount": float(i.censored_headcount),
                "contribution": float(i.contribution),
            }
            for i in summary.indicators
        },
    }


def _json(
    overall: MpiSummary, groups: Mapping[GroupKey, MpiSummary] | None
) -> dict[str, object]:
    out = _numbers(overall)
    if groups is not None:
        out["groups"] = {str(key): _numbers(s) for key, s in groups.items()}
    return out


def _fraction(value: Fraction) -> str:
    return f"{value} ({float(value):.4f})"


def _block(title: str, summary: MpiSummary) -> list[str]:
    lines = [
        title,
        f"  n = {summary.n}, q = {summary.q}, k = {summary.k}",
        f"  H  = {_fraction(summary.H)}",
        f"  A  = {_fraction(summary.A)}",
        f"  M0 = {_fraction(summary.M0)}",
    ]
    rows = [("indicator", "weight", "uncensored", "censored", "contribution")]
    rows += [
        (
            i.name,
            str(i.weight),
            _fraction(i.uncensored_headcount),
            _fraction(i.censored_headcount),
            _fraction(i.contribution),
        )
        for i in summary.indicators
    ]
    widths = [max(len(row[c]) for row in rows) for c in range(5)]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def _table(
    overall: MpiSummary,
    groups: Mapping[GroupKey, MpiSummary] | None,
    group_by: str | None,
) -> str:
    lines: list[str] = []
    if groups is not None:
        for key, summary in groups.items():
            lines += [*_block(f"{group_by} = {key}", summary), ""]
    lines += _block("all households", overall)
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
