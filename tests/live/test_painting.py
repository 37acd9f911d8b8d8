"""A live job painted for real in this process (eager Celery): the procedural painter on the embedded
default, the library's live model (the tiny pipeline) with img2img `from`; the picture in the pool
marked live and checked, liked through /like, shared through the share page."""

import pytest

from garden.models import Image
from generation.models import GenerationJob
from generation.requests import DEFAULT_OTHERS
from library.models import LibraryEntry
from library.services import entries as library_services
from recommend.models import Interaction
from tests.factories import ImageFactory, jpeg_bytes
from tests.live.conftest import ask

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("live_settings")]


def paint(client, capture, body) -> dict:
    with capture(execute=True):
        response = ask(client, body)
    assert response.status_code == 202, response.content
    return client.get(response["Location"]).json()


def test_the_procedural_painter_paints_a_live_picture_in_the_pool(api_client, eager_celery, django_capture_on_commit_callbacks):
    status = paint(api_client, django_capture_on_commit_callbacks, {"id": "visitor-7", "emotion": "calm/winter,snowy,day"})
    assert status["status"] == "succeeded" and status["progress"] == 1.0, status
    key = status["image"]["key"]
    assert key.startswith("imgPool/calm/winter,snowy,day/img_") and status["image"]["url"].endswith(key)
    image = Image.objects.get(key=key)
    assert (image.live, image.status, image.safety_verdict) == (True, Image.Status.POOL, Image.Safety.PASSED)
    assert (image.width, image.height, image.generator) == (64, 64, "procedural")

    # A like of it is an ordinary /like, stored against the live picture.
    like = api_client.post("/like", {"id": "visitor-7", "itemId": key, "impression": [key]}, format="json")
    assert like.status_code == 200, like.content
    assert Interaction.objects.get(image=image, event_type=Interaction.Event.CLICK).visitor_id == "visitor-7"

    # The share page and its QR take the passed live picture home.
    page = api_client.get("/image", {"content": key})
    assert page.status_code == 200 and key.encode() in page.content
    assert api_client.get("/image/qr", {"content": key}).status_code == 200


def test_a_live_picture_not_passed_is_not_shared(api_client):
    flagged = ImageFactory(status=Image.Status.POOL, live=True, safety_verdict=Image.Safety.FLAGGED)
    unchecked = ImageFactory(status=Image.Status.POOL, live=True, safety_verdict=Image.Safety.UNCHECKED)
    pool = ImageFactory(status=Image.Status.POOL, safety_verdict=Image.Safety.PASSED)  # not live: pool pictures stay private
    for image in (flagged, unchecked, pool):
        assert api_client.get("/image", {"content": image.key}).status_code == 404
        assert api_client.get("/image/qr", {"content": image.key}).status_code == 404
    Image.objects.filter(pk=flagged.pk).update(safety_released=True)
    assert api_client.get("/image", {"content": flagged.key}).status_code == 200


def test_the_prompt_comes_from_the_template_and_word_bank_not_the_visitor(api_client, no_enqueue, live_worker):
    from gardener.models import WordBank

    WordBank.objects.create(emotion="calm", favorite="", words="misty lake, paper lanterns")
    body = {"id": "v", "emotion": "calm/spring,sunny,day", "prompt": "ignore this", "others": "nor this"}
    job = GenerationJob.objects.get(pk=ask(api_client, body).json()["job"])
    assert job.prompt.startswith("calm, spring,sunny,day, ")
    assert "misty lake" in job.prompt or "paper lanterns" in job.prompt
    assert "ignore" not in job.prompt and "nor this" not in job.prompt


def test_the_composed_prompt_fits_one_clip_window_rather_than_being_cut():
    """Korean bank words of 60 characters are about 90 CLIP tokens each: the template with one would
    be cut at 77 by a CLIP encoder that reads one window. Such words are left out; a short one fits."""
    from gardener.models import WordBank
    from generation import clip_tokens
    from live.services import live_prompt

    long_words = [
        "벚꽃이 흩날리는 오래된 돌담길을 따라 천천히 걷는 저녁 무렵의 따뜻한 햇살과 고요한 연못",
        "밤하늘 아래 반짝이는 반딧불이와 이슬 맺힌 풀잎 사이로 흐르는 작은 시냇물 소리와 달빛",
    ]
    assert all(clip_tokens.count(word) > clip_tokens.WINDOW_TOKENS - 30 for word in long_words)
    WordBank.objects.create(emotion="calm", favorite="", words=", ".join(long_words))
    prompts = {live_prompt(emotion="calm", favorite="spring,sunny,day", seed=seed) for seed in range(20)}
    assert prompts == {"calm, spring,sunny,day, " + DEFAULT_OTHERS}  # no bank word fits: the template alone
    WordBank.objects.filter(emotion="calm").update(words=", ".join([*long_words, "misty lake"]))
    prompts = {live_prompt(emotion="calm", favorite="spring,sunny,day", seed=seed) for seed in range(20)}
    assert all(clip_tokens.count(prompt) <= clip_tokens.WINDOW_TOKENS for prompt in prompts)
    assert any("misty lake" in prompt for prompt in prompts)
    # A template longer than a window on its own loses its last style words, never the key's words.
    favorite = ",".join(["the-middle-of-the-night"] * 6)
    long_key = live_prompt(emotion="calm", favorite=favorite, seed=1)
    assert clip_tokens.count(f"calm, {favorite}, {DEFAULT_OTHERS}") > clip_tokens.WINDOW_TOKENS
    assert clip_tokens.count(long_key) <= clip_tokens.WINDOW_TOKENS and long_key.startswith(f"calm, {favorite}, flowers, fantasy")


def test_from_on_the_procedural_painter_is_recorded_and_painted_afresh(api_client, no_enqueue, live_worker):
    liked = ImageFactory(emotion="calm")
    job = GenerationJob.objects.get(pk=ask(api_client, {"id": "v", "emotion": "calm", "from": liked.key}).json()["job"])
    assert job.live_request.from_key == liked.key and "init_image" not in job.options


@pytest.fixture
def live_model(diffusers_settings, tiny_model_dir, live_settings):
    """The tiny pipeline as a library of one, marked live with turbo-like defaults."""
    diffusers_settings.GARDEN_MODELS_DIR = str(tiny_model_dir)
    library_services.scan()
    entry = LibraryEntry.objects.get(kind="pipeline")
    library_services.set_live(entry.name)
    LibraryEntry.objects.filter(pk=entry.pk).update(default_steps=2, default_guidance=0.0)
    return LibraryEntry.objects.get(pk=entry.pk)


def test_the_live_model_paints_with_its_defaults_and_from_is_img2img(
    api_client, live_model, eager_celery, django_capture_on_commit_callbacks
):
    content = jpeg_bytes(64, 64, color=(200, 60, 60))
    liked = ImageFactory(emotion="happy", width=64, height=64)
    from django.core.files.storage import default_storage

    default_storage.delete(liked.key)
    default_storage.save(liked.key, __import__("io").BytesIO(content))
    status = paint(api_client, django_capture_on_commit_callbacks, {"id": "v", "emotion": "happy", "from": liked.key})
    job = GenerationJob.objects.get(pk=status["job"])
    assert job.status == "succeeded", job.error
    assert (job.backend, job.model, job.guidance, job.queue) == ("diffusers", live_model.name, 0.0, "live")
    # 2 steps at GARDEN_LIVE_STRENGTH 0.35 would run none: raised to the fewest that run one.
    assert job.options["init_image"] == liked.pk and job.options["denoising_strength"] == 0.35 and job.steps == 3
    image = job.images.get()
    assert image.live and image.parameters["init_image"] == liked.pk
    assert status["withheld"] is (not image.cleared)


def test_without_from_the_live_model_takes_its_steps(api_client, live_model, no_enqueue, live_worker):
    job = GenerationJob.objects.get(pk=ask(api_client, {"id": "v", "emotion": "sad"}).json()["job"])
    assert (job.steps, job.guidance, job.model) == (2, 0.0, live_model.name) and "init_image" not in job.options
