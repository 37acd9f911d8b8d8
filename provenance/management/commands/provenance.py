"""manage.py provenance FILE|URL [--json]: what a picture carries (docs/provenance.md)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from PIL import UnidentifiedImageError

from provenance import report

MAX_BYTES = 64 * 1024 * 1024


def fetch(source: str, *, timeout: float) -> bytes:
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=timeout) as response:  # http(s) only: checked above
                content = response.read(MAX_BYTES + 1)
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise CommandError(f"Cannot fetch {source}: {getattr(exc, 'reason', exc)}") from None
    else:
        try:
            content = Path(source).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {source}: {exc.strerror}") from None
    if len(content) > MAX_BYTES:
        raise CommandError(f"{source} is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
    return content


class Command(BaseCommand):
    help = "Report the provenance a picture carries: XMP source type, EXIF parameters, C2PA manifest, watermark."

    def add_arguments(self, parser):
        parser.add_argument("source", help="a file path or an http(s) URL")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for a URL (default 15)")

    def handle(self, *args, **options):
        content = fetch(options["source"], timeout=options["timeout"])
        try:
            found = report.describe(content)
        except UnidentifiedImageError:
            raise CommandError(f"{options['source']} is not a picture Pillow can read.") from None
        if options["json"]:
            self.stdout.write(json.dumps(found, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"{options['source']}: {found['format']} {found['size'][0]}x{found['size'][1]}")
        marking = found["xmp"] or {}
        self.stdout.write(f"XMP digital source type: {marking.get('digital_source_type', '(none)')}")
        self.stdout.write(f"XMP software: {marking.get('software', '(none)')}; model: {marking.get('model', '(none)')}")
        self.stdout.write(f"EXIF parameters: {json.dumps(found['parameters'], ensure_ascii=False) if found['parameters'] else '(none)'}")
        manifest = found["c2pa"]
        if manifest is None:
            self.stdout.write("C2PA manifest: (none)")
        else:
            actions = ", ".join(f"{a['action']} ({a['digital_source_type']})" for a in manifest["actions"]) or "(no actions)"
            failures = ", ".join(manifest["failures"]) or "none"
            self.stdout.write(
                f"C2PA manifest: {manifest['validation_state']}; signer {manifest['signer']}; {actions}; failures: {failures}"
            )
        mark = found["watermark"]
        if not mark["checked"]:
            self.stdout.write(f"Watermark: not checked ({mark['reason']})")
        else:
            where = " over the repainted region {}x{} at {},{}".format(*mark["region"][2:], *mark["region"][:2]) if "region" in mark else ""
            self.stdout.write(f"Watermark: {'found' if mark['found'] else 'not found'} ({mark['matching_bits']}/{mark['of']} bits){where}")
