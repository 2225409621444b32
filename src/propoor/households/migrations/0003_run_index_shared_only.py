"""On PostgreSQL, the (run, poor) index of identification results is kept on the
shared partition only.

Every row of a bulk run's own partition belongs to that run, so an index led by the
run there is a copy of the table that each bulk run paid to build (a quarter of its
index builds). Instead, each such partition carries ``CHECK (run_id = N)``: a query
for one run skips the other runs' partitions (PostgreSQL's constraint exclusion of
partitions) and reads its own whole, which it would anyway. Small runs share the
``_shared`` partition, where the index stays. Nothing changes on SQLite.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

TABLE = "households_identificationresult"
SHARED = f"{TABLE}_shared"


def _run_index(apps: Any) -> tuple[str, str]:
    model = apps.get_model("households", "IdentificationResult")
    index = next(i for i in model._meta.indexes if list(i.fields) == ["run", "poor"])
    columns = ", ".join(model._meta.get_field(n).column for n in index.fields)
    return index.name, columns


def _run_partitions(cursor: Any) -> list[tuple[str, int]]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass AND c.relname LIKE %s",
        [TABLE, f"{TABLE}_run%"],
    )
    return [(name, int(name.rsplit("_run", 1)[1])) for (name,) in cursor.fetchall()]


def _shared_only(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    q = schema_editor.quote_name
    name, columns = _run_index(apps)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {q(name)}")  # the parent's, and its partitions'
        cursor.execute(f"CREATE INDEX {q(name)} ON {q(SHARED)} ({columns})")
        for part, run_id in _run_partitions(cursor):
            cursor.execute(
                f"ALTER TABLE {q(part)} ADD CONSTRAINT {q(part + '_run')}"
                f" CHECK (run_id = {run_id})"
            )


def _everywhere(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    q = schema_editor.quote_name
    name, columns = _run_index(apps)
    with schema_editor.connection.cursor() as cursor:
        for part, _run_id in _run_partitions(cursor):
            cursor.execute(
                f"ALTER TABLE {q(part)} DROP CONSTRAINT IF EXISTS {q(part + '_run')}"
            )
        cursor.execute(f"DROP INDEX {q(name)}")
        cursor.execute(f"CREATE INDEX {q(name)} ON {q(TABLE)} ({columns})")


class Migration(migrations.Migration):
    dependencies = [("households", "0002_result_partitions")]

    operations = [migrations.RunPython(_shared_only, _everywhere)]
