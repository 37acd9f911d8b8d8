"""django-axes' Access attempts list, telling a lock that ended from one that holds.

Axes' own list says "Locked Out" for every row that reached the failure limit, even after the cool-off
(GARDEN_LOGIN_COOLOFF_MINUTES) ended and the pair may log in again; its filter does the same. Here both
count the cool-off from the pair's last failure, as the lockout page does (config.lockout).
"""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin, IsLockedOutFilter
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.lockout import cool_off


def _locks_from():
    """Failures after this moment still lock their pair; older ones have cooled off."""
    return timezone.now() - cool_off()


class LockedNowFilter(IsLockedOutFilter):
    title = _("Locked out now")

    def queryset(self, request, queryset):
        limit, since = settings.AXES_FAILURE_LIMIT, _locks_from()
        if self.value() == "yes":
            return queryset.filter(failures_since_start__gte=limit, attempt_time__gt=since)
        if self.value() == "no":
            return queryset.exclude(failures_since_start__gte=limit, attempt_time__gt=since)
        return queryset


class GardenAccessAttemptAdmin(AccessAttemptAdmin):
    list_filter = [LockedNowFilter if item is IsLockedOutFilter else item for item in AccessAttemptAdmin.list_filter]

    @admin.display(description=_("Status"))
    def status(self, obj: AccessAttempt) -> str:
        limit = settings.AXES_FAILURE_LIMIT
        if obj.failures_since_start < limit:
            return gettext("%(count)d attempts left") % {"count": limit - obj.failures_since_start}
        ends = obj.attempt_time + cool_off()
        if ends <= timezone.now():
            return gettext("Lock ended at %(time)s") % {"time": f"{timezone.localtime(ends):%Y-%m-%d %H:%M}"}
        return gettext("Locked out until %(time)s") % {"time": f"{timezone.localtime(ends):%Y-%m-%d %H:%M}"}


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, GardenAccessAttemptAdmin)
