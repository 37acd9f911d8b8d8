"""Client keys in the admin: make one (its secret shown once), list them with their last use, revoke
them (docs/a1111.md#client-keys).

Made by post/redirect/get: the form's answer redirects to the key's *issued* page, which shows the
secret once, with a copy button. Between the two the secret waits in the session (server-side), and
the first GET of that page takes it out: a reload says it was shown and makes no second key.

A superuser makes keys for any active staff user and sees every key; other staff with the client
key rights make, see and revoke only their own (a key acts as its user: making one for another
user would be acting as them).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy, ngettext

from infra import client_keys
from infra.models import ClientKey

ISSUED_SESSION_KEY = "infra_client_key_issued"  # {id, secret} of the key just made, until its page shows it


class KeyStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("in-use", gettext_lazy("in use")), ("revoked", gettext_lazy("revoked"))]

    def queryset(self, request, queryset):
        if self.value() == "in-use":
            return queryset.filter(revoked_at=None)
        if self.value() == "revoked":
            return queryset.exclude(revoked_at=None)
        return queryset


@admin.register(ClientKey)
class ClientKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "created_by", "last_used_at", "state")
    list_filter = (KeyStateFilter,)
    search_fields = ("name", "user__username", "prefix")
    list_select_related = ("user", "created_by")
    actions = ["revoke_keys"]

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj):
        return gettext_lazy("revoked") if obj.revoked_at else gettext_lazy("in use")

    def get_queryset(self, request):
        keys = super().get_queryset(request)
        return keys if request.user.is_superuser else keys.filter(user=request.user)

    def get_fields(self, request, obj=None):
        return ["user", "name"] if obj is None else ["user", "name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("user", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            users = get_user_model().objects.filter(is_active=True, is_staff=True)
            kwargs["queryset"] = users if request.user.is_superuser else users.filter(pk=request.user.pk)
            kwargs["initial"] = request.user.pk
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
        else:
            obj.issued_secret = client_keys.issue(obj, by=request.user)

    def response_add(self, request, obj, post_url_continue=None):
        request.session[ISSUED_SESSION_KEY] = {"id": obj.pk, "secret": obj.issued_secret}
        return HttpResponseRedirect(reverse("admin:infra_clientkey_issued", args=[obj.pk]))

    def get_urls(self):
        issued = path("<int:pk>/issued/", self.admin_site.admin_view(self.issued_view), name="infra_clientkey_issued")
        return [issued, *super().get_urls()]

    def issued_view(self, request, pk: int):
        """The key's secret, the first time this page is read after the key was made; never cached."""
        key = get_object_or_404(self.get_queryset(request), pk=pk)
        waiting = request.session.get(ISSUED_SESSION_KEY) or {}
        secret = ""
        if waiting.get("id") == key.pk:
            secret = waiting.get("secret", "")
            del request.session[ISSUED_SESSION_KEY]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "key": key,
            "secret": secret,
            "title": gettext_lazy("Client key made"),
        }
        response = TemplateResponse(request, "admin/infra/clientkey/issued.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description=gettext_lazy("Revoke the selected keys"), permissions=["change"])
    def revoke_keys(self, request, queryset):
        revoked = client_keys.revoke(queryset)
        message = ngettext("%(count)d key revoked: it no longer works.", "%(count)d keys revoked: they no longer work.", revoked)
        self.message_user(request, message % {"count": revoked}, messages.SUCCESS)
