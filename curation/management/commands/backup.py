"""Back up the whole installation: the database and every stored object, in one archive."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from curation.backup import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Write one archive with the database (pg_dump -Fc, or SQLite's online backup), every object of the image "
        "storage and of the retouch uploads, and a manifest (version, migrations, row counts, sha256 of each file). "
        "Restore it with `manage.py restore`. Not export_garden, which moves images and visitors between installations."
    )

    def add_arguments(self, parser):
        parser.add_argument("destination", type=Path, help="A new file: NAME.tar, or NAME.tar.gz to compress")

    def handle(self, *args, destination: Path, **options):
        quiet = options["verbosity"] == 0
        with tqdm(desc="Storage objects", unit="obj", disable=quiet) as bar:

            def set_total(total):
                bar.total = total
                bar.refresh()

            try:
                manifest = create_backup(destination=destination, say=self._say(bar, quiet), advance=bar.update, total=set_total)
            except BackupError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Backed up {sum(manifest['counts'].values())} rows and {len(manifest['files'])} files to {destination}")
        )

    def _say(self, bar, quiet):
        return (lambda text: None) if quiet else bar.write
