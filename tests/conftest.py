"""Shared fixtures: every test gets its own media folder; factories live in tests/factories.py."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def media_dir(settings, tmp_path):
    """A fresh local file store per test (the embedded default storage, in a temp folder)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root), "base_url": "/media/"}},
    }
    settings.GARDEN_PUBLIC_BASE_URL = ""
    return root


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached model versions must not leak between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()
