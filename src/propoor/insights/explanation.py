"""One household's identification, explained indicator by indicator.

A stored ``IdentificationResult`` keeps the verdicts and the names of the deprived
indicators and failed exit conditions. The full story — each indicator's value,
cut-off, weight; the income test; each of the two no-worries and three guarantees —
is told by the kernel's :func:`propoor.kernel.identify.explain` from the household's
survey snapshot and the standard the run used. This module feeds it and turns its
JSON into typed lines for pages. It decides nothing itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from propoor.core.money import MoneyField
from propoor.households.models import Snapshot
from propoor.kernel.identify import SNAPSHOT_COLUMNS, explain
from propoor.kernel.mpi import MpiStandard, parse_condition
from propoor.kernel.standard import IdentificationSpec

if TYPE_CHECKING:
    from propoor.households.models import IdentificationResult


@dataclass(frozen=True)
class IndicatorLine:
    name: str
    label_en: str
    label_zh: str
    dimension: str
    column: str  # the snapshot (or derived) column the indicator reads
    value: object
    cut_off: str  # the condition as text: "< 6", "== true"
    op: str  # and parsed: "<", "==", "in", …
    threshold: object
    deprived: bool
    weight: Fraction


@dataclass(frozen=True)
class GuaranteeLine:
    """One of the two no-worries (food, clothing), three guarantees, or safe water."""

    name: str
    label_en: str
    label_zh: str
    ok: bool
    facts: Mapping[str, object]


@dataclass(frozen=True)
class IncomeLine:
    net_income: Decimal
    size: int
    per_capita_income: Decimal
    line: Decimal
    poor: bool

    @property
    def ratio(self) -> Fraction | None:
        """Income per person as a share of the line (1 = exactly at the line)."""
        if self.line <= 0:
            return None
        return Fraction(self.per_capita_income) / Fraction(self.line)


@dataclass(frozen=True)
class MpiLines:
    score: Fraction
    k: Fraction
    poor: bool
    severe: bool | None
    vulnerable: bool | None
    indicators: tuple[IndicatorLine, ...]


@dataclass(frozen=True)
class PmtTerm:
    column: str
    value: int
    coefficient: Decimal
    contribution: Decimal


@dataclass(frozen=True)
class PmtLines:
    intercept: Decimal
    terms: tuple[PmtTerm, ...]
    score: Decimal
    threshold: Decimal
    eligible_if: str
    eligible: bool


@dataclass(frozen=True)
class ResultExplanation:
    """A stored result and the kernel's account of it."""

    result: IdentificationResult
    standard_name: str
    standard_version: int
    standard_title: str
    year: int
    poor: bool  # the stored verdict
    agrees: bool  # the survey as it is now gives the same verdict
    income: IncomeLine | None
    guarantees: tuple[GuaranteeLine, ...]  # those the standard counts
    guarantees_met: bool | None
    mpi: MpiLines | None
    pmt: PmtLines | None
    exit_ok: bool
    failed_conditions: tuple[str, ...]
    summary_en: str
    summary_zh: str


def snapshot_row(snapshot: Snapshot, village_code: str) -> dict[str, object]:
    """A snapshot as the kernel reads it: money in integer fen, land as float."""
    row: dict[str, object] = {"household_id": snapshot.household_id}
    row["village"] = village_code
    fields = {f.name: f for f in Snapshot._meta.concrete_fields}
    for column in SNAPSHOT_COLUMNS:
        if column in row:
            continue
        value = getattr(snapshot, column)
        if isinstance(fields[column], MoneyField):
            value = int((Decimal(value) * 100).to_integral_value())
        elif isinstance(value, Decimal):
            value = float(value)
        row[column] = value
    return row


def _fraction(value: object) -> Fraction:
    return Fraction(str(value))


def _indicator(item: Mapping[str, object]) -> IndicatorLine:
    cut_off = str(item.get("cut_off") or "")
    op: str = ""
    threshold: object = None
    if cut_off:
        try:
            op, threshold = parse_condition(cut_off)
        except ValueError:
            op, threshold = "", None
    name = str(item["name"])
    return IndicatorLine(
        name=name,
        label_en=str(item.get("label_en") or name),
        label_zh=str(item.get("label_zh") or item.get("label_en") or name),
        dimension=str(item.get("dimension") or ""),
        column=str(item.get("column") or name),
        value=item.get("value"),
        cut_off=cut_off,
        op=op,
        threshold=threshold,
        deprived=bool(item.get("deprived")),
        weight=_fraction(item.get("weight", 0)),
    )


def _mapping(value: object) -> Mapping[str, object] | None:
    return value if isinstance(value, Mapping) else None


def _sequence(value: object) -> Sequence[object]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return value
    return ()


def explain_result(
    result: IdentificationResult, snapshot: Snapshot | None, village_code: str
) -> ResultExplanation:
    """Explain a stored result with the kernel, from the snapshot it was computed on.

    ``result.run.standard`` must be loaded. Without a snapshot (deleted since) the
    stored verdicts are shown without their indicator-by-indicator detail.
    """
    standard = result.run.standard
    told: Mapping[str, object] = {}
    if snapshot is not None:
        spec = IdentificationSpec.from_definition(standard.definition)
        told = explain(snapshot_row(snapshot, village_code), spec, result.year)

    income = _mapping(told.get("income"))
    mpi = _mapping(told.get("mpi"))
    pmt = _mapping(told.get("pmt"))
    counted = [
        g for g in map(_mapping, _sequence(told.get("guarantees"))) if g is not None
    ]
    return ResultExplanation(
        result=result,
        standard_name=standard.name,
        standard_version=standard.version,
        standard_title=standard.title,
        year=result.year,
        poor=result.poor,
        agrees=not told or bool(told.get("poor")) == result.poor,
        income=None
        if income is None
        else IncomeLine(
            net_income=Decimal(str(income["net_income"])),
            size=int(str(income["size"])),
            per_capita_income=Decimal(str(income["per_capita_income"])),
            line=Decimal(str(income["line"])),
            poor=bool(income["poor"]),
        ),
        guarantees=tuple(
            GuaranteeLine(
                name=str(g["name"]),
                label_en=str(g.get("label_en") or g["name"]),
                label_zh=str(g.get("label_zh") or g["name"]),
                ok=bool(g.get("ok")),
                facts=_mapping(g.get("facts")) or {},
            )
            for g in counted
            if g.get("counts")
        ),
        guarantees_met=result.guarantees_met,
        mpi=None
        if mpi is None
        else MpiLines(
            score=_fraction(mpi["score"]),
            k=_fraction(mpi["k"]),
            poor=bool(mpi["poor"]),
            severe=None if mpi.get("severe") is None else bool(mpi["severe"]),
            vulnerable=None
            if mpi.get("vulnerable") is None
            else bool(mpi["vulnerable"]),
            indicators=tuple(
                _indicator(item)
                for item in map(_mapping, _sequence(mpi.get("indicators")))
                if item is not None
            ),
        ),
        pmt=None
        if pmt is None
        else PmtLines(
            intercept=Decimal(str(pmt["intercept"])),
            terms=tuple(
                PmtTerm(
                    column=str(t["column"]),
                    value=int(str(t["value"])),
                    coefficient=Decimal(str(t["coefficient"])),
                    contribution=Decimal(str(t["contribution"])),
                )
                for t in map(_mapping, _sequence(pmt.get("terms")))
                if t is not None
            ),
            score=Decimal(str(pmt["score"])),
            threshold=Decimal(str(pmt["threshold"])),
            eligible_if=str(pmt.get("eligible_if", "")),
            eligible=bool(pmt.get("eligible")),
        ),
        exit_ok=result.exit_ok,
        failed_conditions=tuple(str(c) for c in result.failed_conditions or ()),
        summary_en=str(told.get("summary_en", "")),
        summary_zh=str(told.get("summary_zh", "")),
    )


@dataclass(frozen=True)
class IndicatorInfo:
    name: str
    label_en: str
    label_zh: str
    weight: Fraction


def mpi_indicators(definition: Mapping[str, object]) -> dict[str, IndicatorInfo]:
    """The MPI indicators of a standard's definition by name (empty without MPI)."""
    block = definition.get("mpi")
    if not isinstance(block, Mapping):
        return {}
    standard = MpiStandard.from_definition(block)
    return {
        i.name: IndicatorInfo(
            name=i.name,
            label_en=i.label_en or i.name,
            label_zh=i.label_zh or i.label_en or i.name,
            weight=i.weight,
        )
        for i in standard.indicators
    }


def deprived_names(explanation: object) -> tuple[str, ...]:
    """The deprived indicators a stored explanation names (``{"deprived": [...]}``)."""
    block = _mapping(explanation)
    if block is None:
        return ()
    return tuple(str(name) for name in _sequence(block.get("deprived")))
