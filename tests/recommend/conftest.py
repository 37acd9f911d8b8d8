import pytest

from recommend import rankers, store


@pytest.fixture(autouse=True)
def _fresh_model(settings):
    """Each test starts with no loaded model and the local ranker."""
    settings.RECOMMEND_BACKEND = "local"
    store.forget_loaded_model()
    rankers._configured.cache_clear()
    yield
    store.forget_loaded_model()
    rankers._configured.cache_clear()
