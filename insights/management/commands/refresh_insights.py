"""Refresh the insights rollups now (what the beat task does), or recompute from a given day."""

from datetime import date, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from insights import services


class Command(BaseCommand):
    help = (
        "Recompute the insights rollups: the recent days (as Celery beat does), every day from --since, "
        "or (--totals) the per-image totals from the kept daily rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", type=date.fromisoformat, default=None, help="recompute every day from this date (YYYY-MM-DD)")
        parser.add_argument("--totals", action="store_true", help="only recompute the per-image totals from the daily rows")

    def handle(self, *args, since, totals, **options):
        try:
            if totals:
                self.stdout.write(f"per-image totals recomputed for {services.rebuild_totals()} images")
                return
            start = timezone.make_aware(datetime.combine(since, datetime.min.time())) if since else None
            result = services.refresh_rollups(since=start)
        except services.RefreshBusy as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{result.days} day(s) from {result.window_start:%Y-%m-%d} recomputed in {result.seconds:.1f} s; "
            f"complete up to {result.computed_until:%Y-%m-%d %H:%M}"
        )
