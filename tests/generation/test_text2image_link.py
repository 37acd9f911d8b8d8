"""GET /text2image?prompt=…: the old API server's link opens a page for staff and token holders;
POST /text2image stays the legacy API, unchanged."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from generation.models import GenerationJob
from generation.worker import runner

pytestmark = pytest.mark.django_db

LINK = "/text2image?prompt=a+garden+of+blue+roses"


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("curator", password="pw-curator-1", is_staff=True)
    client.force_login(user)
    client.user = user
    return client


def test_anonymous_browsers_go_to_the_admin_login(client, no_enqueue):
    response = client.get(LINK)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert "next=/text2image%3Fprompt%3Da%2Bgarden%2Bof%2Bblue%2Broses" in response["Location"]
    assert not GenerationJob.objects.exists()


def test_a_logged_in_non_staff_browser_gets_403_not_401_or_405(client, django_user_model, no_enqueue):
    client.force_login(django_user_model.objects.create_user("visitor"))
    response = client.get(LINK)
    assert response.status_code == 403
    assert not GenerationJob.objects.exists()


def test_staff_following_an_old_link_get_a_page_with_the_job(staff, no_enqueue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.get(LINK)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    job = GenerationJob.objects.get()
    assert (job.prompt, job.width, job.height, job.count, job.created_by) == ("a garden of blue roses", 768, 512, 1, staff.user)
    assert no_enqueue == [(str(job.pk), job.queue)]
    page = response.content.decode()
    assert f'data-job-url="http://testserver/api/v1/jobs/{job.pk}"' in page
    assert '<script id="job-data" type="application/json">' in page
    assert "generation/text2image_job.js" in page
    assert 'data-state="busy"' in page and "Queued" in page
    assert "<q>a garden of blue roses</q>" in page
    assert "onclick" not in page
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_reopening_the_link_shows_the_same_job(staff, no_enqueue):
    staff.get(LINK)
    staff.get(LINK)
    assert GenerationJob.objects.count() == 1
    staff.get("/text2image?prompt=another+garden&width=1024&height=600")
    assert GenerationJob.objects.count() == 2
    assert GenerationJob.objects.filter(width=1024, height=600, prompt="another garden").exists()
    # A failed job is not shown again: the link paints anew.
    GenerationJob.objects.filter(prompt="a garden of blue roses").update(status=GenerationJob.Status.FAILED)
    staff.get(LINK)
    assert GenerationJob.objects.filter(prompt="a garden of blue roses").count() == 2


def test_a_finished_job_shows_its_image(staff, no_enqueue, settings):
    settings.GARDEN_GENERATOR_BACKEND = "procedural"
    staff.get(LINK)
    job = GenerationJob.objects.get()
    runner.execute_job(job_id=job.pk, worker="test")
    page = staff.get(LINK).content.decode()
    image = job.images.get()
    assert 'data-state="done"' in page
    assert f'<img src="http://testserver/media/{image.key}"' in page
    assert 'value="100"' in page


@pytest.mark.parametrize(
    ("query", "named"),
    [("&width=770", "width must be a multiple of 8"), ("&height=big", "height must be a multiple of 8"), ("&width=99999", "width")],
)
def test_bad_sizes_are_a_400_page_naming_them(staff, no_enqueue, query, named):
    response = staff.get(LINK + query)
    assert response.status_code == 400
    assert named in response.content.decode()
    assert not GenerationJob.objects.exists()


def test_a_link_without_a_prompt_opens_the_prompt_page(staff):
    response = staff.get("/text2image")
    assert response.status_code == 302
    assert response["Location"] == "/kiosk/text2image/"


def test_token_holders_get_the_page_too(django_user_model, no_enqueue):
    user = django_user_model.objects.create_user("script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = client.get(LINK)
    assert response.status_code == 200
    assert GenerationJob.objects.get().created_by == user
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.get(LINK)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_post_keeps_the_legacy_api(api_client, django_user_model, no_enqueue):
    assert api_client.post("/text2image", {"text": "x"}, format="json").status_code == 401
    staff = django_user_model.objects.create_user("op", is_staff=True)
    api_client.force_authenticate(staff)
    response = api_client.put("/text2image", {"text": "x"}, format="json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert set(paths["/text2image"]) == {"get", "post"}
    assert set(paths["/text2image"]["get"]["responses"]["200"]["content"]) == {"text/html"}


def test_a_link_without_a_prompt_still_has_its_sizes_checked(staff):
    response = staff.get("/text2image?width=418")
    assert response.status_code == 400
    assert "width must be a multiple of 8" in response.content.decode()
    # "²" passes str.isdigit() but not int(): a size the page names, not a 500.
    response = staff.get("/text2image?prompt=roses&width=%C2%B2")
    assert response.status_code == 400
    assert "width must be a multiple of 8" in response.content.decode()


def test_the_retouch_page_ignores_an_image_id_that_is_not_a_number(staff):
    response = staff.get("/kiosk/retouch/?image=%C2%B2")
    assert response.status_code == 200
    assert '"image": null' in response.content.decode()


def test_a_wrong_link_is_a_400_before_the_login(client, no_enqueue):
    # The checks need no user; a valid link still sends anonymous browsers to the login.
    assert client.get(LINK + "&width=418").status_code == 400
    response = client.get(LINK)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not GenerationJob.objects.exists()


def test_a_session_post_still_needs_the_csrf_token(django_user_model, no_enqueue):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_user("op", password="pw-op-12345", is_staff=True))
    assert client.post("/text2image", {"text": "x"}, format="json").status_code == 403
    assert not GenerationJob.objects.exists()
