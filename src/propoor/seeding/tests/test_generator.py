"""The pure generator: counts, determinism, ID numbers, internal consistency."""

from __future__ import annotations

import numpy as np
import pytest

from propoor.kernel import idcard
from propoor.seeding.generator import (
    POOR_SHARE_RANGE,
    County,
    SeedParameters,
    generate_county,
    income_lines,
)
from propoor.seeding.geography import village_sizes
from propoor.seeding.people import (
    FULL,
    HEAD,
    PARTIAL,
    age_on,
    labour_on,
)
from propoor.seeding.wishes import WISH_NOTES

SMALL = SeedParameters(households=300, seed=7, year=2024)


@pytest.fixture(scope="module")
def county() -> County:
    return generate_county(SMALL)


def test_300_households_make_four_villages_of_1079_people(county: County) -> None:
    levels = [d.level for d in county.geography.divisions]

    assert levels.count("province") == 1
    assert levels.count("prefecture") == 1
    assert levels.count("county") == 1
    assert levels.count("township") == 4
    assert levels.count("village") == 4
    assert [v.households for v in county.geography.villages] == [72, 105, 63, 60]
    assert county.household_count == 300
    assert county.member_count == 1079
    assert [s.year for s in county.snapshots] == [2022, 2023, 2024]
    assert sum(len(s.size) for s in county.snapshots) == 900
    assert county.village_population.tolist() == [271, 379, 237, 192]


def test_the_same_seed_gives_the_same_county(county: County) -> None:
    again = generate_county(SMALL)

    assert again.digest() == county.digest()


def test_another_seed_gives_another_county(county: County) -> None:
    other = generate_county(SeedParameters(households=300, seed=8, year=2024))

    assert other.digest() != county.digest()


def test_every_id_number_is_valid_distinct_and_matches_the_member(
    county: County,
) -> None:
    people = county.people
    numbers = people.id_number

    assert all(idcard.is_valid(n) for n in numbers)
    assert len(set(numbers)) == len(numbers) == 1079
    assert {n[:6] for n in numbers} == {"530102"}
    assert [idcard.birth_date(n) for n in numbers] == people.birth.astype(
        "datetime64[D]"
    ).tolist()
    assert [idcard.sex(n) == "female" for n in numbers] == people.female.tolist()


def test_id_numbers_stay_distinct_when_many_share_a_birthday() -> None:
    county = generate_county(SeedParameters(households=5000, seed=1, year=2024))
    numbers = county.people.id_number
    birthdays = county.people.birth.astype(np.int64)

    assert np.unique(birthdays, return_counts=True)[1].max() >= 3
    assert len(set(numbers)) == len(numbers)
    assert all(idcard.is_valid(n) for n in numbers)


def test_the_share_below_the_2024_line_is_in_the_documented_range(
    county: County,
) -> None:
    snap = county.snapshots[-1]
    line_fen = income_lines("530102000000", (2024,))[0].yuan * 100

    below = int((snap.net_income() < line_fen * snap.size).sum())

    assert below == 33
    assert POOR_SHARE_RANGE[0] <= below / 300 <= POOR_SHARE_RANGE[1]
    assert county.share_below_line(2024) == 0.11


def test_earlier_years_stay_in_the_documented_range_too() -> None:
    county = generate_county(SeedParameters(households=2000, seed=3, year=2024))

    shares = [county.share_below_line(y) for y in (2022, 2023, 2024)]

    assert all(POOR_SHARE_RANGE[0] <= s <= POOR_SHARE_RANGE[1] for s in shares)
    assert shares[2] == 0.11


def _per_household(mask: np.ndarray, starts: np.ndarray) -> list[int]:
    return np.add.reduceat(mask.astype(np.int64), starts).tolist()


def test_snapshot_people_counts_follow_the_members(county: County) -> None:
    people = county.people
    for snap in county.snapshots:
        on = snap.surveyed_on[people.hh]
        present = people.birth <= on
        age = age_on(people.birth, on)
        labour = labour_on(age, people.health, people.exit_age, people.frail)
        starts = people.starts

        assert snap.size.tolist() == _per_household(present, starts)
        assert snap.labourers_full.tolist() == _per_household(
            present & (labour == FULL), starts
        )
        assert snap.labourers_partial.tolist() == _per_household(
            present & (labour == PARTIAL), starts
        )
        assert snap.head_female.tolist() == people.female[starts].tolist()
        assert snap.head_elderly.tolist() == (age[starts] >= 60).tolist()
        assert snap.head_child.tolist() == (age[starts] < 18).tolist()
        assert (snap.children_out_of_school <= snap.school_age_children).all()
        assert (snap.income_ecommerce <= snap.income_business).all()
    assert (people.relation[people.starts] == HEAD).all()
    assert np.bincount(people.relation == HEAD).tolist() == [779, 300]


def test_incomes_are_whole_fen_and_never_negative(county: County) -> None:
    for snap in county.snapshots:
        for column in (
            snap.income_wages,
            snap.income_business,
            snap.income_property,
            snap.income_transfers,
            snap.costs,
            snap.spending_medical,
        ):
            assert column.dtype == np.int64
            assert (column >= 0).all()
        assert (snap.net_income() > 0).all()


def test_wishes_name_interventions_of_the_catalogue(county: County) -> None:
    import json
    from importlib import resources

    catalogue = json.loads(
        resources.files("propoor.households")
        .joinpath("data", "interventions.json")
        .read_text(encoding="utf-8")
    )
    codes = {item["code"] for item in catalogue}
    wished = {w for snap in county.snapshots for ws in snap.wishes for w in ws}

    assert set(WISH_NOTES) <= codes
    assert wished <= codes
    assert len(wished) >= 8


def test_likely_poor_households_have_causes_and_others_none(county: County) -> None:
    latest = county.snapshots[-1]
    line_fen = income_lines("530102000000", (2024,))[0].yuan * 100
    poor = latest.net_income() < line_fen * latest.size
    causes = county.households.causes

    assert all(len(causes[h]) >= 1 for h in np.flatnonzero(poor))
    assert all(1 <= len(c) <= 3 and len(set(c)) == len(c) for c in causes if c)


@pytest.mark.parametrize(
    ("households", "expected"),
    [
        (1, [1]),
        (29, [29]),
        (30, [30]),
        (300, None),
        (20_000, None),
    ],
)
def test_villages_hold_30_to_300_households(
    households: int, expected: list[int] | None
) -> None:
    sizes = village_sizes(np.random.default_rng(0), households)

    assert int(sizes.sum()) == households
    if expected is not None:
        assert sizes.tolist() == expected
    else:
        assert sizes.min() >= 30
        assert sizes.max() <= 300
        assert len(sizes) == round(households / 80)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one household"):
        SeedParameters(households=0)
    with pytest.raises(ValueError, match="does not start with a province code"):
        SeedParameters(households=10, county_code="990102000000")
