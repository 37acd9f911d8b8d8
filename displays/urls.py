from django.urls import path, re_path

from displays import views

ZONE = r"(?P<zone>[a-z0-9][a-z0-9_-]{0,31})"  # garden.keys.DISPLAY_ZONE_RE

urlpatterns = [
    path("updateDisplay", views.UpdateDisplayView.as_view(), name="update-display"),
    # The exact path old edge screens poll (docs/contracts.md): display/<zone>/img<N><h|v>.jpeg.
    re_path(rf"^display/{ZONE}/img(?P<slot>[0-9]{{1,2}})(?P<orientation>[hv])\.jpeg$", views.slot_file, name="display-slot"),
    re_path(rf"^display/{ZONE}/state$", views.zone_state, name="display-state"),
    # The signage page; APPEND_SLASH is off, so it also answers without the slash.
    re_path(rf"^display/{ZONE}/$", views.signage, name="display-signage"),
    re_path(rf"^display/{ZONE}$", views.signage),
]
