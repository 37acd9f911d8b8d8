"""Which model each SD client chose (``POST /sdapi/v1/options``), in the admin.

A1111 has one user, so its options are global; here each caller keeps its own model and VAE
(a1111.identity: a client key is its own caller, any other credential its user). This list names
each caller (the client key's name and user, or the user) beside its choice, read-only; deleting a
row sends that client back to the venue's default model. Staff who are not superusers see their
own (their user's and their keys' choices), as on the client keys' list.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import CharField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext_lazy

from a1111.models import ClientChoice
from infra.models import ClientKey


def _identities(model, prefix: str):
    """``model``'s rows with the identity a1111.identity gives them (``key:<id>``, ``user:<id>``)."""
    return model.objects.annotate(identity=Concat(Value(prefix), Cast("pk", CharField())))


@admin.register(ClientChoice)
class ClientChoiceAdmin(admin.ModelAdmin):
    list_display = ("client", "user", "chosen_model", "chosen_vae", "chosen_at")
    # Its fields have no translated names (a1111.models): the change page shows these, in the reader's language.
    fields = readonly_fields = list_display
    search_fields = ("model", "vae")
    list_per_page = 100

    def get_queryset(self, request):
        keys = _identities(ClientKey, "key:").filter(identity=OuterRef("identity"))
        users = _identities(get_user_model(), "user:").filter(identity=OuterRef("identity"))
        choices = (
            super()
            .get_queryset(request)
            .annotate(
                key_name=Subquery(keys.values("name")[:1]),
                key_user=Subquery(keys.values("user__username")[:1]),
                user_name=Subquery(users.values("username")[:1]),
            )
        )
        if request.user.is_superuser:
            return choices
        own_keys = [f"key:{pk}" for pk in ClientKey.objects.filter(user=request.user).values_list("pk", flat=True)]
        return choices.filter(Q(identity=f"user:{request.user.pk}") | Q(identity__in=own_keys))

    @admin.display(description=gettext_lazy("client"), ordering="identity")
    def client(self, choice) -> str:
        if choice.key_name:
            return gettext_lazy("key “%(name)s”") % {"name": choice.key_name}
        return choice.user_name or choice.identity  # a user's password or token; a deleted caller by its identity

    @admin.display(description=gettext_lazy("user"))
    def user(self, choice) -> str:
        return choice.key_user or choice.user_name or ""

    @admin.display(description=gettext_lazy("model"), ordering="model")
    def chosen_model(self, choice) -> str:
        return choice.model or gettext_lazy("the venue's default")

    @admin.display(description=gettext_lazy("VAE"), ordering="vae")
    def chosen_vae(self, choice) -> str:
        return choice.vae or gettext_lazy("the model's own")

    @admin.display(description=gettext_lazy("chosen at"), ordering="updated_at")
    def chosen_at(self, choice):
        return choice.updated_at

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # chosen by the client; deleting a row sends it back to the venue's default
