"""Yearly snapshots: incomes by source, the guarantees, housing, assets, land, labour.

Pure: numpy only. Money is integer fen here (int64) and becomes ``Decimal`` with two
places only when rows are written. See ``README.md`` in this package for where each
number comes from and which are assumptions.

How poverty arises. Each household gets a latent score: a normal draw minus penalties
for what makes rural households poor (illness, disability, few labourers, remoteness,
disaster, schooling costs, little schooling, little land, no safe water, no capital,
no drive) plus bonuses for migrant labour, trades and online selling. The score is
mapped monotonically onto per-capita net income so that the county median is
``median_income`` and a share ``poor_share`` of households falls below the line in
the latest year — so poverty is correlated with its causes, and the share below the
line is controlled by construction. Earlier years step back by the nominal growth rate
with household-level noise, so some households cross the line between years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from propoor.seeding.geography import MOUNTAIN, PLAIN, VillageRow
from propoor.seeding.people import (
    CHRONIC,
    DISABLED,
    FULL,
    HEALTHY,
    PARTIAL,
    SERIOUS,
    SKILLS,
    People,
    age_on,
    labour_on,
    schooling_on,
    schooling_years_on,
)
from propoor.seeding.registry import Households, household_rows
from propoor.seeding.wishes import WISH_NOTES, household_wishes

CATEGORIES = ("ordinary", "dibao", "tekun")
CAUSES = (
    "illness",
    "disability",
    "lack_labour",
    "poor_transport",
    "disaster",
    "schooling",
    "lack_skills",
    "lack_land",
    "lack_water",
    "lack_capital",
    "lack_drive",
)
HOUSING_STRUCTURES = ("concrete", "brick_wood", "earth_wood", "other")
HOUSING_GRADES = ("A", "B", "C", "D")
COOKING_FUELS = ("electricity", "gas", "coal", "wood", "dung")
SANITATION = ("flush", "improved_pit", "unimproved", "none")
INTERNET = ("none", "mobile", "broadband")
EXPERIENCE = ("none", "bought", "sold")
ASSETS = (
    "has_radio",
    "has_tv",
    "has_telephone",
    "has_computer",
    "has_bicycle",
    "has_motorbike",
    "has_refrigerator",
    "has_car",
)

# Income structure of rural households, net shares of disposable income: NBS,
# Statistical Communiqué 2023 — wages 42.2%, net business 34.3%, net property 2.5%,
# net transfers 21.0%. The per-household weights below are tilted by labour, land,
# age and the safety net, then averaged back to about these shares.
BASE_SHARES = np.array([0.42, 0.34, 0.02, 0.22])
# Nominal growth of rural per-capita income a year (Yunnan 2021-2024: 6.5-10%).
GROWTH = 0.07
LATENT_NOISE = 0.45
YEAR_NOISE = 0.1


@dataclass(frozen=True)
class YearSnapshots:
    """One snapshot per household for one year; money in fen, land in 1/100 mu."""

    year: int
    surveyed_on: np.ndarray  # datetime64[D]
    size: np.ndarray
    income_wages: np.ndarray
    income_business: np.ndarray
    income_property: np.ndarray
    income_transfers: np.ndarray
    income_ecommerce: np.ndarray
    costs: np.ndarray
    spending_medical: np.ndarray
    spending_disaster: np.ndarray
    food_secure: np.ndarray
    clothing_secure: np.ndarray
    school_age_children: np.ndarray
    children_out_of_school: np.ndarray
    medical_insured: np.ndarray
    medical_care_access: np.ndarray
    housing_structure: np.ndarray
    housing_grade: np.ndarray
    safe_water: np.ndarray
    water_quality: np.ndarray
    wall_quality: np.ndarray
    electricity: np.ndarray
    cooking_fuel: np.ndarray
    sanitation: np.ndarray
    undernourished_member: np.ndarray
    child_death_5y: np.ndarray
    max_schooling_years: np.ndarray
    assets: np.ndarray  # (households, len(ASSETS)) bool
    land_cultivated: np.ndarray
    land_forest: np.ndarray
    land_orchard: np.ndarray
    land_pond: np.ndarray
    labourers_full: np.ndarray
    labourers_partial: np.ndarray
    members_ill_or_disabled: np.ndarray
    head_female: np.ndarray
    head_elderly: np.ndarray
    head_child: np.ndarray
    skills: np.ndarray  # bit mask over SKILLS
    smartphones: np.ndarray
    internet: np.ndarray
    km_to_road: np.ndarray  # tenths of a km
    km_to_market: np.ndarray
    ecommerce_experience: np.ndarray
    wishes: list[tuple[str, ...]]
    wishes_note: list[str]

    def net_income(self) -> np.ndarray:
        return (
            self.income_wages
            + self.income_business
            + self.income_property
            + self.income_transfers
            - self.costs
        )


@dataclass(frozen=True)
class _Year:
    """What the members add up to in one year."""

    present: np.ndarray  # per member
    age: np.ndarray  # per member
    size: np.ndarray
    full: np.ndarray
    partial: np.ndarray
    young_full: np.ndarray
    ill: np.ndarray
    school_age: np.ndarray
    out_of_school: np.ndarray
    students_upper: np.ndarray
    max_years: np.ndarray
    head_age: np.ndarray
    skills: np.ndarray
    smartphones: np.ndarray
    elderly: np.ndarray


def _sum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(values.astype(np.int64), starts)


def _year_members(people: People, survey: np.ndarray, drift: int) -> _Year:
    """Household aggregates of the members present at each household's survey.

    ``drift`` is how many years before the latest this is (for smartphone uptake).
    """
    on = survey[people.hh]
    present = people.birth <= on
    age = np.where(present, age_on(people.birth, on), -1)
    labour = labour_on(age, people.health, people.exit_age, people.frail)
    s = people.starts
    full = present & (labour == FULL)
    phone_p = np.select(
        [age < 14, age < 45, age < 60, age <= 70], [0, 0.92, 0.78, 0.45], 0
    )
    phone = present & (people.phone_u < phone_p - 0.04 * drift)
    school_age = present & (age >= 6) & (age <= 15)
    attending = (age >= 6) & (age < people.exit_age)
    level = schooling_on(age, people.exit_age)
    years = np.where(present, schooling_years_on(age, people.exit_age), 0)
    return _Year(
        present=present,
        age=age,
        size=_sum(present, s),
        full=_sum(full, s),
        partial=_sum(present & (labour == PARTIAL), s),
        young_full=_sum(full & (age >= 18) & (age <= 50), s),
        ill=_sum(present & (people.health != HEALTHY), s),
        school_age=_sum(school_age, s),
        # Out of school: of compulsory age, not attending, nine years not completed.
        out_of_school=_sum(school_age & ~attending & (people.exit_age < 15), s),
        students_upper=_sum(present & attending & (level >= 3), s),
        max_years=np.maximum.reduceat(years, s),
        head_age=age[s],
        skills=np.bitwise_or.reduceat(np.where(present, people.skills, 0), s),
        smartphones=_sum(phone, s),
        elderly=_sum(present & (age >= 60), s),
    )


def _labour_gap(people: People, year: _Year, health: np.ndarray) -> np.ndarray:
    """Penalty for few labourers: dependants' share, more when nobody works fully."""
    labour = labour_on(year.age, health, people.exit_age, people.frail)
    full = _sum(year.present & (labour == FULL), people.starts)
    partial = _sum(year.present & (labour == PARTIAL), people.starts)
    return 0.7 * (1 - (full + 0.5 * partial) / year.size) + 0.3 * (full == 0)


def _fen(yuan: np.ndarray) -> np.ndarray:
    return np.round(yuan * 100).astype(np.int64)


def _pick(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw: ``p`` is (n, k) of weights, ``u`` uniforms."""
    cum = np.cumsum(p, axis=1)
    return (u[:, None] * cum[:, -1:] >= cum).sum(axis=1)


def build_economy(
    rng: np.random.Generator,
    *,
    people: People,
    villages: list[VillageRow],
    village_of: np.ndarray,
    years: tuple[int, ...],
    surveys: dict[int, np.ndarray],
    lines: dict[int, int],
    median_income: int,
    poor_share: float,
) -> tuple[Households, list[YearSnapshots]]:
    """Households and their snapshots for ``years`` (oldest first).

    ``lines`` and ``median_income`` are yuan per person per year; ``surveys`` gives
    each household's survey date in each year.
    """
    n = len(people.size)
    latest = years[-1]
    terrain = np.array([v.terrain for v in villages])[village_of]
    mountain = terrain == MOUNTAIN
    km_seat = np.array([v.km_to_county_seat for v in villages])[village_of] / 10
    km_road = np.array([v.km_to_paved_road for v in villages])[village_of] / 10
    km_town = np.array([v.km_to_township for v in villages])[village_of] / 10
    remote = np.minimum(1.0, km_seat / 90)
    station = np.array([v.has_service_station for v in villages])[village_of]
    orchards = np.array([v.orchards for v in villages])[village_of]
    ponds = np.array([v.fish_ponds for v in villages])[village_of]
    broadband_v = np.array([v.broadband for v in villages])[village_of]
    mobile_v = np.array([v.mobile_4g for v in villages])[village_of]
    tourism_v = np.array([v.landscape or v.folk_culture for v in villages])[village_of]
    drift = {y: latest - y for y in years}
    members = {y: _year_members(people, surveys[y], drift[y]) for y in years}
    now = members[latest]
    s = people.starts

    # --- land (constant over the three years), in mu ------------------------------
    land_short = rng.random(n) < 0.08
    cultivated = (
        now.size
        * 1.6
        * rng.lognormal(0, 0.45, n)
        * np.select([terrain == PLAIN, mountain], [0.8, 1.2], 1.0)
        * np.where(land_short, 0.25, 1.0)
    )
    forest = np.where(
        rng.random(n) < np.select([terrain == PLAIN, mountain], [0.2, 0.85], 0.6),
        rng.lognormal(np.log(np.select([terrain == PLAIN, mountain], [1, 8], 3)), 0.8),
        0.0,
    )
    orchard = np.where(orchards & (rng.random(n) < 0.6), rng.uniform(0.5, 6, n), 0.0)
    pond = np.where(ponds & (rng.random(n) < 0.2), rng.uniform(0.3, 3, n), 0.0)
    # Few households still lack safe water; those who do are likely poor.
    unsafe_water = rng.random(n) < 0.003 + 0.008 * mountain + 0.004 * remote

    # --- who sells online, and since when ------------------------------------------
    young_member = _sum(now.present & (now.age >= 18) & (now.age < 45), s) > 0
    seller = rng.random(n) < 0.03 + 0.04 * station + 0.04 * young_member
    seller_since = np.where(
        seller, latest - _pick(rng.random(n), np.tile([0.25, 0.25, 0.5], (n, 1))), 9999
    )

    # --- the latent score and its named parts ----------------------------------------
    disaster_p = np.select([terrain == PLAIN, mountain], [0.02, 0.05], 0.035)
    hit = {y: rng.random(n) < disaster_p for y in years}
    head_years = schooling_years_on(now.age[s], people.exit_age[s])
    trade_bits = sum(
        1 << SKILLS.index(k) for k in ("construction", "driving", "electrician")
    )
    farm_bits = sum(1 << SKILLS.index(k) for k in ("planting", "livestock"))
    serious = _sum(now.present & (people.health == SERIOUS), s)
    chronic = _sum(now.present & (people.health == CHRONIC), s)
    disabled = _sum(now.present & (people.health == DISABLED), s)
    # Labour lost to illness and disability counts under those causes, not under
    # lack of labour: compare with the same members in good health.
    no_illness = np.where(
        np.isin(people.health, (CHRONIC, SERIOUS)), HEALTHY, people.health
    )
    labour_actual = _labour_gap(people, now, people.health)
    labour_no_illness = _labour_gap(people, now, no_illness)
    labour_healthy = _labour_gap(people, now, np.zeros_like(people.health))
    penalty = np.stack(
        [
            0.7 * (serious > 0)
            + 0.2 * np.minimum(chronic, 2)
            + labour_actual
            - labour_no_illness,  # illness
            0.4 * np.minimum(disabled, 2)
            + labour_no_illness
            - labour_healthy,  # disability
            labour_healthy,  # lack of labour
            0.006 * km_seat + 0.03 * km_road + 0.15 * mountain,  # transport
            0.35 * hit[latest],  # disaster
            0.12 * now.students_upper,  # schooling costs
            0.3 * ((head_years <= 6) & ((now.skills & ~farm_bits) == 0)),  # skills
            0.3 * (cultivated / now.size < 0.6),  # land
            0.6 * unsafe_water,  # water
            0.35 * (rng.random(n) < 0.2),  # capital
            0.4 * (rng.random(n) < 0.06),  # drive
        ],
        axis=1,
    )
    bonus = (
        0.12 * np.minimum(now.young_full, 3)
        + 0.1 * ((now.skills & trade_bits) > 0)
        + 0.25 * seller
        + 0.05 * np.minimum(orchard, 4) / 2
    )
    latent = LATENT_NOISE * rng.standard_normal(n) - penalty.sum(axis=1) + bonus
    centre = float(np.median(latent))
    low = float(np.quantile(latent, poor_share))
    spread = centre - low
    # A county too small to have a spread (one household) keeps the median.
    slope = (
        (np.log(median_income) - np.log(lines[latest])) / spread if spread > 0 else 1.0
    )
    log_pc = {latest: np.log(median_income) + slope * (latent - centre)}
    for y in years[:-1]:
        log_pc[y] = (
            log_pc[latest]
            - GROWTH * (latest - y)
            + YEAR_NOISE * rng.standard_normal(n)
            + slope * 0.35 * (hit[latest].astype(float) - hit[y])
            - slope * 0.25 * (seller_since > y) * seller
        )
    # Pensions and allowances keep the lowest incomes off zero.
    floor = rng.uniform(0.45, 0.8, n)
    per_capita = {y: np.maximum(np.exp(log_pc[y]), lines[y] * floor) for y in years}
    rank = np.argsort(np.argsort(per_capita[latest], kind="stable"), kind="stable") / n

    # --- safety-net category and causes of the likely poor ---------------------------
    likely_poor = np.zeros(n, dtype=bool)
    for y in years[-2:]:
        likely_poor |= per_capita[y] < lines[y]
    needy = penalty[:, :3].sum(axis=1) >= 0.4
    category = np.zeros(n, dtype=np.int8)
    category[
        (per_capita[latest] < 1.1 * lines[latest]) & needy & (rng.random(n) < 0.6)
    ] = 1
    tekun = (
        (now.size == 1)
        & (now.head_age >= 60)
        & (now.full == 0)
        & (per_capita[latest] < 1.3 * lines[latest])
        & (rng.random(n) < 0.35)
    )
    category[tekun] = 2
    # A household's causes are what weighs on it more than on the county's typical
    # household (dependants and distance weigh on everybody a little).
    excess = penalty - penalty.mean(axis=0)
    order = np.argsort(-excess, axis=1, kind="stable")
    fallback = np.where(
        rng.random(n) < 0.5, CAUSES.index("lack_capital"), CAUSES.index("lack_skills")
    )
    causes: list[tuple[str, ...]] = []
    for h in range(n):
        if not likely_poor[h]:
            causes.append(())
            continue
        ranked = [int(c) for c in order[h] if excess[h, c] >= 0.1][:3]
        if not ranked:
            ranked = [int(fallback[h])]
        causes.append(tuple(CAUSES[c] for c in ranked))

    # --- housing, water, fuel, sanitation (mostly constant) --------------------------
    structure = _pick(
        rng.random(n),
        np.stack(
            [
                np.clip(
                    0.25 + 0.45 * rank + 0.1 * (terrain == PLAIN) - 0.1 * mountain,
                    0.05,
                    0.95,
                ),
                np.full(n, 0.35),
                np.clip(0.35 - 0.3 * rank + 0.1 * mountain, 0.02, 1),
                0.03 * (rank < 0.15),
            ],
            axis=1,
        ),
    )
    # Dangerous houses (grade C, D) were rebuilt by 2020; the few left are almost all
    # in the poorest households.
    unsafe_p = np.where(
        rank < poor_share,
        0.06 + 0.08 * (structure == 2) + 0.3 * (structure == 3),
        0.002 + 0.004 * (structure == 2),
    )
    grade_u = rng.random(n)
    grade = np.where(
        grade_u < unsafe_p,
        np.where(grade_u < unsafe_p * 0.2, 3, 2),
        np.where(rng.random(n) < 0.55, 0, 1),
    )
    wall = np.array([5, 4, 3, 1])[structure] - (rng.random(n) < 0.4) * (structure < 3)
    water_quality = np.where(
        unsafe_water,
        1 + (rng.random(n) < 0.5),
        np.where(rng.random(n) < 0.8, 4 + (rng.random(n) < 0.6), 3),
    )
    fuel = _pick(
        rng.random(n),
        np.stack(
            [
                np.clip(0.35 + 0.25 * rank - 0.1 * mountain, 0.05, 1),
                0.08 + 0.05 * rank,
                np.full(n, 0.04),
                np.clip(0.45 - 0.3 * rank + 0.15 * mountain, 0.05, 1),
                np.zeros(n),
            ],
            axis=1,
        ),
    )
    sanitation = _pick(
        rng.random(n),
        np.stack(
            [0.25 + 0.4 * rank, np.full(n, 0.3), 0.25 - 0.15 * rank, 0.05 * (1 - rank)],
            axis=1,
        ),
    )
    electricity = rng.random(n) < 0.998
    child_death = rng.random(n) < 0.006 + 0.01 * (rank < poor_share)
    asset_u = rng.random((n, len(ASSETS)))
    asset_p = np.stack(
        [
            np.full(n, 0.08),
            0.86 + 0.12 * rank,
            np.full(n, 0.5),  # a landline or basic phone; a smartphone also counts
            0.03 + 0.2 * rank,
            np.full(n, 0.12),
            0.4 + 0.25 * rank + 0.05 * mountain,
            0.45 + 0.45 * rank,
            0.05 + 0.4 * rank,
        ],
        axis=1,
    )
    guarantee_u = rng.random((n, 5))
    broadband_u = rng.random(n)
    buy_u = rng.random(n)
    wish_u = rng.random((n, len(WISH_NOTES)))
    medical_u = rng.lognormal(0, 0.6, n)
    serious_cost = rng.lognormal(np.log(8000), 0.7, n)
    disaster_loss = rng.lognormal(np.log(6000), 0.8, n)
    cost_rate = rng.uniform(0.3, 0.55, n)
    online_share = rng.uniform(0.1, 0.5, n)
    road = np.round((km_road + rng.exponential(0.3, n)) * 10).astype(np.int64)
    market = np.round((km_town + rng.exponential(0.5, n)) * 10).astype(np.int64)

    snapshots = []
    for y in years:
        m = members[y]
        poor_y = per_capita[y] < lines[y]
        net = _fen(per_capita[y] * m.size)
        elderly_share = m.elderly / m.size
        weights = BASE_SHARES * np.stack(
            [
                0.15 + 0.85 * np.minimum(1, m.young_full / 1.5),
                (0.4 + 0.6 * np.minimum(1, cultivated / 6)) * (1 + 0.3 * seller),
                1 + orchard / 4 + pond / 2,
                0.6 + 1.2 * elderly_share + 2.5 * (category > 0) + 0.6 * (m.ill > 0),
            ],
            axis=1,
        )
        # Dirichlet around the household's weights.
        shares = rng.gamma(12 * weights / weights.sum(axis=1, keepdims=True))
        shares = shares / np.maximum(shares.sum(axis=1, keepdims=True), 1e-12)
        wages = np.floor(net * shares[:, 0]).astype(np.int64)
        business_net = np.floor(net * shares[:, 1]).astype(np.int64)
        prop = np.floor(net * shares[:, 2]).astype(np.int64)
        transfers = net - wages - business_net - prop
        costs = np.round(business_net * cost_rate / (1 - cost_rate)).astype(np.int64)
        business = business_net + costs
        online = np.where(
            seller & (seller_since <= y), np.round(business * online_share), 0
        ).astype(np.int64)
        medical = _fen(
            300 * m.size * medical_u
            + 1500 * _sum(m.present & (people.health == CHRONIC), s)
            + serious_cost * _sum(m.present & (people.health == SERIOUS), s)
        )
        disaster = np.where(hit[y], _fen(disaster_loss), 0)
        fails = guarantee_u < np.stack(
            [
                0.0005 + 0.03 * poor_y,  # food
                0.0005 + 0.02 * poor_y,  # clothing
                0.002 + 0.03 * poor_y,  # medical insurance
                0.001 + 0.004 * remote * mountain + 0.03 * poor_y * remote,  # care
                0.01 + 0.06 * poor_y,  # undernourished member
            ],
            axis=1,
        )
        assets = asset_u < asset_p - 0.03 * drift[y]
        assets[:, ASSETS.index("has_telephone")] |= m.smartphones > 0
        # Some houses of the poorest fifth were rebuilt in the last two years.
        grade_y = np.where(
            (rank < 0.2) & (grade < 2) & (grade_u > 1 - 0.05 * drift[y]), 2, grade
        )
        full_bb = np.where(broadband_v == 2, 1.0, np.where(broadband_v == 1, 0.5, 0.0))
        internet = np.where(
            broadband_u < (0.15 + 0.4 * rank - 0.04 * drift[y]) * full_bb,
            2,
            np.where((m.smartphones > 0) & (mobile_v > 0), 1, 0),
        )
        sold = seller & (seller_since <= y)
        experience = np.where(
            sold,
            2,
            np.where(
                (m.smartphones > 0) & (buy_u < 0.35 + 0.35 * rank - 0.05 * drift[y]),
                1,
                0,
            ),
        )
        wishes, notes = household_wishes(
            wish_u=wish_u,
            poor=poor_y,
            villages=villages,
            village_of=village_of,
            seller=sold,
            smartphones=m.smartphones,
            young_full=m.young_full,
            full=m.full,
            school_age=m.school_age,
            cultivated=cultivated,
            forest=forest,
            tourism=tourism_v & (structure == 0),
            serious=serious > 0,
            unsafe_house=grade_y >= 2,
            remote=remote * mountain,
            category=category,
            station=station,
        )
        snapshots.append(
            YearSnapshots(
                year=y,
                surveyed_on=surveys[y],
                size=m.size,
                income_wages=wages,
                income_business=business,
                income_property=prop,
                income_transfers=transfers,
                income_ecommerce=online,
                costs=costs,
                spending_medical=medical,
                spending_disaster=disaster,
                food_secure=~fails[:, 0],
                clothing_secure=~fails[:, 1],
                school_age_children=m.school_age,
                children_out_of_school=m.out_of_school,
                medical_insured=~fails[:, 2],
                medical_care_access=~fails[:, 3],
                housing_structure=structure,
                housing_grade=grade_y,
                safe_water=~unsafe_water,
                water_quality=water_quality,
                wall_quality=wall,
                electricity=electricity,
                cooking_fuel=fuel,
                sanitation=sanitation,
                undernourished_member=fails[:, 4],
                child_death_5y=child_death,
                max_schooling_years=m.max_years,
                assets=assets,
                land_cultivated=np.round(cultivated * 100).astype(np.int64),
                land_forest=np.round(forest * 100).astype(np.int64),
                land_orchard=np.round(orchard * 100).astype(np.int64),
                land_pond=np.round(pond * 100).astype(np.int64),
                labourers_full=m.full,
                labourers_partial=m.partial,
                members_ill_or_disabled=m.ill,
                head_female=people.female[s],
                head_elderly=m.head_age >= 60,
                head_child=m.head_age < 18,
                skills=m.skills,
                smartphones=m.smartphones,
                internet=internet,
                km_to_road=road,
                km_to_market=market,
                ecommerce_experience=experience,
                wishes=wishes,
                wishes_note=notes,
            )
        )

    households = household_rows(
        rng,
        people=people,
        villages=villages,
        village_of=village_of,
        category=category,
        causes=causes,
        per_capita_latest=_fen(per_capita[latest]),
    )
    return households, snapshots
