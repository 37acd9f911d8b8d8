import pytest

from config.lazy import Lazy
from recommend import store


@pytest.fixture(autouse=True)
def _fresh_model(settings):
    """Each test starts with no loaded model and the local ranker."""
    settings.RECOMMEND_BACKEND = "local"
    store.forget_loaded_model()
    Lazy.reset_all()
    yield
    store.forget_loaded_model()
    Lazy.reset_all()
