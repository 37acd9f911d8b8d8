"""Fetch library models from the venue's store onto this host before jobs ask (docs/models.md#several-machines).

manage.py prefetch_models [NAME ...]
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from config.errors import DomainError
from library import cache
from library.models import LibraryEntry


class Command(BaseCommand):
    help = (
        "Fetch the named library entries (every stored model when none is named) from GARDEN_MODELS_STORE into this "
        "host's GARDEN_MODELS_DIR, each hash checked; room is made under GARDEN_MODELS_CACHE_GB as for jobs."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="entry names (any kind); none: every stored model (kind pipeline)")

    def handle(self, *args, names, **options):
        if not settings.GARDEN_MODELS_STORE or not settings.GARDEN_MODELS_DIR:
            raise CommandError("set GARDEN_MODELS_STORE (the store) and GARDEN_MODELS_DIR (this host's copy) first.")
        stored = LibraryEntry.objects.filter(stored_at__isnull=False).exclude(sha256="", manifest_sha256="")
        chosen = stored.filter(name__in=names) if names else stored.filter(kind=LibraryEntry.Kind.PIPELINE)
        unknown = sorted(set(names) - set(chosen.values_list("name", flat=True)))
        if unknown:
            raise CommandError(f"not in the store: {', '.join(unknown)} (manage.py push_models on the host that has them)")
        for entry in chosen.order_by("kind", "name"):
            try:
                path = cache.local_path(entry)
            except DomainError as exc:
                raise CommandError(f"{entry.name}: {exc}") from None
            self.stdout.write(f"here      {entry.name} ({entry.kind}, {filesizeformat(entry.size_bytes)}): {path}")
