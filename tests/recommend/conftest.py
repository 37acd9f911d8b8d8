import pytest

from config.lazy import Lazy
from recommend import serving


@pytest.fixture(autouse=True)
def _fresh_model(settings):
    """Each test starts with no loaded model and the local ranker."""
    settings.RECOMMEND_BACKEND = "local"
    serving.reset()
    Lazy.reset_all()
    yield
    serving.reset()
    Lazy.reset_all()
