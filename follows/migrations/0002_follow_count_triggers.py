"""Keep ``User.follower_count`` / ``following_count`` in the database itself.

A trigger on every insert and delete of a follow adjusts both members' counts, whatever wrote
the row: the follow services, a block cutting follows, the admin, a cascade when an account is
deleted, test fixtures. The migration counts the existing follows once.

On PostgreSQL both rows change in one ``UPDATE ... WHERE id IN (a, b)``: two members following
each other at the same moment then lock the two rows in the same order (no deadlock).
"""

from django.db import migrations

POSTGRESQL_CREATE = """
CREATE OR REPLACE FUNCTION follows_follow_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE accounts_user
        SET follower_count = follower_count + (id = NEW.followee_id)::int,
            following_count = following_count + (id = NEW.follower_id)::int
        WHERE id IN (NEW.follower_id, NEW.followee_id);
        RETURN NEW;
    END IF;
    UPDATE accounts_user
    SET follower_count = follower_count - (id = OLD.followee_id)::int,
        following_count = following_count - (id = OLD.follower_id)::int
    WHERE id IN (OLD.follower_id, OLD.followee_id);
    RETURN OLD;
END
$$;
CREATE TRIGGER follows_follow_counts
AFTER INSERT OR DELETE ON follows_follow
FOR EACH ROW EXECUTE FUNCTION follows_follow_counts();
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS follows_follow_counts ON follows_follow;
DROP FUNCTION IF EXISTS follows_follow_counts();
"""

SQLITE_CREATE = [
    """
    CREATE TRIGGER follows_follow_counts_insert AFTER INSERT ON follows_follow
    BEGIN
        UPDATE accounts_user SET follower_count = follower_count + 1 WHERE id = NEW.followee_id;
        UPDATE accounts_user SET following_count = following_count + 1 WHERE id = NEW.follower_id;
    END
    """,
    """
    CREATE TRIGGER follows_follow_counts_delete AFTER DELETE ON follows_follow
    BEGIN
        UPDATE accounts_user SET follower_count = follower_count - 1 WHERE id = OLD.followee_id;
        UPDATE accounts_user SET following_count = following_count - 1 WHERE id = OLD.follower_id;
    END
    """,
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS follows_follow_counts_insert",
    "DROP TRIGGER IF EXISTS follows_follow_counts_delete",
]

RECOUNT = """
UPDATE accounts_user SET
    follower_count = (SELECT COUNT(*) FROM follows_follow f WHERE f.followee_id = accounts_user.id),
    following_count = (SELECT COUNT(*) FROM follows_follow f WHERE f.follower_id = accounts_user.id)
"""


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(
            f"follow count triggers are written for PostgreSQL and SQLite, not {vendor}"
        )
    schema_editor.execute(RECOUNT)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)
    else:
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("follows", "0001_initial"),
        ("accounts", "0003_user_follow_counts"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
