"""The serving cache (recommend.serving): what /garden keeps, under which version, and how caches.reset_all() empties it."""

import pytest
from django.test import RequestFactory

from config import caches
from config.memo import VersionedMemo
from garden import selectors as garden_selectors
from garden import services as garden_services
from garden.models import Image
from recommend import serving, tokens
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_cache(settings, tmp_path):
    """A cache every process would share, so counters are kept under tokens (as on Redis)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}}


def test_a_value_derived_from_an_older_version_does_not_empty_the_newer():
    memo = VersionedMemo(max_entries=10)
    memo.put("v2", "candidates", "new")
    memo.put_if_current("v1", "counts", "old")  # a request that read v1 before the change
    assert memo.get("v2", "candidates") == "new" and memo.get("v1", "counts") is None
    memo.put_if_current("v2", "counts", "fresh")
    assert memo.get("v2", "counts") == "fresh"


def test_the_memo_drops_its_oldest_entry_when_full():
    memo = VersionedMemo(max_entries=2)
    for key in ("a", "b", "c"):
        memo.put("v", key, key)
    assert [memo.get("v", key) for key in ("a", "b", "c")] == [None, "b", "c"]
    memo.put("v", "c", "again")  # replacing a kept key drops nothing
    assert memo.get("v", "b") == "b"


def test_everything_kept_goes_with_a_new_serving_version_and_with_reset(shared_cache):
    ImageFactory(emotion="calm")
    pool = ImageFactory(emotion="calm", status=Image.Status.POOL)
    http = RequestFactory().post("/garden")
    candidates = serving.cache.candidates(search_key="calm", request=http)
    token = tokens.current("calm")  # "" until a first event
    model = serving.cache.model()
    order = serving.cache.base_order(candidates=candidates, segment="", model=model, token=token)
    assert serving.cache.base_order(candidates=candidates, segment="", model=model, token=token) is order
    assert serving.cache.candidates(search_key="calm", request=http) is candidates and serving.cache.model() is model

    garden_services.promote_image(image=pool)  # a new serving version
    renewed = serving.cache.candidates(search_key="calm", request=http)
    assert renewed is not candidates and len(renewed) == 2
    assert serving.cache.kept_order(renewed, "") is None

    serving.cache.base_order(candidates=renewed, segment="", model=model, token=token)
    garden_selectors.rendered_garden(search_key="calm", request=http)
    caches.reset_all(rows_only=True)
    assert serving.cache.kept_order(renewed, "") is None
    assert serving.cache.candidates(search_key="calm", request=http) is not renewed
    assert serving.cache.model() is not model


def test_counts_and_orders_are_kept_under_their_token():
    ImageFactory(emotion="calm")
    http = RequestFactory().post("/garden")
    candidates = serving.cache.candidates(search_key="calm", request=http)
    model = serving.cache.model()
    first = serving.cache.counts(candidates=candidates, segment="", token="a")
    assert serving.cache.counts(candidates=candidates, segment="", token="a") is first
    assert serving.cache.counts(candidates=candidates, segment="", token="b") is not first
    order = serving.cache.base_order(candidates=candidates, segment="", model=model, token="b")
    assert serving.cache.base_order(candidates=candidates, segment="", model=model, token="b") is order
    assert serving.cache.base_order(candidates=candidates, segment="", model=model, token="c") is not order
