"""The bundled web fonts: subsets with exactly the Korean and the Japanese the pages use.

Kiosk screens without a CJK font show Korean and Japanese as empty boxes, so the pages ship their
own: the characters found in the templates, the static scripts, the Python modules that hand labels
to templates (``garden/pages.py`` …) and the translation catalogs (``locale/*/LC_MESSAGES/*.po``),
cut with fontTools and saved as WOFF2 (WOFF without ``brotli``):

- Hangul from NanumGothic (SIL OFL 1.1, Debian's ``fonts-nanum``), renamed "Garden Hangul" (the OFL
  reserves the original's name); two faces, regular and bold (headings and buttons are bold).
- Japanese (kana, the kanji in use, CJK punctuation and full-width forms) from IPAexGothic (IPA Font
  License 1.0, Debian's ``fonts-ipaexfont-gothic``), renamed "Garden Japanese" (the licence asks a
  derived font not to use the original's name); one face, browsers embolden it for bold text.

``manage.py hangul_font`` rebuilds them all; ``--check`` (and tests/kiosk/test_hangul_font.py) fail
when a page uses a character a subset lacks. fontTools and brotli are build-time tools
(requirements/dev.txt): nothing here is imported by the web tier.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

FAMILY = "Garden Hangul"
FONT_DIR = Path(__file__).resolve().parent / "static" / "kiosk" / "fonts"
FONT_STEM = "garden-hangul"
# Debian's fonts-nanum (apt-get install fonts-nanum): the regular and the bold face.
DEFAULT_SOURCE_DIR = Path("/usr/share/fonts/truetype/nanum")
STYLES = {"regular": "NanumGothic.ttf", "bold": "NanumGothicBold.ttf"}
# Hangul Jamo, compatibility Jamo, Jamo extended A, syllables, Jamo extended B.
HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7A3), (0xD7B0, 0xD7FF))
# Hiragana, katakana, CJK punctuation, the kanji block, full-width forms (「」、。：（）〜).
JAPANESE_RANGES = ((0x3000, 0x303F), (0x3040, 0x309F), (0x30A0, 0x30FF), (0x4E00, 0x9FFF), (0xFF00, 0xFFEF))
# Debian's fonts-ipaexfont-gothic (apt-get install fonts-ipaexfont-gothic).
JAPANESE_SOURCE = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
# Where page text lives: templates, static scripts and styles, the apps' Python (labels) and the
# translation catalogs. The compiled JavaScript catalogs repeat the .po files' words, escaped.
SOURCE_SUFFIXES = {".html", ".js", ".css", ".py", ".po"}
SKIPPED_PARTS = {"tests", "migrations", "var", "staticfiles", "node_modules", "bench", "__pycache__", "jsi18n"}


def is_hangul(char: str) -> bool:
    return any(low <= ord(char) <= high for low, high in HANGUL_RANGES)


def is_japanese(char: str) -> bool:
    return any(low <= ord(char) <= high for low, high in JAPANESE_RANGES)


@dataclass(frozen=True)
class Subset:
    """One bundled font: its family, file stem, the characters it is for and its source faces."""

    family: str
    stem: str
    wants: object  # char -> bool
    sources: dict[str, Path]  # style -> source font file

    def bundled(self) -> dict[str, Path]:
        """The subset's files the CSS loads, by style (WOFF2, or WOFF where built without brotli)."""
        found = {}
        for style in self.sources:
            for suffix in (".woff2", ".woff"):
                path = FONT_DIR / f"{self.stem}-{style}{suffix}"
                if path.exists():
                    found[style] = path
                    break
            else:
                raise FileNotFoundError(f"no {self.stem}-{style}.woff2 in {FONT_DIR}: run manage.py hangul_font")
        return found


def subsets(hangul_dir: Path | None = None, japanese_source: Path | None = None) -> dict[str, Subset]:
    """The bundled fonts, by script: "hangul" and "japanese"."""
    hangul_dir = hangul_dir or DEFAULT_SOURCE_DIR
    return {
        "hangul": Subset(FAMILY, FONT_STEM, is_hangul, {style: hangul_dir / name for style, name in STYLES.items()}),
        "japanese": Subset("Garden Japanese", "garden-japanese", is_japanese, {"regular": japanese_source or JAPANESE_SOURCE}),
    }


def source_files(base_dir: Path | None = None) -> list[Path]:
    """The project's templates, static files and app modules (not tests, virtualenvs or build output)."""
    base = Path(base_dir or settings.BASE_DIR)
    found = []
    for root in sorted(base.iterdir()):
        if not root.is_dir() or root.is_symlink() or root.name.startswith(".") or root.name in SKIPPED_PARTS:
            continue
        for path in root.rglob("*"):
            if path.suffix in SOURCE_SUFFIXES and path.is_file() and not SKIPPED_PARTS & set(path.relative_to(base).parts):
                found.append(path)
    return sorted(found)


def characters_in_sources(wants, base_dir: Path | None = None) -> dict[str, list[Path]]:
    """Every character the pages can show for which ``wants(char)`` → the files it appears in."""
    used: dict[str, list[Path]] = {}
    for path in source_files(base_dir):
        for char in sorted({c for c in path.read_text(encoding="utf-8") if wants(c)}):
            used.setdefault(char, []).append(path)
    return used


def font_characters(path: Path) -> set[str]:
    """The characters a font file has glyphs for (its best Unicode cmap)."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path)) as font:
        return {chr(code) for code in font.getBestCmap()}


def _rename(font, family: str, style: str) -> None:
    """Give the subset its own name (OFL: a modified version must not use the Reserved Font Name)."""
    postscript = f"{family.replace(' ', '')}-{style.capitalize()}"
    full = f"{family} {style.capitalize()}"
    names = {1: family, 2: style.capitalize(), 3: f"{postscript};subset", 4: full, 6: postscript, 16: family, 17: style.capitalize()}
    table = font["name"]
    for record in list(table.names):
        if record.nameID in names:
            table.removeNames(nameID=record.nameID)
    for name_id, text in names.items():
        table.setName(text, name_id, 3, 1, 0x409)  # Windows, Unicode BMP, en-US: what browsers read


def build_subset(
    *, source: Path, style: str, characters: Iterable[str], out_dir: Path | None = None, family: str = FAMILY, stem: str = FONT_STEM
) -> Path:
    """Cut ``characters`` out of ``source`` into ``out_dir`` as the ``style`` face; returns the file written."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # it logs every table at INFO
    try:
        import brotli  # noqa: F401  (fontTools needs it for WOFF2)

        flavor = "woff2"
    except ImportError:
        flavor = "woff"
    options = subset.Options()
    options.flavor = flavor
    options.hinting = False  # TrueType hints are most of NanumGothic's bytes; screens render fine without
    options.desubroutinize = True
    options.layout_features = []  # Hangul syllables are precomposed, kana and kanji need no shaping
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14, 16, 17]  # keep the copyright, licence and version
    options.notdef_outline = True
    font = TTFont(str(source), recalcTimestamp=False)  # the same input always gives the same bytes
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted({ord(char) for char in characters}))
    subsetter.subset(font)
    _rename(font, family, style)
    buffer = io.BytesIO()
    subset.save_font(font, buffer, options)
    out_dir = FONT_DIR if out_dir is None else out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{stem}-{style}.{flavor}"
    for stale in out_dir.glob(f"{stem}-{style}.*"):
        stale.unlink()
    out.write_bytes(buffer.getvalue())
    return out
