"""Bulk movement between the registry tables and the kernel's polars frames.

The identification run never loads one ORM object per household: it reads the yearly
snapshots of an area with one query (``COPY … TO STDOUT`` on PostgreSQL, chunked
``fetchmany`` on SQLite) straight into a polars frame, and writes the results back the
same way (``COPY … FROM STDIN`` / ``executemany``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import polars as pl
from django.conf import settings
from django.db import connection, connections, models, transaction

from propoor.core.money import MoneyField
from propoor.households.models import (
    Household,
    IdentificationResult,
    IdentificationRun,
    Snapshot,
)

# Snapshot fields the kernel does not read.
_SKIPPED = {
    "id",
    "household",
    "year",
    "surveyed_on",
    "surveyed_by",
    "skills",
    "wishes",
    "wishes_note",
    "updated_at",
}


T = TypeVar("T")
R = TypeVar("R")


def _snapshot_columns() -> list[tuple[str, str, pl.DataType]]:
    """(column name, SQL expression, polars dtype) of every kernel input field."""
    columns: list[tuple[str, str, pl.DataType]] = []
    for field in Snapshot._meta.concrete_fields:
        if field.name in _SKIPPED:
            continue
        col = f's."{field.column}"'
        if isinstance(field, MoneyField):
            columns.append(
                (field.name, f"CAST(ROUND({col} * 100) AS BIGINT)", pl.Int64())
            )
        elif isinstance(field, models.BooleanField):
            columns.append((field.name, f"CAST({col} AS INTEGER)", pl.Int8()))
        elif isinstance(field, models.DecimalField):
            columns.append(
                (field.name, f"CAST({col} AS DOUBLE PRECISION)", pl.Float64())
            )
        elif isinstance(field, models.CharField):
            columns.append((field.name, col, pl.String()))
        elif isinstance(field, models.IntegerField):
            columns.append((field.name, col, pl.Int64()))
        else:  # pragma: no cover - a new field type must be mapped on purpose
            raise TypeError(f"snapshot field {field.name} has no kernel mapping")
    return columns


SNAPSHOT_COLUMNS = _snapshot_columns()
BOOLEAN_COLUMNS = [name for name, _, dtype in SNAPSHOT_COLUMNS if dtype == pl.Int8()]
#: Money fields as PostgreSQL sends them: (plain column, exact decimal type). Reading
#: the text and scaling to fen in polars costs less than ROUND(x * 100) in the server.
_MONEY_AS_TEXT: dict[str, tuple[str, pl.DataType]] = {
    field.name: (
        f's."{field.column}"',
        pl.Decimal(field.max_digits, field.decimal_places),
    )
    for field in Snapshot._meta.concrete_fields
    if isinstance(field, MoneyField) and field.name not in _SKIPPED
}


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


#: Every column :func:`snapshot_frame` can load: (SQL expression, polars dtype).
_LOADABLE: dict[str, tuple[str, pl.DataType]] = {
    "household_id": ("s.household_id", pl.Int64()),
    "village": ("h.village_id", pl.String()),
    "status": ("h.status", pl.String()),
    **{name: (expr, dtype) for name, expr, dtype in SNAPSHOT_COLUMNS},
}


def _snapshot_query(
    columns: Sequence[str], *, money_as_text: bool = False, id_range: bool = False
) -> str:
    exprs = {name: _LOADABLE[name][0] for name in columns}
    if money_as_text:
        exprs.update((n, _MONEY_AS_TEXT[n][0]) for n in columns if n in _MONEY_AS_TEXT)
    select = ", ".join(f"{expr} AS {name}" for name, expr in exprs.items())
    snapshot = Snapshot._meta.db_table
    household = Household._meta.db_table
    return (
        f"SELECT {select} "  # noqa: S608
        f"FROM {snapshot} s JOIN {household} h ON h.id = s.household_id "
        f"WHERE s.year = %s AND h.village_id LIKE %s "
        + ("AND s.household_id BETWEEN %s AND %s" if id_range else "")
    )  # unordered: sorting a million rows is polars' job, not the server's


def _workers() -> int:
    """Connections a bulk read or write may use at once (PostgreSQL)."""
    return max(1, int(settings.PROPOOR_BULK_CONNECTIONS))


def _in_threads(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``work`` over ``items``, one thread and one database connection each."""

    def run(item: T) -> R:
        try:
            return work(item)
        finally:
            connections["default"].close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(run, items))


def _copy_out(sql: str) -> io.BytesIO:
    buffer = io.BytesIO()
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    return buffer


def _copy_out_parts(
    names: list[str],
    params: list[object],
    parse: Callable[[io.BytesIO], pl.DataFrame],
) -> list[pl.DataFrame]:
    """The snapshot query's rows, parsed, in household order: read (and parsed) over
    several connections at once, each a range of household ids, when the registry is
    large and the rows are committed; over the caller's connection otherwise."""
    select = _snapshot_query(names, money_as_text=True, id_range=True)
    head = "COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id) FROM {Household._meta.db_table}")  # noqa: S608
        low, high = cursor.fetchone()
        if low is None:
            low = high = 0
        workers = _workers()
        if (
            workers == 1
            or connection.in_atomic_block  # uncommitted rows: one connection sees them
            or high - low < settings.PROPOOR_BULK_PARALLEL_ROWS
        ):
            sql = cursor.mogrify(select, [*params, low, high])
            return [parse(_copy_out(head.format(sql)))]
        step = (high - low) // workers + 1
        queries = [
            head.format(
                cursor.mogrify(
                    select, [*params, low + k * step, low + (k + 1) * step - 1]
                )
            )
            for k in range(workers)
        ]
    return _in_threads(lambda sql: parse(_copy_out(sql)), queries)


def snapshot_frame(
    *, area_prefix: str, year: int, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """The snapshots of ``year`` of households whose village is under the prefix.

    ``columns`` names the columns to load (``household_id``, ``village`` and the
    kernel's snapshot fields, e.g. ``kernel.identify.input_columns(spec)``; also the
    household's ``status``), in that order; ``None`` loads all but the status. Rows
    come in household order when ``household_id`` is loaded. An unknown name raises
    ``ValueError``.
    """
    names = (
        [n for n in _LOADABLE if n != "status"]
        if columns is None
        else list(dict.fromkeys(columns))
    )
    unknown = [name for name in names if name not in _LOADABLE]
    if not names:
        raise ValueError("name at least one snapshot column to load")
    if unknown:
        raise ValueError(f"the snapshots have no column(s): {', '.join(unknown)}")
    schema = {name: _LOADABLE[name][1] for name in names}
    flags = [name for name in names if name in BOOLEAN_COLUMNS]
    params: list[object] = [year, f"{area_prefix}%"]
    if _is_postgres():
        money = [name for name in names if name in _MONEY_AS_TEXT]
        typed = schema | {n: _MONEY_AS_TEXT[n][1] for n in money}
        parts = _copy_out_parts(
            names, params, lambda buffer: pl.read_csv(buffer, schema=typed)
        )
        frame = pl.concat(parts).with_columns((pl.col(money) * 100).cast(pl.Int64))
    else:
        chunks: list[pl.DataFrame] = []
        with connection.cursor() as cursor:
            cursor.execute(_snapshot_query(names), params)
            while rows := cursor.fetchmany(20_000):
                chunks.append(pl.DataFrame(rows, schema=schema, orient="row"))
        frame = pl.concat(chunks) if chunks else pl.DataFrame(schema=schema)
    frame = frame.with_columns(pl.col(flags).cast(pl.Boolean()))
    return frame.sort("household_id") if "household_id" in names else frame


RESULT_COLUMNS: Sequence[str] = (
    "run_id",
    "household_id",
    "year",
    "poor",
    "per_capita_income",
    "income_line",
    "income_poor",
    "guarantees_met",
    "mpi_score",
    "mpi_poor",
    "pmt_score",
    "pmt_eligible",
    "exit_ok",
    "failed_conditions",
    "explanation",
    "input_digest",
    "is_latest",
)


def results_write(frame: pl.DataFrame) -> int:
    """Insert result rows (columns named as :data:`RESULT_COLUMNS`) in bulk.

    On PostgreSQL, the rows of one run numbering at least
    ``settings.PROPOOR_RESULT_PARTITION_ROWS`` go into a partition of their own
    (:func:`_write_partition`); other rows go into the shared partition.
    """
    if frame.height == 0:
        return 0
    frame = frame.select(RESULT_COLUMNS)
    table = IdentificationResult._meta.db_table
    if _is_postgres():
        runs = frame["run_id"].unique()
        if frame.height >= settings.PROPOOR_RESULT_PARTITION_ROWS and runs.len() == 1:
            return _write_partition(frame, int(runs[0]))
        with connection.cursor() as cursor:
            _copy_in(cursor, table, frame.with_columns(pl.lit(0).alias("batch")))
        return frame.height
    frame = frame.with_columns(pl.lit(0).alias("batch"))
    column_list = ", ".join(f'"{c}"' for c in frame.columns)
    placeholders = ", ".join(["%s"] * frame.width)
    sql = f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        for chunk in frame.iter_slices(20_000):
            cursor.executemany(sql, chunk.rows())
    return frame.height


def _copy_in(cursor: Any, table: str, frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, null_value="")
    column_list = ", ".join(f'"{c}"' for c in frame.columns)
    sql = f'COPY "{table}" ({column_list}) FROM STDIN WITH (FORMAT csv)'
    with cursor.copy(sql) as copy:
        copy.write(buffer.getvalue())


def _write_partition(frame: pl.DataFrame, run_id: int) -> int:
    """Load one run's results into a fresh table and attach it as a partition.

    A fresh table takes the rows with no index to keep up and no foreign-key trigger
    per row; ``ATTACH PARTITION`` then builds the partitioned indexes in one pass and
    checks the foreign keys with one set-wise query each. The CHECK on ``batch``
    spares the attach a scan of the rows.

    Under ``settings.PROPOOR_BULK_PARALLEL_ROWS`` rows, all of it happens in the
    caller's transaction. From there on, the rows are loaded over several connections at
    once: the table is then made and filled in transactions of their own (nothing
    reads an unattached table), and attached in the caller's, which commits or rolls
    back the run as one; a failed run drops the table.
    """
    parent = IdentificationResult._meta.db_table
    part = f"{parent}_run{int(run_id)}"
    # CHECK on run_id: a query for another run skips this partition (which has no
    # index led by the run: migration households/0003)
    create = (
        f'CREATE TABLE "{part}" (LIKE "{parent}" INCLUDING DEFAULTS'
        f' INCLUDING CONSTRAINTS, CONSTRAINT "{part}_batch"'
        f' CHECK (batch = {int(run_id)}), CONSTRAINT "{part}_run"'
        f" CHECK (run_id = {int(run_id)}))"
    )
    rows = frame.with_columns(pl.lit(run_id).alias("batch"))
    workers = _workers()
    if workers == 1 or frame.height < settings.PROPOOR_BULK_PARALLEL_ROWS:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(create)
            _copy_in(cursor, part, rows)
            cursor.execute(_attach(parent, part, run_id))
        return frame.height

    def load(chunk: pl.DataFrame) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            _copy_in(cursor, part, chunk)

    _in_threads(_execute, [create])
    try:
        size = frame.height // workers + 1
        _in_threads(load, [rows.slice(k * size, size) for k in range(workers)])
        # the parent's indexes and committed-side keys, built side by side; the
        # attach adopts them as they are
        builds = _partition_builds(parent, part)
        _in_threads(
            lambda group: [_execute(sql) for sql in group],
            [builds[k::workers] for k in range(workers)],
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_attach(parent, part, run_id))
    except BaseException:
        _in_threads(_execute, [f'DROP TABLE "{part}"'])
        raise
    return frame.height


def _partition_builds(parent: str, part: str) -> list[str]:
    """Statements that give ``part`` the parent's primary key, indexes and foreign
    keys, longest first; but not the key to the runs table, whose new row only the
    run's own transaction sees (its attach checks that one)."""
    runs = IdentificationRun._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary"
            " ORDER BY i.indexrelid",
            [parent],
        )
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT contype, pg_get_constraintdef(oid), confrelid::regclass::text"
            " FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN"
            " ('p', 'f') ORDER BY contype DESC, conname",
            [parent],
        )
        constraints = cursor.fetchall()
    builds = [
        f'ALTER TABLE "{part}" ADD {definition}'
        for kind, definition, target in constraints
        if kind == "f" and target != runs
    ]
    builds += [
        f'ALTER TABLE "{part}" ADD {definition}'
        for kind, definition, _target in constraints
        if kind == "p"
    ]
    builds += [
        f'CREATE INDEX ON "{part}" USING {d.split(" USING ", 1)[1]}' for d in indexes
    ]
    return builds


def _attach(parent: str, part: str, run_id: int) -> str:
    bound = f"FOR VALUES IN ({int(run_id)})"
    return f'ALTER TABLE "{parent}" ATTACH PARTITION "{part}" {bound}'


def _execute(sql: str) -> None:
    """One statement, committed on its own (run in a thread: its own connection)."""
    with connection.cursor() as cursor:
        cursor.execute(sql)


def result_partitions_prune() -> list[str]:
    """Drop the partitions of runs that were deleted (PostgreSQL; a no-op elsewhere).

    Deleting a run deletes its results but leaves its partition, empty; this drops
    those tables. Returns their names.
    """
    if not _is_postgres():
        return []
    parent = IdentificationResult._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass AND c.relname LIKE %s",
            [parent, f"{parent}_run%"],
        )
        names = [name for (name,) in cursor.fetchall()]
        run_ids = {int(name.rsplit("_run", 1)[1]): name for name in names}
        alive = set(
            IdentificationRun.objects.filter(pk__in=run_ids).values_list(
                "pk", flat=True
            )
        )
        dropped = [name for pk, name in sorted(run_ids.items()) if pk not in alive]
        for name in dropped:
            cursor.execute(f'DROP TABLE "{name}"')
    return dropped
