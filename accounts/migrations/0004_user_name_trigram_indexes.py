"""Trigram indexes for member search on PostgreSQL.

``follows.selectors.member_search`` finds members whose username or display name contains the
query, case-insensitively (``UPPER(column::text) LIKE UPPER('%query%')``): without an index
that reads every member. GIN trigram indexes on exactly those expressions answer it from the
index. ``pg_trgm`` is a trusted extension (PostgreSQL 13 and later): the database's owner may
create it. Where it cannot be created, search keeps working without the indexes, as on SQLite.
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

COLUMNS = ("username", "display_name")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        logger.warning("pg_trgm is not available (%s): member search reads every member", exc)
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS accounts_user_{column}_trgm ON accounts_user "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS accounts_user_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_user_follow_counts")]

    operations = [migrations.RunPython(forwards, backwards)]
