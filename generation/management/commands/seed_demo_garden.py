"""Paint a demo garden with the procedural painter and put it straight into serving."""

from django.core.management.base import BaseCommand
from django.utils import timezone
from tqdm import tqdm

from garden.keys import EMOTIONS, new_timestr
from garden.models import Image
from generation.requests import LANDSCAPE_SIZE, PORTRAIT_SIZE
from generation.services.demo import paint_procedural_image

DEMO_FAVORITES = ("", "spring,sunny,day", "autumn,rainy,sunset", "winter,snowy,the-middle-of-the-night")


class Command(BaseCommand):
    help = "Seed a demo garden: every emotion × a few favorites, landscape and portrait, serving at once."

    def add_arguments(self, parser):
        parser.add_argument("--per-key", type=int, default=3, help="Images per search key and orientation (default 3).")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when serving images already exist.")

    def handle(self, *args, per_key, if_empty, **options):
        if if_empty and Image.objects.serving().exists():
            self.stdout.write("Serving images already exist; demo garden not seeded.")
            return
        plan = [(emotion, favorite, index) for emotion in EMOTIONS for favorite in DEMO_FAVORITES for index in range(per_key)]
        progress = tqdm(total=len(plan) * 2, desc="Painting demo garden", unit="img", disable=options["verbosity"] == 0)
        for emotion, favorite, index in plan:
            timestr = new_timestr(timezone.now())  # one timestamp per landscape/portrait pair
            for width, height in (LANDSCAPE_SIZE, PORTRAIT_SIZE):
                paint_procedural_image(
                    emotion=emotion, favorite=favorite, seed=index, width=width, height=height, index=index, timestr=timestr, serving=True
                )
                progress.update()
        progress.close()
        self.stdout.write(self.style.SUCCESS(f"Seeded {len(plan) * 2} serving images."))
