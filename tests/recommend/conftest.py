import pytest

from config import caches


@pytest.fixture(autouse=True)
def _fresh_model(settings):
    """Each test starts with no loaded model and the local ranker: every in-process cache emptied."""
    settings.RECOMMEND_BACKEND = "local"
    caches.reset_all()
    yield
    caches.reset_all()
