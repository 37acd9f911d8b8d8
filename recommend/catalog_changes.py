"""A counter the database bumps whenever an image is deleted (or the table truncated) or an image's
id, key or search key changes: the kept counts cannot follow either. Images added after the kept
ones need no bump; one inserted below them (a restore, or two inserts that committed out of id
order) shows in ``kept_images_unchanged``'s count instead.

Database triggers rather than Django signals: bulk updates, raw SQL and restores change images
without signals. The rebuild checks that the triggers are there (``ensure``) before trusting the
counter: a SQLite table that a migration remade loses its triggers, and a database migrated before
they existed never had them; either way that rebuild recounts everything and reinstalls them. The
functions compare the columns in their bodies, not in the trigger definitions, so a migration that
alters a garden_image column is never refused for them.
"""

from __future__ import annotations

from django.db import connection

from garden.models import Image
from recommend.models import CatalogChange

PREFIX = "recommend_catalog_"


def version() -> int:
    """The counter now (0 before any change was ever recorded)."""
    return CatalogChange.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def ensure() -> bool:
    """Install the triggers if any is missing; True when all of them were already there (so every
    catalog change since they were installed has bumped the counter)."""
    images, counter = Image._meta.db_table, CatalogChange._meta.db_table
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname LIKE %s", [images, PREFIX + "%"])
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s AND name LIKE %s", [images, PREFIX + "%"]
            )
        if cursor.fetchone()[0] == len(TRIGGERS[connection.vendor]):
            return True
        for statement in _postgresql(images, counter) if postgres else _sqlite(images, counter):
            cursor.execute(statement)
    return False


TRIGGERS = {"postgresql": ("update", "delete", "truncate"), "sqlite": ("update", "delete")}


def _postgresql(images: str, counter: str) -> list[str]:
    bump = f"INSERT INTO {counter} (id, version) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET version = {counter}.version + 1;"
    # Nested IFs: plpgsql prepares a condition only when it reaches it (``gone`` exists for DELETE only).
    return [
        f"""CREATE OR REPLACE FUNCTION {PREFIX}bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                {bump}
            ELSIF TG_OP = 'DELETE' THEN
                IF EXISTS (SELECT 1 FROM gone) THEN {bump} END IF;
            ELSIF OLD.id IS DISTINCT FROM NEW.id OR OLD.key IS DISTINCT FROM NEW.key OR OLD.search_key IS DISTINCT FROM NEW.search_key THEN
                {bump}
            END IF;
            RETURN NULL;
        END $$""",
        *(f"DROP TRIGGER IF EXISTS {PREFIX}{name} ON {images}" for name in TRIGGERS["postgresql"]),
        f"CREATE TRIGGER {PREFIX}update AFTER UPDATE ON {images} FOR EACH ROW EXECUTE FUNCTION {PREFIX}bump()",
        # One bump per statement, and none for a DELETE that matched nothing.
        f"CREATE TRIGGER {PREFIX}delete AFTER DELETE ON {images} REFERENCING OLD TABLE AS gone "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}bump()",
        f"CREATE TRIGGER {PREFIX}truncate AFTER TRUNCATE ON {images} FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}bump()",
    ]


def _sqlite(images: str, counter: str) -> list[str]:
    bump = f"INSERT OR IGNORE INTO {counter} (id, version) VALUES (1, 0); UPDATE {counter} SET version = version + 1 WHERE id = 1;"
    return [
        *(f"DROP TRIGGER IF EXISTS {PREFIX}{name}" for name in TRIGGERS["sqlite"]),
        f"CREATE TRIGGER {PREFIX}update AFTER UPDATE ON {images} WHEN OLD.id IS NOT NEW.id OR OLD.key IS NOT NEW.key "
        f"OR OLD.search_key IS NOT NEW.search_key BEGIN {bump} END",
        f"CREATE TRIGGER {PREFIX}delete AFTER DELETE ON {images} BEGIN {bump} END",
    ]


def kept_images_unchanged(*, last_id: int, count: int) -> bool:
    """Whether the images up to ``last_id`` are still ``count`` in number: none inserted below the
    kept ones since (deletions bump the counter as well). An index-only count of ids, the one read
    that grows with the catalog (tens of milliseconds at 400k images)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {Image._meta.db_table} WHERE id <= %s", [last_id])
        return cursor.fetchone()[0] == count
