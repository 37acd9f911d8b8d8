"""The kiosk pages again under a language prefix (config/urls.py wraps these in i18n_patterns):
/ko/kiosk/ pins a kiosk to Korean (docs/languages.md). The unprefixed pages (garden/urls.py) stay
where they are and follow the visitor's choice, Accept-Language, then GARDEN_LANGUAGE."""

from django.urls import path

from garden import pages

urlpatterns = [
    path("kiosk/", pages.garden_kiosk, name="kiosk-pinned"),
    path("kiosk", pages.garden_kiosk),
    path("kiosk/emotion/", pages.emotion_check, name="kiosk-emotion-pinned"),
    path("kiosk/emotion", pages.emotion_check),
]
