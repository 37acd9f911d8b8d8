from django.core.management.base import BaseCommand

from recommend import simulation, training


class Command(BaseCommand):
    help = "Write synthetic visitors with hidden per-segment tastes (and their images) into the interactions table."

    def add_arguments(self, parser):
        parser.add_argument("--visitors", type=int, default=3000)
        parser.add_argument("--images-per-key", type=int, default=30)
        parser.add_argument("--emotions", type=int, default=3, help="How many emotions get simulated images")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--purge", action="store_true", help="Only delete earlier simulated visitors and images")
        parser.add_argument("--no-rebuild", action="store_true", help="Do not rebuild the recommender afterwards")

    def handle(self, *args, **options):
        visitors, images = simulation.purge()
        self.stdout.write(f"purged {visitors} simulated visitor rows and {images} image rows (with cascades)")
        if options["purge"]:
            return
        counts = simulation.simulate(
            visitors=options["visitors"], images_per_key=options["images_per_key"], emotions=options["emotions"], seed=options["seed"]
        )
        self.stdout.write(f"simulated: {counts}")
        if not options["no_rebuild"]:
            version = training.rebuild()
            self.stdout.write(f"model version {version.pk}: {version.metrics}")
