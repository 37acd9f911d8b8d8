"""The System status page's "What paints": the painter (the demo's or which model), the image check,
the watermark, who paints live pictures and what the gardener does; a missing live model is a problem."""

import pytest
from django.urls import reverse

from gardener import services as gardener_services
from library.models import LibraryEntry
from tests.curation.test_system_status import tick_now, workers

pytestmark = pytest.mark.django_db
STATUS = reverse("curation:system-status")


def facts(page) -> dict:
    return {fact.name: fact for fact in page.context["facts"]}


def test_the_demos_pieces_are_named_as_the_demos(admin_client, monkeypatch, settings):
    workers(monkeypatch, {"default", "gpu"})
    tick_now()
    settings.GARDEN_GENERATOR_BACKEND, settings.GARDEN_MODELS_DIR, settings.GARDEN_LIVE_ENABLED = "procedural", "", True
    settings.GARDEN_SAFETY_IMAGE_CHECK, settings.GARDEN_PROVENANCE_WATERMARK = True, False
    gardener_services.enable_for_demo()
    page = admin_client.get(STATUS)
    shown = facts(page)
    assert shown["painter"].demo and "procedural painter" in shown["painter"].value
    assert shown["live"].demo and "procedural painter" in shown["live"].value
    assert shown["gardener"].demo and shown["gardener"].value.startswith("on, trusted")
    assert shown["image_check"].value.startswith("on") and shown["watermark"].value.startswith("off")
    body = page.content.decode()
    assert 'data-fact="gardener" data-demo="1"' in body and 'id="status-demo"' in body and "From the demo to a real model" in body
    assert page.context["problems"] == []


def test_a_stack_that_cannot_paint_live_pictures_says_so(admin_client, monkeypatch, settings, tmp_path):
    workers(monkeypatch, {"default", "gpu"})
    tick_now()
    settings.GARDEN_GENERATOR_BACKEND, settings.GARDEN_MODELS_DIR, settings.GARDEN_LIVE_ENABLED = "diffusers", str(tmp_path), True
    (tmp_path / "dreamy.safetensors").write_bytes(b"weights")
    LibraryEntry.objects.create(kind="pipeline", name="dreamy", path="dreamy.safetensors", family="sd1", is_default=True)
    page = admin_client.get(STATUS)
    shown = facts(page)
    assert shown["painter"].value == "diffusers, the library's default model dreamy" and not shown["painter"].demo
    assert shown["live"].value.startswith("none") and shown["live"].problem
    [problem] = page.context["problems"]
    assert problem.startswith("No model paints live pictures") and "Paint live pictures with it" in problem
    assert shown["gardener"].value.startswith("off")
