from django.urls import path

from garden import pages, views
from garden.emotion_views import EmotionView

urlpatterns = [
    path("gardenfromDB", views.GardenFromDBView.as_view(), name="garden-from-db"),
    path("emotion", EmotionView.as_view(), name="emotion"),
    # Kiosk pages (garden/pages.py). APPEND_SLASH is off, so each also answers without the slash.
    path("", pages.garden_kiosk, name="kiosk-home"),
    path("kiosk/", pages.garden_kiosk, name="kiosk"),
    path("kiosk/emotion/", pages.emotion_check, name="kiosk-emotion"),
    path("kiosk", pages.garden_kiosk),
    path("kiosk/visitor-code", pages.visitor_code, name="kiosk-visitor-code"),
    path("kiosk/emotion", pages.emotion_check),
    # The share page of one serving image and its QR code (docs/kiosk.md, "Share page").
    path("image", pages.share_image, name="share-image"),
    path("image/qr", pages.share_image_qr, name="share-image-qr"),
]
