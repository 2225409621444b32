"""Households and their members: who lives together, how old, how healthy, how schooled.

Pure: numpy and the kernel's ID-number check character. Members of a household are
consecutive and the head comes first, so per-household sums and maxima are
``np.add.reduceat`` / ``np.maximum.reduceat`` over ``starts``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from propoor.kernel.idcard import check_character
from propoor.seeding.names import person_names, surname_draw

RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "sibling", "other")
HEAD, SPOUSE, CHILD, PARENT, GRANDCHILD, SIBLING, OTHER = range(7)
HEALTH = ("healthy", "chronic", "serious", "disabled")
HEALTHY, CHRONIC, SERIOUS, DISABLED = range(4)
LABOUR = ("full", "partial", "none", "student")
FULL, PARTIAL, NO_LABOUR, STUDENT = range(4)
SCHOOLING = ("none", "primary", "junior", "senior", "college")
SKILLS = (
    "planting",
    "livestock",
    "construction",
    "driving",
    "cooking",
    "sewing",
    "electrician",
    "handicraft",
    "ecommerce",
)

# Household size (registered members) — assumption for a rural county in Yunnan, mean
# about 3.6; the 2020 census gives 2.6 people per *resident* rural household, registered
# households are larger because migrant members stay on the register.
SIZE_P = np.array([0.09, 0.19, 0.21, 0.24, 0.16, 0.07, 0.03, 0.01])

# Age at which people left (or will leave) school: never went, primary (6 years),
# junior (9), senior (12), college (15+), by age group at the latest survey.
# Assumption shaped like the rural attainment of the 2020 census for the south-west.
_EXIT_AGES = np.array([6, 12, 15, 18, 22])
_EXIT_P = {
    64: np.array([0.35, 0.45, 0.15, 0.04, 0.01]),
    44: np.array([0.08, 0.37, 0.40, 0.12, 0.03]),
    29: np.array([0.02, 0.13, 0.52, 0.20, 0.13]),
    16: np.array([0.005, 0.025, 0.32, 0.35, 0.30]),
    0: np.array([0.0, 0.0, 0.34, 0.36, 0.30]),
}
# Health by age group: chronic, serious illness, disability (assumption, shaped after
# the 2006 national disability sample survey — 6.3% disabled, over half of them 60+ —
# and the rural prevalence of limiting chronic illness in the national health surveys).
_HEALTH_P = (
    (15, (0.01, 0.003, 0.01)),
    (45, (0.04, 0.01, 0.025)),
    (60, (0.12, 0.02, 0.05)),
    (75, (0.25, 0.04, 0.09)),
    (200, (0.35, 0.06, 0.15)),
)


@dataclass(frozen=True)
class People:
    """Households (index h) and members (index m), members grouped by household."""

    size: np.ndarray  # members per household
    starts: np.ndarray  # index of each household's head among members
    hh: np.ndarray  # household of each member
    relation: np.ndarray
    female: np.ndarray
    birth: np.ndarray  # datetime64[D]
    name: list[str]
    surname: np.ndarray
    health: np.ndarray
    exit_age: np.ndarray  # age leaving school
    frail: np.ndarray  # uniform draw: who of the elderly still works
    phone_u: np.ndarray  # uniform draw: who carries a smartphone
    skills: np.ndarray  # bit mask over SKILLS
    id_number: list[str]


def _family(size: int, u: list[float], z: list[float]) -> list[tuple[int, bool, int]]:
    """(relation, female, age) of each member of one household; the head first."""
    draws = iter(u)

    def nxt() -> float:
        return next(draws)

    members: list[tuple[int, bool, int]] = []

    def add(relation: int, female: bool, age: float) -> None:
        members.append((relation, female, int(min(95, max(0, round(age))))))

    def partner(head_female: bool, head_age: int) -> None:
        gap = 2.0 + 3.0 * z[1]
        add(SPOUSE, not head_female, head_age + gap if head_female else head_age - gap)

    if size == 1:
        if nxt() < 0.6:
            add(HEAD, nxt() < 0.55, 60 + 30 * nxt() ** 1.5)
        else:
            add(HEAD, nxt() < 0.2, 25 + 34 * nxt())
        return members
    kind = nxt()
    if size == 2:
        if kind < 0.45:  # an elderly couple
            female = nxt() < 0.1
            age = round(58 + 27 * nxt() ** 1.3)
            add(HEAD, female, age)
            partner(female, age)
        elif kind < 0.65:  # a young couple
            female = nxt() < 0.1
            age = round(22 + 18 * nxt())
            add(HEAD, female, age)
            partner(female, age)
        elif kind < 0.85:  # one parent and a child
            female = nxt() < 0.55
            age = round(30 + 30 * nxt())
            add(HEAD, female, age)
            add(CHILD, nxt() < 0.48, age - 20 - 12 * nxt())
        elif kind < 0.9995:  # a grandparent and a left-behind grandchild
            female = nxt() < 0.5
            add(HEAD, female, 55 + 23 * nxt())
            add(GRANDCHILD, nxt() < 0.48, 3 + 12 * nxt())
        else:  # orphans: a child heads the household
            add(HEAD, nxt() < 0.5, 16 + nxt())
            add(SIBLING, nxt() < 0.5, 8 + 7 * nxt())
        return members
    if kind < 0.0005:  # orphans
        add(HEAD, nxt() < 0.5, 16 + nxt())
        for _ in range(size - 1):
            add(SIBLING, nxt() < 0.5, 6 + 9 * nxt())
        return members
    age = int(min(82, max(24, round(46 + 11 * z[0]))))
    has_spouse = nxt() < (0.75 if age >= 65 else 0.9)
    female = nxt() < (0.07 if has_spouse else 0.45)
    add(HEAD, female, age)
    slots = size - 1
    if has_spouse:
        partner(female, age)
        slots -= 1
    if age <= 55 and slots >= 2 and nxt() < 0.35:
        parents = 2 if slots >= 3 and nxt() < 0.45 else 1
        if parents == 2:
            father = age + 26 + 8 * nxt()
            add(PARENT, False, father)
            add(PARENT, True, father - 2 - 3 * nxt())
        else:
            add(PARENT, nxt() < 0.6, age + 24 + 10 * nxt())
        slots -= parents
    if age >= 50 and slots >= 2 and nxt() < 0.55:
        # Three generations under a grandparent head: an adult child, maybe the
        # child's spouse, and grandchildren.
        son = nxt() < 0.75
        child_age = age - 22 - 8 * nxt()
        add(CHILD, not son, child_age)
        slots -= 1
        if slots >= 2 and nxt() < 0.8:
            add(OTHER, son, child_age - 2 + 4 * nxt())
            slots -= 1
        grandchild_age = child_age - 22 - 6 * nxt()
        for _ in range(slots):
            add(GRANDCHILD, nxt() < 0.48, max(0.0, grandchild_age))
            grandchild_age -= 1 + 3 * nxt()
        return members
    child_age = age - 21 - 8 * nxt()
    for _ in range(slots):
        if child_age >= 0:
            add(CHILD, nxt() < 0.48, child_age)
            child_age -= 1 + 3 * nxt()
        else:
            add(SIBLING if nxt() < 0.5 else OTHER, nxt() < 0.5, age - 3 - 15 * nxt())
    return members


def age_on(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Whole years between datetime64[D] arrays (a birthday counts on the day)."""
    by = birth.astype("datetime64[Y]").astype(np.int64)
    oy = on.astype("datetime64[Y]").astype(np.int64)
    return oy - by - (_month_day(on) < _month_day(birth)).astype(np.int64)


def _month_day(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[M]")
    return (months.astype(np.int64) % 12) * 32 + (days - months).astype(np.int64)


def _health(rng: np.random.Generator, age: np.ndarray, hh: np.ndarray) -> np.ndarray:
    """Health of each member; illness clusters in some households."""
    n_households = int(hh.max()) + 1
    proneness = rng.lognormal(-0.08, 0.4, n_households)[hh]
    chronic = np.zeros(len(age))
    serious = np.zeros(len(age))
    disabled = np.zeros(len(age))
    low = -1
    for high, (c, s, d) in _HEALTH_P:
        band = (age > low) & (age < high)
        chronic[band], serious[band], disabled[band] = c, s, d
        low = high - 1
    u = rng.random(len(age)) / proneness
    health = np.full(len(age), HEALTHY, dtype=np.int8)
    health[u < chronic + serious + disabled] = CHRONIC
    health[u < serious + disabled] = SERIOUS
    health[u < disabled] = DISABLED
    return health


def _exit_age(
    rng: np.random.Generator, age: np.ndarray, remote: np.ndarray
) -> np.ndarray:
    exit_age = np.zeros(len(age), dtype=np.int64)
    u = rng.random(len(age))
    for low, p in _EXIT_P.items():
        band = (age >= low) & (exit_age == 0)
        cum = np.cumsum(p)
        exit_age[band] = _EXIT_AGES[
            np.searchsorted(cum, u[band] * cum[-1], side="right")
        ]
    # Children of compulsory-school age rarely drop out; more often in the mountains.
    young = age < 16
    drop = young & (rng.random(len(age)) < 0.002 + 0.006 * remote)
    exit_age[drop] = np.maximum(np.minimum(age[drop], 14), 9)
    return exit_age


def _skills(
    rng: np.random.Generator,
    age: np.ndarray,
    female: np.ndarray,
    exit_age: np.ndarray,
    craft: np.ndarray,
) -> np.ndarray:
    """Skills of working-age members (16-69), as a bit mask over SKILLS."""
    n = len(age)
    adult = (age >= 16) & (age < 70) & (exit_age <= age)
    young = age < 40
    p = (
        0.65 * np.ones(n),  # planting
        0.35 * np.ones(n),  # livestock
        np.where(female, 0.02, 0.2),  # construction
        np.where(female, 0.02, 0.16),  # driving
        np.full(n, 0.06),  # cooking
        np.where(female, 0.08, 0.0),  # sewing
        np.where(female, 0.0, 0.05),  # electrician
        0.02 + 0.08 * craft * female,  # handicraft (embroidery, weaving)
        np.where(young, 0.07, 0.01),  # e-commerce
    )
    mask = np.zeros(n, dtype=np.int64)
    draws = rng.random((len(SKILLS), n))
    for bit, prob in enumerate(p):
        mask |= ((draws[bit] < prob) & adult).astype(np.int64) << bit
    return mask


def _id_numbers(
    rng: np.random.Generator, region: str, birth: np.ndarray, female: np.ndarray
) -> list[str]:
    """Distinct valid ID numbers: the sequence is distinct per birth date and sex."""
    n = len(birth)
    key = birth.astype(np.int64) * 2 + female.astype(np.int64)
    order = np.lexsort((rng.random(n), key))
    sorted_key = key[order]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = sorted_key[1:] != sorted_key[:-1]
    group_start = np.flatnonzero(new_group)
    group_id = np.cumsum(new_group) - 1
    rank = np.arange(n) - group_start[group_id]
    group_size = np.diff(np.append(group_start, n))
    if group_size.max() > 499:  # pragma: no cover - needs 500 twins of one sex
        raise ValueError("too many people born on one day to number them")
    start = (rng.random(len(group_start)) * (500 - group_size)).astype(np.int64)
    k = np.empty(n, dtype=np.int64)
    k[order] = start[group_id] + rank
    sequence = 2 * k + 1 + female.astype(np.int64)  # odd for men, even for women
    dates = np.datetime_as_string(birth, unit="D")
    numbers = []
    for i in range(n):
        first17 = f"{region}{dates[i].replace('-', '')}{sequence[i]:03d}"
        numbers.append(first17 + check_character(first17))
    return numbers


def build_people(
    rng: np.random.Generator,
    *,
    households_per_village: np.ndarray,
    village_remote: np.ndarray,
    village_craft: np.ndarray,
    latest_survey: np.ndarray,
    region: str,
) -> People:
    """Members of every household.

    ``village_remote`` (0..1) raises school drop-out; ``village_craft`` (folk culture)
    makes handicraft skills likelier; ``latest_survey`` is each household's survey
    date in the latest year, at which ages are counted.
    """
    n = int(households_per_village.sum())
    village = np.repeat(np.arange(len(households_per_village)), households_per_village)
    size = rng.choice(np.arange(1, 9), size=n, p=SIZE_P / SIZE_P.sum())
    uniforms = rng.random((n, 40))
    normals = rng.standard_normal((n, 2))
    relation: list[int] = []
    female: list[bool] = []
    age: list[int] = []
    sizes = np.empty(n, dtype=np.int64)
    for h in range(n):
        family = _family(int(size[h]), uniforms[h].tolist(), normals[h].tolist())
        sizes[h] = len(family)
        for rel, fem, years in family:
            relation.append(rel)
            female.append(fem)
            age.append(years)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    hh = np.repeat(np.arange(n), sizes)
    relation_a = np.array(relation, dtype=np.int8)
    female_a = np.array(female, dtype=bool)
    age_a = np.array(age, dtype=np.int64)

    survey = latest_survey[hh]
    # Born between (age + 1) years and age years before the survey.
    days_back = (age_a * 365.25 + rng.random(len(age_a)) * 364).astype(np.int64) + 1
    birth = survey - days_back.astype("timedelta64[D]")
    exact = age_on(birth, survey)

    # Children take the father's surname: the head's, or the spouse's when the
    # head is a woman with a husband. Spouses and in-laws keep their own.
    surname = surname_draw(rng, len(hh))
    family_name = surname[starts].copy()
    spouse = relation_a == SPOUSE
    husband = spouse & ~female_a
    family_name[hh[husband]] = surname[husband]
    inherits = np.isin(relation_a, (CHILD, GRANDCHILD, SIBLING))
    surname[inherits] = family_name[hh[inherits]]
    # The head's father shares the head's surname.
    father = (relation_a == PARENT) & ~female_a
    surname[father] = surname[starts][hh[father]]
    born_before_1980 = birth < np.datetime64("1980-01-01")
    names = person_names(
        rng, surname_index=surname, female=female_a, born_before_1980=born_before_1980
    )
    health = _health(rng, exact, hh)
    exit_age = _exit_age(rng, exact, village_remote[village][hh])
    frail = rng.random(len(hh))
    phone_u = rng.random(len(hh))
    skills = _skills(rng, exact, female_a, exit_age, village_craft[village][hh])
    id_number = _id_numbers(rng, region, birth, female_a)
    return People(
        size=sizes,
        starts=starts,
        hh=hh,
        relation=relation_a,
        female=female_a,
        birth=birth,
        name=names,
        surname=surname,
        health=health,
        exit_age=exit_age,
        frail=frail,
        phone_u=phone_u,
        skills=skills,
        id_number=id_number,
    )


def labour_on(
    age: np.ndarray, health: np.ndarray, exit_age: np.ndarray, frail: np.ndarray
) -> np.ndarray:
    """Labour capacity at an age (建档立卡 categories, simplified).

    In school → student; under 16 → none; seriously ill → none; disabled → partial for
    four in ten, else none; chronically ill → partial; 60-69 → full for three in ten,
    else partial; 70+ → partial for a third, else none; 16-59 healthy → full (one in
    twenty-five partial).
    """
    labour = np.full(len(age), FULL, dtype=np.int8)
    labour[frail < 0.04] = PARTIAL
    old = age >= 60
    labour[old] = np.where(frail[old] < 0.3, FULL, PARTIAL)
    very_old = age >= 70
    labour[very_old] = np.where(frail[very_old] < 0.35, PARTIAL, NO_LABOUR)
    labour[health == CHRONIC] = PARTIAL
    labour[health == SERIOUS] = NO_LABOUR
    disabled = health == DISABLED
    labour[disabled] = np.where(frail[disabled] < 0.4, PARTIAL, NO_LABOUR)
    labour[age < 16] = NO_LABOUR
    labour[in_school_on(age, exit_age)] = STUDENT
    return labour


def in_school_on(age: np.ndarray, exit_age: np.ndarray) -> np.ndarray:
    return (age >= 6) & (age < exit_age)


def schooling_on(age: np.ndarray, exit_age: np.ndarray) -> np.ndarray:
    """Level reached (index into SCHOOLING); a pupil counts at the level attended."""
    attending = in_school_on(age, exit_age)
    finished = np.searchsorted(_EXIT_AGES, exit_age)  # 0 none … 4 college
    current = np.select(
        [age < 6, age < 12, age < 15, age < 18], [0, 1, 2, 3], default=4
    )
    level = np.where(attending, current, finished)
    return np.where(age < 6, 0, level)


def schooling_years_on(age: np.ndarray, exit_age: np.ndarray) -> np.ndarray:
    """Years of school completed: a college graduate counts 16."""
    years = np.clip(np.minimum(age, exit_age) - 6, 0, 16)
    return np.where(exit_age >= 22, np.where(age >= 22, 16, years), years)
