"""Restore an archive made by `manage.py backup`: the database and every stored object."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from curation.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Replace the database and write back every stored object from an archive made by `manage.py backup`. "
        "Checks the archive (sha256 of each file, migrations) before changing anything; refuses a database that "
        "has data unless --force, and an archive made by a newer version. Stop web, workers and beat first."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", type=Path)
        parser.add_argument("--force", action="store_true", help="Replace a database that has data")

    def handle(self, *args, source: Path, force: bool, **options):
        quiet = options["verbosity"] == 0
        with tqdm(desc="Restoring", unit="file", disable=quiet) as bar:

            def set_total(total):
                bar.total = total
                bar.refresh()

            say = (lambda text: None) if quiet else bar.write
            try:
                report = restore_backup(source=source, force=force, say=say, advance=bar.update, total=set_total)
            except BackupError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Restored {sum(report.counts.values())} rows and {report.files} files from {source}"))
        if report.extra_objects:
            self.stdout.write(self.style.WARNING(f"{report.extra_objects} stored objects are not in the backup (left in place)."))
        if report.unapplied:
            self.stdout.write(
                self.style.WARNING(
                    f"The backup predates migrations of this version: run `manage.py migrate` ({', '.join(report.unapplied)})."
                )
            )
        self.stdout.write("Restart web, workers and beat so no process keeps state from before the restore.")
