"""Render the missing admin thumbnails (the admin also renders them lazily on first view)."""

from django.core.management.base import BaseCommand

from garden import thumbnails


class Command(BaseCommand):
    help = "Render WebP thumbnails under thumbs/ for images that have none."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None)

    def handle(self, *args, limit, **options):
        made, failed = thumbnails.generate_missing_thumbnails(limit=limit)
        self.stdout.write(f"made {made} thumbnail(s), {failed} failed")
