"""Measure the looks of stored pictures that have none (or an older one): garden.look_services."""

import time

from django.core.management.base import BaseCommand, CommandError

from garden import look_services


class Command(BaseCommand):
    help = (
        "Measure what each stored picture looks like (colour and light statistics, garden.looks) for the "
        "pictures without a look or with one of an older version; --all measures every picture again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", dest="all_", help="measure every picture, not only the unmeasured")
        parser.add_argument("--batch", type=int, default=200, help="pictures read per database write (default 200)")

    def handle(self, *args, all_, batch, **options):
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        started = time.perf_counter()
        last = look_services.BackfillCounts()
        shown = 0.0

        def progress(counts: look_services.BackfillCounts) -> None:
            nonlocal last, shown
            last = counts
            # A line a second at most: 400k pictures are 2,000 batches.
            if counts.total and (time.perf_counter() - shown >= 1 or counts.seen >= counts.total):
                shown = time.perf_counter()
                self.stdout.write(f"{counts.seen}/{counts.total} pictures ({counts.measured} measured)")

        measured = look_services.backfill_looks(batch=batch, all_=all_, progress=progress)
        unreadable = f", {last.unreadable} unreadable" if last.unreadable else ""
        self.stdout.write(
            f"Measured {measured} pictures ({last.missing} missing files{unreadable}) in {time.perf_counter() - started:.1f} s"
        )
