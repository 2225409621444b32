"""On PostgreSQL, identification results become a table partitioned by ``batch``.

Small runs keep writing into the shared partition (``batch`` = 0). A bulk run loads
its rows into a fresh table of its own and attaches it as a partition
(``identification_io.results_write``): a fresh table takes a million rows without
per-row index upkeep or per-row foreign-key triggers; its indexes are built and its
foreign keys checked once, set-wise, when it is attached.

PostgreSQL 15 has no identity columns on partitioned tables, so ``id`` takes its
values from a sequence owned by the column (what ``pg_get_serial_sequence`` and
Django's sequence reset expect). The primary key is (id, batch): a partitioned table's
unique keys must hold the partition key; ``id`` alone stays what the ORM looks up.
Nothing changes on SQLite.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

TABLE = "households_identificationresult"


def _partition(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("households", "IdentificationResult")
    q = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [TABLE],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(f"SELECT max(id) FROM {q(TABLE)}")  # noqa: S608
        (top,) = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {q(TABLE)} RENAME TO {q(TABLE + '_old')}")
        for index in model._meta.indexes:
            cursor.execute(f"DROP INDEX IF EXISTS {q(index.name)}")
        cursor.execute(
            f"CREATE TABLE {q(TABLE)} (LIKE {q(TABLE + '_old')} INCLUDING DEFAULTS"
            f" INCLUDING CONSTRAINTS) PARTITION BY LIST (batch)"
        )
        cursor.execute(
            f"INSERT INTO {q(TABLE)} SELECT * FROM {q(TABLE + '_old')}"  # noqa: S608
        )
        cursor.execute(f"DROP TABLE {q(TABLE + '_old')}")
        sequence = f"{TABLE}_id_seq"
        cursor.execute(f"CREATE SEQUENCE {q(sequence)} OWNED BY {q(TABLE)}.id")
        cursor.execute(
            f"ALTER TABLE {q(TABLE)} ALTER COLUMN id SET DEFAULT "
            f"nextval('{sequence}'::regclass)"
        )
        if top is not None:
            cursor.execute("SELECT setval(%s, %s)", [sequence, top])
        cursor.execute(
            f"ALTER TABLE {q(TABLE)} ADD CONSTRAINT {q(TABLE + '_pkey')} "
            f"PRIMARY KEY (id, batch)"
        )
        for index in model._meta.indexes:
            columns = ", ".join(
                q(model._meta.get_field(name).column) for name in index.fields
            )
            cursor.execute(f"CREATE INDEX {q(index.name)} ON {q(TABLE)} ({columns})")
        for name, definition in foreign_keys:
            cursor.execute(
                f"ALTER TABLE {q(TABLE)} ADD CONSTRAINT {q(name)} {definition}"
            )
        cursor.execute(
            f"CREATE TABLE {q(TABLE + '_shared')} PARTITION OF {q(TABLE)} "
            f"FOR VALUES IN (0)"
        )


class Migration(migrations.Migration):
    dependencies = [("households", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="identificationresult",
            name="batch",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(_partition, elidable=False),
    ]
