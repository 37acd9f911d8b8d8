"""New images go where kiosks look: a job's favorite is the kiosk's season,weather,time or none.

JobRequest decides (generation.requests), so the job API, /text2image, the `generate` command and
the admin form (tests/curation/test_generation_admin.py) all refuse a favorite kiosks never send,
naming the allowed values. Search keys elsewhere (/garden, import, retouching an old image) still
take older words such as `cat`.
"""

import json

import pytest
from django.core.management import CommandError, call_command

from garden import keys
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest

pytestmark = pytest.mark.django_db

ALLOWED = ("spring, summer, autumn, winter", "sunny, cloudy, rainy, snowy", "day, sunset, the-early-dawn, the-middle-of-the-night")


def test_a_favorite_kiosks_never_send_is_refused_naming_the_allowed_values():
    # What the issue saw: the bulk form took "autumn,rainy,night"; kiosks send the-middle-of-the-night.
    for request, field in (
        (JobRequest(kind="bulk", emotion="calm", favorite="autumn,rainy,night"), "favorite"),
        (JobRequest(emotion="calm/autumn,rainy,night"), "emotion"),
        (JobRequest(emotion="calm", favorite="cat"), "favorite"),
        (JobRequest(emotion="calm", favorite="spring,cloudy"), "favorite"),  # all three or none
        (JobRequest(emotion="calm", favorite="cloudy,spring,day"), "favorite"),  # in the kiosk's order
    ):
        with pytest.raises(JobParameterError) as caught:
            request.validate()
        message = caught.value.fields[field]
        assert message.startswith("Unknown favorite") and all(words in message for words in ALLOWED), message


def test_kiosk_favorites_are_accepted_and_normalised():
    valid = JobRequest(kind="bulk", emotion="sad", favorite=" Autumn, Rainy , the-middle-of-the-night ").validate()
    assert valid.favorite == "autumn,rainy,the-middle-of-the-night"
    assert valid.prompt.startswith("sad, autumn,rainy,the-middle-of-the-night, flowers")
    assert JobRequest(emotion="happy/Spring, Cloudy, Day").validate().favorite == "spring,cloudy,day"
    assert JobRequest(emotion="happy").validate().favorite == ""  # none: "Any"


def test_every_kiosk_favorite_is_accepted():
    seasons, weathers, times = (words for _part, words in keys.FAVORITE_PARTS)
    for favorite in (f"{s},{w},{t}" for s in seasons for w in weathers for t in times):
        assert JobRequest(emotion="calm", favorite=favorite).validate().favorite == favorite


def test_an_operator_may_allow_their_old_kiosks_words(settings):
    settings.GARDEN_EXTRA_FAVORITES = ["cat", "sea"]
    assert JobRequest(emotion="calm/cat").validate().favorite == "cat"
    assert JobRequest(emotion="calm", favorite="Sea").validate().favorite == "sea"
    with pytest.raises(JobParameterError, match="Also allowed on this site: cat, sea"):
        JobRequest(emotion="calm", favorite="dog").validate()


def test_search_keys_elsewhere_still_take_older_words():
    assert keys.parse_search_key("calm/cat") == ("calm", "cat")  # /garden, /gardenfromDB, import


# --- the API and the command refuse with the allowed values, and store real rows -----------------


def test_the_job_api_refuses_an_unknown_favorite_with_a_400(token_client, no_enqueue):
    for body, field in (
        ({"emotion": "calm", "kind": "bulk", "favorite": "autumn,rainy,night"}, "favorite"),
        ({"emotion": "calm/autumn,rainy,night"}, "emotion"),
    ):
        response = token_client.post("/api/v1/jobs", body, format="json")
        assert response.status_code == 400, response.content
        assert "the-middle-of-the-night" in response.json()[field][0]
    assert not GenerationJob.objects.exists()
    response = token_client.post(
        "/api/v1/jobs", {"emotion": "calm", "kind": "bulk", "favorite": "autumn,rainy,the-middle-of-the-night"}, format="json"
    )
    assert response.status_code == 202
    job = GenerationJob.objects.get()
    assert (job.emotion, job.favorite, str(job.pk)) == ("calm", "autumn,rainy,the-middle-of-the-night", response.json()["id"])


def test_text2image_keeps_the_legacy_body_and_refuses_unknown_favorites(token_client, no_enqueue, settings):
    settings.GARDEN_TEXT2IMAGE_WAIT_SECONDS = 0
    legacy = token_client.post("/text2image", {"text": "a garden of glass", "width": 768, "height": 512}, format="json")
    assert legacy.status_code == 202, legacy.content  # the old body: no favorite anywhere, unchanged
    response = token_client.post("/text2image", {"text": "a garden", "emotion": "calm/autumn,rainy,night"}, format="json")
    assert response.status_code == 400 and "Unknown favorite" in json.dumps(response.json())
    assert GenerationJob.objects.count() == 1


def test_generate_refuses_an_unknown_favorite_and_stores_a_kiosk_one(no_enqueue):
    with pytest.raises(CommandError, match="the-middle-of-the-night"):
        call_command("generate", "--no-wait", "--bulk", "--emotion", "calm", "--favorite", "autumn,rainy,night", verbosity=0)
    assert not GenerationJob.objects.exists()
    call_command("generate", "--no-wait", "--bulk", "--emotion", "calm/winter,snowy,the-early-dawn", verbosity=0)
    assert list(GenerationJob.objects.values_list("emotion", "favorite", "kind")) == [("calm", "winter,snowy,the-early-dawn", "bulk")]


def test_the_schema_states_the_kiosk_favorites():
    import re

    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    job = next(body for name, body in schema.items() if name.startswith("JobCreate"))
    favorite = job["properties"]["favorite"]
    pattern = favorite.get("pattern") or next(choice["pattern"] for choice in favorite["oneOf"] if "pattern" in choice)
    assert re.match(pattern, "spring,cloudy,the-middle-of-the-night") and not re.match(pattern, "autumn,rainy,night")
    emotion = job["properties"]["emotion"]
    pattern = emotion.get("pattern") or next(choice["pattern"] for choice in emotion["oneOf"] if "pattern" in choice)
    assert re.match(pattern, "calm/spring,cloudy,day") and not re.match(pattern, "calm/cat")
