"""/garden's Recommendation rows wait and ride along with the next statement (recommend.attribution,
PostgreSQL): the answer's id is drawn with the visitor's context, the row is written by the next
/garden statement or by the last request in flight, a like naming it writes it first, and a
visitor deleted meanwhile never gets it back."""

import json
import threading
import time

import pytest
from django.db import DataError, OperationalError, connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from garden.models import Visitor
from recommend import attribution, retention, services
from recommend.models import Interaction, Recommendation
from tests.factories import ImageFactory, VisitorFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def fresh_pending(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    monkeypatch.setattr(attribution, "pending", attribution.Pending())
    return attribution.pending


def garden(client, body):
    response = client.post("/garden", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return int(response["X-Recommendation-Id"])


def refused_row():
    """A row PostgreSQL refuses (its search key is too long for the column), and the whole statement with it."""
    return attribution.Row(id=2**62, visitor_id=None, search_key="x" * 500, image_ids=[], ranker="", created_at=timezone.now(), fallback=0)


def another_request_in_flight():
    """As if another thread of this process were inside serve_garden: rows are left to ride."""
    attribution.pending.begin()


def test_a_lone_request_writes_its_row_once_it_has_answered(client):
    image = ImageFactory(emotion="calm")
    visitor = VisitorFactory()
    with CaptureQueriesContext(connection) as queries:
        answered = garden(client, {"id": str(visitor.id), "emotion": "calm"})
    statements = [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert "nextval(pg_get_serial_sequence('recommend_recommendation'" in statements[0]  # then the candidates load
    writes = [sql for sql in statements if "INSERT INTO recommend_recommendation" in sql]
    assert len(writes) == 1 and writes[0].startswith("WITH waiting AS MATERIALIZED"), writes
    row = Recommendation.objects.get(pk=answered)
    assert (row.visitor_id, row.search_key, row.image_ids, row.fallback) == (str(visitor.id), "calm", [image.id], 0)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # rows ride only outside a transaction, as requests run
def test_while_another_request_runs_the_row_rides_with_the_next_statement(client):
    ImageFactory(emotion="calm")
    first_visitor, second_visitor = VisitorFactory(), VisitorFactory()
    another_request_in_flight()
    first = garden(client, {"id": str(first_visitor.id), "emotion": "calm"})
    assert not Recommendation.objects.filter(pk=first).exists()  # waiting in this process
    anonymous = garden(client, {"emotion": "calm"})
    assert set(Recommendation.objects.values_list("pk", flat=True)) == {first}  # it rode with the next request

    with CaptureQueriesContext(connection) as queries:
        second = garden(client, {"id": str(second_visitor.id), "emotion": "calm"})
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 1, statements  # the waiting row went with the context read: no INSERT of its own
    assert statements[0].startswith("WITH waiting AS MATERIALIZED")
    kept = dict(Recommendation.objects.values_list("pk", "visitor_id"))
    assert kept == {first: str(first_visitor.id), anonymous: None}
    assert len({first, anonymous, second}) == 3

    attribution.pending.end()  # the other request finishes: the last one in flight writes what waits
    attribution.write_waiting()
    assert Recommendation.objects.filter(pk=second).exists()


def test_a_like_naming_a_waiting_row_writes_it_first_and_is_attributed(client):
    image = ImageFactory(emotion="calm")
    visitor = VisitorFactory()
    another_request_in_flight()
    answered = garden(client, {"id": str(visitor.id), "emotion": "calm"})
    body = {"id": str(visitor.id), "itemId": image.key, "impression": [image.key], "recommendationId": str(answered)}
    assert client.post("/like", json.dumps(body), content_type="application/json").status_code == 200
    assert Interaction.objects.get(visitor_id=str(visitor.id)).recommendation_id == answered


def test_outside_a_request_the_row_is_written_at_once(rf):
    ImageFactory(emotion="calm")
    visitor = VisitorFactory()
    served = services.serve_garden(visitor_id=str(visitor.id), search_key="calm", request=rf.post("/garden"))
    assert Recommendation.objects.get(pk=served.recommendation_id).visitor_id == str(visitor.id)
    assert not attribution.pending.take()


def test_an_id_without_a_visitor_row_is_written_at_once(client):
    ImageFactory(emotion="calm")
    another_request_in_flight()
    answered = garden(client, {"id": "a-kiosk-made-up-id", "emotion": "calm"})
    assert Recommendation.objects.get(pk=answered).visitor_id == "a-kiosk-made-up-id"


def test_a_visitor_deleted_while_their_row_waits_never_gets_it(client):
    ImageFactory(emotion="calm")
    visitor = VisitorFactory()
    another_request_in_flight()
    answered = garden(client, {"id": str(visitor.id), "emotion": "calm"})
    retention.forget_visitor(visitor_id=str(visitor.id))
    attribution.write_waiting()
    assert not Recommendation.objects.filter(pk=answered).exists()
    assert not attribution.pending.take()  # written as far as it could be: nothing waits


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_refused_row_never_fails_a_request_and_is_dropped_after_its_attempts(fresh_pending, caplog):
    ImageFactory(emotion="calm")
    visitor = VisitorFactory()
    fresh_pending.keep(refused_row())
    another_request_in_flight()
    answered = []
    for _ in range(attribution.ATTEMPTS):
        answered.append(garden(Client(), {"id": str(visitor.id), "emotion": "calm"}))
    assert "dropped 1 Recommendation rows" in caplog.text
    attribution.pending.end()
    attribution.write_waiting()
    assert Recommendation.objects.filter(pk__in=answered).count() == len(answered)
    assert not Recommendation.objects.filter(pk=2**62).exists()


def test_inside_a_transaction_a_refused_row_leaves_it_usable(fresh_pending):
    """No riding in a transaction, and the own statement has a savepoint: the caller's work goes on."""
    ImageFactory(emotion="calm")
    fresh_pending.keep(refused_row())
    answered = garden(Client(), {"emotion": "calm"})  # the last in flight: writes what waits, refused
    assert Recommendation.objects.filter(pk=answered).count() == 0  # refused with the bad row, waiting again
    assert [row.id for row, _ in fresh_pending.take()] == [2**62, answered]


def test_an_outage_does_not_count_against_waiting_rows():
    pending = attribution.Pending()
    row = attribution.Row(id=1, visitor_id=None, search_key="calm", image_ids=[], ranker="", created_at=None, fallback=0)
    pending.keep(row)
    for _ in range(attribution.ATTEMPTS + 2):
        pending.failed(pending.take(), OperationalError("server closed the connection"))
    assert [kept for kept, _ in pending.take()] == [row]
    pending.keep(row)
    for _ in range(attribution.ATTEMPTS):
        pending.failed(pending.take(), DataError("value too long"))
    assert pending.take() == []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_deletion_in_progress_holds_the_waiting_row_back_until_it_commits(client):
    """The lock order: forget_visitor locks the Visitor row first, so a write of a waiting row that
    starts during the deletion waits for it, then finds no visitor and writes nothing."""
    ImageFactory(emotion="calm")
    visitor = VisitorFactory()
    another_request_in_flight()
    answered = garden(client, {"id": str(visitor.id), "emotion": "calm"})
    taken = attribution.pending.take()
    writer_done = threading.Event()

    def write_in_another_process():
        try:
            sql, params = attribution.writes_sql([row for row, _ in taken])
            with connection.cursor() as cursor:
                cursor.execute(sql + "SELECT 1", params)
        finally:
            connections.close_all()
            writer_done.set()

    with transaction.atomic():
        list(Visitor.objects.select_for_update().filter(pk=visitor.id).values_list("pk", flat=True))
        writer = threading.Thread(target=write_in_another_process)
        writer.start()
        time.sleep(0.3)
        assert not writer_done.is_set()  # blocked on the visitor's row lock
        Recommendation.objects.filter(visitor_id=str(visitor.id)).delete()
        Visitor.objects.filter(pk=visitor.id).delete()
    writer.join(timeout=10)
    assert writer_done.is_set()
    assert not Recommendation.objects.filter(pk=answered).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_deletion_that_starts_while_a_row_is_being_written_deletes_it_too(client):
    """The other order: the write holds its lock on the Visitor row first, so forget_visitor waits
    for it (it locks that row before its reads) and then deletes the row it wrote."""
    ImageFactory(emotion="calm")
    visitor = VisitorFactory()
    another_request_in_flight()
    answered = garden(client, {"id": str(visitor.id), "emotion": "calm"})
    sql, params = attribution.writes_sql([row for row, _ in attribution.pending.take()])
    forgotten = threading.Event()

    def forget_in_another_process():
        try:
            retention.forget_visitor(visitor_id=str(visitor.id))
        finally:
            connections.close_all()
            forgotten.set()

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql + "SELECT 1", params)
        deleting = threading.Thread(target=forget_in_another_process)
        deleting.start()
        time.sleep(0.3)
        assert not forgotten.is_set()  # waits for the write's lock on the visitor's row
    deleting.join(timeout=10)
    assert forgotten.is_set()
    assert not Recommendation.objects.filter(pk=answered).exists()
    assert not Visitor.objects.filter(pk=visitor.id).exists()
