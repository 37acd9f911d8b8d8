"""A query budget on every endpoint: each case's SQL query count may not rise above budget.json.

Each case runs against the same small dataset (dataset.py, built once per module), empties every in-process and shared cache,
sends one representative request with Django's test client and counts its queries with
CaptureQueriesContext. The count kept is the cold one; while the budget is rewritten, a GET is
sent a second time without clearing anything, and its warm count is written beside it where it differs. A count below its
budget passes with a warning asking to lower the budget. UPDATE_QUERY_BUDGET=1 rewrites the
running database vendor's entries. A URL pattern with no case (and not in routes.EXCLUDED) fails.
"""

from __future__ import annotations

import warnings

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config import caches
from generation.models import WorkerPresence
from tests.query_budget import baseline, routes
from tests.query_budget.admin_cases import admin_cases
from tests.query_budget.case import client_for, prepare, send
from tests.query_budget.cases import CASES, PROBE_PATHS
from tests.query_budget.dataset import build, storage_settings

ALL_CASES = [*CASES, *admin_cases()]
SAFE_METHODS = ("GET", "HEAD")

pytestmark = pytest.mark.django_db


class QueryBudgetBelow(UserWarning):
    """A request now runs fewer queries than its budget: lower the budget to keep the gain."""


# Job-making endpoints answer on their request path: nothing waits for a worker.
BUDGET_SETTINGS = {
    "GARDEN_A1111_WAIT_SECONDS": 0,
    "GARDEN_TEXT2IMAGE_WAIT_SECONDS": 0,
    "GARDEN_GENERATOR_BACKEND": "procedural",
    "GARDEN_MODELS_DIR": "",
    "GARDEN_LIVE_ENABLED": True,
    "GARDEN_LIVE_QUEUE": "live",
    "GARDEN_LIVE_MAX_QUEUED": 4,
    "GARDEN_LIVE_DAILY_BUDGET": 2000,
    "GARDEN_LIVE_SIZE": 64,
    # A queued live job older than this counts as abandoned (cancelled by the next POST /live): the
    # module's jobs stay young however long the module runs.
    "GARDEN_KIOSK_IDLE_SECONDS": 3600,
}


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker, tmp_path_factory):
    """The dataset, built once for the module inside a transaction that each test's own
    (a savepoint) rolls back to, and that is rolled back when the module ends. Its files live in
    a folder of the module's; a test that moves one would change what later tests see, so each
    moving case has an image of its own."""
    files = storage_settings(tmp_path_factory.mktemp("query-budget"))
    with override_settings(**files, **BUDGET_SETTINGS), django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield files, build(get_user_model())
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def media_dir(settings, shared):
    """Replaces tests/conftest.py's per-test media folder with the module's, where the dataset's files are."""
    files, _dataset = shared
    for name, value in {**files, **BUDGET_SETTINGS}.items():
        setattr(settings, name, value)
    return files["MEDIA_ROOT"]


@pytest.fixture
def dataset(shared, media_dir, no_enqueue):
    """Jobs stay queued (``no_enqueue``): nothing reaches a broker."""
    return shared[1]


def reset_caches() -> None:
    """Everything a request could find warm: the shared cache, every in-process cache
    (config.caches.reset_all: the serving cache, the rendered gardens, memoized lookups and loaded
    models alike) and Django's content-type cache (the admin's first page in a process fills it)."""
    cache.clear()
    caches.reset_all()
    ContentType.objects.clear_cache()


def count_queries(client, case, path, kwargs) -> tuple[int, object, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = send(client, case, path, kwargs)
    return len(queries), response, [query["sql"] for query in queries.captured_queries]


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.id)
def test_query_count_stays_within_budget(case, dataset):
    path, kwargs = prepare(case, dataset)
    client = client_for(case, dataset)
    # Workers count as present for GARDEN_WORKER_PRESENCE_SECONDS: the module's rows are seen now, whenever this case runs.
    WorkerPresence.objects.update(seen_at=timezone.now())
    reset_caches()
    cold, response, statements = count_queries(client, case, path, kwargs)
    assert response.status_code == case.status, f"{case.name}: {response.status_code} {response.content[:500]!r}"
    vendor = connection.vendor
    if baseline.updating():
        warm = count_queries(client, case, path, kwargs)[0] if case.method in SAFE_METHODS else None
        baseline.record(vendor, case.name, cold, warm)
        return
    allowed = baseline.budget(vendor).get(case.name)
    assert allowed is not None, f"{case.name}: no {vendor} budget; run UPDATE_QUERY_BUDGET=1 (docs/development.md)"
    listing = "\n".join(f"  {n}. {sql}" for n, sql in enumerate(statements, 1))
    assert cold <= allowed, f"{case.name}: {cold} queries on {vendor}, budget {allowed}:\n{listing}"
    if cold < allowed:
        note = f"{case.name}: {cold} queries on {vendor}, budget {allowed}: lower it (UPDATE_QUERY_BUDGET=1)"
        warnings.warn(note, QueryBudgetBelow, stacklevel=1)


def test_every_url_pattern_has_a_budget_or_a_reason(dataset):
    covered = {routes.route_of(case.path.format_map(dataset)) for case in ALL_CASES if case.path not in PROBE_PATHS}
    known = routes.all_routes()
    missing = sorted(known - covered - set(routes.EXCLUDED))
    assert not missing, "URL patterns without a query budget (add a case, or a reason to routes.EXCLUDED):\n" + "\n".join(missing)
    stale = set(routes.EXCLUDED) - known - routes.CONDITIONAL
    assert not stale, f"routes.EXCLUDED names patterns that no longer exist: {sorted(stale)}"
    assert not covered & set(routes.EXCLUDED), f"excluded yet budgeted: {sorted(covered & set(routes.EXCLUDED))}"


def test_the_budget_names_only_existing_cases():
    names = [case.name for case in ALL_CASES]
    assert len(names) == len(set(names)), "two cases share a name"
    vendor = connection.vendor
    if baseline.updating():
        baseline.prune(vendor, set(names))
        return
    stale = sorted(set(baseline.budget(vendor)) - set(names))
    assert not stale, f"budget.json ({vendor}) names cases that no longer exist (UPDATE_QUERY_BUDGET=1 drops them): {stale}"
