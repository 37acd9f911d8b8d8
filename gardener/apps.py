from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class GardenerConfig(AppConfig):
    name = "gardener"
    verbose_name = gettext_lazy("Gardener")

    def ready(self):
        from config import dashboard, status_facts
        from gardener import checks, report, status, tasks  # noqa: F401 (register the check and the beat task)

        # The insights page shows the report's tables as a section (it imports nothing of ours).
        dashboard.register(dashboard.Section("gardener", gettext_lazy("The gardener"), report.dashboard_section))
        # The System status page says whether the gardener is on and trusted (it imports nothing of ours).
        status_facts.register("gardener", status.status_facts)
