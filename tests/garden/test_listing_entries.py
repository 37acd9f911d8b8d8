"""garden.selectors.listing_entries renders many answer entries from one probed URL base: every
entry must be byte for byte what listing_entry (the storage's own URL, DRF's JSON) renders."""

from __future__ import annotations

import re

import pytest
from django.core.files.storage import storages
from django.test import RequestFactory

from garden import selectors
from tests.garden.test_s3_storage import s3_endpoint, s3_storage  # noqa: F401  (fixtures)

KEYS = [
    ("emotions/calm/img_20230320-121242_0h.jpg", "calm"),
    ("emotions/calm/spring,cloudy,day/img_20261121-101500-a1b2c3_3v.jpg", "calm"),
    ("emotions/happy/rock 'n' roll/img_20230319-23756_12h.png", "happy"),
    ("emotions/sad/my-cat_2/img_20261121-101500_0v.jpeg", "sad"),
    ("imgPool/sad/img_20261121-101500_1h.jpg", "sad"),  # not public: the storage's own URL
]


def both(request, monkeypatch, *, slow_rows: int) -> tuple[list[bytes], list[bytes]]:
    """Both renderings; ``slow_rows``: how many rows listing_entries may take the storage's way."""
    calls = []
    plain = selectors.listing_entry
    monkeypatch.setattr(selectors, "listing_entry", lambda **kwargs: calls.append(kwargs["key"]) or plain(**kwargs))
    fast = selectors.listing_entries(KEYS, request=request)
    assert len(calls) == slow_rows, calls
    slow = [plain(key=key, emotion=emotion, request=request) for key, emotion in KEYS]
    return fast, slow


@pytest.fixture
def request_(settings):
    settings.ALLOWED_HOSTS = ["kiosk.example.org"]
    return RequestFactory().post("/garden", HTTP_HOST="kiosk.example.org:8080", secure=True)


def test_file_system_storage_entries_match(request_, monkeypatch):
    fast, slow = both(request_, monkeypatch, slow_rows=1)  # only the pool key, which is not public
    assert fast == slow
    assert fast[2].startswith(b'{"url":"https://kiosk.example.org:8080/')


def test_public_base_url_entries_match(request_, settings, monkeypatch):
    settings.GARDEN_PUBLIC_BASE_URL = "https://cdn.example.org/garden/"
    fast, slow = both(request_, monkeypatch, slow_rows=1)
    assert fast == slow
    assert (
        fast[2] == b'{"url":"https://cdn.example.org/garden/emotions/happy/rock \'n\' roll/img_20230319-23756_12h.png","emotion":"happy"}'
    )


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("signed", [False, True])
def test_s3_entries_match(request_, s3_storage, settings, monkeypatch, signed):  # noqa: F811
    settings.STORAGES["default"]["OPTIONS"]["querystring_auth"] = signed  # signed: every entry the slow way
    storages._storages.pop("default", None)  # the storage is built again from the settings
    fast, slow = both(request_, monkeypatch, slow_rows=len(KEYS) if signed else 1)
    assert (b"?" in fast[0]) is signed
    if signed:  # signed a moment apart: Expires (and so the signature) may differ by a second
        fast, slow = ([re.sub(rb"\?[^\"]*", b"?", entry) for entry in entries] for entries in (fast, slow))
    assert fast == slow
