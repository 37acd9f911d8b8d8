"""The image catalog as the rebuild counts against it: images by id, their keys and search keys
(training.Catalog's arrays), read whole for a full recount, or kept with the counts and extended by
what an incremental rebuild's events name."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db import connection

from garden import tables
from recommend import counting, ranking

IN_LIST = 5000


@dataclass
class Catalog:
    image_ids: np.ndarray
    key_index: dict[str, int]  # image key → image index
    image_key: np.ndarray  # image index → search-key index
    search_keys: list[str]
    # (visitor id, segment) → visitor index, added as events name them: each event carries the
    # segment it was counted under, so a visitor whose labels changed is two "visitors" here.
    visitor_index: dict
    visitor_segment: np.ndarray  # visitor index → segment index (0: unknown → everyone only)
    segments: list[str]


def load_catalog(images: list[tuple] | None = None) -> Catalog:
    """The catalog of ``images`` ((id, key, search key) rows by id; every image when None)."""
    images = catalog_rows() if images is None else images
    search_keys = ranking.unique_index(row[2] for row in images)
    return Catalog(
        image_ids=np.array([row[0] for row in images], dtype=np.int64),
        key_index={row[1]: n for n, row in enumerate(images)},
        image_key=np.array([search_keys[row[2]] for row in images], dtype=np.int64),
        search_keys=list(search_keys),
        visitor_index={},
        visitor_segment=np.zeros(0, dtype=np.int64),
        segments=[ranking.SEGMENT_ALL],
    )


def catalog_rows() -> list[tuple]:
    """(id, key, search key) of every image, by id: a raw cursor (the ORM's rows cost 3x at 100k)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_image_columns()} FROM {connection.ops.quote_name(tables.IMAGE)} ORDER BY 1")
        return cursor.fetchall()


def _image_columns() -> str:
    """The images' id, key and search key, as SQL."""
    return ", ".join(map(connection.ops.quote_name, (tables.IMAGE_ID, tables.IMAGE_KEY, tables.IMAGE_SEARCH_KEY)))


def catalog_since(counted: counting.CountedCatalog) -> Catalog:
    """The counted catalog and the images added after it (ids above its last, read here with their
    keys indexed). Kept images' keys are indexed only as events name them (``key_resolver``)."""
    last = int(counted.image_ids[-1]) if len(counted.image_ids) else 0
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_image_columns()} FROM {quote(tables.IMAGE)} WHERE {quote(tables.IMAGE_ID)} > %s ORDER BY 1", [last])
        added = cursor.fetchall()
    search_keys = {key: n for n, key in enumerate(counted.search_keys)}
    for row in added:
        search_keys.setdefault(row[2], len(search_keys))  # in first-seen order, as load_catalog's
    return Catalog(
        image_ids=np.concatenate([counted.image_ids, np.array([row[0] for row in added], dtype=np.int64)]),
        key_index={row[1]: len(counted.image_ids) + n for n, row in enumerate(added)},
        image_key=np.concatenate([counted.image_key, np.array([search_keys[row[2]] for row in added], dtype=np.int64)]),
        search_keys=list(search_keys),
        visitor_index={},
        visitor_segment=np.zeros(0, dtype=np.int64),
        segments=[ranking.SEGMENT_ALL],
    )


def key_resolver(catalog: Catalog):
    """A function that adds to ``catalog.key_index`` the given keys of its images (one indexed read
    of those keys, by the images' unique key), remembering the keys that name none."""
    unknown: set[str] = set()

    def resolve(keys: set[str]) -> None:
        wanted = sorted(key for key in keys if key and key not in catalog.key_index and key not in unknown)
        named = rows_where(tables.IMAGE, tables.IMAGE_KEY, wanted, (tables.IMAGE_ID, tables.IMAGE_KEY))
        found = dict((key, image_id) for image_id, key in named)
        columns = np.searchsorted(catalog.image_ids, np.array(list(found.values()), dtype=np.int64))
        for (key, image_id), column in zip(found.items(), columns.tolist(), strict=True):
            if column < len(catalog.image_ids) and catalog.image_ids[column] == image_id:
                catalog.key_index[key] = column
        unknown.update(key for key in wanted if key not in catalog.key_index)

    return resolve


def rows_where(table: str, column: str, values: list, columns: tuple = ()) -> list[tuple]:
    """The ``columns`` of the ``table``'s rows whose ``column`` is in ``values``; with no columns,
    those rows are deleted. PostgreSQL gets the values as one array (psycopg is slow to convert a
    statement of thousands of placeholders); SQLite, which caps them, IN_LIST at a time."""
    quote, postgres = connection.ops.quote_name, connection.vendor == "postgresql"
    table, column, selected = quote(table), quote(column), ", ".join(map(quote, columns))
    chunks = ([values] if values else []) if postgres else [values[start : start + IN_LIST] for start in range(0, len(values), IN_LIST)]
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for chunk in chunks:
            test, params = (f"{column} = ANY(%s)", [chunk]) if postgres else (f"{column} IN ({', '.join(['%s'] * len(chunk))})", chunk)
            if columns:
                cursor.execute(f"SELECT {selected} FROM {table} WHERE {test}", params)
                rows += cursor.fetchall()
            else:
                cursor.execute(f"DELETE FROM {table} WHERE {test}", params)
    return rows
