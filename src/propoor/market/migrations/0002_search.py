"""Product search on PostgreSQL: the pg_trgm extension and a GIN trigram index on
``Product.search_text`` (serves ``search_text ILIKE '%…%'``; see market/search.py).

Nothing happens on SQLite, which searches with a plain ``icontains``.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX = "market_product_search_trgm"


def _create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON market_product "
        "USING gin (search_text gin_trgm_ops)"
    )


def _drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("market", "0001_initial"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(_create_index, _drop_index, elidable=False),
    ]
