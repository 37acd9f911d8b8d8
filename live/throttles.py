from django.conf import settings

from config.api import KioskRateThrottle, client_ip


class LiveRateThrottle(KioskRateThrottle):
    """POST /live per kiosk (client address): GARDEN_LIVE_RATE, on top of the kiosk rate. Polling
    the status and cancelling are not counted here (a painting tile polls a few times a second)."""

    scope = "live"

    def get_rate(self):
        return settings.GARDEN_LIVE_RATE

    def get_cache_key(self, request, view):
        return f"throttle:live:{client_ip(request)}"

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        return super().allow_request(request, view)
