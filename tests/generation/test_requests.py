"""JobRequest: every default, bound and message of a job's parameters, in one place."""

import pytest

from generation.requests import DEFAULT_OTHERS, JobParameterError, JobRequest

# Validation reads the curators' blocked terms and allowed exceptions (safety.prompts).
pytestmark = pytest.mark.django_db


def test_defaults_are_filled_in(settings):
    settings.GARDEN_DEFAULT_STEPS, settings.GARDEN_DEFAULT_GUIDANCE, settings.GARDEN_GENERATOR_BACKEND = 20, 6.5, "procedural"
    valid = JobRequest(emotion="calm/spring,cloudy,day").validate()
    assert (valid.kind, valid.emotion, valid.favorite, valid.width, valid.height) == ("images", "calm", "spring,cloudy,day", 768, 512)
    assert (valid.steps, valid.guidance, valid.backend, valid.count, valid.others) == (20, 6.5, "procedural", 1, DEFAULT_OTHERS)
    assert valid.prompt == f"calm, spring,cloudy,day, {DEFAULT_OTHERS}"
    assert 0 <= valid.seed < 2**32


def test_bulk_defaults_to_the_original_landscape_and_a_prompt_goes_to_the_text2image_folder(settings):
    settings.GARDEN_TEXT2IMAGE_EMOTION = "sad"
    bulk = JobRequest(kind="bulk", emotion="happy").validate()
    assert (bulk.width, bulk.height) == (1280, 800)
    text = JobRequest(prompt="  a glass garden  ", others="").validate()
    assert (text.prompt, text.emotion, text.others) == ("a glass garden", "sad", "")


def test_an_explicit_favorite_wins_over_the_search_keys():
    assert JobRequest(emotion="calm/spring,cloudy,day", favorite="winter,snowy,sunset").validate().favorite == "winter,snowy,sunset"


def test_every_bad_field_is_named_at_once(settings):
    settings.GARDEN_MAX_STEPS, settings.GARDEN_MAX_COUNT = 50, 10
    request = JobRequest(emotion="calm", width=100, height=4096, steps=51, count=0, guidance=31, seed=-1, backend="dalle")
    with pytest.raises(JobParameterError) as caught:
        request.validate()
    assert set(caught.value.fields) == {"width", "height", "steps", "count", "guidance", "seed", "backend"}
    assert "(the most this site allows)" in caught.value.fields["steps"] and "multiple of 8" in caught.value.fields["width"]
    assert "GARDEN_" not in str(caught.value.fields)  # an operator's words, not the settings' names
    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (JobRequest(), "emotion"),
        (JobRequest(emotion="grumpy"), "emotion"),
        (JobRequest(emotion="calm", favorite="Not OK!"), "favorite"),
        (JobRequest(kind="video", emotion="calm"), "kind"),
        (JobRequest(prompt="x" * 2001), "prompt"),
        (JobRequest(emotion="calm", width=True), "width"),  # a boolean is not a size
        (JobRequest(emotion="calm", count=2.5), "count"),  # type: ignore[arg-type]
        (JobRequest(kind="bulk", emotion="calm", width=1536, height=1600), "height"),
    ],
)
def test_refusals_name_their_field(request_, field):
    with pytest.raises(JobParameterError) as caught:
        request_.validate()
    assert field in caught.value.fields


def test_a_bulk_portrait_must_fit_too(settings):
    settings.GARDEN_MAX_WIDTH, settings.GARDEN_MAX_HEIGHT = 1536, 1024
    with pytest.raises(JobParameterError, match="portrait"):
        JobRequest(kind="bulk", emotion="calm", width=1280, height=800).validate()
    assert JobRequest(kind="images", emotion="calm", width=1280, height=800).validate().width == 1280
