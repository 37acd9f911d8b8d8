"""Export the garden to move or share it: every image file with its metadata, the visitors and the interactions.

Not a backup (users, jobs, zones, counters, rollups and thumbnails are not in it): that is `manage.py backup`.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from curation.transfer import TransferError, export_garden, is_archive
from garden.models import Image


class Command(BaseCommand):
    help = (
        "Export all images (files + metadata), visitors and interactions to a folder or a .tar.gz archive, to move the "
        "garden to another installation or share it (import_garden reads it). Not a backup: use `manage.py backup`."
    )

    def add_arguments(self, parser):
        parser.add_argument("destination", type=Path, help="A new/empty folder, or a path ending in .tar.gz")

    def handle(self, *args, destination: Path, **options):
        if not is_archive(destination) and destination.exists() and any(destination.iterdir()):
            raise CommandError(f"{destination} is not empty; choose a new folder or a .tar.gz path")
        total = Image.objects.all_pictures().count()
        with tqdm(total=total, desc="Exporting images", unit="img", disable=options["verbosity"] == 0) as bar:
            try:
                counts = export_garden(destination=destination, progress=bar.update)
            except TransferError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {counts['images']} images, {counts['visitors']} visitors, {counts['interactions']} interactions to {destination}"
            )
        )
