"""The synthetic county, generated in memory: pure, seeded, fast.

``generate_county`` returns a :class:`County` of numpy columns; the seeding service
writes it. The same parameters give the same county, byte for byte:
:meth:`County.digest` hashes every generated value (the ID numbers in clear
included; they never leave the process unencrypted).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext as _

from propoor.kernel.standard import IncomeTest, load_builtin
from propoor.seeding.economy import YearSnapshots, build_economy
from propoor.seeding.geography import Geography, build_geography
from propoor.seeding.names import PROVINCES
from propoor.seeding.people import People, build_people
from propoor.seeding.registry import Households, survey_dates

DEFAULT_COUNTY_CODE = "530102000000"
DEFAULT_SEED = 20240601
YEARS = 3
# Share of households below the income line in the latest year (target, by
# construction) and the range the tests hold the generator to.
POOR_SHARE = 0.11
POOR_SHARE_RANGE = (0.08, 0.15)
# Median per-capita net income of the county in 2024, in yuan (assumption: a poor
# mountain county, below Yunnan's rural average of about 17,000); other years move by
# economy.GROWTH a year.
MEDIAN_INCOME_2024 = 13_500
INCOME_STANDARD = "cn-national"


@dataclass(frozen=True)
class IncomeLineUsed:
    """The line the generator aimed at for one year, and where it came from."""

    year: int
    yuan: int
    note: str


@dataclass(frozen=True)
class SeedParameters:
    households: int
    seed: int = DEFAULT_SEED
    year: int = 2024
    county_code: str = DEFAULT_COUNTY_CODE
    survey_cap: dt.date | None = None  # no survey dated after this day

    def __post_init__(self) -> None:
        # The seeding service passes these messages on to the user (ValidationFailed).
        if self.households < 1:
            raise ValueError(_("seed at least one household"))
        if self.households > 1_000_000:
            raise ValueError(_("at most 1,000,000 households"))
        if not 2012 <= self.year <= 2100:
            raise ValueError(_("the year must lie between 2012 and 2100"))
        if self.county_code[:2] not in PROVINCES:
            raise ValueError(
                _("%(code)s does not start with a province code (%(codes)s)")
                % {"code": self.county_code, "codes": ", ".join(sorted(PROVINCES))}
            )

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.year - YEARS + 1, self.year + 1))


def _income_test() -> IncomeTest:
    return IncomeTest.from_definition(load_builtin(INCOME_STANDARD)["income"])


def latest_line_year() -> int:
    """The latest year the income standard has a line for."""
    return _income_test().years[-1]


def income_lines(county_code: str, years: tuple[int, ...]) -> list[IncomeLineUsed]:
    """The line of each year from the built-in ``cn-national`` standard.

    A year the standard has no line for takes the latest earlier line (the 2020
    line carried forward through the transition period) — an assumption, and the
    note says so.
    """
    test = _income_test()
    used = []
    for year in years:
        known = [y for y in test.years if y <= year]
        if year in test.years:
            line = test.line_for(year, county_code)
            used.append(IncomeLineUsed(year, line.line_fen // 100, INCOME_STANDARD))
        elif known:
            line = test.line_for(known[-1], county_code)
            used.append(
                IncomeLineUsed(
                    year,
                    line.line_fen // 100,
                    f"{INCOME_STANDARD} has no {year} line; the {known[-1]} line "
                    "carried forward (assumption)",
                )
            )
        else:
            raise ValueError(
                f"{INCOME_STANDARD} has no income line for {year} or before"
            )
    return used


@dataclass(frozen=True)
class County:
    parameters: SeedParameters
    lines: list[IncomeLineUsed]
    geography: Geography
    village_population: np.ndarray
    people: People
    households: Households
    snapshots: list[YearSnapshots] = field(repr=False)

    @property
    def household_count(self) -> int:
        return len(self.people.size)

    @property
    def member_count(self) -> int:
        return len(self.people.hh)

    def share_below_line(self, year: int) -> float:
        snap = next(s for s in self.snapshots if s.year == year)
        line = next(line for line in self.lines if line.year == year).yuan
        return float(np.mean(snap.net_income() < line * 100 * snap.size))

    def digest(self) -> str:
        """SHA-256 of every generated value, in a fixed order."""
        h = hashlib.sha256()

        def text(values: object) -> None:
            h.update(repr(values).encode("utf-8"))
            h.update(b"\x1e")

        def array(values: np.ndarray) -> None:
            h.update(str(values.dtype).encode())
            h.update(np.ascontiguousarray(values).tobytes())
            h.update(b"\x1e")

        text(self.parameters)
        text(self.lines)
        text(self.geography.divisions)
        text(self.geography.villages)
        array(self.village_population)
        for name in People.__dataclass_fields__:
            value = getattr(self.people, name)
            text(value) if isinstance(value, list) else array(value)
        for name in Households.__dataclass_fields__:
            value = getattr(self.households, name)
            text(value) if isinstance(value, list) else array(value)
        for snap in self.snapshots:
            for name in YearSnapshots.__dataclass_fields__:
                value = getattr(snap, name)
                if isinstance(value, np.ndarray):
                    array(value)
                else:
                    text(value)
        return h.hexdigest()


def median_income(year: int) -> int:
    from propoor.seeding.economy import GROWTH

    return round(MEDIAN_INCOME_2024 * (1 + GROWTH) ** (year - 2024))


def generate_county(
    parameters: SeedParameters, *, step: Callable[[str], None] | None = None
) -> County:
    """Build the whole county in memory; ``step`` is told each phase as it starts."""

    def tell(text: str) -> None:
        if step is not None:
            step(text)

    rng = np.random.default_rng(parameters.seed)
    years = parameters.years
    lines = income_lines(parameters.county_code, years)
    tell("divisions")
    geography = build_geography(
        rng, county_code=parameters.county_code, households=parameters.households
    )
    villages = geography.villages
    per_village = np.array([v.households for v in villages], dtype=np.int64)
    village_of = np.repeat(np.arange(len(villages)), per_village)
    surveys = survey_dates(rng, parameters.households, years, parameters.survey_cap)
    tell("people")
    people = build_people(
        rng,
        households_per_village=per_village,
        village_remote=np.array(
            [min(1.0, v.km_to_county_seat / 900) for v in villages]
        ),
        village_craft=np.array([v.folk_culture for v in villages]),
        latest_survey=surveys[parameters.year],
        region=parameters.county_code[:6],
    )
    tell("incomes")
    households, snapshots = build_economy(
        rng,
        people=people,
        villages=villages,
        village_of=village_of,
        years=years,
        surveys=surveys,
        lines={line.year: line.yuan for line in lines},
        median_income=median_income(parameters.year),
        poor_share=POOR_SHARE,
    )
    population = np.bincount(village_of[people.hh], minlength=len(villages))
    return County(
        parameters=parameters,
        lines=lines,
        geography=geography,
        village_population=population,
        people=people,
        households=households,
        snapshots=snapshots,
    )
