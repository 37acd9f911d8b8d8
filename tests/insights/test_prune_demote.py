"""The prune list's Demote: a link to curation's confirmation page, which demotes through
curation.services.demote (admin log included) and comes back with a message."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.test import Client

from curation import services as curation_services
from garden.models import Image
from insights import services
from recommend.models import Interaction
from tests.factories import ImageFactory, VisitorFactory
from tests.insights.conftest import PASSWORD

pytestmark = pytest.mark.django_db
PAGE = "/admin/insights/dashboard/"


@pytest.fixture
def shown():
    """Two serving happy images shown and liked, so both are in the prune list."""
    good, weak = ImageFactory(emotion="happy"), ImageFactory(emotion="happy")
    visitor = VisitorFactory()
    for _ in range(3):
        Interaction.objects.create(visitor=visitor, event_type="click", image=good, item_key=good.key, impression=[good.key, weak.key])
    Interaction.objects.create(visitor=visitor, event_type="impression", impression=[weak.key])
    services.refresh_rollups()
    return good, weak


@pytest.fixture
def curator_analyst():
    user = get_user_model().objects.create_user(username="cura", password=PASSWORD)
    curation_services.make_curator(user=user)
    services.make_analyst(user=user)
    client = Client()
    client.force_login(user)
    return user, client


def test_prune_list_shows_thumbnails_and_demote_only_to_curators(shown, curator_analyst, analyst_client):
    _good, weak = shown
    _user, client = curator_analyst
    html = client.get(PAGE).content.decode()
    assert 'id="prune-worst"' in html and 'id="prune-best"' in html
    assert f'<tr data-image="{weak.pk}">' in html and f"/admin/garden/image/{weak.pk}/thumbnail/" in html
    assert f"/curation/demote/{weak.pk}/?next=" in html
    # The key on two lines: the file name, then its folder.
    assert f'<span class="prune-file">{weak.key.rpartition("/")[2]}</span>' in html
    # An analyst sees the list and the pictures, not the action.
    analyst_html = analyst_client.get(PAGE).content.decode()
    assert f'<tr data-image="{weak.pk}">' in analyst_html and "/curation/demote/" not in analyst_html
    assert analyst_client.get(f"/curation/demote/{weak.pk}/").status_code == 403
    assert analyst_client.post(f"/curation/demote/{weak.pk}/").status_code == 403
    assert Image.objects.get(pk=weak.pk).status == Image.Status.SERVING


def test_demote_confirms_then_demotes_and_comes_back(shown, curator_analyst):
    _good, weak = shown
    user, client = curator_analyst
    back = PAGE + "?emotion=happy"
    page = client.get(f"/curation/demote/{weak.pk}/?next={quote(back)}")
    assert page.status_code == 200
    assert b"Yes, demote it" in page.content and weak.key.encode() in page.content
    assert Image.objects.get(pk=weak.pk).status == Image.Status.SERVING  # asking changes nothing

    response = client.post(f"/curation/demote/{weak.pk}/", {"next": back}, follow=True)
    assert response.redirect_chain[0] == (back, 302)
    image = Image.objects.get(pk=weak.pk)
    assert image.status == Image.Status.POOL and image.key.startswith("imgPool/")
    assert [str(m) for m in response.context["messages"]] == [
        f"Demoted to the pool: {image.key}. Kiosks no longer show it; promote it again from the image list."
    ]
    assert LogEntry.objects.filter(user=user, object_id=str(weak.pk), change_message="Demoted to the pool").exists()
    # Gone from the prune list (serving images only); again: nothing to demote.
    assert f'<tr data-image="{weak.pk}">' not in response.content.decode()
    again = client.post(f"/curation/demote/{weak.pk}/", {"next": back}, follow=True)
    assert [str(m) for m in again.context["messages"]] == [f"{image.key} is not serving (pool): nothing to demote."]


def test_demote_never_redirects_off_site(shown, curator_analyst):
    _good, weak = shown
    _user, client = curator_analyst
    response = client.post(f"/curation/demote/{weak.pk}/", {"next": "https://evil.example/x"})
    assert response.status_code == 302 and response["Location"] == f"/admin/garden/image/{weak.pk}/change/"
    assert Client().get(f"/curation/demote/{weak.pk}/").status_code == 302  # anonymous: the login page
    assert client.get("/curation/demote/999999/").status_code == 404
