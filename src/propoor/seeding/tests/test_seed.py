"""`propoor seed`: what it writes, that it writes the same twice, what it refuses."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from propoor.areas.models import Division, VillageProfile
from propoor.core.models import AuditEntry
from propoor.households import idnumbers
from propoor.households.models import Household, Member, Snapshot
from propoor.kernel import idcard
from propoor.seeding.generator import POOR_SHARE_RANGE, income_lines

pytestmark = pytest.mark.django_db

COUNTY = "530102000000"


def _seed(**options: object) -> None:
    arguments: dict[str, object] = {
        "households": 300,
        "seed": 7,
        "year": 2024,
        "no_progress": True,
    }
    call_command("seed", **{**arguments, **options})


def _counts() -> dict[str, int]:
    return {
        "divisions": Division.objects.count(),
        "profiles": VillageProfile.objects.count(),
        "households": Household.objects.count(),
        "members": Member.objects.count(),
        "snapshots": Snapshot.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def _registry_digest() -> str:
    """Every stored value but ciphers (random IVs), ids and timestamps."""
    h = hashlib.sha256()

    def feed(rows: Iterable[object]) -> None:
        for row in rows:
            h.update(repr(row).encode())

    feed(Division.objects.order_by("code").values_list())
    feed(VillageProfile.objects.order_by("village").values_list())
    feed(
        Household.objects.order_by("number").values_list(
            "number",
            "village",
            "head_name",
            "address",
            "phone",
            "category",
            "status",
            "main_cause",
            "second_cause",
            "third_cause",
            "latitude",
            "longitude",
        )
    )
    feed(
        Member.objects.order_by("household__number", "id").values_list(
            "household__number",
            "name",
            "id_hash",
            "id_masked",
            "relation",
            "sex",
            "birth_date",
            "labour",
            "health",
            "schooling",
            "in_school",
            "skills",
        )
    )
    names = [
        f.name
        for f in Snapshot._meta.concrete_fields
        if f.name not in {"id", "household", "updated_at"}
    ]
    feed(
        Snapshot.objects.order_by("household__number", "year").values_list(
            "household__number", *names
        )
    )
    return h.hexdigest()


def test_seeding_300_households_writes_the_expected_rows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed()

    assert _counts() == {
        "divisions": 11,
        "profiles": 4,
        "households": 300,
        "members": 1079,
        "snapshots": 900,
        "audit": 1,
    }
    assert Division.objects.filter(level="village").count() == 4
    assert Division.objects.filter(level="township").count() == 4
    assert Division.objects.get(code="530000000000").name == "云南省"
    assert list(
        Snapshot.objects.order_by("year").values_list("year", flat=True).distinct()
    ) == [2022, 2023, 2024]
    assert sum(VillageProfile.objects.values_list("population", flat=True)) == 1079
    out = capsys.readouterr().out
    assert "300 households, 1,079 members, 900 snapshots (2022-2024)" in out
    assert AuditEntry.objects.get().action == "seeding.seed"


def test_seeded_rows_pass_full_clean() -> None:
    _seed()

    for snapshot in Snapshot.objects.all():
        snapshot.full_clean()
    for member in Member.objects.all():
        member.full_clean()
    for household in Household.objects.all():
        household.full_clean()
    for profile in VillageProfile.objects.all():
        profile.full_clean()
    for division in Division.objects.all():
        division.full_clean()


def test_every_stored_id_number_is_valid_distinct_and_never_in_clear() -> None:
    _seed()
    members = list(Member.objects.all())

    numbers = [idnumbers.decrypt(m.id_cipher) for m in members]

    assert all(idcard.is_valid(n) for n in numbers)
    assert len(set(numbers)) == len(members) == 1079
    assert len({m.id_hash for m in members}) == 1079
    assert all(
        m.id_hash == idnumbers.id_hash(n) for m, n in zip(members, numbers, strict=True)
    )
    assert all(
        m.id_masked == idcard.mask(n) for m, n in zip(members, numbers, strict=True)
    )
    assert all(
        m.birth_date == idcard.birth_date(n)
        for m, n in zip(members, numbers, strict=True)
    )
    assert all(m.sex == idcard.sex(n) for m, n in zip(members, numbers, strict=True))
    assert not any(n in m.id_cipher for m, n in zip(members, numbers, strict=True))


def test_the_share_below_the_2024_line_is_in_the_documented_range() -> None:
    _seed()
    line = Decimal(income_lines(COUNTY, (2024,))[0].yuan)

    below = sum(
        1 for s in Snapshot.objects.filter(year=2024) if s.net_income < line * s.size
    )

    assert below == 33
    assert POOR_SHARE_RANGE[0] <= below / 300 <= POOR_SHARE_RANGE[1]


def test_snapshot_sizes_and_labourers_match_the_members_in_the_latest_year() -> None:
    _seed()

    for household in Household.objects.prefetch_related("members", "snapshots"):
        latest = max(household.snapshots.all(), key=lambda s: s.year)
        members = list(household.members.all())
        head = next(m for m in members if m.relation == "head")
        assert latest.size == len(members)
        assert latest.labourers_full == sum(m.labour == "full" for m in members)
        assert latest.labourers_partial == sum(m.labour == "partial" for m in members)
        assert latest.head_female == (head.sex == "female")
        assert household.head_name == head.name


def test_the_same_seed_writes_the_same_registry_again() -> None:
    _seed()
    first = _registry_digest()

    _seed(reset=True)

    assert _registry_digest() == first
    assert _counts()["households"] == 300


def test_another_seed_writes_another_registry() -> None:
    _seed()
    first = _registry_digest()

    _seed(reset=True, seed=8)

    assert _registry_digest() != first


def test_seeding_twice_without_reset_fails_with_exit_2_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed()
    before = _counts()
    digest = _registry_digest()

    # Django turns a CommandError into exit status `returncode` on the command
    # line; call_command keeps the test's database connection open.
    with pytest.raises(CommandError) as error:
        call_command("seed", households=300, seed=9, year=2024, no_progress=True)

    assert error.value.returncode == 2
    assert "already has 300 households" in str(error.value)
    assert _counts() == before
    assert _registry_digest() == digest


def test_a_bad_county_code_fails_with_exit_2_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(CommandError) as error:
        call_command(
            "seed", households=10, county_code="530102001000", no_progress=True
        )

    assert error.value.returncode == 2
    assert "county code has 6 significant digits" in str(error.value)
    assert _counts() == {
        "divisions": 0,
        "profiles": 0,
        "households": 0,
        "members": 0,
        "snapshots": 0,
        "audit": 0,
    }


def test_a_future_year_is_refused() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="still to come") as error:
        _seed(year=2999)

    assert error.value.returncode == 2
    assert Household.objects.count() == 0
