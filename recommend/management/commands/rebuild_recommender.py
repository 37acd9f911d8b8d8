from django.core.management.base import BaseCommand, CommandError

from garden import catalog_changes
from recommend import training


class Command(BaseCommand):
    help = "Bring the recommender's counters up to date from the interactions table and publish a new model version."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Recount every event (by default only those since the last rebuild)")
        parser.add_argument("--als", action="store_true", help="Also fit implicit ALS factors (RECOMMEND_ALS_ENABLED does the same)")

    def handle(self, *args, als=False, full=False, **options):
        try:
            version = training.rebuild(with_als=als or None, full=full)
        except catalog_changes.CatalogTriggersMissing as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"model version {version.pk}: {version.metrics} params={version.params}")
