"""The fleet on /metrics, read at scrape time (config.metrics.register_collector): screens per status
and each enrolled screen's seconds since its last beat. Both come from screens.status, so an alert
fires on the same "silent" the fleet page shows (docs/fleet.md has an example rule)."""

from __future__ import annotations

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from screens import selectors


class ScreensCollector(Collector):
    def collect(self):
        now = timezone.now()
        by_status = GaugeMetricFamily("garden_screens", "Screens by status (ok, warning, silent, unenrolled)", labels=["status"])
        for status, count in selectors.summary(now=now).counts.items():
            by_status.add_metric([status], count)
        yield by_status
        since = GaugeMetricFamily(
            "garden_screen_seconds_since_beat",
            "Seconds since each enrolled screen's last beat (since its enrolment when it never beat)",
            labels=["screen", "name"],
        )
        for screen, seconds in selectors.seconds_since_beat(now=now):
            since.add_metric([str(screen.pk), screen.name], seconds)
        yield since
