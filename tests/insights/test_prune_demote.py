"""The prune list's Demote: a link to curation's confirmation page, which demotes through
curation.services.demote (admin log included) and comes back with a message."""

from __future__ import annotations

import re
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
    """Two serving happy images shown often enough to tell apart (good liked 6 times of 6, weak 0 of
    12; the garden 6 of 18), so one is surely liked and the other a prune candidate."""
    good, weak = ImageFactory(emotion="happy"), ImageFactory(emotion="happy")
    visitor = VisitorFactory()
    for _ in range(6):
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


def row_ids(html: str, which: str) -> list[int]:
    section = html.split(f'id="prune-{which}"', 1)[1].split("</section>", 1)[0]
    return [int(found) for found in re.findall(r'<tr data-image="(\d+)">', section)]


def test_the_prune_list_needs_evidence(analyst_client):
    """Issue 63: with little data, a picture with no like was listed among "the most liked" and one
    liked 4 times out of 4 among the prune candidates, with a Demote button. A picture is listed only
    once its 95% interval clears the garden's like-rate (here 4 of 7), on one side or the other."""
    lucky, unseen, plain = ImageFactory(emotion="happy"), ImageFactory(emotion="happy"), ImageFactory(emotion="happy")
    visitor = VisitorFactory()
    for _ in range(4):
        Interaction.objects.create(visitor=visitor, event_type="click", image=lucky, item_key=lucky.key, impression=[lucky.key])
    Interaction.objects.create(visitor=visitor, event_type="impression", impression=[unseen.key, plain.key])
    Interaction.objects.create(visitor=visitor, event_type="impression", impression=[plain.key])
    services.refresh_rollups()
    html = analyst_client.get(PAGE).content.decode()
    assert row_ids(html, "best") == [] and row_ids(html, "worst") == []
    assert "All serving images shown so far were liked 57.1% of the time." in html
    assert "Not enough evidence yet: no serving image is surely less liked than the others." in html
    assert "Not enough evidence yet: no serving image is surely more liked than the others." in html
    # More evidence: the lucky picture goes on being liked, the others go on being passed over.
    for _ in range(8):
        Interaction.objects.create(visitor=visitor, event_type="click", image=lucky, item_key=lucky.key, impression=[lucky.key])
        Interaction.objects.create(visitor=visitor, event_type="impression", impression=[unseen.key])
    services.refresh_rollups()
    html = analyst_client.get(PAGE).content.decode()
    assert row_ids(html, "best") == [lucky.pk] and row_ids(html, "worst") == [unseen.pk]  # plain: 0 of 2 proves nothing
    # In Korean too.
    korean = analyst_client.get(PAGE, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "지금까지 표시된 서비스 이미지의 좋아요 비율은 52.2%입니다." in korean


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
