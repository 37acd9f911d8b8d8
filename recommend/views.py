"""Kiosk endpoints of the recommender: POST /garden (the ranked garden) and the feedback calls
/like, /impression, /dislike. Thin adapters: parse, call a service, answer the legacy format."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from config.api import KioskAPIView, validated
from config.idempotency import idempotent
from config.schema import error
from garden.serializers import GardenRequestSerializer, GardenResponseSerializer
from recommend import services
from recommend.serializers import DislikeRequestSerializer, ImpressionRequestSerializer, LikeRequestSerializer

# Old kiosk pages post JSON as text/plain too (the parser takes any Content-Type); the schema
# documents the JSON form.
SUCCESS = {(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="Plain text `Success`")}


def _success() -> HttpResponse:
    return HttpResponse("Success", content_type="text/plain; charset=utf-8")


class GardenView(KioskAPIView):
    """The recommended order of serving images for this visitor and search key."""

    @extend_schema(
        request={"application/json": GardenRequestSerializer},
        responses={200: GardenResponseSerializer, 400: error("Missing or unknown emotion")},
        parameters=[
            OpenApiParameter(
                "X-Recommendation-Id",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[200],
                description="This answer's id: send it back as `recommendationId` with /like, /impression and /dislike",
            )
        ],
    )
    def post(self, request):
        data = validated(GardenRequestSerializer, request)
        garden = services.serve_garden(
            visitor_id=data.get("id") or None,  # "" or absent: an anonymous visitor
            search_key=data["emotion"],
            request=request,
            age_group=data.get("generation", ""),  # the wire's name for it
            gender=data.get("gender", ""),
        )
        response = HttpResponse(garden.render(), content_type="application/json")
        # The body keeps exactly landscape/portrait for old clients; new ones send this id back.
        response["X-Recommendation-Id"] = str(garden.recommendation_id)
        return response


class LikeView(KioskAPIView):
    @extend_schema(
        request={"application/json": LikeRequestSerializer},
        responses={**SUCCESS, 404: error("Unknown item")},
        description="Record a like of `itemId` among the `impression` keys that were on screen.",
    )
    @idempotent(body_field="eventId")  # the kiosk page's event id, or an Idempotency-Key header
    def post(self, request):
        data = validated(LikeRequestSerializer, request)
        services.record_like(  # an unknown item is a 404 (services.UnknownImage)
            visitor_id=data["id"],
            item_key=data["itemId"],
            impression=data.get("impression", []),
            recommendation_id=data.get("recommendationId"),
        )
        return _success()


class ImpressionView(KioskAPIView):
    @extend_schema(
        request={"application/json": ImpressionRequestSerializer},
        responses=SUCCESS,
        description=(
            "Report a screen of images the visitor saw without liking any (a like already reports its screen: "
            "do not send both). Keys that name no image are dropped (and counted on the stored row); a screen of "
            "unknown keys stores nothing."
        ),
    )
    @idempotent(body_field="eventId")  # the kiosk page's event id, or an Idempotency-Key header
    def post(self, request):
        data = validated(ImpressionRequestSerializer, request)
        services.record_impression(visitor_id=data["id"], impression=data["impression"], recommendation_id=data.get("recommendationId"))
        return _success()


class DislikeView(KioskAPIView):
    @extend_schema(
        request={"application/json": DislikeRequestSerializer},
        responses={**SUCCESS, 404: error("Unknown item")},
        description="Undo a like of `itemId`; the image is no longer recommended to this visitor.",
    )
    @idempotent(body_field="eventId")  # the kiosk page's event id, or an Idempotency-Key header
    def post(self, request):
        data = validated(DislikeRequestSerializer, request)
        services.record_dislike(visitor_id=data["id"], item_key=data["itemId"], recommendation_id=data.get("recommendationId"))
        return _success()
