"""Shared fixtures: every test gets its own media folder; factories live in tests/factories.py."""

import contextlib
import os
import sqlite3

import pytest
from django.core.cache import cache
from django.utils import translation

from config import caches, test_databases
from generation import changes

pytest_plugins = ["tests.browser", "tests.generation.fixtures"]


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker, django_db_modify_db_settings, tmp_path_factory):
    """This process's test database: a copy of the migrated template (config/test_databases.py),
    not a migration of its own. SQLite: a file of this process's own, so the live servers' threads
    and the test's workers share it as the app's processes do (WAL, a busy timeout: config/settings.py);
    Django's in-memory shared-cache database answered a write beside a read with "database table is
    locked" at once, with no wait. PostgreSQL: a clone named after the pytest-xdist process, dropped at the end."""
    from django.conf import settings
    from django.db import connection

    configured = os.environ.get("DATABASE_URL", "")
    process = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with django_db_blocker.unblock():
        connection.close()
        if test_databases.is_postgres(configured):
            name = f"test_garden_{process}"
            test_databases.clone_postgres(configured, name)
        else:
            name = str(tmp_path_factory.mktemp("database") / f"garden_{process}.sqlite3")
            with contextlib.closing(sqlite3.connect(name)) as target:
                test_databases.copy_sqlite(target)
        settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = name
    yield
    if test_databases.is_postgres(configured):
        with django_db_blocker.unblock():
            connection.close()
            test_databases.drop_postgres(configured, name)


@pytest.fixture(autouse=True)
def media_dir(settings, tmp_path):
    """A fresh local file store per test (the embedded default storage, in a temp folder)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root), "base_url": "/media/"}},
        # No collectstatic in tests: the manifest storage would refuse every {% static %} lookup.
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        # Retouch uploads: private, beside (never inside) the served media folder.
        "retouch": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "retouch-uploads")}},
    }
    settings.GARDEN_PUBLIC_BASE_URL = ""
    return root


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters, cached model versions and what the in-process caches keep under database
    tokens must not leak between tests (a rolled-back test restores the serving version a later
    test starts from): config.caches, docs/caching.md."""
    cache.clear()
    caches.reset_all(rows_only=True)
    yield
    cache.clear()
    caches.reset_all(rows_only=True)


@pytest.fixture(autouse=True)
def _no_listener_left():
    """A wait's listener (generation.changes: the live long poll, an A1111 txt2img) holds a connection
    of its own: closed after each test, before its database goes."""
    yield
    changes.stop_listeners()


@pytest.fixture(autouse=True)
def _default_language():
    """LocaleMiddleware leaves the last request's language active on the thread: a test that calls a
    service after another test's Korean request would otherwise get Korean messages."""
    yield
    translation.deactivate()


@pytest.fixture
def eager_celery(settings):
    """Run tasks inline on commit. The Celery app read its conf once, so patch the app as well."""
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def no_enqueue(monkeypatch):
    """Jobs stay queued: record (job id, queue) instead of sending them to a broker."""
    sent = []
    monkeypatch.setattr(
        "generation.dispatch.enqueue.enqueue_job", lambda *, job_id, queue, background=False: sent.append((str(job_id), queue))
    )
    return sent


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Expose each phase's report on the test item (browser tests screenshot on failure)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Slow tests first, each group in its collected order: the test processes (pytest-xdist) then
    end on short tests together, not one of them on a minute-long test while the other waits."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
