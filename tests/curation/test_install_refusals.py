"""*Install a model* refuses a source no worker could install at once, in the page's answer (no
reload), with a library or without one: the same reasons the worker would give."""

from __future__ import annotations

import pytest
from django.urls import reverse

from library.services import install as installer

pytestmark = pytest.mark.django_db
INSTALL = reverse("admin:library_libraryentry_install")


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(installer, "request_install", lambda source, **options: sent.append(source) or "0" * 32)
    return sent


@pytest.fixture(params=["no library", "library"])
def library(request, settings, tmp_path):
    settings.GARDEN_MODELS_DIR = str(tmp_path) if request.param == "library" else ""
    settings.GARDEN_MODELS_STORE = ""
    settings.GARDEN_MODELS_ALLOW_PRIVATE_URLS = False
    return request.param


@pytest.mark.parametrize(
    ("source", "options", "reason"),
    [
        ("not a url", {}, "not a url: not an http(s) URL, an existing file or folder, or a Hub repo id (owner/name)."),
        ("ftp://example.org/model.safetensors", {}, "only http(s) URLs, Hub repo ids (owner/name) and local paths can be installed"),
        ("http://127.0.0.1:8000/model.safetensors", {}, "127.0.0.1 is a private, loopback or link-local address"),
        ("http://[::1]/model.safetensors", {}, "is a private, loopback or link-local address"),
        ("https://93.184.215.14/m.safetensors", {"variant": "fp16"}, "are for Hub repo ids (owner/name), not URLs or paths"),
        ("owner/name", {"name": "../up"}, "use letters, digits, spaces"),
    ],
    ids=["not a url", "ftp", "loopback", "loopback v6", "variant for a url", "name with a slash"],
)
def test_a_source_no_worker_could_install_is_refused_at_once(admin_client, library, queued, source, options, reason):
    answer = admin_client.post(INSTALL, {"source": source, **options})
    assert answer.status_code == 200  # the form again, with its reason: no redirect, no reload
    page = answer.content.decode().replace("&#x27;", "'")
    assert reason in page and "errorlist" in page
    assert queued == []  # nothing asked of a worker


def test_a_good_source_is_queued_with_a_library_and_refused_without_one(admin_client, library, queued):
    answer = admin_client.post(INSTALL, {"source": "stabilityai/sd-turbo", "variant": "fp16"}, HTTP_ACCEPT_LANGUAGE="en")
    if library == "library":
        assert answer.status_code == 302 and queued == ["stabilityai/sd-turbo"]
    else:  # queued, it would wait for ever: no worker can install without a models folder
        page = answer.content.decode()
        assert answer.status_code == 200 and "there is no model library to install into" in page and "errorlist" in page
        assert queued == []


def test_with_no_library_the_refusal_is_in_the_curators_language(admin_client, settings, queued):
    settings.GARDEN_MODELS_DIR = ""
    page = admin_client.post(INSTALL, {"source": "stabilityai/sd-turbo"}, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    form_errors = page.split('<ul class="errorlist">', 1)[1].split("</ul>", 1)[0]
    assert "GARDEN_MODELS_DIR" in form_errors and "there is no model library" not in form_errors and queued == []


def test_with_no_library_nothing_is_queued_or_written_in_the_working_directory(settings, tmp_path, monkeypatch):
    """The old stray `.incoming/` at the checkout's root: Path("") / ".incoming" under the worker's cwd."""
    settings.GARDEN_MODELS_DIR = ""
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    with pytest.raises(installer.NoLibrary):
        installer.request_install("stabilityai/sd-turbo")
    installer.run_install("c" * 32, "stabilityai/sd-turbo", {})  # a message queued before the library went away
    assert installer.read_status("c" * 32) is None and installer.recent_statuses() == []
    assert list(workdir.iterdir()) == []
