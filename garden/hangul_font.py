"""The bundled Hangul web font: a subset of NanumGothic with exactly the Korean the pages use.

Kiosk screens without a CJK font show Korean as empty boxes, so the pages ship their own: the
Hangul characters found in the templates, the static scripts and the Python modules that hand
labels to templates (``garden/pages.py`` …), cut from NanumGothic (SIL OFL 1.1, Debian's
``fonts-nanum``) with fontTools and saved as WOFF2 (WOFF without ``brotli``). The OFL reserves
the name "NanumGothic" for the original, so the subset is renamed "Garden Hangul".

Two faces, regular and bold (the pages' headings and buttons are bold), each a few tens of KB.
``manage.py hangul_font`` rebuilds them; ``--check`` (and tests/kiosk/test_hangul_font.py) fail when
a page uses a Hangul character the subset lacks. fontTools and brotli are build-time tools
(requirements/dev.txt): nothing here is imported by the web tier.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
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
# Where page text lives: templates, static scripts and styles, and the apps' Python (labels).
SOURCE_SUFFIXES = {".html", ".js", ".css", ".py"}
SKIPPED_PARTS = {"tests", "migrations", "var", "staticfiles", "node_modules", "bench", "__pycache__"}


def is_hangul(char: str) -> bool:
    return any(low <= ord(char) <= high for low, high in HANGUL_RANGES)


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


def hangul_in_sources(base_dir: Path | None = None) -> dict[str, list[Path]]:
    """Every Hangul character the pages can show → the files it appears in."""
    used: dict[str, list[Path]] = {}
    for path in source_files(base_dir):
        for char in sorted({c for c in path.read_text(encoding="utf-8") if is_hangul(c)}):
            used.setdefault(char, []).append(path)
    return used


def bundled_fonts() -> dict[str, Path]:
    """The subsets the CSS loads, by style (WOFF2, or WOFF where they were built without brotli)."""
    found = {}
    for style in STYLES:
        for suffix in (".woff2", ".woff"):
            path = FONT_DIR / f"{FONT_STEM}-{style}{suffix}"
            if path.exists():
                found[style] = path
                break
        else:
            raise FileNotFoundError(f"no {FONT_STEM}-{style}.woff2 in {FONT_DIR}: run manage.py hangul_font")
    return found


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


def build_subset(*, source: Path, style: str, characters: Iterable[str], out_dir: Path | None = None) -> Path:
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
    options.layout_features = []  # Hangul syllables are precomposed: no shaping needed
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14, 16, 17]  # keep the copyright, licence and version
    options.notdef_outline = True
    font = TTFont(str(source), recalcTimestamp=False)  # the same input always gives the same bytes
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted({ord(char) for char in characters}))
    subsetter.subset(font)
    _rename(font, FAMILY, style)
    buffer = io.BytesIO()
    subset.save_font(font, buffer, options)
    out_dir = FONT_DIR if out_dir is None else out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{FONT_STEM}-{style}.{flavor}"
    for stale in out_dir.glob(f"{FONT_STEM}-{style}.*"):
        stale.unlink()
    out.write_bytes(buffer.getvalue())
    return out
