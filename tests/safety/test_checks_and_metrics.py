"""check --deploy warns when pictures would go unchecked; /metrics counts verdicts per checker."""

import pytest
from django.core.checks import run_checks
from PIL import Image as PILImage
from prometheus_client import REGISTRY

from config.metrics import exposition
from safety import images


def safety_warnings() -> list[str]:
    return [message.id for message in run_checks(include_deployment_checks=True, tags=["safety"])]


def test_no_warning_when_the_check_is_on_and_loads(settings):
    settings.GARDEN_SAFETY_IMAGE_CHECK = True
    assert safety_warnings() == []


def test_a_warning_when_the_check_is_off(settings):
    settings.GARDEN_SAFETY_IMAGE_CHECK = False
    assert safety_warnings() == ["safety.W001"]


def test_a_warning_when_the_classifier_cannot_load(settings, monkeypatch):
    def broken():
        raise ImportError("No module named 'onnxruntime'")

    monkeypatch.setattr(images, "classifier", broken)
    (message,) = run_checks(include_deployment_checks=True, tags=["safety"])
    assert message.id == "safety.W002" and "onnxruntime" in message.msg


def test_the_warnings_are_deploy_checks_only(settings):
    settings.GARDEN_SAFETY_IMAGE_CHECK = False
    assert not [m for m in run_checks(include_deployment_checks=False) if m.id.startswith("safety.")]


def count(verdict: str, checker: str) -> float:
    return REGISTRY.get_sample_value("garden_safety_verdicts_total", {"verdict": verdict, "checker": checker}) or 0.0


@pytest.mark.django_db
@pytest.mark.parametrize(("threshold", "verdict"), [(0.0, "flagged"), (1.01, "passed")])
def test_verdicts_are_counted_per_checker(settings, threshold, verdict):
    settings.GARDEN_SAFETY_THRESHOLD = threshold
    picture = PILImage.new("RGB", (64, 64), (30, 120, 60))
    checker = images.checker_name()
    before, before_both = count(verdict, checker), count(verdict, f"{checker} + {images.DIFFUSERS_CHECKER}")
    assert images.check_picture(picture).verdict == verdict
    assert images.check_picture(picture, diffusers_nsfw=False).verdict == verdict
    assert count(verdict, checker) == before + 1
    assert count(verdict, f"{checker} + {images.DIFFUSERS_CHECKER}") == before_both + 1
    assert f'garden_safety_verdicts_total{{checker="{checker}",verdict="{verdict}"}}' in exposition().decode()


def test_an_unchecked_picture_is_counted_under_none(settings):
    settings.GARDEN_SAFETY_IMAGE_CHECK = False
    before = count("unchecked", "none")
    images.check_picture(PILImage.new("RGB", (8, 8)))
    assert count("unchecked", "none") == before + 1
