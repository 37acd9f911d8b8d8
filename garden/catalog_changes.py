"""A counter the database bumps whenever an image is deleted (or the table truncated) or an image's
id, key or search key changes (``CatalogChange``), so a reader that kept something computed from
the images (the recommender's stored counts) knows whether it still holds without reading them.
Images added after the kept ones need no bump; one inserted below them (a restore, or two inserts
that committed out of id order) shows in ``counted_images_unchanged``'s count instead.

Database triggers rather than Django signals: bulk updates, raw SQL and restores change images
without signals. Migrations make them (``garden/0017``, per database), and ``migrate`` puts them
back when a later migration remade the images' table (SQLite drops a remade table's triggers;
``reinstall_after_migrate``, connected in garden.apps), bumping the counter since changes may have
gone unrecorded. A reader that finds them missing refuses to trust the counter (``require``). The
functions compare the columns in their bodies, not in the trigger definitions, so a migration that
alters an images column is never refused for them.
"""

from __future__ import annotations

import logging

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.migrations.recorder import MigrationRecorder

from garden import tables
from garden.models import CatalogChange

# The names the triggers were first made under (by the recommender, their first reader): the previous
# release's processes look for them (``missing``) while a deploy replaces them, so they stay this
# release; garden/0018's note says what the next one renames.
PREFIX = "recommend_catalog_"
TRIGGERS = {"postgresql": ("update", "delete", "truncate"), "sqlite": ("update", "delete")}
MIGRATION = ("garden", "0017_catalog_change_triggers")
# The migration that renamed the counter's table to garden's (before it: FIRST_TABLE).
RENAMED, FIRST_TABLE = "0018_catalog_change_table", "recommend_catalogchange"

log = logging.getLogger(__name__)


def version() -> int:
    """The counter now (0 before any change was ever recorded)."""
    return CatalogChange.objects.filter(pk=1).values_list("version", flat=True).first() or 0


class CatalogTriggersMissing(RuntimeError):
    """The triggers that record catalog changes are not installed: the counter cannot be trusted."""

    def __init__(self, missing: list[str]):
        super().__init__(
            f"The recommender's catalog triggers on {tables.IMAGE} are missing ({', '.join(missing)}): "
            "run `manage.py migrate`, which installs them (docs/recommendation.md#catalog-changes)."
        )


def missing(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The catalog triggers not installed on the ``using`` database."""
    db = connections[using]
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname LIKE %s",
                [db.ops.quote_name(tables.IMAGE), PREFIX + "%"],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s AND name LIKE %s", [tables.IMAGE, PREFIX + "%"]
            )
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in TRIGGERS[db.vendor] if PREFIX + name not in present]


def require() -> None:
    """Raise CatalogTriggersMissing unless every trigger is installed."""
    if gone := missing():
        raise CatalogTriggersMissing(gone)


def install(db, *, counter: str | None = None, bump: bool = True) -> None:
    """(Re)install the triggers on the connection ``db`` and bump the counter: whatever changed while
    they were missing went unrecorded, so what was kept must not be trusted. Idempotent.
    ``counter``: the counter's table as a migration knows it (default: the model's)."""
    counter = counter or tables.CATALOG_CHANGE
    quote = db.ops.quote_name
    statements = _postgresql(quote, counter) if db.vendor == "postgresql" else _sqlite(quote, counter)
    with db.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        if bump:
            cursor.execute(_bump_once(db.vendor, quote, counter))


def install_missing(db, *, counter: str | None = None) -> list[str]:
    """Install the triggers on ``db`` unless all are there (then nothing changes, the counter
    included); returns the names that were missing."""
    if gone := missing(db.alias):
        install(db, counter=counter)
    return gone


def uninstall(db) -> None:
    """Drop the triggers (the migration's reverse)."""
    on = f" ON {db.ops.quote_name(tables.IMAGE)}" if db.vendor == "postgresql" else ""
    with db.cursor() as cursor:
        for name in TRIGGERS[db.vendor]:
            cursor.execute(f"DROP TRIGGER IF EXISTS {PREFIX}{name}{on}")
        if db.vendor == "postgresql":
            cursor.execute(f"DROP FUNCTION IF EXISTS {PREFIX}bump()")


def reinstall_after_migrate(sender, using, **kwargs) -> None:
    """post_migrate: put back triggers that a later migration dropped (SQLite drops a remade table's
    triggers), so a migrated database always has them."""
    applied = set(MigrationRecorder(connections[using]).migration_qs.filter(app=MIGRATION[0]).values_list("name", flat=True))
    if MIGRATION[1] not in applied:
        return  # migrated to a point before the triggers (or backwards past them)
    if gone := install_missing(connections[using], counter=None if RENAMED in applied else FIRST_TABLE):
        log.warning("Reinstalled the catalog triggers a migration dropped: %s", ", ".join(gone))


def _bump_once(vendor: str, quote, table: str) -> str:
    counter, version_ = quote(table), quote(tables.CATALOG_CHANGE_VERSION)
    # PostgreSQL needs the table named in the SET's right-hand side; SQLite refuses it.
    current = f"{counter}.{version_}" if vendor == "postgresql" else version_
    return f"INSERT INTO {counter} (id, {version_}) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET {version_} = {current} + 1"


def _postgresql(quote, table: str) -> list[str]:
    images, bump = quote(tables.IMAGE), _bump_once("postgresql", quote, table) + ";"
    id_, key, search_key = quote(tables.IMAGE_ID), quote(tables.IMAGE_KEY), quote(tables.IMAGE_SEARCH_KEY)
    # Nested IFs: plpgsql prepares a condition only when it reaches it (``gone`` exists for DELETE only).
    return [
        f"""CREATE OR REPLACE FUNCTION {PREFIX}bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                {bump}
            ELSIF TG_OP = 'DELETE' THEN
                IF EXISTS (SELECT 1 FROM gone) THEN {bump} END IF;
            ELSIF OLD.{id_} IS DISTINCT FROM NEW.{id_} OR OLD.{key} IS DISTINCT FROM NEW.{key}
                OR OLD.{search_key} IS DISTINCT FROM NEW.{search_key} THEN
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


def _sqlite(quote, table: str) -> list[str]:
    images, counter, version_ = quote(tables.IMAGE), quote(table), quote(tables.CATALOG_CHANGE_VERSION)
    id_, key, search_key = quote(tables.IMAGE_ID), quote(tables.IMAGE_KEY), quote(tables.IMAGE_SEARCH_KEY)
    bump = f"INSERT OR IGNORE INTO {counter} (id, {version_}) VALUES (1, 0); UPDATE {counter} SET {version_} = {version_} + 1 WHERE id = 1;"
    return [
        *(f"DROP TRIGGER IF EXISTS {PREFIX}{name}" for name in TRIGGERS["sqlite"]),
        f"CREATE TRIGGER {PREFIX}update AFTER UPDATE ON {images} WHEN OLD.{id_} IS NOT NEW.{id_} OR OLD.{key} IS NOT NEW.{key} "
        f"OR OLD.{search_key} IS NOT NEW.{search_key} BEGIN {bump} END",
        f"CREATE TRIGGER {PREFIX}delete AFTER DELETE ON {images} BEGIN {bump} END",
    ]


def counted_images_unchanged(*, last_id: int, count: int) -> bool:
    """Whether the images up to ``last_id`` are still ``count`` in number: none inserted below the
    counted ones since (deletions bump the counter as well). An index-only count of ids, the one
    read that grows with the catalog (its cost: docs/benchmarks.md#figures-behind-the-code)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {quote(tables.IMAGE)} WHERE {quote(tables.IMAGE_ID)} <= %s", [last_id])
        return cursor.fetchone()[0] == count
