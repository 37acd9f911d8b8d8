"""Figures for /metrics read at scrape time from the database and the broker.

Workers write their state to GenerationJob rows (status, timings, heartbeats) and the broker holds
the queues, so a scrape of any web process sees every worker's work without an exporter in the
workers. Each scrape costs a few grouped queries and one short broker call per queue.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector

from generation.models import GenerationJob

log = logging.getLogger(__name__)

# A worker counts as seen when it wrote a job heartbeat this recently (an idle worker is not seen).
WORKER_SEEN_WINDOW = timedelta(minutes=10)


def broker_queue_depths(queues: list[str]) -> dict[str, int]:
    """Messages waiting in each broker queue (kombu's passive declare: Redis, AMQP and the
    filesystem broker alike). A queue the broker does not know yet holds nothing."""
    from kombu import Connection

    depths: dict[str, int] = {}
    # One connection attempt: a scrape reports a down broker, it does not wait for it.
    options = {**getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}), "max_retries": 1, "interval_start": 0}
    with Connection(settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=settings.GARDEN_READY_TIMEOUT) as conn:
        channel = conn.default_channel
        for queue in queues:
            try:
                depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except conn.channel_errors:
                depths[queue] = 0
    return depths


class GardenCollector(Collector):
    def collect(self):
        yield from self._jobs()
        yield from self._durations()
        yield from self._queues()

    def _jobs(self):
        by_status = GaugeMetricFamily("garden_jobs", "Generation jobs by status and kind", labels=["status", "kind"])
        for row in GenerationJob.objects.values("status", "kind").annotate(n=Count("id")).order_by():
            by_status.add_metric([row["status"], row["kind"]], row["n"])
        yield by_status
        seen = GaugeMetricFamily(
            "garden_workers_seen",
            "Workers that wrote a job heartbeat in the last 10 minutes, by queue (gpu: the GPU workers)",
            labels=["queue"],
        )
        recent = GenerationJob.objects.filter(heartbeat_at__gte=timezone.now() - WORKER_SEEN_WINDOW).exclude(worker="")
        by_queue = dict(recent.values_list("queue").annotate(n=Count("worker", distinct=True)).order_by())
        for queue in sorted({settings.GARDEN_GPU_QUEUE, "default", *by_queue}):
            seen.add_metric([queue], by_queue.get(queue, 0))
        yield seen

    def _durations(self):
        """Succeeded jobs: wall time from start to finish, per job and per image."""
        jobs = SummaryMetricFamily("garden_job_duration_seconds", "Succeeded jobs' time from start to finish", labels=["backend", "model"])
        images = SummaryMetricFamily("garden_image_duration_seconds", "Succeeded jobs' time per image made", labels=["backend", "model"])
        duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        rows = (
            GenerationJob.objects.succeeded()
            .filter(started_at__isnull=False, finished_at__isnull=False)
            .values("backend", "model_id")
            .annotate(n=Count("id"), seconds=Sum(duration), made=Sum("images_done"))
            .order_by()
        )
        for row in rows:
            seconds = row["seconds"].total_seconds() if row["seconds"] else 0.0
            labels = [row["backend"], row["model_id"] or "-"]
            jobs.add_metric(labels, count_value=row["n"], sum_value=seconds)
            images.add_metric(labels, count_value=row["made"] or 0, sum_value=seconds)
        yield jobs
        yield images

    def _queues(self):
        queues = sorted({"default", settings.GARDEN_GPU_QUEUE, *GenerationJob.objects.values_list("queue", flat=True).distinct()})
        queued = GaugeMetricFamily("garden_jobs_queued", "Jobs waiting for a worker, by queue (database)", labels=["queue"])
        counts = dict(GenerationJob.objects.queued().values_list("queue").annotate(n=Count("id")).order_by())
        for queue in queues:
            queued.add_metric([queue], counts.get(queue, 0))
        yield queued
        depth = GaugeMetricFamily("garden_broker_queue_messages", "Messages waiting in the broker, by queue", labels=["queue"])
        up = GaugeMetricFamily("garden_broker_up", "1 when the broker answered this scrape")
        try:
            for queue, count in broker_queue_depths(queues).items():
                depth.add_metric([queue], count)
            up.add_metric([], 1)
        except Exception:  # a broker outage is a figure here, not a failed scrape
            log.warning("metrics: the broker did not answer", exc_info=True)
            up.add_metric([], 0)
        yield depth
        yield up
