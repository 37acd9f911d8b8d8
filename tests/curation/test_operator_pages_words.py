"""The pages an operator walks in a day, whole, in Korean and Japanese (issue 96): the install page
with its outcomes, the library list with its last scan, the gardener's log with its reasons and the
visitors list. tests/curation/test_admin_languages.py reads every admin page's headings; this reads
every word of these pages' content, with the rows an operator meets, and finds no English sentence
of ours: no msgid of the project's catalogs left untranslated, and no English word outside the proper
nouns, codes and data that test allows. Text marked ``lang="en"`` (an install's own English error,
said so on the page) is not ours to translate."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.urls import reverse
from django.utils import timezone

from config import catalogs
from gardener import reasons, services
from gardener.models import GardenerAction
from library.models import LibraryEntry, LibraryScan
from tests.curation.test_admin_languages import words_of
from tests.factories import VisitorFactory

pytestmark = pytest.mark.django_db

# Names, licences and units these pages quote (models, files, licences, settings, commands).
QUOTED = {
    "dreamy", "ink", "wash", "LoRA", "CreativeML", "OpenRAIL", "M", "MIT", "BSD", "Clause", "Stability", "Community", "License",
    "Real", "ESRGAN", "KiB", "MiB", "GiB", "B", "sha", "fp", "owner", "name", "calm", "cloudy", "spring", "GARDEN_MODELS_DIR",
    "install_model", "scan_models", "manage", "py", "sd", "turbo", "xl", "realesrgan", "Stable", "Diffusion", "SDXL",
    "NaNs", "NaN", "hires", "Hub", "fix", "extra-single-image", "Real-ESRGAN", "OpenRAIL-M", "ink-wash", "broken",
    "ControlNet", "Turbo", "Flux", "PixArt", "Sana", "Textual", "Inversion",  # model families' and A1111 features' own names
}  # fmt: skip
SKIPPED = ("script", "style", "code", "select", "option", "textarea", "head")


class ContentText(HTMLParser):
    """The words of ``#content`` a reader sees (text and button values), without SKIPPED elements and
    without text marked ``lang="en"``."""

    VOID = {"input", "br", "img", "meta", "link", "hr", "col", "wbr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, reading its text)
        self.feed(html)

    @property
    def reading(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") in ("submit", "button") and self.reading:
            self.texts.append(attributes.get("value") or "")
        if tag in self.VOID:
            return
        inside = self.reading or attributes.get("id") == "content"
        if tag in SKIPPED or attributes.get("lang") == "en":
            inside = False
        self.stack.append((tag, inside))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self.reading and data.strip():
            self.texts.append(" ".join(data.split()))


def english(html: str) -> list[str]:
    return [f"{text!r}: {words}" for text in ContentText(html).texts if (words := [w for w in words_of(text) if w not in QUOTED])]


def our_msgids() -> set[str]:
    """Every English sentence of the project's catalogs that Korean says otherwise (three words or
    more: a short label may be a data value too)."""
    found = set()
    for po_path in catalogs.catalogs():
        if po_path.parts[-3] == "ko" and po_path.name == "django.po":
            po = polib.pofile(str(po_path))
            found |= {e.msgid for e in po if e.msgstr != e.msgid and "%" not in e.msgid and len(e.msgid.split()) >= 3}
    return found


@pytest.fixture
def models_folder(settings, tmp_path):
    root = tmp_path / "models"
    (root / ".incoming").mkdir(parents=True)
    settings.GARDEN_MODELS_DIR = str(root)
    return root


def report(folder: Path, install_id: str, **status) -> None:
    (folder / ".incoming" / f"install-{install_id}.json").write_text(json.dumps({"source": "owner/name", **status}))


@pytest.fixture
def operator_day(models_folder, django_user_model):
    """The rows an operator meets: installs in each state, a scan that changed things, the gardener's
    reasons, visitors."""
    report(
        models_folder,
        "a" * 32,
        state="done",
        message="installed lora loras/ink-wash.safetensors, sha256 " + "0" * 64,
        entry="ink-wash",
        note="the scan made no entry of it",
        done=2048,
        total=2048,
        started_at="2026-11-28T10:00:00+00:00",
    )
    report(models_folder, "b" * 32, state="failed", message="the Hub has no repo owner/name", started_at="2026-11-28T10:01:00+00:00")
    report(models_folder, "c" * 32, state="running", done=1 << 20, total=4 << 20, updated_at="2026-11-28T10:02:00+00:00")
    LibraryEntry.objects.create(kind="pipeline", name="dreamy", path="dreamy.safetensors", family="sd1", is_default=True)
    LibraryScan.objects.create(
        trigger="periodic", state=LibraryScan.State.DONE, finished_at=timezone.now(), added=["dreamy"], lost=["ink-wash (lora)"],
        message="added: dreamy; lost: ink-wash (lora) (1 model(s), 0 LoRA(s), 0 embedding(s), 0 VAE(s), 0 upscaler(s); "
        "not usable: broken; no longer found: ink-wash; "
        "skipped 7 file(s): a.txt (not a model), b.txt (not a model) and 5 more (manage.py scan_models lists them))",
    )  # fmt: skip
    for reason in (
        reasons.JOB_FINISHED,
        reasons.JOB_FINISHED_HELD % {"held": 2},
        reasons.PROMOTED_TRUSTED,
        reasons.RETIRED_SURPLUS,
        reasons.RETIRED_STALLED,
        reasons.BELOW_TARGET_BRED,
        reasons.TRIAL_BRED,
        reasons.LIMITED % {"limit": "image budget", "keys": 3},
    ):
        GardenerAction.objects.create(kind=GardenerAction.Kind.PLANNED, search_key="calm/spring,cloudy,day", reason=reason)
    planned = GardenerAction.objects.filter(reason=reasons.BELOW_TARGET_BRED).get()
    GardenerAction.objects.create(kind=GardenerAction.Kind.UNDONE, search_key="calm", reason=services.undid(planned), undoes=planned)
    VisitorFactory(emotion="calm")
    return django_user_model.objects.create_superuser("operator", password="x")


PAGES = {
    "install": lambda: reverse("admin:library_libraryentry_install"),
    "library": lambda: reverse("admin:library_libraryentry_changelist"),
    "gardener log": lambda: reverse("admin:gardener_gardeneraction_changelist"),
    "visitors": lambda: reverse("admin:garden_visitor_changelist"),
}


@pytest.mark.parametrize("language", ["ko", "ja"])
@pytest.mark.parametrize("page", list(PAGES))
def test_an_operators_page_has_no_english_of_ours(page, language, operator_day, client):
    client.force_login(operator_day)
    html = client.get(PAGES[page](), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<html lang="{language}"' in html
    text = " ".join(ContentText(html).texts)
    assert not [msgid for msgid in our_msgids() if re.search(rf"(?<![\w]){re.escape(msgid)}(?![\w])", text)]
    left = english(html)
    assert not left, f"{page} in {language}:\n" + "\n".join(left)


def test_the_rows_are_worded_not_dropped(operator_day, client):
    """The check above reads words that are there: the outcomes, the scan and the reasons show, in Korean."""
    client.force_login(operator_day)
    install = client.get(PAGES["install"](), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "loras/ink-wash.safetensors" in install and "0" * 64 in install and 'lang="en">the Hub has no repo owner/name' in install
    library = client.get(PAGES["library"](), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "추가: dreamy; 사라짐: ink-wash (LoRA) (라이브러리: 1개 모델, LoRA 0개" in library
    assert "사용할 수 없음: broken; 더 이상 찾을 수 없음: ink-wash; 파일 7개를 건너뜀" in library
    log = client.get(PAGES["gardener log"](), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert log.count('class="field-worded_reason"') == GardenerAction.objects.count()


def test_a_stored_reason_is_read_back_and_worded():
    assert reasons.parse(reasons.LIMITED % {"limit": "GPU minutes", "keys": 4}) == (reasons.LIMITED, {"limit": "GPU minutes", "keys": 4})
    assert reasons.worded("a reason of an older release") == "a reason of an older release"
    assert reasons.worded(reasons.JOB_FINISHED_HELD % {"held": 2}) == reasons.JOB_FINISHED_HELD % {"held": 2}  # English stays
