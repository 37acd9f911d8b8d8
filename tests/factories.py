"""factory_boy factories for the garden's models. Images get a real JPEG file in storage."""

import io

import factory
from django.utils import timezone
from PIL import Image as PILImage

from garden import keys
from garden.models import Image, Visitor
from garden.services import create_image
from garden.visitors import new_visitor_id
from recommend.models import Interaction


def jpeg_bytes(width: int = 16, height: int = 10, color=(40, 160, 90)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), color).save(buffer, "JPEG")
    return buffer.getvalue()


class ImageFactory(factory.django.DjangoModelFactory):
    """An image row plus its file; pass ``status=Image.Status.POOL`` for a pool image."""

    class Meta:
        model = Image

    status = Image.Status.SERVING
    emotion = "calm"
    favorite = ""
    orientation = keys.LANDSCAPE
    index = factory.Sequence(int)

    @classmethod
    def _create(cls, model_class, *, status, index, emotion, favorite, orientation, **kwargs):
        prefix = keys.POOL_PREFIX if status == Image.Status.POOL else keys.SERVING_PREFIX
        key = keys.build_key(
            prefix=prefix,
            emotion=emotion,
            favorite=favorite,
            timestr=keys.new_timestr(timezone.now()),
            index=index,
            orientation=orientation,
        )
        width, height = (16, 10) if orientation == keys.LANDSCAPE else (10, 16)
        kwargs.setdefault("width", width)
        kwargs.setdefault("height", height)
        kwargs.setdefault("generator", "procedural")
        return create_image(key=key, content=jpeg_bytes(width, height), status=status, **kwargs)


class VisitorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visitor

    id = factory.LazyFunction(new_visitor_id)
    age_low = 22
    age_high = 30
    age_group = Visitor.AgeGroup.ADULT
    gender = "Female"
    emotion = "happy"


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    visitor = factory.SubFactory(VisitorFactory)
    image = factory.SubFactory(ImageFactory)
    item_key = factory.LazyAttribute(lambda o: o.image.key)
    event_type = Interaction.Event.CLICK
    impression = factory.LazyAttribute(lambda o: [o.image.key])
