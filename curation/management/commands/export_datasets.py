"""Write the interaction data set as Personalize-style CSVs."""

from pathlib import Path

from django.core.management.base import BaseCommand

from curation.datasets import write_personalize_csvs


class Command(BaseCommand):
    help = "Write users.csv, items.csv and interactions.csv (the AWS Personalize layout) into a folder."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--all-images", action="store_true", help="Items: every image, not only serving ones.")

    def handle(self, *args, folder: Path, all_images: bool, **options):
        counts = write_personalize_csvs(folder=folder, all_images=all_images)
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {counts['users']} users, {counts['items']} items, {counts['interactions']} interactions to {folder}")
        )
