"""``manage.py check_safety [--all] [--dry-run]``: run the image check on stored pool and serving
pictures (by default those never checked), record the verdicts, quarantine flagged serving ones."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from safety import scanning


class Command(BaseCommand):
    help = "Check stored pool and serving pictures (never-checked ones unless --all); flagged serving pictures go back to the pool."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Recheck every pool and serving picture, not only unchecked ones.")
        parser.add_argument("--dry-run", action="store_true", help="Check and count only: write no verdict, move no picture.")

    def handle(self, *args, **options):
        pictures = scanning.pictures_to_scan(everything=options["all"])
        with tqdm(total=pictures.count(), unit="picture", disable=options["verbosity"] < 1) as bar:
            counts = scanning.scan(pictures.iterator(), dry_run=options["dry_run"], progress=bar.update)
        summary = ", ".join(f"{counts[name]} {name}" for name in scanning.COUNTED)
        self.stdout.write(("dry run: " if options["dry_run"] else "") + summary)
