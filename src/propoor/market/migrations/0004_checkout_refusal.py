"""``market_checkout_short(json)`` on PostgreSQL: raises ``market_checkout_short``
(SQLSTATE P0001) with the shortages as its detail.

The checkout statement (market/services/checkout.py) calls it when a product of the
cart has too little stock, so that the statement fails and writes nothing: a cart of
goods is checked out by that one statement in its own transaction, with no COMMIT or
ROLLBACK sent by the client. Nothing happens on SQLite.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION market_checkout_short(shortages json) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'P0001',
        MESSAGE = 'market_checkout_short',
        DETAIL = shortages::text;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS market_checkout_short(json)"


def _create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("market", "0003_lean_checkout_indexes"),
    ]

    operations = [
        migrations.RunPython(_create, _drop, elidable=False),
    ]
