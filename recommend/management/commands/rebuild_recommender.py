from django.core.management.base import BaseCommand

from recommend import training


class Command(BaseCommand):
    help = "Recompute the recommender's counters from the interactions table and publish a new model version."

    def add_arguments(self, parser):
        parser.add_argument("--als", action="store_true", help="Also fit implicit ALS factors (RECOMMEND_ALS_ENABLED does the same)")

    def handle(self, *args, als=False, **options):
        version = training.rebuild(with_als=als or None)
        self.stdout.write(f"model version {version.pk}: {version.metrics} params={version.params}")
