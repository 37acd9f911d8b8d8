import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from curation import services

PASSWORD = "curate-me-1234"


@pytest.fixture
def curator(db):
    user = get_user_model().objects.create_user(username="curator", password=PASSWORD)
    services.make_curator(user=user)
    return user


@pytest.fixture
def plain_staff(db):
    return get_user_model().objects.create_user(username="staff", password=PASSWORD, is_staff=True)


@pytest.fixture
def kiosk_user(db):
    """A kiosk's API account: authenticated, not staff."""
    return get_user_model().objects.create_user(username="kiosk", password=PASSWORD)


@pytest.fixture
def curator_client(curator):
    client = Client()
    client.force_login(curator)
    return client


@pytest.fixture
def pool_images(db):
    from garden.models import Image
    from tests.factories import ImageFactory

    return [ImageFactory(status=Image.Status.POOL, emotion="calm", seed=1000 + i, prompt=f"calm garden {i}") for i in range(4)]
