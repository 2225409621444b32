"""On PostgreSQL, a bulk run's results go into a partition of their own."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction

from propoor.core.errors import ValidationFailed
from propoor.households.identification import (
    identification_run,
    standard_install_builtins,
)
from propoor.households.identification_io import result_partitions_prune
from propoor.households.models import IdentificationResult, IdentificationRun
from propoor.households.tests.factories import (
    COUNTY,
    VILLAGE_A1,
    VILLAGE_B1,
    make_household,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL's partitions"
    ),
]

YEAR = 2017
TABLE = IdentificationResult._meta.db_table


def _partitions() -> dict[str, str]:
    """Each partition of the results table and its bound."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [TABLE],
        )
        return dict(cursor.fetchall())


def _three_households() -> None:
    standard_install_builtins()
    make_household(village_code=VILLAGE_A1, year=YEAR)
    make_household(
        village_code=VILLAGE_A1,
        members=4,
        year=YEAR,
        income_wages=Decimal("12000.00"),
        housing_grade="D",
    )
    make_household(village_code=VILLAGE_B1, year=YEAR, income_wages=Decimal("9000.00"))


def test_a_small_run_writes_into_the_shared_partition(settings) -> None:
    settings.PROPOOR_RESULT_PARTITION_ROWS = 4
    _three_households()

    run = identification_run(None, area_code=COUNTY, year=YEAR)

    assert _partitions() == {f"{TABLE}_shared": "FOR VALUES IN ('0')"}
    assert set(run.results.values_list("batch", flat=True)) == {0}
    assert run.results.count() == 3


def test_a_bulk_run_attaches_a_partition_with_the_indexes_and_keys(settings) -> None:
    settings.PROPOOR_RESULT_PARTITION_ROWS = 3
    _three_households()

    run = identification_run(None, area_code=COUNTY, year=YEAR)

    part = f"{TABLE}_run{run.pk}"
    assert _partitions() == {
        part: f"FOR VALUES IN ('{run.pk}')",
        f"{TABLE}_shared": "FOR VALUES IN ('0')",
    }
    results = list(IdentificationResult.objects.filter(run=run).order_by("id"))
    assert [r.batch for r in results] == [run.pk] * 3
    assert [r.poor for r in results] == [True, True, False]
    assert IdentificationResult.objects.current().filter(poor=True).count() == 2
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexdef",
            [part],
        )
        # primary key, (household, latest); none led by the run: all rows are its
        assert sorted(row[0].split(" USING ")[1] for row in cursor.fetchall()) == [
            "btree (household_id, is_latest)",
            "btree (id, batch)",
        ]
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'c' AND conname LIKE %s",
            [part, "%_run"],
        )
        assert cursor.fetchone() == (f"CHECK ((run_id = {run.pk}))",)
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass"
            " AND contype = 'f'",
            [part],
        )
        assert cursor.fetchone() == (2,)  # household and run
    # a row of the partition is found, changed and deleted by its id like any other
    first = results[0]
    first.is_latest = False
    first.save(update_fields=["is_latest"])
    assert IdentificationResult.objects.get(pk=first.pk).is_latest is False


def test_a_failed_bulk_run_leaves_no_table_behind(settings, monkeypatch) -> None:
    settings.PROPOOR_RESULT_PARTITION_ROWS = 3
    _three_households()
    from propoor.households import identification

    def refuse(**_kwargs: object) -> int:
        raise ValidationFailed("refused after the write")

    monkeypatch.setattr(identification, "_apply_statuses", refuse)
    with transaction.atomic(), pytest.raises(ValidationFailed):
        identification_run(None, area_code=COUNTY, year=YEAR)

    assert _partitions() == {f"{TABLE}_shared": "FOR VALUES IN ('0')"}
    assert not IdentificationRun.objects.exists()
    assert not IdentificationResult.objects.exists()


def test_the_partition_of_a_deleted_run_is_dropped_by_the_prune(settings) -> None:
    settings.PROPOOR_RESULT_PARTITION_ROWS = 3
    _three_households()
    kept = identification_run(None, area_code=COUNTY, year=YEAR)
    gone = identification_run(None, area_code=COUNTY, year=YEAR)

    gone_pk = gone.pk
    gone.delete()
    dropped = result_partitions_prune()

    assert dropped == [f"{TABLE}_run{gone_pk}"]
    assert set(_partitions()) == {f"{TABLE}_run{kept.pk}", f"{TABLE}_shared"}
    assert kept.results.count() == 3
    assert result_partitions_prune() == []


def _loose_tables() -> list[str]:
    """Tables named as a run's partition that are not attached."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s"
            " AND NOT relispartition ORDER BY relname",
            [f"{TABLE}_run%"],
        )
        return [name for (name,) in cursor.fetchall()]


@pytest.fixture
def committed(transactional_db):  # type: ignore[no-untyped-def]
    """A test whose writes commit; its runs' partitions are dropped afterwards
    (emptying the tables, as the flush does, would leave them attached)."""
    yield
    IdentificationRun.objects.all().delete()
    result_partitions_prune()


def _verdicts(run: IdentificationRun) -> list[tuple[object, ...]]:
    return list(
        IdentificationResult.objects.filter(run=run)
        .order_by("household_id")
        .values_list(
            "household_id",
            "poor",
            "per_capita_income",
            "failed_conditions",
            "explanation",
            "input_digest",
        )
    )


def test_over_several_connections_a_run_reads_and_writes_the_same(
    settings, committed
) -> None:
    settings.PROPOOR_RESULT_PARTITION_ROWS = 2
    settings.PROPOOR_BULK_PARALLEL_ROWS = 2  # households, and result rows
    _three_households()
    make_household(village_code=VILLAGE_B1, year=YEAR, housing_grade="D")

    settings.PROPOOR_BULK_CONNECTIONS = 1
    alone = identification_run(None, area_code=COUNTY, year=YEAR)
    settings.PROPOOR_BULK_CONNECTIONS = 3
    together = identification_run(None, area_code=COUNTY, year=YEAR)

    assert [row[:5] for row in _verdicts(together)] == [
        row[:5] for row in _verdicts(alone)
    ]
    assert [row[1] for row in _verdicts(together)] == [True, True, False, True]
    assert set(_partitions()) == {
        f"{TABLE}_run{alone.pk}",
        f"{TABLE}_run{together.pk}",
        f"{TABLE}_shared",
    }
    assert IdentificationResult.objects.current().count() == 4
    with connection.cursor() as cursor:  # built side by side, adopted by the attach
        part = f"{TABLE}_run{together.pk}"
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s", [part])
        assert cursor.fetchone() == (2,)
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE conparentid <> 0)"
            " FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
            [part],
        )
        assert cursor.fetchone() == (2, 2)  # household and run, both the parent's


def test_a_run_loaded_over_several_connections_that_fails_drops_its_table(
    settings, monkeypatch, committed
) -> None:
    settings.PROPOOR_RESULT_PARTITION_ROWS = 2
    settings.PROPOOR_BULK_PARALLEL_ROWS = 2
    settings.PROPOOR_BULK_CONNECTIONS = 2
    _three_households()
    from propoor.households import identification_io

    def refuse(parent: str, part: str, run_id: int) -> str:
        raise ValidationFailed("refused at the attach")

    monkeypatch.setattr(identification_io, "_attach", refuse)
    with pytest.raises(ValidationFailed):
        identification_run(None, area_code=COUNTY, year=YEAR)

    assert _loose_tables() == []
    assert _partitions() == {f"{TABLE}_shared": "FOR VALUES IN ('0')"}
    assert not IdentificationRun.objects.exists()
    assert not IdentificationResult.objects.exists()


def test_a_query_for_one_run_reads_its_partition_and_the_shared_one(settings) -> None:
    settings.PROPOOR_RESULT_PARTITION_ROWS = 3
    _three_households()
    first = identification_run(None, area_code=COUNTY, year=YEAR)
    second = identification_run(None, area_code=COUNTY, year=YEAR)

    plan = _plan(IdentificationResult.objects.filter(run=second, poor=True))

    assert f"{TABLE}_run{second.pk}" in plan
    assert f"{TABLE}_run{first.pk}" not in plan  # excluded by its CHECK on run_id
    assert f"{TABLE}_shared" in plan  # small runs live there, (run, poor) indexed
    assert IdentificationResult.objects.filter(run=second, poor=True).count() == 2
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexdef",
            [f"{TABLE}_shared"],
        )
        assert sorted(row[0].split(" USING ")[1] for row in cursor.fetchall()) == [
            "btree (household_id, is_latest)",
            "btree (id, batch)",
            "btree (run_id, poor)",
        ]


def _plan(queryset) -> str:  # type: ignore[no-untyped-def]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())
