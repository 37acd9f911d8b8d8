"""The insights page in the admin: staff with ``insights.view_dashboard`` (the Analysts group).

The admin's "Insights dashboard" entry opens the page (the changelist of a model without a
table); each chart's numbers, and the coverage grid's, download as CSV from ``csv/<chart>/`` with
the same filters.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from config import dashboard
from insights import selectors
from insights.charts import percent_text, to_csv
from insights.models import Dashboard

VIEW_PERMISSION = "insights.view_dashboard"
DEMOTE_PERMISSION = "curation.promote_image"  # promote and demote (curators)


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and request.user.has_perm(VIEW_PERMISSION)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("csv/<slug:chart_id>/", wrap(self.csv_view), name="insights_dashboard_csv"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        filters = selectors.parse_filters(request.GET)
        page = selectors.dashboard(filters=filters)
        query = urlencode(filters.as_query())
        sections = [
            (
                title,
                _(title),
                [{"chart": chart, "csv": f"{reverse('admin:insights_dashboard_csv', args=[chart.id])}?{query}"} for chart in charts],
            )
            for title, charts in page["sections"]
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Insights"),
            "filters": filters,
            "emotions": selectors.EMOTIONS,
            "hourly_max_days": selectors.HOURLY_MAX_DAYS,
            "headline": page["headline"],
            "coverage": page["coverage"],
            "coverage_csv": f"{reverse('admin:insights_dashboard_csv', args=['coverage'])}?{query}",
            "prune": page["prune"],
            # The like-rate of all serving images shown: an image is listed once its interval clears it.
            "prune_baseline": "" if page["prune_baseline"] is None else percent_text(round(100 * page["prune_baseline"], 1)),
            # Demoting is curation's: its confirmation page (curation.views.demote) does it and
            # comes back here. Linked by URL name only: insights imports nothing from curation.
            "can_demote": request.user.has_perm(DEMOTE_PERMISSION),
            "back": request.get_full_path(),
            "sections": sections,
            # Other apps' sections (the gardener's report), registered in config.dashboard.
            "contributed": dashboard.rendered(request),
            "charts": page["charts"],
            "state": page["state"],
        }
        return TemplateResponse(request, "admin/insights/dashboard.html", context)

    def csv_view(self, request, chart_id: str):
        if not self.has_view_permission(request):
            raise PermissionDenied
        filters = selectors.parse_filters(request.GET)
        if chart_id == "coverage":
            table = selectors.coverage(filters).table
        else:
            chart = selectors.chart(chart_id=chart_id, filters=filters)
            if chart is None:
                raise Http404(_("No such chart."))
            table = chart.table
        response = HttpResponse(to_csv(table), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="insights-{chart_id}-{filters.start}-{filters.end}.csv"'
        return response
