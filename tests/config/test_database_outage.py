"""A request whose database fails answers a JSON 503 with Retry-After, never a 500 page, and the
next request reconnects (config/outages.py, config.api.exception_handler).

Two ways of failing: on any database, every query raises OperationalError from a Django
``execute_wrapper`` (a simulated failure: the driver's own error, and Django's wrapped one); on
PostgreSQL, a real one: the server ends the request's own connection (``pg_terminate_backend``
from a second connection), as a database restart or failover does.
"""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError, close_old_connections, connection, connections
from django.http import HttpResponse
from django.test import Client

from config.outages import DatabaseOutageMiddleware
from tests.factories import ImageFactory

DETAIL = "The database is unavailable; try again shortly."


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def assert_unavailable(response):
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content) == {"detail": DETAIL}
    assert response["Retry-After"] == "5"


def driver_error(message: str) -> Exception:
    return connection.Database.OperationalError(message)  # sqlite3's or psycopg's own class


@pytest.fixture(params=["driver", "django"])
def failing_queries(request, settings):
    """Every query raises, before it reaches the database: the driver's OperationalError (as when
    a driver error escapes Django's wrapper) or Django's (as Django raises what it wraps)."""
    settings.DATABASE_PREPARED_STATEMENTS = False  # every statement through Django's cursor and the wrapper

    def fail(execute, sql, params, many, context):
        if request.param == "driver":
            raise driver_error("server closed the connection unexpectedly")
        raise OperationalError("server closed the connection unexpectedly")

    return lambda: connection.execute_wrapper(fail)


@pytest.mark.django_db
def test_kiosk_api_calls_answer_503_with_retry_after(failing_queries):
    image = ImageFactory(emotion="calm")
    client = Client()
    with failing_queries():
        assert_unavailable(post(client, "/gardenfromDB", {"emotion": "calm"}))
        assert_unavailable(post(client, "/garden", {"id": "a-visitor", "emotion": "calm"}))
        assert_unavailable(post(client, "/like", {"id": "a-visitor", "itemId": image.key, "impression": [image.key]}))
        assert_unavailable(post(client, "/impression", {"id": "a-visitor", "impression": [image.key]}))
    assert post(client, "/gardenfromDB", {"emotion": "calm"}).status_code == 200  # and once it answers again


@pytest.mark.django_db
def test_pages_outside_the_api_answer_the_same_503(failing_queries):
    image = ImageFactory(emotion="calm")
    client = Client()
    with failing_queries():
        assert_unavailable(client.get(f"/image?content={image.key}"))  # the share page
    assert client.get(f"/image?content={image.key}").status_code == 200


def test_a_database_error_in_a_middleware_step_becomes_the_503_too(rf):
    """An error outside the view (a session saved on the way out) reaches the middleware as
    Django's 500; the request carries the error, so it answers the 503 instead."""
    from django.core.signals import got_request_exception

    def inner(request):
        try:
            raise OperationalError("the connection is closed")
        except OperationalError:
            got_request_exception.send(sender=None, request=request)  # what Django's handler does
            return HttpResponse("Server Error", status=500)

    middleware = DatabaseOutageMiddleware(inner)
    assert_unavailable(middleware(rf.get("/admin/")))


def test_other_500s_stay_500s(rf):
    from django.core.signals import got_request_exception

    def inner(request):
        try:
            raise ValueError("a bug")
        except ValueError:
            got_request_exception.send(sender=None, request=request)
            return HttpResponse("Server Error", status=500)

    assert DatabaseOutageMiddleware(inner)(rf.get("/")).status_code == 500


# --- A real failure: PostgreSQL ends the connection -------------------------------------------------


def terminate_own_connection() -> None:
    """End this test's connection from the server side, from a second connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            # Waits (up to 5 s) until the session is gone, as a restart is over before the next request.
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    finally:
        other.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_is_a_503_then_replaced():
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    image = ImageFactory(emotion="calm")
    client = Client()
    try:
        assert post(client, "/gardenfromDB", {"emotion": "calm"}).status_code == 200

        terminate_own_connection()  # mid-request: the query finds the connection gone
        assert_unavailable(post(client, "/gardenfromDB", {"emotion": "calm"}))
        close_old_connections()  # what Django runs when a request ends (the test client does not)
        assert connection.connection is None  # the broken connection was dropped
        assert post(client, "/gardenfromDB", {"emotion": "calm"}).status_code == 200  # reconnected

        terminate_own_connection()
        assert_unavailable(client.get(f"/image?content={image.key}"))  # a page outside the API
        close_old_connections()
        assert client.get(f"/image?content={image.key}").status_code == 200

        # Between requests (a restart while idle): the health check at the next query replaces it,
        # and the request does not fail at all.
        terminate_own_connection()
        close_old_connections()  # what Django runs when a request starts
        assert post(client, "/gardenfromDB", {"emotion": "calm"}).status_code == 200
        assert post(client, "/like", {"id": "v", "itemId": image.key, "impression": [image.key]}).status_code == 200
    finally:
        connection.close()  # the flush after the test starts from a fresh connection


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_health_check_asks_the_server_only_when_the_socket_has_news(monkeypatch):
    """config.postgresql: a quiet idle connection passes without a round trip; an ended one does not."""
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    connection.ensure_connection()
    asked = []
    real_cursor = type(connection.connection).cursor
    monkeypatch.setattr(type(connection.connection), "cursor", lambda self, *a, **k: asked.append(1) or real_cursor(self, *a, **k))
    assert connection.is_usable()
    assert asked == []  # no SELECT 1

    monkeypatch.undo()
    terminate_own_connection()
    assert not connection.is_usable()  # the FATAL notice made the socket readable; SELECT 1 failed
    connection.close()
