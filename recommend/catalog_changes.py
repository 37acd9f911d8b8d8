"""A counter the database bumps whenever an image is deleted (or the table truncated) or an image's
id, key or search key changes: the kept counts cannot follow either. Images added after the kept
ones need no bump; one inserted below them (a restore, or two inserts that committed out of id
order) shows in ``kept_images_unchanged``'s count instead.

Database triggers rather than Django signals: bulk updates, raw SQL and restores change images
without signals. Migrations make them (``recommend/0011``, per database), and ``migrate`` puts them
back when a later migration remade garden_image (SQLite drops a remade table's triggers; the
post_migrate hook in recommend.apps), bumping the counter since changes may have gone unrecorded.
A rebuild that finds them missing refuses to run (``require``) rather than trust the counter. The
functions compare the columns in their bodies, not in the trigger definitions, so a migration that
alters a garden_image column is never refused for them.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connection, connections

from garden.models import Image
from recommend.models import CatalogChange

PREFIX = "recommend_catalog_"


def version() -> int:
    """The counter now (0 before any change was ever recorded)."""
    return CatalogChange.objects.filter(pk=1).values_list("version", flat=True).first() or 0


class CatalogTriggersMissing(RuntimeError):
    """The triggers that record catalog changes are not installed: kept counts cannot be trusted."""

    def __init__(self, missing: list[str]):
        super().__init__(
            f"The recommender's catalog triggers on {Image._meta.db_table} are missing ({', '.join(missing)}): "
            "run `manage.py migrate`, which installs them (docs/recommendation.md#catalog-changes)."
        )


def missing(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The catalog triggers not installed on the ``using`` database."""
    db = connections[using]
    images = Image._meta.db_table
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname LIKE %s", [images, PREFIX + "%"])
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s AND name LIKE %s", [images, PREFIX + "%"]
            )
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in TRIGGERS[db.vendor] if PREFIX + name not in present]


def require() -> None:
    """Raise CatalogTriggersMissing unless every trigger is installed (the rebuild's check)."""
    if gone := missing():
        raise CatalogTriggersMissing(gone)


def install(db) -> None:
    """(Re)install the triggers on the connection ``db`` and bump the counter: whatever changed while
    they were missing went unrecorded, so kept counts must not be trusted. Idempotent."""
    images, counter = Image._meta.db_table, CatalogChange._meta.db_table
    statements = _postgresql(images, counter) if db.vendor == "postgresql" else _sqlite(images, counter)
    with db.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        cursor.execute(_bump_once(db.vendor, counter))


def uninstall(db) -> None:
    """Drop the triggers (the migration's reverse)."""
    on = f" ON {Image._meta.db_table}" if db.vendor == "postgresql" else ""
    with db.cursor() as cursor:
        for name in TRIGGERS[db.vendor]:
            cursor.execute(f"DROP TRIGGER IF EXISTS {PREFIX}{name}{on}")
        if db.vendor == "postgresql":
            cursor.execute(f"DROP FUNCTION IF EXISTS {PREFIX}bump()")


def _bump_once(vendor: str, counter: str) -> str:
    if vendor == "postgresql":
        return f"INSERT INTO {counter} (id, version) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET version = {counter}.version + 1"
    return f"INSERT INTO {counter} (id, version) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET version = version + 1"


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
