"""Clients for the display-zone tests: anonymous, non-staff, token, staff."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def staff_client(django_user_model):
    client = APIClient()
    user = django_user_model.objects.create_user("operator", password="pw-operator-1", is_staff=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def token_client(django_user_model):
    client = APIClient()
    user = django_user_model.objects.create_user("screen-script")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    client.user = user
    return client
