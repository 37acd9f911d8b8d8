"""Put a whole existing models folder into the venue's store (docs/models.md#several-machines).

manage.py push_models
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from config.errors import DomainError
from library.models import LibraryEntry
from library.services import copies
from library.services import follow as library_follow


class Command(BaseCommand):
    help = (
        "Scan this host's GARDEN_MODELS_DIR, then put every file it holds that GARDEN_MODELS_STORE lacks into the store "
        "(by sha256, once each); folders (diffusers pipelines) stay on their host."
    )

    def handle(self, *args, **options):
        if not settings.GARDEN_MODELS_STORE or not settings.GARDEN_MODELS_DIR:
            raise CommandError("set GARDEN_MODELS_STORE (the store) and GARDEN_MODELS_DIR (the folder to push) first.")
        try:
            library_follow.scan_now("command")  # this host's copies, up to date (and pushed)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        failed = False
        mine = LibraryEntry.objects.filter(copies__host=copies.host_name(), copies__on_disk=True)
        mine = mine.exclude(sha256="", manifest_sha256="").distinct()
        for entry in mine.order_by("kind", "name"):
            try:
                uploaded = copies.push(entry)
            except (DomainError, OSError) as exc:
                failed = True
                self.stderr.write(f"failed    {entry.name} ({entry.kind}): {exc}")
                continue
            word = "pushed" if uploaded else "stored"
            self.stdout.write(f"{word:<9} {entry.name} ({entry.kind}, {filesizeformat(entry.size_bytes)}, {entry.short_hash})")
        if failed:
            raise CommandError("some files were not put into the store (above); run push_models again.")
