"""Reads for garden images, and the rendered /gardenfromDB answers cached per serving version."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import quote

import numpy as np
import orjson
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import QuerySet
from rest_framework.renderers import JSONRenderer

from config import caches
from config.caches import memoized
from config.memo import VersionedMemo
from config.sql import hot_cursor
from garden import keys, looks
from garden.models import Image, ImageLook, ImageParent, ServingState
from garden.storage import is_public_key, private_pool


def serving_images(*, search_key: str) -> QuerySet[Image]:
    """Every serving image of that search key, newest first (what /gardenfromDB lists)."""
    return Image.objects.serving().of_key(search_key).order_by("-created_at", "-id")


def _candidate_sql(where: str) -> str:
    image, look = Image._meta.db_table, ImageLook._meta.db_table
    columns = ", ".join(f"l.{name}" for name in looks.LOOK_FIELDS)  # ImageLook's fields, one per look field
    return (
        f"SELECT i.id, i.key, i.orientation, i.search_key, {columns} FROM {image} i LEFT JOIN {look} l ON l.image_id = i.id "
        f"WHERE i.status = %s AND {where} ORDER BY i.created_at DESC, i.id DESC LIMIT %s"
    )


_KEY_CANDIDATES = _candidate_sql("i.search_key = %s")
_OTHER_CANDIDATES = _candidate_sql("i.emotion = %s AND i.search_key <> %s")


def serving_candidates(*, search_key: str, limit: int) -> list[tuple]:
    """``serving_images(search_key=…)``'s newest ``limit`` as rows (id, key, orientation,
    search_key, then garden.looks.LOOK_FIELDS, None where not measured): what /garden ranks.

    Raw SQL on a prepared statement (config.sql.hot_cursor): a key's first answer after every
    serving change reads it, and the ORM's query building and row handling were a third of its
    time (docs/benchmarks.md#figures-behind-the-code)."""
    with hot_cursor() as cursor:
        cursor.execute(_KEY_CANDIDATES, [Image.Status.SERVING.value, search_key, limit])
        return cursor.fetchall()


def serving_candidates_elsewhere(*, emotion: str, search_key: str, limit: int) -> list[tuple]:
    """``serving_candidates``' rows for the emotion's serving images of other search keys (the
    fallback tier when a favorite has too few)."""
    with hot_cursor() as cursor:
        cursor.execute(_OTHER_CANDIDATES, [Image.Status.SERVING.value, emotion, search_key, limit])
        return cursor.fetchall()


def image_url(key: str, *, request=None) -> str:
    """Absolute URL that ends with the key (kiosks cut the key out of it).

    A pool image on a private bucket (garden.storage, GARDEN_S3_PRIVATE_POOL) gets the storage's
    presigned URL instead: staff pages show it; only serving and display keys are public.
    """
    if settings.GARDEN_PUBLIC_BASE_URL and (is_public_key(key) or not private_pool()):
        return f"{settings.GARDEN_PUBLIC_BASE_URL.rstrip('/')}/{key}"
    url = default_storage.url(key)
    if "?" not in url:  # a signed URL's path is part of its signature: leave it as signed
        # Storages percent-encode the commas of "spring,cloudy,day"; kiosks cut the key out of the URL
        # and send it back to /like, so keep commas literal (valid in a path) as the original did.
        url = url.replace("%2C", ",")
    if request is not None and not url.startswith(("http://", "https://")):
        url = request.build_absolute_uri(url)
    return url


def site_base(request) -> str:
    """What absolute image URLs depend on: GARDEN_PUBLIC_BASE_URL, else the request's scheme and host."""
    return settings.GARDEN_PUBLIC_BASE_URL or request.build_absolute_uri("/")


def listing_entry(*, key: str, emotion: str, request) -> bytes:
    """One image of a garden answer, as JSON: ``{"url":"…","emotion":"calm"}``."""
    return _json.render({"url": image_url(key, request=request), "emotion": emotion})


# A key with every character a favorite may hold that URL quoting treats specially.
_PROBE_KEY = "emotions/calm/a b,c'd_e-0/img_20000101-000000-probe_0h.jpg"


# How storages quote a key's path: Django's filepath_to_uri (file system, custom domains) keeps
# these characters, botocore (S3's own URLs) only "/~". image_url keeps commas literal either way.
_DJANGO_SAFE, _BOTOCORE_SAFE = "/~!*()'", "/~"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # never changed by URL quoting


def _quoted(key: str, safe: str) -> str:
    """The key's URL path as a storage quotes it, commas kept literal. Keys of one search key share
    their folder, and file names (``img_…_0h.jpg``) need no quoting, so only folders are quoted,
    once each."""
    folder, _, name = key.rpartition("/")
    if _PLAIN_NAME.fullmatch(name):
        return _quoted_folder(folder, safe) + name
    return quote(key, safe=safe).replace("%2C", ",")


@memoized(key="(folder, characters kept unquoted)", fresh="none: a pure function of its key", maxsize=4096)
def _quoted_folder(folder: str, safe: str) -> str:
    return quote(folder + "/", safe=safe).replace("%2C", ",") if folder else ""


# The forms a public key's URL path takes: quoted as Django or botocore quote, or as it is
# (GARDEN_PUBLIC_BASE_URL, image_url's own join).
_PATH_FORMS = (
    functools.partial(_quoted, safe=_DJANGO_SAFE),
    functools.partial(_quoted, safe=_BOTOCORE_SAFE),
    str,
)


def listing_entries(rows: Iterable[tuple[str, str]], *, request) -> list[bytes]:
    """``listing_entry`` of many (key, emotion) rows, byte for byte, at a fraction of the cost."""
    render = listing_renderer(request)
    return [render(key, emotion) for key, emotion in rows]


def listing_renderer(request) -> Callable[[str, str], bytes]:
    """A function of (key, emotion) that renders ``listing_entry`` byte for byte, at a fraction of its cost.

    Serving keys are public, so a storage's URL for one is its base followed by the quoted key: the
    base is worked out once, from the storage's own URL for a probe key, and every entry is
    assembled from it (quoted as Django or botocore quote; with GARDEN_PUBLIC_BASE_URL, unquoted,
    as ``image_url`` makes it). A storage whose URL for the probe is of none of these forms
    (signed URLs, other quoting) gets ``listing_entry`` for every row; so does a non-ASCII URL,
    which DRF escapes differently than orjson. ``bench/listing_entries.py`` times both ways.
    """
    probe_url = image_url(_PROBE_KEY, request=request)
    path_of = next((form for form in _PATH_FORMS if "?" not in probe_url and probe_url.endswith(form(_PROBE_KEY))), None)
    if path_of is None:
        return lambda key, emotion: listing_entry(key=key, emotion=emotion, request=request)
    base = probe_url[: -len(path_of(_PROBE_KEY))]

    def render(key: str, emotion: str) -> bytes:
        url = base + path_of(key)
        if url.isascii() and emotion.isascii() and is_public_key(key):
            return b'{"url":' + orjson.dumps(url) + b',"emotion":' + orjson.dumps(emotion) + b"}"
        return listing_entry(key=key, emotion=emotion, request=request)

    return render


def render_listing(landscape: Iterable[bytes], portrait: Iterable[bytes]) -> bytes:
    """The /garden and /gardenfromDB wire format from rendered entries, order kept.

    Byte for byte what DRF's JSONRenderer makes of ``{"landscape": [...], "portrait": [...]}``
    (compact separators, UTF-8), so answers can be assembled from cached entries.
    """
    return b'{"landscape":[' + b",".join(landscape) + b'],"portrait":[' + b",".join(portrait) + b"]}"


_json = JSONRenderer()


# --- The serving set's version and what is rendered from it -------------------------------------


def serving_version() -> str:
    """The serving set's current version (garden.models.ServingState): one primary-key read.
    Raw SQL on a prepared statement (config.sql.hot_cursor): every kiosk answer makes this read."""
    with hot_cursor() as cursor:
        cursor.execute(f"SELECT version FROM {ServingState._meta.db_table} WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else ""


_rendered = VersionedMemo(
    max_entries=1000, owner=__name__, name="_rendered", key="(site base, search key)", fresh="the serving version (ServingState)"
)
RENDERED_TTL_SECONDS = 24 * 3600  # in the shared cache; a new version makes them unreachable anyway
_rendered_shared = caches.shared(
    owner=__name__,
    name="_rendered_shared",
    prefix="garden:rendered:",
    ttl=RENDERED_TTL_SECONDS,
    key="SHA-256 of (serving version, site base, search key): the /gardenfromDB answer, for every web process",
    fresh="the serving version (ServingState), part of the key: a new version is a new key",
    rows=True,
)


def rendered_garden(*, search_key: str, request) -> bytes:
    """The /gardenfromDB answer as JSON bytes, identical to what DRF renders of its listing now.

    A pure function of the serving set, so it is rendered once per serving version and site base
    (absolute URLs carry the request's host unless GARDEN_PUBLIC_BASE_URL is set), kept in this
    process and in the configured cache (Redis in production: shared by every web process).
    """
    version = serving_version()
    base = site_base(request)
    body = _rendered.get(version, (base, search_key))
    if body is None:
        shared_key = _rendered_shared.key(hashlib.sha256(f"{version}|{base}|{search_key}".encode()).hexdigest())
        body = _rendered_shared.get(shared_key)
        if body is None:
            rows = list(serving_images(search_key=search_key).values_list("key", "emotion", "orientation"))
            entries = listing_entries(((key, emotion) for key, emotion, _ in rows), request=request)
            sides: dict[str, list[bytes]] = {Image.Orientation.LANDSCAPE: [], Image.Orientation.PORTRAIT: []}
            for (_, _, orientation), entry in zip(rows, entries, strict=True):
                sides[orientation].append(entry)
            body = render_listing(sides[Image.Orientation.LANDSCAPE], sides[Image.Orientation.PORTRAIT])
            _rendered_shared.set(shared_key, body)
        _rendered.put(version, (base, search_key), body)
    return body


def shared_image(content: object) -> Image | None:
    """The image a share link names (``/image?content=<key>``): a serving image, or a live picture
    (docs/live.md) in the pool that the safety check passed or a curator released; None for anything else."""
    if not isinstance(content, str) or not content or len(content) > 512:
        return None
    try:
        serving = keys.parse_key(content).is_serving
    except keys.InvalidKey:
        return None
    if serving:
        return Image.objects.serving().with_key(content).first()
    return Image.objects.pool().live_pictures().cleared().with_key(content).first()


def share_url(key: str, *, request=None) -> str:
    """The public share page of an image: GARDEN_SHARE_BASE_URL, else the request's host."""
    path = f"/image?content={quote(key, safe='/,')}"
    if settings.GARDEN_SHARE_BASE_URL:
        return settings.GARDEN_SHARE_BASE_URL.rstrip("/") + path
    return request.build_absolute_uri(path) if request is not None else path


def looks_of(image_ids: Sequence[int]) -> np.ndarray:
    """The looks (garden.looks.LOOK_FIELDS) of these images: an (n, len(LOOK_FIELDS)) float64 array
    whose row i is image_ids[i]'s look, NaN for an image without one (not measured, not readable,
    not there). One ``values_list`` query, no model objects; more ids than the database takes in
    one statement (999 on SQLite, 10,000 here on PostgreSQL) are read in that many ids a query.
    """
    wanted = np.asarray(image_ids, dtype=np.int64).reshape(-1)
    found = np.full((wanted.size, len(looks.LOOK_FIELDS)), np.nan)
    chunk = min(connection.features.max_query_params or 10_000, 10_000)
    ids, rows = [], []
    for start in range(0, wanted.size, chunk):
        part = np.unique(wanted[start : start + chunk]).tolist()
        for image_id, *values in ImageLook.objects.filter(image_id__in=part).values_list("image_id", *looks.LOOK_FIELDS):
            ids.append(image_id)
            rows.append(values)
    if not ids:
        return found
    # Align without a Python loop over image_ids: sort what was found, find each wanted id in it.
    have = np.asarray(ids, dtype=np.int64)
    order = np.argsort(have)
    have, table = have[order], np.asarray(rows, dtype=np.float64)[order]
    at = np.minimum(np.searchsorted(have, wanted), have.size - 1)
    hit = have[at] == wanted
    found[hit] = table[at[hit]]
    return found


def parent_links() -> list[tuple[int, int]]:
    """Every (child id, parent id) of bred pictures (garden.models.ImageParent), by child: as many
    rows as the gardener has bred pictures, read whole by the recommender's rebuild."""
    return list(ImageParent.objects.order_by("child_id", "parent_id").values_list("child_id", "parent_id"))
