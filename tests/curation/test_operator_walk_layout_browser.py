"""The admin's lists at an operator's screen widths (issue 85, item 5), in real headless Chromium with
Django's navigation sidebar open: at 1400 px (and 2000 px) every column an operator acts on is on
screen, or reachable by a horizontal scroll bar that is itself on screen (not under the last of 50
rows). Which columns each list shows, and why: docs/curation.md#list-columns."""

from __future__ import annotations

import pytest
from django.utils import timezone

from a1111.models import ClientChoice
from garden import thumbnails
from garden.models import Image
from gardener import reasons
from gardener.models import GardenerAction
from generation.models import GenerationJob
from infra import client_keys
from infra.models import ClientKey
from library.models import LibraryEntry
from tests.accessibility.conftest import log_in
from tests.factories import ImageFactory, VisitorFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Per list: its URL and the columns (Django's ``column-<name>`` classes) an operator acts on.
LISTS = {
    "jobs": (
        "/admin/generation/generationjob/",
        ("short_id", "status_and_notice", "progress_bar", "emotion", "favorite_name", "images_made", "backend", "created"),
    ),
    "images": (
        "/admin/garden/image/",
        ("thumbnail", "key", "status", "kept_mark", "safety", "emotion", "favorite_name", "shape", "generator", "seed", "created_at"),
    ),
    "library": ("/admin/library/libraryentry/", ("name", "can_paint", "is_default", "live", "defaults", "short_hash", "scanned_at")),
    "client keys": ("/admin/infra/clientkey/", ("name", "user", "prefix", "last_used_at", "state")),
    "client choices": ("/admin/a1111/clientchoice/", ("client", "user", "chosen_model", "chosen_vae", "chosen_at")),
    "gardener log": (
        "/admin/gardener/gardeneraction/",
        ("created_at", "kind", "search_key", "image", "job", "worded_reason", "undone_at"),
    ),
    "visitors": ("/admin/garden/visitor/", ("id", "age_group_shown", "gender_shown", "emotion_shown", "first_seen", "last_seen")),
}

# Where each wanted column is: on screen, or within a scrolling box whose scroll bar is on screen.
REACH = """(names) => {
  const results = document.querySelector('#changelist .results');
  const box = results.getBoundingClientRect();
  const scrolls = results.scrollWidth > results.clientWidth;  // as the browser: one pixel over scrolls
  const barOnScreen = box.bottom <= window.innerHeight && getComputedStyle(results).overflowX !== 'hidden';
  const within = (th) => {
    const r = th.getBoundingClientRect();
    return r.left >= Math.max(0, box.left) - 1 && r.right <= Math.min(window.innerWidth, box.right) + 1;
  };
  const columns = names.map((name) => ({name, th: document.querySelector(`#result_list thead th.column-${name}`)}));
  results.scrollLeft = 0;
  columns.forEach((c) => { c.onScreen = !!c.th && within(c.th); });
  results.scrollLeft = results.scrollWidth;  // the far end of the scroll: the columns that were off screen
  columns.forEach((c) => { c.reached = !!c.th && (c.onScreen || within(c.th)); });
  results.scrollLeft = 0;
  const table = document.querySelector('#result_list').getBoundingClientRect();
  const geometry = {box: [box.left, box.top, box.right, box.bottom].map(Math.round), table: [table.left, table.right].map(Math.round),
                    scroll: [results.scrollWidth, results.clientWidth], view: [window.innerWidth, window.innerHeight, window.scrollY],
                    boxed: results.className, maxHeight: results.style.maxHeight, overflowX: getComputedStyle(results).overflowX};
  return {scrolls, barOnScreen, geometry, page: document.documentElement.scrollWidth > window.innerWidth + 1,
          columns: columns.map((c) => ({name: c.name, found: !!c.th, onScreen: c.onScreen, reached: c.reached}))};
}"""


JOB_VALUES = {
    "emotion": "calm", "favorite": "winter,sunny,the-early-dawn", "prompt": "a calm garden", "width": 1280, "height": 800,
    "steps": 30, "guidance": 7.0, "seed": 1, "count": 6, "images_total": 6, "steps_total": 60, "timestr": "t",
    "backend": "diffusers", "queue": "gpu", "model": "a-model-with-a-long-name-v2",
}  # fmt: skip


@pytest.fixture
def rows(django_user_model):
    """A superuser, and rows enough for each list to scroll down: 50 jobs, 50 images, library entries, keys."""
    user = django_user_model.objects.create_superuser("operator", "op@example.org", "pw-operator-85")
    now = timezone.now()
    values = {**JOB_VALUES, "created_by": user, "created_at": now}
    GenerationJob.objects.bulk_create([GenerationJob(**values, status=GenerationJob.Status.SUCCEEDED, images_done=6) for _ in range(50)])
    for seed in range(50):
        image = ImageFactory(status=Image.Status.POOL, emotion="disgusted", favorite="autumn,cloudy,the-middle-of-the-night", seed=seed)
        # Made now, so each list is measured with its thumbnails in place, not while its first view makes them.
        thumbnails.ensure_thumbnail(image=image)
    for n in range(12):
        LibraryEntry.objects.create(
            kind="pipeline", name=f"stable-diffusion-model-number-{n}", path=f"models/sd-{n}", family="sdxl", short_hash=f"{n:010x}",
            default_steps=30, default_guidance=7.0, default_width=1024, default_height=1024, scanned_at=now,
        )  # fmt: skip
    for n in range(30):
        key = ClientKey(user=user, name=f"Krita on the studio PC {n}")
        client_keys.issue(key, by=user)
        ClientChoice.objects.create(identity=f"key:{key.pk}", model="stable-diffusion-model-number-1", vae="sdxl-vae-fp16-fix")
    job = GenerationJob.objects.first()
    reasons_made = [
        reasons.RETIRED_STALLED,
        reasons.JOB_FINISHED_HELD % {"held": 3},
        reasons.LIMITED % {"limit": "GPU minutes", "keys": 12},
    ]
    GardenerAction.objects.bulk_create(
        GardenerAction(kind=GardenerAction.Kind.PLANNED, search_key="disgusted/autumn,cloudy,the-middle-of-the-night", job=job,
                       reason=reasons_made[n % 3], created_at=now)
        for n in range(50)
    )  # fmt: skip
    for _ in range(50):
        VisitorFactory(emotion="disgusted", age_group="young-adult", gender="Female")
    return user


@pytest.fixture
def operator(page, live_server, rows):
    log_in(page, live_server, rows)
    yield page
    page.goto("about:blank")


@pytest.mark.parametrize("name", LISTS)
def test_the_columns_an_operator_acts_on_are_on_screen_or_a_visible_scroll_away(operator, live_server, name):
    """At each width in each language (one page and one set of rows for all six: the rows cost more than a look)."""
    page = operator
    url, wanted = LISTS[name]
    problems = []
    for language in ("en", "ko", "ja"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        for width in (1400, 2000):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(live_server.url + url)
            page.wait_for_load_state("networkidle")  # thumbnails and the language's font in: widths settled
            assert page.is_visible("#nav-sidebar")  # Django's default: the sidebar open
            reach = page.evaluate(REACH, list(wanted))
            missing = [c["name"] for c in reach["columns"] if not c["found"]]
            assert not missing, f"{name} ({language}): no column {missing}"
            where = f"{name} at {width} px ({language})"
            hidden = [c["name"] for c in reach["columns"] if not c["onScreen"]]
            if reach["page"]:
                problems.append(f"{where}: the whole page scrolls sideways")
            elif hidden and not (reach["scrolls"] and reach["barOnScreen"]):
                problems.append(f"{where}: {hidden} off screen with no scroll bar in sight ({reach['geometry']})")
            elif hidden and not all(c["reached"] for c in reach["columns"]):
                problems.append(f"{where}: {reach['columns']}")
            elif hidden and width == 2000:
                problems.append(f"{where}: {hidden} off screen")
    assert not problems, "\n".join(problems)


ALL_COLUMNS = """() => Array.from(document.querySelectorAll('#result_list thead th'))
  .map((th) => Array.from(th.classList).find((c) => c.startsWith('column-')))
  .filter((name) => name && name !== 'column-action_checkbox' && name !== 'column-__str__').map((name) => name.slice(7))"""


@pytest.mark.parametrize("language", ["ko", "ja"])
def test_every_admin_list_with_rows_keeps_every_column_in_reach_at_1400_px(operator, live_server, language):
    """Each model admin's list that holds rows here, every column: on screen or a visible scroll away."""
    from django.apps import apps
    from django.contrib import admin

    page = operator
    page.set_viewport_size({"width": 1400, "height": 900})
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    problems, seen = [], 0
    registered = [model for model in apps.get_models() if admin.site.is_registered(model)]
    for model in sorted(registered, key=lambda m: m._meta.label):
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        if page.goto(live_server.url + url).status != 200 or not page.query_selector("#result_list tbody tr"):
            continue
        page.wait_for_load_state("networkidle")
        seen += 1
        reach = page.evaluate(REACH, page.evaluate(ALL_COLUMNS))
        hidden = [c["name"] for c in reach["columns"] if not c["onScreen"]]
        if reach["page"]:
            problems.append(f"{url}: the whole page scrolls sideways")
        elif hidden and not (reach["scrolls"] and reach["barOnScreen"] and all(c["reached"] for c in reach["columns"])):
            problems.append(f"{url}: {hidden} off screen with no scroll bar in sight ({reach['geometry']})")
    assert seen >= len(LISTS), seen
    assert not problems, "\n".join(problems)


def test_a_list_one_pixel_wider_than_its_box_is_boxed_with_its_scroll_bar_on_screen(page, live_server, django_user_model):
    """The browser scrolls a table one pixel wider than its box, so admin_lists.js boxes it then too
    (a pixel of slack once left the Japanese gardener log's bar under its 50th row)."""
    user = django_user_model.objects.create_superuser("narrow", "narrow@example.org", "pw-narrow-85")
    GenerationJob.objects.bulk_create(
        [GenerationJob(**JOB_VALUES, created_by=user, status=GenerationJob.Status.SUCCEEDED, images_done=6) for _ in range(40)]
    )
    log_in(page, live_server, user)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(live_server.url + "/admin/generation/generationjob/")
    page.wait_for_load_state("networkidle")
    for over in (0, 1):
        boxed = page.evaluate(
            """(over) => {
              const box = document.querySelector('#changelist .results');
              const table = document.querySelector('#result_list');
              box.classList.remove('results-boxed'); box.style.maxHeight = '';
              // Fixed layout, cells clipping their text: the table exactly as wide as asked.
              table.style.tableLayout = 'fixed';
              table.querySelectorAll('th, td').forEach((cell) => { cell.style.overflow = 'hidden'; });
              table.style.width = table.style.minWidth = (box.clientWidth + over) + 'px';
              window.dispatchEvent(new Event('resize'));
              return {boxed: box.classList.contains('results-boxed'), scrolls: box.scrollWidth - box.clientWidth,
                      bottom: box.getBoundingClientRect().bottom, height: window.innerHeight};
            }""",
            over,
        )
        if over == 0:
            assert not boxed["boxed"] and boxed["scrolls"] == 0, boxed
        else:
            assert boxed["boxed"] and boxed["scrolls"] >= 1 and boxed["bottom"] <= boxed["height"], boxed
