"""Benchmark: the curation admin with 100k images in the database.

Measures server time (in-process, through the whole middleware stack, median of N requests),
queries and bytes of the keyboard review page (100 images) and of the image changelist, against
two baselines measured in the same run: the admin index (an "empty" admin page) and the stock
Django changelist for the same model (a plain ModelAdmin, no curation tuning).

Rows are bulk-created without files, thumbnail keys set (the review page never touches files).
The bytes a browser transfers for the review page are the HTML plus the page's own JS/CSS plus
100 thumbnails; the thumbnail size is measured on a real 1280x800 procedural painting.

    .venv/bin/python bench/curation.py                      # SQLite (a temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/curation.py
    .venv/bin/python bench/curation.py --rows 100000 --repeat 15 --json var/bench-curation.json
    .venv/bin/python bench/curation.py --smoke              # 500 rows, 1 request a page: the whole path in seconds

On PostgreSQL it works in a throw-away test database (test_<name>), created and dropped here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

TARGET_MS = 300
TARGET_BYTES = 3 * 1024 * 1024


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--smoke", action="store_true", help="500 rows, 1 request a page: the whole path in seconds (testkit/smoke.py)")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.repeat = 500, 1
    return args


def setup_django(tmp: Path):
    import django
    from django.conf import settings

    os.environ.setdefault("GARDEN_VAR_DIR", str(tmp / "var"))
    django.setup()
    from django.test.utils import override_settings, setup_test_environment

    setup_test_environment()
    # Through override_settings: its signal drops storages already made at set-up (a plain assignment
    # left the manifest storage in place, which needs collectstatic's manifest).
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp / "media")}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages).enable()
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        # A file, as in production, not the in-memory database tests use.
        db.setdefault("TEST", {})["NAME"] = str(tmp / "bench.sqlite3")
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return connection


def plain_admin_urlconf():
    """The stock changelist for Image under /plain-admin/: the baseline a default admin gives."""
    from django.contrib import admin
    from django.urls import path

    from config import urls as project_urls
    from garden.models import Image

    site = admin.AdminSite(name="plainadmin")

    class PlainImageAdmin(admin.ModelAdmin):
        list_display = ("key", "status", "kept", "emotion", "favorite", "orientation", "generator", "seed", "created_at")
        list_filter = ("status", "kept", "emotion", "favorite", "orientation", "generator", "model_id", "created_at")
        search_fields = ("key", "prompt")
        list_per_page = 100

    site.register(Image, PlainImageAdmin)
    module = types.ModuleType("bench_curation_urls")
    # config.urls' own patterns, not include()d: Django refuses i18n_patterns in an included URLconf.
    module.urlpatterns = [path("plain-admin/", site.urls), *project_urls.urlpatterns]
    sys.modules[module.__name__] = module
    return module.__name__


def populate(rows: int) -> None:
    from django.utils import timezone

    from garden.keys import EMOTIONS
    from garden.models import Image

    favorites = ["", "spring,cloudy,day", "winter,snowy,the-middle-of-the-night", "summer,sunny,sunset", "cat"]
    now = timezone.now()
    batch = []
    for n in range(rows):
        emotion = EMOTIONS[n % len(EMOTIONS)]
        favorite = favorites[n % len(favorites)]
        # 70% waiting in the pool, 10% kept, 10% rejected, 10% serving: a busy garden.
        bucket = n % 10
        status = "serving" if bucket == 9 else "rejected" if bucket == 8 else "pool"
        prefix = "emotions" if status == "serving" else "imgPool"
        folder = f"{emotion}/{favorite}" if favorite else emotion
        orientation = "hv"[n % 2]
        batch.append(
            Image(
                key=f"{prefix}/{folder}/img_20260101-000000-{n:06x}_{n}{orientation}.jpeg",
                status=status,
                kept=bucket == 7,
                emotion=emotion,
                favorite=favorite,
                orientation=orientation,
                width=1280 if orientation == "h" else 800,
                height=800 if orientation == "h" else 1280,
                prompt=f"{emotion}, {favorite}, flowers, fantasy, concept art, trending on artstation, highly detailed",
                seed=n,
                generator="procedural" if n % 3 else "diffusers",
                model_id="procedural-painter-v1" if n % 3 else "stabilityai/sd-turbo",
                steps=25,
                guidance=7.5,
                byte_size=180_000,
                thumbnail_key=f"thumbs/{n}-bench.webp",
                created_at=now - timezone.timedelta(seconds=n),
            )
        )
        if len(batch) == 5000:
            Image.objects.bulk_create(batch)
            batch = []
    Image.objects.bulk_create(batch)


def analyze(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measured_thumbnail_bytes() -> int:
    """Size of one real thumbnail: a 1280x800 procedural painting through the thumbnailer (garden.thumbnails)."""
    import io

    from garden.thumbnails import render_thumbnail

    try:
        from generation.backends import procedural

        picture = procedural.paint(emotion="happy", favorite="spring,cloudy,day", seed=7, width=1280, height=800)
    except Exception:  # the painter's signature is another team's: fall back to noise (pessimistic)
        import numpy as np
        from PIL import Image as PILImage

        picture = PILImage.fromarray(np.random.default_rng(7).integers(0, 255, (800, 1280, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, "JPEG", quality=90)
    return len(render_thumbnail(buffer.getvalue()))


def static_bytes() -> int:
    from django.contrib.staticfiles import finders

    return sum(Path(finders.find(f"curation/{name}")).stat().st_size for name in ("review.js", "review.css"))


def measure(client, url: str, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm caches (sessions, filter choices, templates)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return {
        "url": url,
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(sorted(times)[int(0.9 * (len(times) - 1))], 1),
        "bytes": len(response.content),
        "queries": len(queries),
    }


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-curation-") as tmpdir:
        tmp = Path(tmpdir)
        connection = setup_django(tmp)
        try:
            return run(args, connection)
        finally:
            connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


def run(args, connection) -> int:
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    from curation.services import make_curator
    from garden.models import Image

    start = time.perf_counter()
    populate(args.rows)
    analyze(connection)
    load_s = time.perf_counter() - start
    curator = get_user_model().objects.create_user(username="bench-curator", password="x")
    make_curator(user=curator)
    superuser = get_user_model().objects.create_superuser(username="bench-admin", password="x")
    client, admin_client = Client(), Client()
    client.force_login(curator)
    admin_client.force_login(superuser)

    deep = max(1, min(500, args.rows // 200))  # a page deep in the list: 500 of 1,000 at 100k rows
    pages = {
        "baseline: admin index (empty page)": (client, "/admin/"),
        "baseline: stock changelist, 100/page": (admin_client, "/plain-admin/garden/image/"),
        "review page, 100 images": (client, "/curation/review/"),
        "review page, emotion=sad": (client, "/curation/review/?emotion=sad"),
        "changelist, 100/page": (client, "/admin/garden/image/"),
        "changelist, status=pool": (client, "/admin/garden/image/?status__exact=pool"),
        f"changelist, page {deep}": (client, f"/admin/garden/image/?p={deep}"),
        "changelist, search seed": (client, "/admin/garden/image/?q=4242"),
    }
    with override_settings(ROOT_URLCONF=plain_admin_urlconf()):
        results = {name: measure(c, url, args.repeat) for name, (c, url) in pages.items()}

    thumb = measured_thumbnail_bytes()
    assets = static_bytes()
    review = results["review page, 100 images"]
    transferred = review["bytes"] + assets + 100 * thumb
    index_ms = results["baseline: admin index (empty page)"]["median_ms"]
    stock_ms = results["baseline: stock changelist, 100/page"]["median_ms"]

    pictures = Image.objects.all_pictures().count()
    print(f"database: {connection.vendor}, {pictures:,} images (loaded in {load_s:.1f} s), repeat {args.repeat}")
    print(f"{'page':42} {'median ms':>10} {'p90 ms':>8} {'queries':>8} {'bytes':>10} {'x index':>8} {'x stock':>8}")
    for name, r in results.items():
        print(
            f"{name:42} {r['median_ms']:>10} {r['p90_ms']:>8} {r['queries']:>8} {r['bytes']:>10,} "
            f"{r['median_ms'] / index_ms:>8.2f} {r['median_ms'] / stock_ms:>8.2f}"
        )
    print(
        f"review page transfer: html {review['bytes']:,} + js/css {assets:,} + 100 thumbnails x {thumb:,} "
        f"= {transferred:,} bytes ({transferred / TARGET_BYTES:.0%} of the 3 MB budget)"
    )
    ok = review["median_ms"] < TARGET_MS and transferred < TARGET_BYTES
    print(f"targets (< {TARGET_MS} ms server, < 3 MB transferred): {'met' if ok else 'MISSED'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summary = {"database": connection.vendor, "rows": args.rows, "pages": results}
        summary |= {"thumbnail_bytes": thumb, "transferred_bytes": transferred}
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if ok or args.smoke else 1  # a smoke run's figures mean nothing


if __name__ == "__main__":
    sys.exit(main())
