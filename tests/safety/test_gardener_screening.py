"""The gardener and prompt screening: the word bank refuses unsafe words, naming the category; a bred
job whose prompt is refused is skipped and logged, and the run goes on."""

import pytest
from django.core.exceptions import ValidationError

from gardener import services
from gardener.models import EmotionPolicy, GardenerAction, WordBank
from gardener.selectors import global_policy
from generation.models import GenerationJob
from generation.requests import JobRequest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("word", "category"),
    [("fuck", "profanity"), ("씨발", "profanity"), ("おっぱい", "nudity and sexual content"), ("gore", "gore and violence")],
)
def test_the_word_bank_refuses_an_unsafe_word_and_names_its_category(word, category):
    bank = WordBank(words=f"sunlit meadow, {word}")
    with pytest.raises(ValidationError) as refused:
        bank.full_clean()
    message = " ".join(refused.value.message_dict["words"])
    assert repr(word) in message and f"is refused: {category}" in message


def test_the_word_bank_accepts_a_garden_phrase():
    WordBank(words="bare trees, misty hills").full_clean()


def test_a_refused_bred_job_is_logged_and_the_run_goes_on(monkeypatch, no_enqueue, django_capture_on_commit_callbacks):
    policy = global_policy()
    policy.enabled, policy.daily_image_budget, policy.images_per_job = False, 4, 1
    policy.save()
    EmotionPolicy.objects.create(emotion="calm", enabled=True, target_per_key=1, minimum_per_key=1)
    monkeypatch.setattr("gardener.selectors.kiosk_keys", lambda: [("calm", "")])
    bad = JobRequest(kind=GenerationJob.Kind.BULK, emotion="calm", favorite="", count=1, prompt="a calm pond, fuck")
    monkeypatch.setattr(services, "bred_requests", lambda key_plan, rng: [(bad, {"parents": [1]})])

    with django_capture_on_commit_callbacks(execute=True):
        result = services.tend()

    refused = GardenerAction.objects.get(kind=GardenerAction.Kind.REFUSED)
    assert "is refused: profanity" in refused.reason and refused.search_key == "calm" and "prompt" in refused.details["fields"]
    assert result.actions[GardenerAction.Kind.PLANNED] == 1  # the key's fresh job still started
    assert GardenerAction.Kind.BRED not in result.actions and GenerationJob.objects.count() == 1
