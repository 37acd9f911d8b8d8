"""Kiosk garden endpoints (legacy paths, thin adapters over selectors)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from config.api import KioskAPIView, json_object
from garden import selectors
from garden.serializers import GardenRequestSerializer, GardenResponseSerializer
from recommend.services import serve_garden


def _garden_request(request) -> dict:
    serializer = GardenRequestSerializer(data=json_object(request))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class GardenFromDBView(KioskAPIView):
    """Every serving image of the search key, newest first, all of them."""

    @extend_schema(
        request=GardenRequestSerializer,
        responses={200: GardenResponseSerializer, 400: OpenApiResponse(description="Missing or unknown emotion")},
    )
    def post(self, request):
        data = _garden_request(request)
        images = selectors.serving_images(search_key=data["emotion"]).only("key", "emotion", "orientation")
        return Response(selectors.garden_listing(images.iterator(chunk_size=2000), request=request))


class GardenView(KioskAPIView):
    """The recommended order of serving images for this visitor and search key."""

    @extend_schema(
        request=GardenRequestSerializer,
        responses={200: GardenResponseSerializer, 400: OpenApiResponse(description="Missing or unknown emotion")},
    )
    def post(self, request):
        data = _garden_request(request)
        garden = serve_garden(
            visitor_id=data.get("id") or None,
            search_key=data["emotion"],
            generation=data.get("generation", ""),
            gender=data.get("gender", ""),
        )
        response = Response(selectors.garden_listing(garden.images, request=request))
        # The body keeps exactly landscape/portrait for old clients; new ones send this id back.
        response["X-Recommendation-Id"] = str(garden.recommendation_id)
        return response
