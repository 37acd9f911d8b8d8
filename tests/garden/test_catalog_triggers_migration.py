"""garden's catalog triggers and their counter's table after migrating: from empty (how the test
database is made) and from the previous release (garden/0017: the table still recommend_catalogchange),
on whichever database the suite runs (SQLite, or PostgreSQL with DATABASE_URL)."""

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from garden import catalog_changes, tables
from tests.factories import ImageFactory
from tests.migration_support import migrated_from

pytestmark = pytest.mark.django_db(transaction=True)


def counter_in(table: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {connection.ops.quote_name(table)} WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def relations() -> dict[str, str]:
    with connection.cursor() as cursor:
        return {info.name: info.type for info in connection.introspection.get_table_list(cursor)}


def test_from_empty_the_triggers_write_garden_s_table():
    applied = MigrationRecorder(connection).migration_qs.filter(app="garden").values_list("name", flat=True)
    assert catalog_changes.RENAMED in applied  # the test database was migrated from empty
    assert tables.CATALOG_CHANGE == "garden_catalogchange"
    assert relations()["garden_catalogchange"] == "t" and relations()["recommend_catalogchange"] == "v"
    assert catalog_changes.missing() == []
    before = counter_in(tables.CATALOG_CHANGE) or 0
    ImageFactory().delete()
    assert counter_in(tables.CATALOG_CHANGE) == before + 1
    assert counter_in(catalog_changes.FIRST_TABLE) == before + 1  # what the previous release reads


def test_from_the_previous_release_the_counter_and_triggers_move_with_the_table():
    with migrated_from([("garden", catalog_changes.MIGRATION[1])]):
        assert relations()[catalog_changes.FIRST_TABLE] == "t" and "garden_catalogchange" not in relations()
        assert catalog_changes.missing() == []
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(catalog_changes.FIRST_TABLE)}")
            cursor.execute(f"INSERT INTO {connection.ops.quote_name(catalog_changes.FIRST_TABLE)} (id, version) VALUES (1, 41)")
    # Migrated forward again (migrated_from ends at the latest state).
    assert catalog_changes.missing() == []
    assert counter_in(tables.CATALOG_CHANGE) == 41 and counter_in(catalog_changes.FIRST_TABLE) == 41
    ImageFactory().delete()
    assert counter_in(tables.CATALOG_CHANGE) == 42 and counter_in(catalog_changes.FIRST_TABLE) == 42
