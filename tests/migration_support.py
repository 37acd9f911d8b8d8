"""Run the project's migrations to a given state inside a test (django.db.migrations' executor).

A test marks itself ``django_db(transaction=True)`` (SQLite's schema editor refuses to run inside
the test's transaction), migrates back to the state it starts from, writes rows with the historical
models of that state, migrates forward and reads what the data migrations made. ``latest()`` puts
the database back where every other test expects it, also when the test fails.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.apps.registry import Apps
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets: list[tuple[str, str | None]]) -> Apps:
    """Migrate to ``targets`` (app, migration name; None: before the app's first); the models then."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([target for target in targets if target[1] is not None]).apps


def latest() -> Apps:
    """Every migration applied, then post_migrate as ``manage.py migrate`` sends it (it puts back the
    recommender's catalog triggers a SQLite table remake dropped: recommend.apps)."""
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    executor.loader.build_graph()
    state = executor.loader.project_state(targets)
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias, apps=state.apps, plan=[])
    return state.apps


@contextmanager
def migrated_from(targets: list[tuple[str, str | None]]):
    """The historical models of ``targets``; the database is at the latest state again afterwards."""
    try:
        yield migrate(targets)
    finally:
        latest()
