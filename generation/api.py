"""The generation endpoints' view base: GPU work, for a staff session or an API token
(``config.api.StaffOrTokenAPIView``), refused in generation's words. The job API, text-to-image and
retouch's endpoints (their jobs are generation jobs) answer through it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from config.api import StaffOrToken, StaffOrTokenAPIView


class GenerationStaffOrToken(StaffOrToken):
    message = gettext_lazy("Generation needs a staff session or an API token.")


class GenerationAPIView(StaffOrTokenAPIView):
    permission_classes = [GenerationStaffOrToken]
