import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from curation import services


@pytest.fixture
def curator(db):
    user = get_user_model().objects.create_user(username="curator", password="curate-me-1234")
    services.make_curator(user=user)
    return user


@pytest.fixture
def curator_client(curator):
    client = Client()
    client.force_login(curator)
    return client
