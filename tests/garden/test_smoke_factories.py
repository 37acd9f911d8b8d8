import pytest
from django.core.files.storage import default_storage

from garden.models import Image
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


def test_image_factory_writes_file_and_row():
    image = ImageFactory(emotion="happy", favorite="spring,cloudy,day", orientation="v")
    assert image.key.startswith("emotions/happy/spring,cloudy,day/img_")
    assert image.key.endswith("v.jpeg")
    assert default_storage.exists(image.key)
    image = Image.objects.get(pk=image.pk)
    assert image.search_key == "happy/spring,cloudy,day"
