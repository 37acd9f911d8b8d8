"""Fixtures for the accessibility tests: the kiosk folder's fake camera, pages opened in a chosen
language (Accept-Language), and a logged-in staff page for the staff screens."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

# The kiosk tests' Chromium with its fake camera filming a face, and their settled page.
from tests.kiosk.conftest import KIOSK, browser_launch_args, face_video, page  # noqa: F401

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


@pytest.fixture(params=LANGUAGE_CODES)
def language(request) -> str:
    return request.param


@pytest.fixture
def browser_context_args(language) -> dict:
    """A kiosk-sized screen whose browser asks for ``language`` (Chromium sends it as Accept-Language)."""
    return {**KIOSK, "locale": language}


def log_in(screen, live_server, user) -> None:
    """Give the page a session of ``user`` (no login form to go through)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    screen.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


@pytest.fixture
def staff_user(django_user_model):
    """A superuser: every staff page (review, insights, the gardener's report) opens for them."""
    return django_user_model.objects.create_superuser("a11y-staff", "staff@example.org", "pw-a11y-staff-1")
