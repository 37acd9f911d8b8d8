"""POST /gardenfromDB: every serving image of a search key (a thin adapter over selectors).

The recommended garden, POST /garden, ranks with the recommender and lives in recommend.views.
"""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema

from config.api import KioskAPIView, validated
from config.schema import error
from garden import selectors
from garden.serializers import GardenRequestSerializer, GardenResponseSerializer


class GardenFromDBView(KioskAPIView):
    """Every serving image of the search key, newest first, all of them."""

    @extend_schema(
        request={"application/json": GardenRequestSerializer},  # text/plain accepted too (old pages)
        responses={200: GardenResponseSerializer, 400: error("Missing or unknown emotion")},
    )
    def post(self, request):
        data = validated(GardenRequestSerializer, request)
        # Rendered once per serving version (a promotion shows in the very next answer).
        return HttpResponse(selectors.rendered_garden(search_key=data["emotion"], request=request), content_type="application/json")
