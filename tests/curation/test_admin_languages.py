"""The admin complete in Korean and Japanese (issue 85, item 6).

Two checks: every catalog entry of our apps has its Korean and Japanese text (config/catalogs.py
checks the same for CI; here, the admin's own apps by name, so a catalog that lost its admin strings
fails with their names); and a crawler renders every admin page the query budget knows (each model
admin's changelist, add, change and history page, the site's pages and the custom views) in ko and
ja and reads its headings, column headings, filter titles, section names, labels and buttons: none
may be English, apart from the proper nouns and codes in ALLOWED."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import polib
import pytest
from django.test import override_settings

from config import catalogs
from generation import selectors as generation_selectors
from tests.query_budget.admin_cases import admin_cases
from tests.query_budget.case import STAFF, client_for, prepare
from tests.query_budget.dataset import build, storage_settings
from tests.query_budget.test_query_budget import BUDGET_SETTINGS

pytestmark = pytest.mark.django_db

# Proper nouns, codes and units that stay as they are in every language (docs/languages.md).
ALLOWED = {
    "AI", "API", "CSV", "DPM", "Euler", "GPU", "CPU", "HTTP", "ID", "IP", "JSON", "LoRA", "LoRAs", "PNG", "SD", "SDXL", "SHA",
    "URL", "UUID", "VAE", "Celery", "Django", "Krita", "diffusers", "procedural", "sd15", "sdxl",
    "px", "MB", "GB", "KB", "s", "ms", "x", "SVG", "QR", "Karras", "UniPC", "DDIM", "PNDM", "LMS", "Heun", "img2img",
    "txt2img", "safetensors", "ckpt", "hires", "any", "Control", "Mac", "Command", "PC", "Hub", "https", "TAESD", "EXIF",
    "AUTOMATIC", "Accept", "GET", "POST", "UTC", "JS", "cfg",
}  # fmt: skip
# The dataset's own rows (names, usernames, prompts) that a heading or breadcrumb quotes.
DATA = {
    "budget", "curator", "operator", "intruder", "curators", "thornbush", "watercolour", "tiny", "moss", "fern", "Hall",
    "kiosk", "Lobby", "signage", "hall", "lobby", "calm", "happy", "sad", "test", "release", "Krita", "root", "budget-curator",
    "budget-operator", "retire", "Curators", "Analysts", "Screen", "operators",
    "ABCD-EFGH", "day",  # examples the help quotes: a visitor code, a favorite's value
}  # fmt: skip
# What django-axes calls its rows (f-strings in its models: nothing to translate them with).
THIRD_PARTY = (
    r"Emotion Garden",  # the product's name
    # Django's own help on the user's page, which its Korean and Japanese catalogs leave English.
    r"Whether the user will be able to authenticate using a password or not\..*",
    r"Single Sign-On|LDAP",
    r"Attempted Access: \S+ \S+",
    r"Access Log for \S+ @ \S+ \S+",
    r"Failed access: user \S+( locked out)? on \S+ \S+ from \S+",
)
# Columns axes's admin names after a method, with no words to translate them by.
AXES_COLUMNS = {"GET admin accessattempt changelist": ("<th> 'Status'",)}
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
# Elements whose text is a heading, a column or filter title, a label or a button.
HEADINGS = {"h1", "h2", "h3", "h4", "th", "caption", "label", "button", "summary", "legend"}
SKIPPED = ("script", "style", "code", "pre", "textarea", "select", "option")  # data, not words of ours


class Headings(HTMLParser):
    """Collects the text of HEADINGS elements, submit buttons' values, the breadcrumbs and the object tools."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self.stack: list[tuple[str, str, list[str]]] = []  # (tag, what it is, its text)
        self.skip = 0  # inside SKIPPED

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag in SKIPPED:
            self.skip += 1
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.found.append(("button", attributes["value"]))
        if tag == "th" and any(c.startswith("field-") for c in classes):
            self.stack.append(("th", "row", []))  # a changelist row's first cell: data, not a heading
        elif (
            tag in HEADINGS
            or "help" in classes
            or "breadcrumbs" in classes
            or "object-tools" in classes
            or (tag == "a" and "button" in classes)
        ):
            self.stack.append((tag, tag, []))

    def handle_endtag(self, tag):
        if tag in SKIPPED and self.skip:
            self.skip -= 1
        if self.stack and self.stack[-1][0] == tag:
            _tag, name, parts = self.stack.pop()
            text = " ".join("".join(parts).split())
            if text and name != "row":
                self.found.append((name, text))

    def handle_data(self, data):
        if self.stack and not self.skip:
            self.stack[-1][2].append(data)


def words_of(text: str) -> list[str]:
    """The words of ``text`` a person reads as English: not codes, keys, paths, hashes or dates (a
    chunk with a digit, a slash, a comma, an underscore, @, a dot or …), not ALLOWED, not DATA."""
    for pattern in THIRD_PARTY:
        text = re.sub(pattern, "", text)
    words = []
    for chunk in text.split():
        if re.search(r"[0-9/,_@.…]", chunk):
            continue
        words += [w for w in WORD.findall(chunk) if w.strip("'-") not in ALLOWED | DATA]
    return words


def english_in(html: str) -> list[str]:
    parser = Headings()
    parser.feed(html)
    left = []
    for where, text in parser.found:
        words = words_of(text)
        if words:
            left.append(f"<{where}> {text!r}: {words}")
    return left


PAGES = [case for case in admin_cases() if case.method == "GET" and case.who == STAFF and case.status == 200]
# Pages that are not HTML for a person (JSON, CSV, SVG, the JavaScript catalog).
NOT_HTML = ("progress", "plan", "csv", "enrolment.svg", "jsi18n", "version")
PAGES = [case for case in PAGES if not any(word in case.name.split()[-1] for word in NOT_HTML)]


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker, tmp_path_factory):
    """query_budget's dataset: a row of every model admin."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    files = storage_settings(tmp_path_factory.mktemp("admin-languages"))
    with override_settings(**files, **BUDGET_SETTINGS), django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield files, build(get_user_model())
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def dataset(shared, settings, monkeypatch, no_enqueue):
    files, data = shared
    for name, value in {**files, **BUDGET_SETTINGS}.items():
        setattr(settings, name, value)
    monkeypatch.setattr(generation_selectors, "answering_workers", lambda *, timeout: {"workers": []})
    return data


@pytest.mark.parametrize("language", ["ko", "ja"])
@pytest.mark.parametrize("case", PAGES, ids=lambda case: case.name.removeprefix("GET admin "))
def test_no_english_heading_filter_or_button_on_an_admin_page(case, language, dataset):
    path, kwargs = prepare(case, dataset)
    response = client_for(case, dataset).get(path, HTTP_ACCEPT_LANGUAGE=language, **kwargs)
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert f'<html lang="{language}"' in html
    left = [line for line in english_in(html) if not any(column in line for column in AXES_COLUMNS.get(case.name, ()))]
    assert not left, f"{path} in {language}:\n" + "\n".join(left)


HEADERS = [("en", "Emotion Garden administration"), ("ko", "Emotion Garden 관리"), ("ja", "Emotion Garden 管理")]


@pytest.mark.parametrize(("language", "header"), HEADERS)
@pytest.mark.django_db
def test_the_admin_header_names_the_venue_s_garden_not_django(language, header, staff_client):
    html = staff_client.get("/admin/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<a href="/admin/">{header}</a>' in html and "Django" not in html.split("<body", 1)[1].split("</header>", 1)[0]


def test_the_crawler_finds_english_where_it_is():
    html = '<h2>Filter</h2><div id="changelist-filter"><details><summary>By status</summary></details></div><th>작업</th>'
    assert english_in(html) == ["<h2> 'Filter': ['Filter']", "<summary> 'By status': ['By', 'status']"]


OUR_APPS = ("curation", "displays", "gardener", "generation", "infra", "insights", "library", "live", "safety", "screens", "garden")


@pytest.mark.backend_free
@pytest.mark.parametrize("language", catalogs.TRANSLATED)
def test_our_apps_catalogs_have_no_empty_translation(language):
    empty = []
    for app in (*OUR_APPS, ""):
        for po_path in sorted((catalogs.ROOT / app / "locale" / language / "LC_MESSAGES").glob("*.po")):
            po = polib.pofile(str(po_path))
            empty += [
                f"{po_path.relative_to(catalogs.ROOT)}: {entry.msgid!r}" for entry in po if not entry.translated() and not entry.obsolete
            ]
    assert not empty, "\n".join(empty)
