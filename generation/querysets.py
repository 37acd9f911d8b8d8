"""``GenerationJob.objects``: the job table read by name (compare NetBox's ipam/querysets.py,
django-tasks' ``DBTaskResultQuerySet.ready()``). Every status filter on jobs is spelled here once, so
an app reading jobs says which jobs it means (``in_flight()``), never which status values that is;
tests/generation/test_job_status_filters.py keeps the apps outside generation to these names."""

from __future__ import annotations

from django.db import models


class GenerationJobQuerySet(models.QuerySet):
    def queued(self, queue: str | None = None) -> GenerationJobQuerySet:
        """Jobs waiting for a worker (on ``queue`` when given), a cancel asked of them or not."""
        waiting = self.filter(status=self.model.Status.QUEUED)
        return waiting if queue is None else waiting.filter(queue=queue)

    def claimable(self, queue: str | None = None) -> GenerationJobQuerySet:
        """Jobs (of ``queue`` when given) a worker may claim: queued, no cancel asked."""
        return self.queued(queue).filter(cancel_requested=False)

    def running(self) -> GenerationJobQuerySet:
        return self.filter(status=self.model.Status.RUNNING)

    def in_flight(self) -> GenerationJobQuerySet:
        """Jobs not finished yet: queued or running."""
        return self.filter(status__in=(self.model.Status.QUEUED, self.model.Status.RUNNING))

    def finished(self) -> GenerationJobQuerySet:
        """Jobs at an end: succeeded, failed or cancelled."""
        return self.filter(status__in=self.model.FINISHED)

    def succeeded(self) -> GenerationJobQuerySet:
        return self.filter(status=self.model.Status.SUCCEEDED)
