"""Restore an export, or import a folder laid out like the old S3 bucket."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from curation.transfer import TransferError, import_garden


class Command(BaseCommand):
    help = (
        "Import an export made by export_garden (folder or .tar.gz), or a plain folder tree like the old bucket "
        "(emotions/…, imgPool/…; emotion, favorite and orientation come from the keys). Running it again is safe."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", type=Path)

    def handle(self, *args, source: Path, **options):
        with tqdm(desc="Importing", unit="item", disable=options["verbosity"] == 0) as bar:

            def set_total(total):
                bar.total = total
                bar.refresh()

            try:
                report = import_garden(source=source, progress=bar.update, total=set_total)
            except TransferError as exc:
                raise CommandError(str(exc)) from None
        for problem in report.problems:
            self.stderr.write(self.style.WARNING(problem))
        self.stdout.write(
            self.style.SUCCESS(
                f"Images: {report.images_written} written, {report.images_skipped} unchanged. "
                f"Visitors: {report.visitors_written}. "
                f"Interactions: {report.interactions_written} written, {report.interactions_skipped} already present."
            )
        )
