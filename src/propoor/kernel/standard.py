"""Identification standards as data: the typed, validated form of their JSON.

The database stores a standard's definition as JSON; a service turns it into an
:class:`IdentificationSpec` with :meth:`IdentificationSpec.from_definition`, which
raises ``ValueError`` naming the first problem it finds. A definition may combine

- ``income``: per-capita net income below the line of the year and region. Lines
  are data: ``{"year": 2019, "region": "52", "line": "3218"}`` where ``region`` is
  a prefix of the 12-digit division code (``""`` is national); a household takes
  the line of its year with the longest region prefix matching its village;
- ``guarantees``: the two no-worries and three guarantees (food, clothing,
  compulsory education, basic medical care, safe housing) and safe drinking water;
  poor when one of the configured ones fails;
- ``mpi``: an Alkire–Foster standard (:class:`~propoor.kernel.mpi.MpiStandard`);
- ``pmt``: a proxy means test (:class:`~propoor.kernel.pmt.PmtModel`);

with ``rule`` ``"any"`` (poor when any configured test says poor) or ``"all"``,
and an ``exit`` block naming the conditions the exit test checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Literal, TypeAlias

import polars as pl

from propoor.kernel.mpi import MpiStandard
from propoor.kernel.pmt import PmtModel

__all__ = [
    "EXIT_CONDITIONS",
    "GUARANTEES",
    "GUARANTEE_FLAGS",
    "TESTS",
    "ExitTest",
    "GuaranteeTest",
    "IdentificationSpec",
    "IncomeLine",
    "IncomeTest",
    "Rule",
    "builtin_names",
    "load_builtin",
]

Rule: TypeAlias = Literal["any", "all"]

#: The guarantee conditions, in their fixed order, and the flag column of each.
GUARANTEES: tuple[str, ...] = (
    "food",
    "clothing",
    "education",
    "medical",
    "housing",
    "water",
)
GUARANTEE_FLAGS: Mapping[str, str] = {
    "food": "food_secure",
    "clothing": "clothing_secure",
    "education": "education_ok",
    "medical": "medical_ok",
    "housing": "housing_ok",
    "water": "water_ok",
}
#: Exit conditions in the fixed order ``failed_conditions`` lists them.
#: ``mpi`` (no longer MPI-poor) and ``pmt`` (no longer PMT-eligible) are there for
#: standards that have no income line.
EXIT_CONDITIONS: tuple[str, ...] = ("income", *GUARANTEES, "mpi", "pmt")
#: The tests a standard may combine, in the order they are reported.
TESTS: tuple[str, ...] = ("income", "guarantees", "mpi", "pmt")

_SPEC_KEYS = frozenset(
    {
        "name",
        "title",
        "source",
        "description",
        "rule",
        "income",
        "guarantees",
        "mpi",
        "pmt",
        "exit",
    }
)
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True)
class IncomeLine:
    """The poverty line (in fen per person per year) of a year and region prefix."""

    year: int
    region: str
    line_fen: int
    source: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise ValueError(f"an income line's year must be an integer: {self.year!r}")
        if not 1978 <= self.year <= 2100:
            raise ValueError(f"an income line's year is out of range: {self.year}")
        if (
            not isinstance(self.region, str)
            or len(self.region) > 12
            or not set(self.region) <= _DIGITS
        ):
            raise ValueError(
                f"the region of the {self.year} line must be a division-code prefix "
                f"(up to 12 digits, '' for national), not {self.region!r}"
            )
        if isinstance(self.line_fen, bool) or not isinstance(self.line_fen, int):
            raise ValueError(f"the {self.year} line must be an integer number of fen")
        if self.line_fen <= 0:
            raise ValueError(f"the {self.year} line must be positive")

    @property
    def line_yuan(self) -> Decimal:
        return (Decimal(self.line_fen) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class IncomeTest:
    """Income lines by year and region prefix; poor when per-capita income < line."""

    lines: tuple[IncomeLine, ...]

    def __post_init__(self) -> None:
        lines = tuple(self.lines)
        object.__setattr__(self, "lines", lines)
        if not lines:
            raise ValueError("the income test needs at least one line")
        seen: set[tuple[int, str]] = set()
        for line in lines:
            key = (line.year, line.region)
            if key in seen:
                where = f"region {line.region!r}" if line.region else "the nation"
                raise ValueError(f"two {line.year} lines are given for {where}")
            seen.add(key)

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted({line.year for line in self.lines}))

    def lines_for(self, year: int) -> tuple[IncomeLine, ...]:
        """The lines of ``year``, longest region prefix first."""
        found = sorted(
            (line for line in self.lines if line.year == year),
            key=lambda line: (-len(line.region), line.region),
        )
        if not found:
            known = ", ".join(str(y) for y in self.years)
            raise ValueError(
                f"the standard has no income line for {year} (it has lines for {known})"
            )
        return tuple(found)

    def line_for(self, year: int, village: str) -> IncomeLine:
        """The line of ``year`` with the longest region prefix of ``village``."""
        for line in self.lines_for(year):
            if village.startswith(line.region):
                return line
        raise ValueError(f"no {year} income line covers village {village!r}")

    def line_expr(self, year: int, village: str = "village") -> pl.Expr:
        """Int64 line in fen for each row's village (null where no line covers it)."""
        lines = self.lines_for(year)
        col = pl.col(village)
        national = [line for line in lines if line.region == ""]
        regional = [line for line in lines if line.region != ""]
        fallback = pl.lit(national[0].line_fen if national else None, dtype=pl.Int64)
        expr = fallback
        # Wrap from the shortest prefix outwards so the longest one is tried first.
        for line in reversed(regional):
            expr = (
                pl.when(col.str.starts_with(line.region))
                .then(pl.lit(line.line_fen, dtype=pl.Int64))
                .otherwise(expr)
            )
        return expr.alias("income_line_fen")

    @classmethod
    def from_definition(cls, data: object) -> IncomeTest:
        if not isinstance(data, Mapping):
            raise ValueError("'income' must be an object with 'lines'")
        _no_unknown(data, {"lines"}, "'income'")
        raw = data.get("lines")
        if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
            raise ValueError("'income' needs a non-empty list of 'lines'")
        lines: list[IncomeLine] = []
        for item in raw:
            if not isinstance(item, Mapping):
                raise ValueError(f"an income line must be an object, not {item!r}")
            _no_unknown(item, {"year", "region", "line", "source"}, "an income line")
            year = item.get("year")
            if isinstance(year, bool) or not isinstance(year, int):
                raise ValueError(
                    f"an income line needs an integer 'year', not {year!r}"
                )
            region = item.get("region", "")
            if not isinstance(region, str):
                raise ValueError(f"the region of the {year} line must be text")
            source = item.get("source", "")
            if not isinstance(source, str):
                raise ValueError(f"the source of the {year} line must be text")
            lines.append(
                IncomeLine(
                    year=year,
                    region=region,
                    line_fen=_yuan_to_fen(item.get("line"), f"the {year} line"),
                    source=source,
                )
            )
        return cls(lines=tuple(lines))

    def to_definition(self) -> dict[str, object]:
        out: list[dict[str, object]] = []
        for line in self.lines:
            item: dict[str, object] = {
                "year": line.year,
                "region": line.region,
                "line": str(line.line_yuan),
            }
            if line.source:
                item["source"] = line.source
            out.append(item)
        return {"lines": out}


def _yuan_to_fen(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{what} must be an amount in yuan, not {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{what} must be an amount in yuan, not {value!r}") from None
    fen = amount * 100
    if not fen.is_finite() or fen != fen.to_integral_value():
        raise ValueError(f"{what} must be an amount in yuan with at most two decimals")
    return int(fen)


def _conditions(
    data: object, allowed: tuple[str, ...], where: str, default: tuple[str, ...]
) -> tuple[str, ...]:
    if data is None:
        return default
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be an object with 'conditions'")
    _no_unknown(data, {"conditions"}, where)
    raw = data.get("conditions", list(default))
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ValueError(f"{where} needs a non-empty list of 'conditions'")
    unknown = [c for c in raw if c not in allowed]
    if unknown:
        raise ValueError(
            f"{where} has unknown conditions: {', '.join(map(str, unknown))} "
            f"(use {', '.join(allowed)})"
        )
    if len(set(raw)) != len(raw):
        raise ValueError(f"{where} lists a condition twice")
    return tuple(c for c in allowed if c in raw)


@dataclass(frozen=True)
class GuaranteeTest:
    """Poor when any of the configured guarantee conditions fails."""

    conditions: tuple[str, ...] = GUARANTEES

    def __post_init__(self) -> None:
        if not self.conditions or not set(self.conditions) <= set(GUARANTEES):
            raise ValueError(f"guarantee conditions must be some of {GUARANTEES}")
        object.__setattr__(
            self, "conditions", tuple(c for c in GUARANTEES if c in self.conditions)
        )


@dataclass(frozen=True)
class ExitTest:
    """A household may exit when all the configured conditions hold."""

    conditions: tuple[str, ...] = EXIT_CONDITIONS[:7]

    def __post_init__(self) -> None:
        if not self.conditions or not set(self.conditions) <= set(EXIT_CONDITIONS):
            raise ValueError(f"exit conditions must be some of {EXIT_CONDITIONS}")
        object.__setattr__(
            self,
            "conditions",
            tuple(c for c in EXIT_CONDITIONS if c in self.conditions),
        )


@dataclass(frozen=True)
class IdentificationSpec:
    """A complete identification standard (see the module docstring)."""

    name: str
    rule: Rule
    income: IncomeTest | None
    guarantees: GuaranteeTest | None
    mpi: MpiStandard | None
    pmt: PmtModel | None
    exit: ExitTest
    title: str = ""
    source: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("a standard needs a 'name'")
        if self.rule not in ("any", "all"):
            raise ValueError(f"'rule' must be 'any' or 'all', not {self.rule!r}")
        if not self.tests:
            raise ValueError(
                "a standard needs at least one test: income, guarantees, mpi or pmt"
            )
        needs = {"income": self.income, "mpi": self.mpi, "pmt": self.pmt}
        for condition, block in needs.items():
            if condition in self.exit.conditions and block is None:
                raise ValueError(
                    f"the exit condition {condition!r} needs an {condition!r} block"
                )

    @property
    def guarantees_used(self) -> tuple[str, ...]:
        """The guarantee conditions the standard reads: those of its guarantee test
        and those its exit test checks, in :data:`GUARANTEES` order."""
        tested = self.guarantees.conditions if self.guarantees is not None else ()
        used = set(tested) | set(self.exit.conditions)
        return tuple(g for g in GUARANTEES if g in used)

    @property
    def tests(self) -> tuple[str, ...]:
        """The configured tests, in :data:`TESTS` order."""
        present = {
            "income": self.income,
            "guarantees": self.guarantees,
            "mpi": self.mpi,
            "pmt": self.pmt,
        }
        return tuple(t for t in TESTS if present[t] is not None)

    @classmethod
    def from_definition(cls, data: Mapping[str, object]) -> IdentificationSpec:
        """Validate a JSON definition; ``ValueError`` names what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError("a standard's definition must be a JSON object")
        _no_unknown(data, set(_SPEC_KEYS), "the definition")
        raw_rule = data.get("rule", "any")
        if raw_rule != "any" and raw_rule != "all":
            raise ValueError(f"'rule' must be 'any' or 'all', not {raw_rule!r}")
        rule: Rule = "any" if raw_rule == "any" else "all"
        mpi_def = data.get("mpi")
        pmt_def = data.get("pmt")
        guarantees = data.get("guarantees")
        mpi = pmt = None
        if mpi_def is not None:
            if not isinstance(mpi_def, Mapping):
                raise ValueError("'mpi' must be an object")
            try:
                mpi = MpiStandard.from_definition(mpi_def)
            except ValueError as error:
                raise ValueError(f"in 'mpi': {error}") from None
        if pmt_def is not None:
            if not isinstance(pmt_def, Mapping):
                raise ValueError("'pmt' must be an object")
            try:
                pmt = PmtModel.from_definition(pmt_def)
            except ValueError as error:
                raise ValueError(f"in 'pmt': {error}") from None
        income = data.get("income")
        return cls(
            name=_text(data, "name"),
            title=_text(data, "title"),
            source=_text(data, "source"),
            description=_text(data, "description"),
            rule=rule,
            income=None if income is None else IncomeTest.from_definition(income),
            guarantees=None
            if guarantees is None
            else GuaranteeTest(
                _conditions(guarantees, GUARANTEES, "'guarantees'", GUARANTEES)
            ),
            mpi=mpi,
            pmt=pmt,
            exit=ExitTest(
                _conditions(
                    data.get("exit"), EXIT_CONDITIONS, "'exit'", EXIT_CONDITIONS[:7]
                )
            ),
        )

    def to_definition(self) -> dict[str, object]:
        """The JSON-ready definition :meth:`from_definition` reads back."""
        out: dict[str, object] = {"name": self.name}
        for key in ("title", "source", "description"):
            value = getattr(self, key)
            if value:
                out[key] = value
        out["rule"] = self.rule
        if self.income is not None:
            out["income"] = self.income.to_definition()
        if self.guarantees is not None:
            out["guarantees"] = {"conditions": list(self.guarantees.conditions)}
        if self.mpi is not None:
            out["mpi"] = self.mpi.to_definition()
        if self.pmt is not None:
            out["pmt"] = self.pmt.to_definition()
        out["exit"] = {"conditions": list(self.exit.conditions)}
        return out


def _text(data: Mapping[str, object], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be text")
    return value


def _no_unknown(data: Mapping[str, object], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in set(data) - allowed)
    if unknown:
        raise ValueError(f"{where} has unknown keys: {', '.join(unknown)}")


# --- built-in standards ---------------------------------------------------------


def builtin_names() -> tuple[str, ...]:
    """The names of the standards shipped in ``kernel/standards/`` (sorted)."""
    folder = resources.files("propoor.kernel").joinpath("standards")
    return tuple(
        sorted(
            entry.name.removesuffix(".json")
            for entry in folder.iterdir()
            if entry.name.endswith(".json")
        )
    )


def load_builtin(name: str) -> dict[str, object]:
    """The JSON definition of a shipped standard (``"cn-national"``)."""
    names = builtin_names()
    if name not in names:
        raise ValueError(
            f"there is no built-in standard {name!r} (there are {', '.join(names)})"
        )
    path = resources.files("propoor.kernel").joinpath("standards", f"{name}.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):  # pragma: no cover - the shipped files are objects
        raise ValueError(f"the built-in standard {name!r} is not a JSON object")
    return data
