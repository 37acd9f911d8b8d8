"""manage.py evaluate_faces DIR: accuracy, confusion and latency of the configured face backend."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from garden.faces import evaluation


class Command(BaseCommand):
    help = (
        "Run the configured face backend (GARDEN_FACE_BACKEND, GARDEN_EXPRESSION_*) over a folder of labelled photos, "
        "one sub-folder per label (happy/, calm/, surprised/ …), and report accuracy, per-label confusion and latency."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="folder with one sub-folder of photos per label")
        parser.add_argument(
            "--json", dest="json_path", type=Path, default=None, help="where to write the JSON report (default: var/evaluate_faces.json)"
        )
        parser.add_argument("--limit", type=int, default=None, help="evaluate at most this many photos")

    def handle(self, *args, directory: Path, json_path: Path | None, limit: int | None, **options):
        try:
            report = evaluation.evaluate(directory=Path(directory), limit=limit).as_dict()
        except evaluation.EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        path = Path(json_path or Path(settings.VAR_DIR) / "evaluate_faces.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2))
        self.stdout.write(evaluation.format_report(report))
        self.stdout.write(f"\nJSON report: {path}")
