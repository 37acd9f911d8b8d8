"""The project's URLs plus the framework floor: a trivial DRF POST view (bench/serving.py).

Served by the same gunicorn process as the kiosk endpoints, so both see the same server flags,
middleware and machine load in the same run. The floor is added to config.urls' own list of
patterns, not as an ``include("config.urls")``: Django refuses i18n_patterns (the pinned-language
kiosk pages) inside an included URLconf, and the kiosk paths stay exactly where they are.
"""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config import urls as project_urls

handler404 = project_urls.handler404


class Floor(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        return Response({"ok": True})


urlpatterns = [path("bench/floor", Floor.as_view()), *project_urls.urlpatterns]
