"""The bundled Hangul and Japanese web fonts: they cover every Korean and Japanese character the
pages and catalogs use, are small, renamed and licensed; ``manage.py hangul_font`` rebuilds them (and
``--check`` names what is missing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from garden import hangul_font

# Depends on no database, cache or broker of the run: CI runs it once, in the pass on the embedded defaults.
pytestmark = pytest.mark.backend_free

pytest.importorskip("fontTools")

KIOSK_CSS = hangul_font.FONT_DIR.parent / "kiosk.css"
# Each face stays a fraction of one garden image (~200 KB): the Japanese face, with its kana and the
# kanji of every app's catalog (the staff pages' too), is the largest (72 KB).
MAX_FACE_BYTES = 80_000


def test_every_hangul_character_in_use_is_in_each_bundled_face():
    used = hangul_font.characters_in_sources(hangul_font.is_hangul)
    assert len(used) > 100  # the Korean catalogs: sanity check that the scan finds them
    assert "행" in used and any(path.name == "djangojs.po" for path in used["행"])
    for path in hangul_font.subsets()["hangul"].bundled().values():
        missing = sorted(set(used) - hangul_font.font_characters(path))
        where = sorted({str(source.name) for char in missing for source in used[char]})
        assert not missing, f"{path.name} lacks {''.join(missing)} used in {where}: run `manage.py hangul_font`"


def test_every_japanese_character_in_use_is_in_the_bundled_face():
    used = hangul_font.characters_in_sources(hangul_font.is_japanese)
    assert len(used) > 100  # kana and kanji of the Japanese catalogs
    assert {"表", "情", "の", "カ", "「", "。"} <= set(used)
    assert "日" in used  # 日本語, the switch's native name (config/settings.py LANGUAGES)
    fonts = hangul_font.subsets()["japanese"].bundled()
    assert set(fonts) == {"regular"}
    missing = sorted(set(used) - hangul_font.font_characters(fonts["regular"]))
    assert not missing, f"garden-japanese lacks {''.join(missing)}: run `manage.py hangul_font`"


def test_the_japanese_face_is_small_woff2_renamed_and_licensed():
    from fontTools.ttLib import TTFont

    path = hangul_font.subsets()["japanese"].bundled()["regular"]
    assert path.suffix == ".woff2" and path.stat().st_size < MAX_FACE_BYTES
    with TTFont(str(path)) as font:
        names = {record.nameID: record.toUnicode() for record in font["name"].names}
        assert names[1] == "Garden Japanese" and names[6] == "GardenJapanese-Regular"
        assert not any("IPA" in names[i] for i in (1, 3, 4, 6, 16, 17))  # a derived font takes another name
    licence = (hangul_font.FONT_DIR / "IPA_Font_License_Agreement_v1.0.txt").read_text(encoding="utf-8")
    assert "IPAフォントライセンスv1.0" in licence


def test_the_scan_reads_templates_scripts_catalogs_and_page_modules_but_not_tests_or_the_venv():
    names = {path.relative_to(django_settings.BASE_DIR).as_posix() for path in hangul_font.source_files()}
    assert {"templates/kiosk/garden.html", "garden/static/kiosk/common.js", "garden/pages.py"} <= names
    assert {"locale/ko/LC_MESSAGES/django.po", "garden/locale/ja/LC_MESSAGES/djangojs.po"} <= names
    assert "generation/static/generation/text2image_job.js" in names
    assert not any(name.startswith(("tests/", ".venv/", "var/")) for name in names)


def test_the_faces_are_small_woff2_renamed_and_licensed():
    fonts = hangul_font.subsets()["hangul"].bundled()
    assert set(fonts) == {"regular", "bold"}
    from fontTools.ttLib import TTFont

    for style, path in fonts.items():
        assert path.suffix == ".woff2"
        assert path.stat().st_size < MAX_FACE_BYTES, f"{path.name} is {path.stat().st_size} bytes"
        with TTFont(str(path)) as font:
            assert font.flavor == "woff2"
            names = {record.nameID: record.toUnicode() for record in font["name"].names}
            assert names[1] == "Garden Hangul"
            assert names[6] == f"GardenHangul-{style.capitalize()}"
            assert not any("Nanum" in names[i] for i in (1, 3, 4, 6, 16, 17))  # the OFL's Reserved Font Name
    licence = (hangul_font.FONT_DIR / "OFL.txt").read_text()
    assert "SIL Open Font License, Version 1.1" in licence and "NAVER Corporation" in licence


def test_the_css_loads_each_face_for_its_own_script_only():
    css = KIOSK_CSS.read_text()
    faces = re.findall(r"@font-face\s*{([^}]*)}", css)
    assert len(faces) == 3
    japanese = faces.pop()
    assert 'font-family: "Garden Japanese"' in japanese and 'url("fonts/garden-japanese-regular.woff2")' in japanese
    assert "unicode-range: U+3000-303F, U+3040-309F, U+30A0-30FF, U+4E00-9FFF, U+FF00-FFEF" in japanese
    for face, (style, path) in zip(faces, hangul_font.subsets()["hangul"].bundled().items(), strict=True):
        assert 'font-family: "Garden Hangul"' in face
        assert f'url("fonts/{path.name}")' in face
        assert "unicode-range: U+1100-11FF, U+3130-318F, U+A960-A97F, U+AC00-D7A3, U+D7B0-D7FF" in face
        assert ("font-weight: 700" in face) == (style == "bold")
    assert 'font-family: "Garden Hangul", "Garden Japanese", system-ui' in css
    assert "http" not in "".join(faces)  # no CDN


def test_check_names_a_character_the_subset_lacks(settings, tmp_path):
    call_command("hangul_font", "--check")  # the repository as it is: covered
    page = tmp_path / "templates" / "kiosk" / "new.html"
    page.parent.mkdir(parents=True)
    page.write_text("<p>똠방각하 · new label</p>", encoding="utf-8")  # characters no page used before
    settings.BASE_DIR = tmp_path
    with pytest.raises(CommandError, match=r"lacks .*똠.*new\.html"):
        call_command("hangul_font", "--check")


@pytest.mark.slow
def test_the_command_rebuilds_both_faces_from_the_sources(tmp_path, monkeypatch):
    source_dir = hangul_font.DEFAULT_SOURCE_DIR
    if not all((source_dir / name).exists() for name in hangul_font.STYLES.values()):
        pytest.skip("fonts-nanum is not installed (apt-get install fonts-nanum)")
    monkeypatch.setattr(hangul_font, "FONT_DIR", tmp_path)
    if not hangul_font.JAPANESE_SOURCE.exists():
        pytest.skip("fonts-ipaexfont-gothic is not installed (apt-get install fonts-ipaexfont-gothic)")
    call_command("hangul_font")
    used = set(hangul_font.characters_in_sources(hangul_font.is_hangul))
    built = hangul_font.subsets()["hangul"].bundled()
    for path in built.values():
        assert hangul_font.font_characters(path) == used  # exactly the characters in use
    japanese = hangul_font.subsets()["japanese"].bundled()["regular"]
    assert hangul_font.font_characters(japanese) == set(hangul_font.characters_in_sources(hangul_font.is_japanese))
    # Deterministic: the same sources give the committed bytes (unless a page changed its Korean).
    committed = Path(hangul_font.__file__).parent / "static" / "kiosk" / "fonts"
    if used == hangul_font.font_characters(committed / built["regular"].name):
        assert built["regular"].read_bytes() == (committed / built["regular"].name).read_bytes()
