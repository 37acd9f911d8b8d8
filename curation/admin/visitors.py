"""Visitors in the admin: read-only derived labels, for staff with the view right (not curators).

Deleting a visitor here is a deletion request: it goes through ``recommend.retention.forget_visitor``
(labels, events and served gardens; the aggregates stay), exactly as ``manage.py forget_visitor``.
The search box also takes the code a kiosk showed the visitor (ABCD-EFGH).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from curation.paginators import EstimatedCountPaginator
from garden.models import EMOTION_LABELS, Visitor
from garden.visitors import InvalidVisitorId, normalize_code
from recommend import retention, training

# The stored values are wire values that never change (garden.choices.AgeGroup, the /emotion answer's
# gender); the admin says them in the reader's language.
AGE_GROUP_LABELS = {
    Visitor.AgeGroup.TODDLER: pgettext_lazy("age group", "toddler"),
    Visitor.AgeGroup.CHILD: pgettext_lazy("age group", "child"),
    Visitor.AgeGroup.TEENAGER: pgettext_lazy("age group", "teenager"),
    Visitor.AgeGroup.YOUNG_ADULT: pgettext_lazy("age group", "young adult"),
    Visitor.AgeGroup.ADULT: pgettext_lazy("age group", "adult"),
    Visitor.AgeGroup.MIDDLE_AGE: pgettext_lazy("age group", "middle age"),
    Visitor.AgeGroup.ELDER: pgettext_lazy("age group", "elder"),
}
GENDER_LABELS = {"Male": pgettext_lazy("gender", "male"), "Female": pgettext_lazy("gender", "female")}


class LabelFilter(admin.SimpleListFilter):
    """A filter on a stored value, each choice in the reader's language."""

    labels: dict = {}

    def lookups(self, request, model_admin):
        return list(self.labels.items())

    def queryset(self, request, queryset):
        return queryset.filter(**{self.parameter_name: self.value()}) if self.value() else queryset


class AgeGroupFilter(LabelFilter):
    title, parameter_name, labels = gettext_lazy("age group"), "age_group", AGE_GROUP_LABELS


class GenderFilter(LabelFilter):
    title, parameter_name, labels = gettext_lazy("gender"), "gender", GENDER_LABELS


class EmotionFilter(LabelFilter):
    title, parameter_name, labels = gettext_lazy("emotion"), "emotion", EMOTION_LABELS


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    """Read-only: visitors are derived labels written by /emotion; curators do not get this right."""

    list_display = ("id", "age_group_shown", "gender_shown", "emotion_shown", "first_seen", "last_seen")
    list_filter = (AgeGroupFilter, GenderFilter, EmotionFilter, ("last_seen", admin.DateFieldListFilter))
    search_fields = ("=id",)
    search_help_text = gettext_lazy("A visitor id, or the visitor code the kiosk showed (ABCD-EFGH).")
    list_per_page = 100
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    readonly_fields = ("id", "age_low", "age_high", "age_group", "gender", "emotion", "features", "first_seen", "last_seen")

    @admin.display(description=gettext_lazy("age group"), ordering="age_group")
    def age_group_shown(self, visitor: Visitor) -> str:
        return str(AGE_GROUP_LABELS.get(visitor.age_group, visitor.age_group))

    @admin.display(description=gettext_lazy("gender"), ordering="gender")
    def gender_shown(self, visitor: Visitor) -> str:
        return str(GENDER_LABELS.get(visitor.gender, visitor.gender))

    @admin.display(description=gettext_lazy("emotion"), ordering="emotion")
    def emotion_shown(self, visitor: Visitor) -> str:
        return str(EMOTION_LABELS.get(visitor.emotion, visitor.emotion))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        results, duplicates = super().get_search_results(request, queryset, search_term)
        try:
            code = normalize_code(search_term)
        except InvalidVisitorId:
            return results, duplicates
        return results | queryset.filter(pk__in=retention.visitor_ids_with_code(code)), True

    def get_deleted_objects(self, objs, request):
        """The confirmation lists what really goes: labels, events and served gardens."""
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        kept = retention.kept_about(visitor_ids=[visitor.pk for visitor in objs])
        model_count = {
            _("visitors"): kept.visitors,
            _("events (likes, impressions, dislikes)"): kept.events,
            _("served gardens"): kept.recommendations,
        }
        summary = _("%(events)d event(s) and %(gardens)d served garden(s) of these visitors (their counts stay in the aggregates)") % {
            "events": kept.events,
            "gardens": kept.recommendations,
        }
        return [*to_delete, summary], model_count, perms_needed, protected

    def delete_model(self, request, obj):
        self._forget(request, [obj.pk])

    def delete_queryset(self, request, queryset):
        self._forget(request, list(queryset.values_list("pk", flat=True)))

    def _forget(self, request, visitor_ids: list[str]) -> None:
        for done, visitor_id in enumerate(visitor_ids):
            try:
                retention.forget_visitor(visitor_id=visitor_id)
            except training.RebuildBusy:
                request._visitor_delete_busy = True  # the admin's "Successfully deleted" would be false
                self.message_user(
                    request,
                    _("A recommender rebuild is running: deleted %(done)d of %(total)d visitor(s); try the rest in a minute.")
                    % {"done": done, "total": len(visitor_ids)},
                    messages.ERROR,
                )
                return

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        if getattr(request, "_visitor_delete_busy", False) and level != messages.ERROR:
            return
        super().message_user(request, message, level, *args, **kwargs)
