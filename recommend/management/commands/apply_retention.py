"""Delete visitor data past its retention period (GARDEN_RETAIN_*_DAYS); celery beat runs it daily."""

from django.core.management.base import BaseCommand, CommandError

from recommend import retention, training


class Command(BaseCommand):
    help = "Delete visitors' labels, events and served gardens older than their GARDEN_RETAIN_*_DAYS (counters keep their aggregates)."

    def handle(self, *args, **options):
        try:
            deleted = retention.apply_retention()
        except training.RebuildBusy:
            raise CommandError("A recommender rebuild is running; try again when it is done.") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {deleted.visitors} visitor(s), {deleted.events} event(s), {deleted.recommendations} served garden(s)."
                f" Cleared {deleted.job_links} live job link(s)."
            )
        )
