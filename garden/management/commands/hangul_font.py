"""Rebuild the bundled Hangul web font from the pages' Korean text (see garden.hangul_font)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from garden import hangul_font


class Command(BaseCommand):
    help = "Subset NanumGothic to exactly the Hangul characters the pages use (garden/static/kiosk/fonts/)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--source-dir",
            type=Path,
            default=hangul_font.DEFAULT_SOURCE_DIR,
            help="Folder with NanumGothic.ttf and NanumGothicBold.ttf (apt-get install fonts-nanum)",
        )
        parser.add_argument("--check", action="store_true", help="Build nothing; fail if a bundled face lacks a character in use")

    def handle(self, *args, source_dir: Path, check: bool, **options):
        used = hangul_font.hangul_in_sources()
        if check:
            self._check(used)
            return
        for style, filename in hangul_font.STYLES.items():
            source = source_dir / filename
            if not source.exists():
                raise CommandError(f"No source font at {source}: apt-get install fonts-nanum, or pass --source-dir.")
            out = hangul_font.build_subset(source=source, style=style, characters=used)
            self.stdout.write(f"Wrote {out} ({out.stat().st_size} bytes, {len(used)} Hangul characters).")

    def _check(self, used: dict) -> None:
        for path in hangul_font.bundled_fonts().values():
            missing = sorted(set(used) - hangul_font.font_characters(path))
            if missing:
                where = sorted({str(source) for char in missing for source in used[char]})
                raise CommandError(f"{path.name} lacks {''.join(missing)} (used in {', '.join(where)}): run manage.py hangul_font")
            self.stdout.write(f"{path.name} covers all {len(used)} Hangul characters in use ({path.stat().st_size} bytes).")
