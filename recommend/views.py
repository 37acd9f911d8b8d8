"""Kiosk feedback endpoints: /like, /impression, /dislike (thin adapters over services)."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound

from config.api import KioskAPIView, json_object
from recommend import services
from recommend.serializers import DislikeRequestSerializer, ImpressionRequestSerializer, LikeRequestSerializer

SUCCESS = OpenApiResponse(description="Plain text `Success`")


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=json_object(request))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _success() -> HttpResponse:
    return HttpResponse("Success", content_type="text/plain; charset=utf-8")


class LikeView(KioskAPIView):
    @extend_schema(
        request=LikeRequestSerializer,
        responses={200: SUCCESS, 400: None, 404: OpenApiResponse(description="Unknown item")},
        description="Record a like of `itemId` among the `impression` keys that were on screen.",
    )
    def post(self, request):
        data = _validated(LikeRequestSerializer, request)
        try:
            services.record_like(
                visitor_id=data["id"],
                item_key=data["itemId"],
                impression=data.get("impression", []),
                recommendation_id=data.get("recommendationId"),
            )
        except services.UnknownImage:
            raise NotFound(f"Unknown item: {data['itemId']}") from None
        return _success()


class ImpressionView(KioskAPIView):
    @extend_schema(
        request=ImpressionRequestSerializer,
        responses={200: SUCCESS, 400: None},
        description=(
            "Report a screen of images the visitor saw without liking any (a like already reports its screen: "
            "do not send both). Unknown keys are stored but not counted."
        ),
    )
    def post(self, request):
        data = _validated(ImpressionRequestSerializer, request)
        services.record_impression(visitor_id=data["id"], impression=data["impression"], recommendation_id=data.get("recommendationId"))
        return _success()


class DislikeView(KioskAPIView):
    @extend_schema(
        request=DislikeRequestSerializer,
        responses={200: SUCCESS, 400: None, 404: OpenApiResponse(description="Unknown item")},
        description="Undo a like of `itemId`; the image is no longer recommended to this visitor.",
    )
    def post(self, request):
        data = _validated(DislikeRequestSerializer, request)
        try:
            services.record_dislike(visitor_id=data["id"], item_key=data["itemId"], recommendation_id=data.get("recommendationId"))
        except services.UnknownImage:
            raise NotFound(f"Unknown item: {data['itemId']}") from None
        return _success()
