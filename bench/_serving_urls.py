"""The project's URLs plus the framework floor: a trivial DRF POST view (bench/serving.py).

Served by the same gunicorn process as the kiosk endpoints, so both see the same server flags,
middleware and machine load in the same run.
"""

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class Floor(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        return Response({"ok": True})


urlpatterns = [path("bench/floor", Floor.as_view()), path("", include("config.urls"))]
