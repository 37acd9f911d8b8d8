"""Marking the live model in the model library admin, and finding live pictures in the image admin."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from garden.models import Image
from library.models import LibraryEntry
from tests.curation.test_library_admin import MODEL_A, MODEL_B, RESCAN, lora_file, models_dir  # noqa: F401 (fixtures)
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db
LIST = reverse("admin:library_libraryentry_changelist")


def test_one_pipeline_paints_live_pictures(curator_client, models_dir, eager_celery):  # noqa: F811 (the imported fixture)
    curator_client.post(RESCAN)
    first, second = LibraryEntry.objects.get(name=MODEL_A), LibraryEntry.objects.get(name=MODEL_B)
    response = curator_client.post(LIST, {"action": "make_live", ACTION_CHECKBOX_NAME: [first.pk]}, follow=True)
    assert f"Live pictures are now painted by {MODEL_A}" in response.content.decode()
    curator_client.post(LIST, {"action": "make_live", ACTION_CHECKBOX_NAME: [second.pk]})
    assert list(LibraryEntry.objects.filter(live=True).values_list("name", flat=True)) == [MODEL_B]
    assert curator_client.get(LIST, {"live__exact": "1"}).context["cl"].result_count == 1

    lora = LibraryEntry.objects.get(kind="lora")
    response = curator_client.post(LIST, {"action": "make_live", ACTION_CHECKBOX_NAME: [lora.pk]}, follow=True)
    assert "Select exactly one model" in response.content.decode()
    curator_client.post(LIST, {"action": "stop_live", ACTION_CHECKBOX_NAME: [second.pk]})
    assert not LibraryEntry.objects.filter(live=True).exists()


def test_marking_a_live_model_warns_when_live_pictures_would_never_be_shown(curator_client, models_dir, eager_celery, settings):  # noqa: F811
    settings.GARDEN_SAFETY_IMAGE_CHECK = False  # a CPU box: every live picture stored unchecked, withheld
    curator_client.post(RESCAN)
    entry = LibraryEntry.objects.get(name=MODEL_A)
    response = curator_client.post(LIST, {"action": "make_live", ACTION_CHECKBOX_NAME: [entry.pk]}, follow=True)
    [message] = [message for message in response.context["messages"] if message.level_tag == "warning"]
    assert str(message).startswith(f"{MODEL_A} is marked as the live model. Live pictures would never be shown: the image check is off")
    assert LibraryEntry.objects.get(pk=entry.pk).live  # marked, ready for when the check is on


def test_the_image_admin_filters_live_pictures(curator_client):
    live = ImageFactory(status=Image.Status.POOL, live=True)
    ImageFactory(status=Image.Status.POOL)
    page = curator_client.get(reverse("admin:garden_image_changelist"), {"live__exact": "1"})
    assert page.status_code == 200
    assert [image.pk for image in page.context["cl"].result_list] == [live.pk]
