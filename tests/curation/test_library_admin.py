"""The model library in the admin: the list, the rescan button and action, "Make default", the
editable defaults, and the bulk form's model and LoRA choices."""

import json
import re
import shutil

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from generation.models import GenerationJob
from library.models import LibraryEntry
from testkit.tiny_library import LORA, PIPELINES, save_tiny_lora
from tests.curation.test_generation_admin import ADD, form_data

pytestmark = pytest.mark.django_db
LIST = reverse("admin:library_libraryentry_changelist")
RESCAN = reverse("admin:library_libraryentry_rescan")
MODEL_A, MODEL_B = PIPELINES


def _config_only_pipeline(folder, class_name="StableDiffusionPipeline"):
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": class_name}))
    (folder / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": 768}))
    (folder / "unet" / "weights.bin").write_bytes(b"\0" * 3000)


@pytest.fixture(scope="session")
def lora_file(tmp_path_factory):
    return save_tiny_lora(tmp_path_factory.mktemp("admin-lora") / f"{LORA}.safetensors")


@pytest.fixture
def models_dir(settings, tmp_path, lora_file):
    """Two pipelines (configs only: the admin never loads weights) and a real LoRA file."""
    for name in PIPELINES:
        _config_only_pipeline(tmp_path / name)
    (tmp_path / "loras").mkdir()
    shutil.copy(lora_file, tmp_path / "loras" / lora_file.name)
    settings.GARDEN_MODELS_DIR = str(tmp_path)
    return tmp_path


def test_the_rescan_button_fills_the_list(curator_client, models_dir, eager_celery):
    page = curator_client.get(LIST)
    assert page.status_code == 200 and "Rescan the models folder" in page.content.decode()
    assert not LibraryEntry.objects.exists()

    response = curator_client.post(RESCAN, follow=True)

    assert response.status_code == 200
    text = response.content.decode()
    assert "2 model(s), 1 LoRA(s), 0 embedding(s), 0 VAE(s), 0 upscaler(s)" in text
    # The scan ran on a worker (eagerly here), off the request; the list says what it added, by name.
    assert f"added: {LORA} (lora), {MODEL_A}, {MODEL_B}" in text and "Rescan of" in text
    assert MODEL_A in text and MODEL_B in text and LORA in text
    assert 'field-defaults">25 steps, cfg 7, 512x512<' in text and 'field-size">3.0' in text  # defaults, human sizes
    assert LibraryEntry.objects.get(name=MODEL_A).is_default
    assert curator_client.get(RESCAN).status_code == 302  # GET changes nothing


def test_actions_rescan_and_make_default(curator_client, models_dir, eager_celery):
    curator_client.post(RESCAN)
    shutil.rmtree(models_dir / MODEL_A)
    any_row = LibraryEntry.objects.get(name=MODEL_B)

    response = curator_client.post(LIST, {"action": "rescan", ACTION_CHECKBOX_NAME: [any_row.pk]}, follow=True)
    text = response.content.decode()
    assert "lost: tiny-sd-a" in text and "no longer found: tiny-sd-a" in text
    # The default is kept by name while its folder is gone; the list says who paints meanwhile.
    assert not LibraryEntry.objects.get(name=MODEL_A).present and LibraryEntry.objects.get(name=MODEL_A).is_default
    assert 'id="library-default-problem"' in text and f"Jobs that name no model paint with {MODEL_B}" in text

    _config_only_pipeline(models_dir / "tiny-sd-c")
    curator_client.post(RESCAN)
    third = LibraryEntry.objects.get(name="tiny-sd-c")
    curator_client.post(LIST, {"action": "make_default", ACTION_CHECKBOX_NAME: [third.pk]})
    assert list(LibraryEntry.objects.filter(is_default=True).values_list("name", flat=True)) == ["tiny-sd-c"]

    lora = LibraryEntry.objects.get(kind="lora")
    response = curator_client.post(LIST, {"action": "make_default", ACTION_CHECKBOX_NAME: [lora.pk]}, follow=True)
    assert "Select exactly one model" in response.content.decode()
    assert LibraryEntry.objects.get(name="tiny-sd-c").is_default


def test_only_the_defaults_are_editable(curator_client, models_dir, eager_celery):
    curator_client.post(RESCAN)
    entry = LibraryEntry.objects.get(name=MODEL_B)
    url = reverse("admin:library_libraryentry_change", args=[entry.pk])
    assert curator_client.get(url).status_code == 200

    response = curator_client.post(
        url, {"default_steps": 12, "default_guidance": 3.5, "default_width": 640, "default_height": 384, "name": "renamed"}
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.name, entry.default_steps, entry.default_guidance, entry.default_width, entry.default_height) == (
        MODEL_B,
        12,
        3.5,
        640,
        384,
    )
    response = curator_client.post(url, {"default_steps": 12, "default_guidance": 3.5, "default_width": 641, "default_height": 384})
    assert response.status_code == 200 and "multiple of 8" in response.content.decode()

    lora = LibraryEntry.objects.get(kind="lora")
    assert curator_client.get(reverse("admin:library_libraryentry_change", args=[lora.pk])).status_code == 200
    assert curator_client.get(reverse("admin:library_libraryentry_add")).status_code == 403


def test_without_a_models_folder_the_page_says_so(curator_client, settings):
    settings.GARDEN_MODELS_DIR = ""
    assert "GARDEN_MODELS_DIR is empty" in curator_client.get(LIST).content.decode()
    response = curator_client.post(RESCAN, follow=True)
    assert "no model library to scan" in response.content.decode()


def test_the_bulk_form_offers_models_and_loras(curator_client, models_dir, no_enqueue):
    curator_client.post(RESCAN)
    form = curator_client.get(ADD).context["form"]
    assert [value for value, _ in form.fields["model"].choices] == ["", MODEL_A, MODEL_B]
    assert LORA in form.fields["loras"].help_text

    response = curator_client.post(ADD, form_data(backend="diffusers", model=MODEL_B, loras=f"{LORA}:0.4"))
    assert response.status_code == 302, response.context["form"].errors
    job = GenerationJob.objects.get()
    assert (job.model, job.loras, job.steps) == (MODEL_B, [{"name": LORA, "weight": 0.4}], 5)

    response = curator_client.post(ADD, form_data(backend="diffusers", loras="nope:1"))
    assert "Unknown LoRA 'nope'" in response.context["form"].errors["loras"][0]
    response = curator_client.post(ADD, form_data(backend="diffusers", loras=f"{LORA}:lots"))
    assert "name:weight" in response.context["form"].errors["loras"][0]
    response = curator_client.post(ADD, form_data(backend="procedural", model=MODEL_A))
    assert "diffusers" in response.context["form"].errors["model"][0]
    assert GenerationJob.objects.count() == 1


def test_a_queued_rescan_is_said_and_an_unclaimed_one_too(curator_client, models_dir):
    from datetime import timedelta

    from django.utils import timezone

    from library.models import LibraryScan

    scan = LibraryScan.objects.create(trigger="admin")
    page = curator_client.get(LIST).content.decode()
    assert "is running; this page reloads when it is done" in page and "http-equiv" not in page  # library_follow.js reloads it

    LibraryScan.objects.filter(pk=scan.pk).update(requested_at=timezone.now() - timedelta(minutes=11))
    page = curator_client.get(LIST).content.decode()
    assert "still waiting for a worker on queue default" in page


VERSION = reverse("admin:library_libraryentry_version")


def test_the_lists_version_moves_with_the_folder_and_the_scans(curator_client, models_dir, eager_celery, client):
    """Issue 79, item 8: what the list polls (curation/library_follow.js) to reload by itself."""
    from library.models import LibraryScan

    first = curator_client.get(VERSION).json()["version"]
    assert f'data-version="{first}"' in curator_client.get(LIST).content.decode()
    assert curator_client.get(VERSION).json()["version"] == first  # nothing moved, nothing to reload
    curator_client.post(RESCAN)  # the folder's models listed, the scan done
    listed = curator_client.get(VERSION).json()["version"]
    assert listed != first and f'data-version="{listed}"' in curator_client.get(LIST).content.decode()
    shutil.rmtree(models_dir / MODEL_B)  # gone: the row says so before a scan notices, so the page must reload
    gone = curator_client.get(VERSION).json()["version"]
    assert gone != listed
    LibraryScan.objects.create(trigger="admin")  # a scan asked for: said at once
    assert curator_client.get(VERSION).json()["version"] != gone
    assert client.get(VERSION).status_code == 302  # to the login page: staff only


def test_an_empty_library_says_where_its_folder_is_and_points_to_the_install(curator_client, admin_client, settings, tmp_path):
    settings.GARDEN_MODELS_DIR, settings.GARDEN_LIBRARY_SCAN_SECONDS = str(tmp_path), 30
    page = admin_client.get(LIST).content.decode()
    empty = page.split('id="library-empty"')[1].split("</p>")[0]
    assert f"Copy models into <code>{tmp_path}</code>" in empty and "every 30 s" in empty
    assert f'<a href="{reverse("admin:library_libraryentry_install")}">Install a model</a>' in empty
    assert "ask a superuser to download one with Install a model" in curator_client.get(LIST).content.decode()
    settings.GARDEN_LIBRARY_SCAN_SECONDS = 0
    assert "then rescan it" in admin_client.get(LIST).content.decode()


def _row_cells(text: str, name: str) -> str:
    """The list's row of the entry ``name`` (its HTML), for the cells' values."""
    rows = [row for row in text.split("<tr") if f">{name}</a>" in row]
    assert len(rows) == 1, f"no single row for {name}"
    return rows[0]


def test_a_gone_model_is_never_listed_usable(curator_client, models_dir, eager_celery):
    """Issue 79, item 5: the row, the *usable* filter and the detail page say what the banner, the
    400 and A1111's options say, before the next scan notices the folder gone and after it."""
    from a1111.options import options_object
    from generation.requests import JobParameterError, JobRequest

    curator_client.post(RESCAN)
    shutil.move(models_dir / MODEL_A, models_dir.parent / "moved-away")  # the default model's folder moved away
    entry = LibraryEntry.objects.get(name=MODEL_A)
    for when in ("before the next scan", "after it"):
        if when == "after it":
            curator_client.post(RESCAN)
            entry.refresh_from_db()
            assert not entry.present and entry.usable  # the scan's verdict on the file stays; the row's rule reads both
        text = curator_client.get(LIST).content.decode()
        row = _row_cells(text, MODEL_A)
        assert 'field-can_paint"><img src="/static/admin/img/icon-no.svg" alt="No">' in row, when
        assert f"its file {MODEL_A} is gone from the models folder" in row, when
        assert 'field-can_paint"><img src="/static/admin/img/icon-yes.svg"' in _row_cells(text, MODEL_B), when
        assert 'id="library-default-problem"' in text and f"The default model {MODEL_A} cannot be used" in text, when
        listed_usable = curator_client.get(LIST, {"usable": "1"}).content.decode()
        assert f">{MODEL_A}</a>" not in listed_usable and f">{MODEL_B}</a>" in listed_usable, when
        listed_not_usable = curator_client.get(LIST, {"usable": "0"}).content.decode()
        assert f">{MODEL_A}</a>" in listed_not_usable and f">{MODEL_B}</a>" not in listed_not_usable, when
        detail = curator_client.get(reverse("admin:library_libraryentry_change", args=[entry.pk])).content.decode()
        usable_field = detail.split("field-can_paint")[1].split("field-sha256")[0]
        assert "icon-no.svg" in usable_field and f"its file {MODEL_A} is gone" in detail, when
        # The same rule answers jobs and A1111 clients.
        with pytest.raises(JobParameterError) as refused:
            JobRequest(prompt="garden", model=MODEL_A, backend="diffusers").validate()
        assert f"its file {MODEL_A} is gone" in refused.value.fields["model"], when
        options = options_object([])
        assert options["sd_model_checkpoint"] == MODEL_B and options["sd_model_checkpoint_default"] == MODEL_A, when


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_a_model_is_called_a_model_on_every_library_page(admin_client, models_dir, eager_celery):
    """Issue 79, item 6: a checkpoint and a diffusers folder are each "a model" (the glossary's word)
    in the list, its actions and messages, their pages, the install page and scan_models' output;
    never "pipeline"."""
    import io

    from django.core.management import call_command

    from tests.library.test_library_follow import write_checkpoint

    write_checkpoint(models_dir / "garden15.safetensors")
    admin_client.post(RESCAN)
    pages = [admin_client.get(LIST).content.decode(), admin_client.get(reverse("admin:library_libraryentry_install")).content.decode()]
    assert "Paint live pictures with it (one model)" in pages[0] and "Make default (one model)" in pages[0]
    for entry in LibraryEntry.objects.all():
        pages.append(admin_client.get(reverse("admin:library_libraryentry_change", args=[entry.pk])).content.decode())
    lora = LibraryEntry.objects.get(kind="lora")
    for action in ("make_default", "make_live"):
        response = admin_client.post(LIST, {"action": action, ACTION_CHECKBOX_NAME: [lora.pk]}, follow=True)
        pages.append(response.content.decode())
        assert "Select exactly one model" in pages[-1]
    out = io.StringIO()
    call_command("scan_models", stdout=out)
    assert "model     garden15" in out.getvalue()
    for text in [*map(_visible_text, pages), out.getvalue()]:  # diffusers' class names (StableDiffusionPipeline) are data
        assert not re.search(r"\bpipelines?\b", text, flags=re.I), re.findall(r".{60}\bpipelines?\b.{60}", text, flags=re.I | re.S)
