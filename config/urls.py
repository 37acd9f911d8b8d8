"""Root URLs. Kiosk paths sit at the site root exactly as old clients call them (no slash)."""

from csp.decorators import csp_update
from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

handler404 = "config.api.not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's set_language view (POST /i18n/setlang/): the language switch (docs/languages.md).
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script from a URL, not inline: it works under the Content-Security-Policy.
    path("api/docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # ReDoc's side menu always shows its attribution with a logo from its CDN (loaded once the menu
    # has rendered): allowed on this staff page alone, so the page keeps no blocked request (the
    # image fails quietly where the CDN cannot be reached).
    path("api/redoc", csp_update({"img-src": "https://cdn.redoc.ly"})(SpectacularRedocView.as_view(url_name="schema")), name="api-redoc"),
    path("", include("garden.urls")),
    path("", include("recommend.urls")),
    path("", include("generation.urls")),
    path("", include("retouch.urls")),
    path("", include("a1111.urls")),
    path("", include("curation.urls")),
    path("", include("displays.urls")),
    path("", include("live.urls")),
    path("", include("screens.urls")),
]
# /en/kiosk/, /ko/kiosk/, /ja/kiosk/: a kiosk pinned to one language (docs/languages.md). Only these
# page copies carry a prefix; every other path, the kiosk APIs included, stays exactly where it is.
urlpatterns += i18n_patterns(path("", include("garden.pinned_urls")), prefix_default_language=True)


def serve_media(request, path):
    """MEDIA_ROOT read per request, not when the URLs load: a test's own media folder is served too."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)


if settings.GARDEN_SERVE_MEDIA:
    # The embedded default: the app serves var/media itself. With a bucket or CDN this is off.
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns.append(re_path(rf"^{media_prefix}(?P<path>.*)$", serve_media))
