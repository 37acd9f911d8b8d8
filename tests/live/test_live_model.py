"""Which model paints live pictures when none is marked (docs/live.md#the-live-model), and a stack
that cannot paint them saying so: POST /live, `manage.py check`, the library admin, System status."""

from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.urls import reverse

from library import selectors as library
from library.models import LibraryEntry
from live.selectors import live_painter
from tests.live.conftest import ask

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_model(live_settings, tmp_path):
    """The operator's stack: a library that can paint (GARDEN_DIFFUSION_MODEL set: the diffusers backend)."""
    live_settings.GARDEN_MODELS_DIR = str(tmp_path)
    live_settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    return tmp_path


def pipeline(folder: Path, name: str, family: str = "sd1", **fields) -> LibraryEntry:
    path = f"pipelines/{name}.safetensors"
    (folder / "pipelines").mkdir(exist_ok=True)
    (folder / path).write_bytes(b"weights")
    return LibraryEntry.objects.create(kind="pipeline", name=name, path=path, family=family, present=True, usable=True, **fields)


def test_no_live_model_is_said_with_its_fix_by_the_live_action_and_the_check(api_client, live_worker, real_model):
    pipeline(real_model, "dreamy")
    answer = ask(api_client, {"id": "v", "emotion": "calm"})
    assert answer.status_code == 503 and answer.json()["reason"] == "no_live_model"
    assert "Paint live pictures with it (one model)" in answer.json()["detail"]  # how to fix it, not only what
    [warning] = [message for message in run_checks() if message.id == "live.W002"]
    assert "no model of the library is marked" in warning.msg and warning.hint == "docs/live.md#the-live-model"


def test_without_a_library_the_fix_names_the_models_folder(live_settings):
    live_settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    assert "GARDEN_MODELS_DIR is empty" in library.live_state().problem


def test_a_turbo_class_model_paints_them_when_none_is_marked(real_model):
    pipeline(real_model, "big-sdxl", family="sdxl")
    pipeline(real_model, "turbo-b", family="turbo")
    pipeline(real_model, "turbo-a", family="turbo")
    state = library.live_state()
    assert (state.entry.name, state.marked, state.problem) == ("turbo-a", False, "")  # the first by name
    painter = live_painter()
    assert painter.model == "turbo-a" and painter.steps == 1  # turbo's steps
    assert not [message for message in run_checks() if message.id == "live.W002"]


def test_the_marked_model_wins_over_the_rule(real_model):
    pipeline(real_model, "turbo-a", family="turbo")
    pipeline(real_model, "chosen", live=True)
    assert (library.live_state().entry.name, library.live_state().marked) == ("chosen", True)


def test_the_demo_needs_no_live_model(live_settings):
    assert library.live_state().problem == "" and live_painter().backend == "procedural"
    live_settings.GARDEN_GENERATOR_BACKEND, live_settings.GARDEN_LIVE_ENABLED = "diffusers", False
    assert library.live_state().problem == ""  # live pictures off: nothing is missing


def test_the_library_admin_says_it_and_what_the_rule_picked(real_model, admin_client):
    pipeline(real_model, "dreamy")
    changelist = reverse("admin:library_libraryentry_changelist")
    page = admin_client.get(changelist).content.decode()
    assert 'id="library-live-problem"' in page and "No model paints live pictures" in page
    pipeline(real_model, "quick", family="turbo")
    page = admin_client.get(changelist).content.decode()
    assert 'id="library-live-problem"' not in page and 'id="library-live-picked"' in page and "quick paints them" in page


def test_stopping_the_marked_model_says_who_paints_them_now(real_model, admin_client):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    marked = pipeline(real_model, "chosen", live=True)
    changelist = reverse("admin:library_libraryentry_changelist")
    answer = admin_client.post(changelist, {"action": "stop_live", ACTION_CHECKBOX_NAME: [marked.pk]}, follow=True)
    [message] = list(answer.context["messages"])
    assert message.level_tag == "warning" and str(message).startswith("No model paints live pictures")
    pipeline(real_model, "quick", family="turbo")
    answer = admin_client.post(changelist, {"action": "stop_live", ACTION_CHECKBOX_NAME: [marked.pk]}, follow=True)
    [message] = list(answer.context["messages"])
    assert message.level_tag == "success" and "quick paints them" in str(message)
