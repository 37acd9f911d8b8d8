"""The shared foundations: domain errors mapped once, lazy singletons, start-up checks of names."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from config import caches
from config.checks import require_choice
from config.errors import Conflict, DomainError, NotFound, Unavailable
from config.lazy import Lazy

# Depends on no database, cache or broker of the run: CI runs it once, in the pass on the embedded defaults.
pytestmark = pytest.mark.backend_free

ROOT = Path(__file__).resolve().parents[2]


class _Raises(APIView):
    permission_classes: list = []
    authentication_classes: list = []
    error: Exception = DomainError("x")

    def get(self, request):
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (DomainError("Bad thing."), 400, {"detail": "Bad thing."}),
        (DomainError(fields={"width": "too wide", "steps": "too many"}), 400, {"width": ["too wide"], "steps": ["too many"]}),
        (NotFound("No such job."), 404, {"detail": "No such job."}),
        (Conflict("Busy."), 409, {"detail": "Busy."}),
        (Unavailable("Down."), 503, {"detail": "Down."}),
    ],
)
def test_domain_errors_become_their_status_and_body(error, status, body):
    view = _Raises.as_view(error=error)
    response = view(APIRequestFactory().get("/"))
    assert (response.status_code, response.data) == (status, body)


def test_a_domain_error_with_fields_has_a_readable_message():
    error = DomainError(fields={"width": "must be a multiple of 8"})
    assert str(error) == "width: must be a multiple of 8"


def test_lazy_builds_once_rebuilds_on_new_settings_and_resets(monkeypatch):
    monkeypatch.setattr(caches, "_caches", {})  # this test's cache only
    built = []
    setting = {"model": "a"}
    lazy = Lazy(
        lambda: built.append(setting["model"]) or object(), fingerprint=lambda: setting["model"], owner=__name__, name="lazy", fresh="model"
    )
    first = lazy.get()
    assert lazy.get() is first and built == ["a"]
    setting["model"] = "b"
    second = lazy.get()
    assert second is not first and built == ["a", "b"]
    caches.reset_all()
    assert not lazy.loaded
    assert lazy.get() is not second and built == ["a", "b", "b"]


def test_require_choice_names_the_variable_and_the_choices(settings):
    settings.RECOMMEND_BACKEND = "locall"
    with pytest.raises(ImproperlyConfigured, match=r"RECOMMEND_BACKEND='locall'.*local, personalize, popularity"):
        require_choice("RECOMMEND_BACKEND", ["local", "personalize", "popularity"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("RECOMMEND_BACKEND", "locall", "local, personalize, popularity"),
        ("GARDEN_FACE_BACKEND", "aws", "local, rekognition"),
        ("GARDEN_GENERATOR_BACKEND", "dalle", "diffusers, procedural"),
        ("GARDEN_DIFFUSION_SCHEDULER", "dpm", "euler"),
    ],
)
def test_a_typo_in_a_backend_name_stops_start_up(tmp_path, variable, value, allowed):
    env = {**os.environ, variable: value, "GARDEN_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"{variable}={value!r} is not a valid choice" in result.stderr and allowed in result.stderr
