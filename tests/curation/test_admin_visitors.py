"""Deleting visitors in the admin is a deletion request: labels, events and served gardens all go,
exactly as ``manage.py forget_visitor`` (one service). The search box finds a visitor by the code
the kiosk showed them."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from garden.models import Visitor
from garden.visitors import visitor_code
from recommend.models import Interaction, Recommendation
from tests.factories import ImageFactory, VisitorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw-for-tests-only")
    client.force_login(user)
    return client


def visit(client, visitor, keys):
    """What a kiosk visit leaves behind: a served garden, a like, an impression."""
    post = lambda path, body: client.post(path, json.dumps(body), content_type="application/json")  # noqa: E731
    assert post("/garden", {"id": visitor.id, "emotion": "calm"}).status_code == 200
    assert post("/like", {"id": visitor.id, "itemId": keys[0], "impression": keys}).status_code == 200
    assert post("/impression", {"id": visitor.id, "impression": keys[1:]}).status_code == 200


@pytest.fixture
def two_visits(client):
    keys = [ImageFactory(emotion="calm").key for _ in range(3)]
    gone, stays = VisitorFactory(), VisitorFactory()
    visit(client, gone, keys)
    visit(client, stays, keys)
    return gone, stays


def test_delete_selected_deletes_every_trace_of_the_visitor(staff, two_visits):
    gone, stays = two_visits
    confirm = staff.post("/admin/garden/visitor/", {"action": "delete_selected", "_selected_action": [gone.pk]})
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "2 event(s) and 1 served garden(s)" in page  # the confirmation says what really goes

    done = staff.post("/admin/garden/visitor/", {"action": "delete_selected", "_selected_action": [gone.pk], "post": "yes"})
    assert done.status_code == 302

    assert not Visitor.objects.filter(pk=gone.pk).exists()
    assert not Interaction.objects.filter(visitor_id=gone.pk).exists()
    assert not Recommendation.objects.filter(visitor_id=gone.pk).exists()
    assert Interaction.objects.filter(visitor_id=stays.pk).count() == 2
    assert Recommendation.objects.filter(visitor_id=stays.pk).count() == 1


def test_deleting_one_visitor_from_its_page_deletes_its_events_too(staff, two_visits):
    gone, _ = two_visits
    response = staff.post(f"/admin/garden/visitor/{gone.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Interaction.objects.filter(visitor_id=gone.pk).exists()
    assert not Recommendation.objects.filter(visitor_id=gone.pk).exists()


def test_the_search_box_finds_a_visitor_by_the_code_the_kiosk_showed(staff, two_visits):
    gone, stays = two_visits
    typed = visitor_code(gone.pk).lower().replace("-", " ")  # as a person might type it
    page = staff.get("/admin/garden/visitor/", {"q": typed}).content.decode()
    assert gone.pk in page
    assert stays.pk not in page
