"""POST /like: record which image on screen the visitor liked."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound

from config.api import KioskAPIView, json_object
from recommend import services
from recommend.serializers import LikeRequestSerializer


class LikeView(KioskAPIView):
    @extend_schema(
        request=LikeRequestSerializer,
        responses={200: OpenApiResponse(description="Plain text `Success`"), 400: None, 404: OpenApiResponse(description="Unknown item")},
    )
    def post(self, request):
        serializer = LikeRequestSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            services.record_like(visitor_id=data["id"], item_key=data["itemId"], impression=data.get("impression", []))
        except services.UnknownImage:
            raise NotFound(f"Unknown item: {data['itemId']}") from None
        return HttpResponse("Success", content_type="text/plain; charset=utf-8")
