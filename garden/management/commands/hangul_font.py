"""Rebuild the bundled Hangul and Japanese web fonts from the pages' text (see garden.hangul_font)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from garden import hangul_font


class Command(BaseCommand):
    help = "Subset NanumGothic and IPAexGothic to exactly the Korean and Japanese the pages use (garden/static/kiosk/fonts/)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--source-dir",
            type=Path,
            default=hangul_font.DEFAULT_SOURCE_DIR,
            help="Folder with NanumGothic.ttf and NanumGothicBold.ttf (apt-get install fonts-nanum)",
        )
        parser.add_argument(
            "--japanese-source",
            type=Path,
            default=hangul_font.JAPANESE_SOURCE,
            help="IPAexGothic's ipaexg.ttf (apt-get install fonts-ipaexfont-gothic)",
        )
        parser.add_argument("--check", action="store_true", help="Build nothing; fail if a bundled face lacks a character in use")

    def handle(self, *args, source_dir: Path, japanese_source: Path, check: bool, **options):
        for script, subset in hangul_font.subsets(source_dir, japanese_source).items():
            used = hangul_font.characters_in_sources(subset.wants)
            if check:
                self._check(subset, used)
                continue
            for style, source in subset.sources.items():
                if not source.exists():
                    package = "fonts-nanum" if script == "hangul" else "fonts-ipaexfont-gothic"
                    raise CommandError(f"No source font at {source}: apt-get install {package}, or pass its option.")
                out = hangul_font.build_subset(source=source, style=style, characters=used, family=subset.family, stem=subset.stem)
                self.stdout.write(f"Wrote {out} ({out.stat().st_size} bytes, {len(used)} {script} characters).")

    def _check(self, subset: hangul_font.Subset, used: dict) -> None:
        for path in subset.bundled().values():
            missing = sorted(set(used) - hangul_font.font_characters(path))
            if missing:
                where = sorted({str(source) for char in missing for source in used[char]})
                raise CommandError(f"{path.name} lacks {''.join(missing)} (used in {', '.join(where)}): run manage.py hangul_font")
            self.stdout.write(f"{path.name} covers all {len(used)} characters in use ({path.stat().st_size} bytes).")
