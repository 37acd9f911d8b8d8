"""The streamed, incremental rebuild against the in-memory count of every event (the specification):
equal counters, dense tables and fitted parameters, bit for bit, through undos, impressions, new
images and segments, retention and deletion requests between rebuilds."""

import random
import re
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from garden import catalog_changes, tables
from garden.models import Image
from recommend import counting, feedback, retention, services, training
from recommend.models import FavoriteStat, ImageStat, Interaction, StoredCounts
from tests.factories import ImageFactory, VisitorFactory

pytestmark = pytest.mark.django_db(transaction=False)


def in_memory():
    """Today's count: every event read into lists, counted by feedback.count_feedback."""
    catalog = training.load_catalog()
    _ids, rows = training.read_events(catalog)
    table = feedback.count_feedback(
        training.to_events(rows),
        n_images=len(catalog.image_ids),
        image_key=catalog.image_key,
        n_keys=max(len(catalog.search_keys), 1),
        visitor_segment=catalog.visitor_segment,
        segments=catalog.segments,
    )
    image_rows, favorite_rows = training.with_retired(*training.stat_rows(table, catalog))
    params, _taste = training.fit_model(table, catalog)
    return sorted(image_rows), sorted(favorite_rows), params.as_dict(), table


def counters():
    return (
        sorted(ImageStat.objects.values_list("segment", "image_id", "impressions", "likes", "dislikes")),
        sorted(FavoriteStat.objects.values_list("segment", "search_key", "impressions", "likes")),
    )


def assert_same_as_in_memory(version):
    image_rows, favorite_rows, params, table = in_memory()
    assert counters() == (image_rows, favorite_rows)
    assert version.params == params  # floats compared exactly
    kept = counting.load(catalog_changes.version())
    assert kept is not None
    counts, _, catalog = kept
    whole = training.load_catalog()
    assert np.array_equal(catalog.image_ids, whole.image_ids) and np.array_equal(catalog.image_key, whole.image_key)
    assert catalog.search_keys == whole.search_keys
    assert counts.segments == table.segments
    for attr in counting.ARRAYS:
        assert np.array_equal(getattr(counts, attr), getattr(table, attr)), attr


def play(rng, images, visitors, screens):
    """Screens of three with a like on most, impressions on the rest, and a few undos."""
    keys = [image.key for image in images]
    for _ in range(screens):
        visitor = rng.choice(visitors)
        shown = rng.sample(keys, 3)
        roll = rng.random()
        if roll < 0.6:
            services.record_like(visitor_id=visitor, item_key=shown[rng.randrange(3)], impression=shown)
        elif roll < 0.9:
            services.record_impression(visitor_id=visitor, impression=shown)
        else:
            liked = Interaction.objects.filter(visitor_id=visitor, event_type="click").values_list("item_key", flat=True)
            services.record_dislike(visitor_id=visitor, item_key=rng.choice([key for key in liked if key in keys] or keys))


@pytest.fixture
def garden():
    rng = random.Random(41)
    images = [ImageFactory(emotion=emotion) for emotion in ("calm", "happy") for _ in range(12)]
    labelled = [VisitorFactory(age_group=g, gender=s).id for g in ("adult", "teenager") for s in ("Male", "Female")]
    visitors = [*labelled, "anonymous-1", "anonymous-2"]  # events without a Visitor row: everyone only
    play(rng, images, visitors, 900)
    return rng, images, visitors


def test_incremental_rebuilds_equal_a_full_recount_bit_for_bit(garden, settings):
    rng, images, visitors = garden
    first = training.rebuild()
    assert first.metrics["full_recount"] is True
    assert_same_as_in_memory(first)

    # Undos of likes counted before, likes again after an undo, a new segment, a new image.
    for visitor in visitors[:3]:
        liked = Interaction.objects.filter(visitor_id=visitor, event_type="click").values_list("item_key", flat=True).first()
        services.record_dislike(visitor_id=visitor, item_key=liked)
        services.record_like(visitor_id=visitor, item_key=liked, impression=[liked])
        services.record_dislike(visitor_id=visitor, item_key=liked)
    images.append(ImageFactory(emotion="calm"))
    visitors.append(VisitorFactory(age_group="elder", gender="Male").id)
    play(rng, images, visitors, 300)

    second = training.rebuild()
    assert second.metrics["full_recount"] is False
    assert second.metrics["new_interactions"] == 309  # 300 screens and the nine undos and likes
    assert_same_as_in_memory(second)
    recounted = training.rebuild(full=True)
    assert recounted.metrics["full_recount"] is True and recounted.params == second.params
    assert_same_as_in_memory(recounted)

    play(rng, images, visitors, 50)  # nothing new for some rebuilds: still equal
    assert training.rebuild().metrics["full_recount"] is False
    assert training.rebuild().metrics["new_interactions"] == 0
    assert_same_as_in_memory(training.rebuild())


def test_deletions_between_rebuilds_lead_to_a_recount_that_equals_the_in_memory_one(garden, settings):
    rng, images, visitors = garden
    training.rebuild()
    settings.GARDEN_RETAIN_EVENT_DAYS = 365
    oldest = list(Interaction.objects.order_by("id").values_list("id", flat=True)[:300])
    Interaction.objects.filter(id__in=oldest).update(created_at=timezone.now() - timedelta(days=400))
    play(rng, images, visitors, 100)

    assert retention.apply_retention().events == 300
    assert not StoredCounts.objects.exists()
    after_retention = training.rebuild()
    assert after_retention.metrics["full_recount"] is True
    assert_same_as_in_memory(after_retention)
    play(rng, images, visitors, 100)  # counted on top of stored counts, beside retired ones
    on_top = training.rebuild()
    assert on_top.metrics["full_recount"] is False
    assert_same_as_in_memory(on_top)

    play(rng, images, visitors, 100)
    retention.forget_visitor(visitor_id=visitors[0])
    forgotten = training.rebuild()
    assert forgotten.metrics["full_recount"] is True
    assert_same_as_in_memory(forgotten)


def test_a_changed_catalog_or_an_old_recount_means_a_full_recount(garden, settings):
    _, images, visitors = garden
    training.rebuild()
    images[0].delete()
    assert training.rebuild().metrics["full_recount"] is True
    settings.RECOMMEND_FULL_RECOUNT_HOURS = 0
    play(random.Random(2), images[1:], visitors, 20)
    version = training.rebuild()
    assert version.metrics["full_recount"] is True
    assert_same_as_in_memory(version)


def test_forgetting_a_visitor_reads_their_rows_not_the_catalog():
    def forget_cost(n_images):
        images = [ImageFactory(emotion="calm") for _ in range(n_images)]
        visitor = VisitorFactory().id
        shown = [image.key for image in images[:3]]
        services.record_like(visitor_id=visitor, item_key=shown[0], impression=shown)
        services.record_impression(visitor_id=visitor, impression=shown)
        with CaptureQueriesContext(connection) as queries:
            assert retention.forget_visitor(visitor_id=visitor).events == 2
        rows = Interaction.objects.filter(visitor_id=visitor).count()
        assert rows == 0
        return [query["sql"] for query in queries.captured_queries]

    small, large = forget_cost(5), forget_cost(60)
    assert len(small) == len(large)
    image_reads = [sql for sql in large if '"garden_image"' in sql and "SELECT" in sql]
    assert image_reads and all('"key" IN' in sql for sql in image_reads)


def test_counter_rows_are_written_as_given_whatever_their_strings_hold():
    # PostgreSQL's rows go through COPY's text format, formatted by hand: its escapes must hold.
    image = ImageFactory(emotion="calm")
    odd = ["tab\there", "new\nline", "back\\slash", "\\N", "cr\rhere", "plain"]
    image_rows = [(segment, image.id, n + 1, n, 0) for n, segment in enumerate(odd)]
    favorite_rows = [(segment, key, 7, 2) for segment in odd[:2] for key in odd]
    training._insert_counters(image_rows, favorite_rows)
    assert sorted(ImageStat.objects.values_list(*training.IMAGE_COLUMNS)) == sorted(image_rows)
    assert sorted(FavoriteStat.objects.values_list(*training.FAVORITE_COLUMNS)) == sorted(favorite_rows)


@pytest.mark.parametrize(
    "change",
    ["delete", "delete_raw", "rekey", "new_emotion", "insert_below"],
)
def test_every_catalog_change_the_counts_cannot_follow_means_a_recount(garden, change):
    rng, images, visitors = garden
    training.rebuild()
    version = catalog_changes.version()
    if change == "delete":
        images.pop(3).delete()
    elif change == "delete_raw":
        gone = images.pop(3).id
        with connection.cursor() as cursor:  # the events' link first (Django's SET_NULL is Django's)
            cursor.execute("UPDATE recommend_interaction SET image_id = NULL WHERE image_id = %s", [gone])
            cursor.execute("DELETE FROM garden_imagelook WHERE image_id = %s", [gone])  # the foreign key's CASCADE is the ORM's
            cursor.execute("DELETE FROM garden_image WHERE id = %s", [gone])
    elif change == "rekey":  # a bulk update: no signal, no save()
        Image.objects.filter(pk=images[3].pk).update(key=images[3].key.replace("img_", "img_renamed_"))
        images[3].refresh_from_db()
    elif change == "new_emotion":  # its search key changes with it (a generated column)
        Image.objects.filter(pk=images[3].pk).update(emotion="happy" if images[3].emotion == "calm" else "calm")
    else:  # a restore: an id below the highest
        gone = images.pop(3)
        Image.objects.filter(pk=gone.pk).delete()
        training.rebuild()
        version = catalog_changes.version()
        images.insert(3, ImageFactory(id=gone.id, emotion="calm"))  # no bump: the count shows it
    assert catalog_changes.version() > version or change == "insert_below"
    play(rng, images, visitors, 100)
    recounted = training.rebuild()
    assert recounted.metrics["full_recount"] is True
    assert_same_as_in_memory(recounted)


def test_changes_that_keep_the_counts_leave_them_kept(garden):
    rng, images, visitors = garden
    training.rebuild()
    version = catalog_changes.version()
    Image.objects.filter(pk=images[0].pk).update(status=Image.Status.REJECTED, prompt="another prompt")
    Image.objects.filter(pk__in=[image.pk for image in images]).update(kept=True)
    Image.objects.filter(pk=-1).delete()  # matched nothing
    images.extend(ImageFactory(emotion="happy") for _ in range(3))  # appended: read as new images
    assert catalog_changes.version() == version
    play(rng, images, visitors, 100)
    incremental = training.rebuild()
    assert incremental.metrics["full_recount"] is False and incremental.metrics["images"] == len(images)
    assert_same_as_in_memory(incremental)


def _drop_triggers():
    with connection.cursor() as cursor:  # as a SQLite migration that remakes garden_image leaves it
        for name in catalog_changes.TRIGGERS[connection.vendor]:
            cursor.execute(
                f"DROP TRIGGER {catalog_changes.PREFIX}{name}" + (f" ON {tables.IMAGE}" if connection.vendor == "postgresql" else "")
            )


def test_the_migrations_made_the_change_triggers():
    assert catalog_changes.missing() == []


def test_without_the_change_triggers_the_rebuild_refuses_and_migrate_puts_them_back(garden):
    rng, images, visitors = garden
    training.rebuild()
    _drop_triggers()
    images.pop(0).delete()  # unrecorded
    play(rng, images, visitors, 50)
    with pytest.raises(catalog_changes.CatalogTriggersMissing, match=r"manage\.py migrate"):
        training.rebuild()
    with pytest.raises(CommandError, match="catalog triggers on garden_image are missing"):
        call_command("rebuild_recommender")
    version = catalog_changes.version()
    call_command("migrate", verbosity=0)  # nothing to migrate: post_migrate reinstalls them
    assert catalog_changes.missing() == [] and catalog_changes.version() > version
    assert training.rebuild().metrics["full_recount"] is True  # what went unrecorded is counted
    play(rng, images, visitors, 50)
    incremental = training.rebuild()
    assert incremental.metrics["full_recount"] is False
    assert_same_as_in_memory(incremental)


def test_an_incremental_rebuild_reads_the_images_its_events_name_not_the_catalog(garden):
    rng, images, visitors = garden
    extra = [ImageFactory(emotion="calm") for _ in range(40)]  # never shown
    training.rebuild()
    named = images[:4]
    play(rng, named, visitors, 30)
    with CaptureQueriesContext(connection) as queries:
        version = training.rebuild()
    assert version.metrics["full_recount"] is False and version.metrics["images"] == len(images) + len(extra)
    # The catalog's table; the taste fit reads the looks of the pictures shown (garden_imagelook).
    image_reads = [q["sql"] for q in queries.captured_queries if re.search(r"FROM garden_image\b", q["sql"].replace('"', ""))]
    assert image_reads, "the named images are read"
    # Only by their keys, the images added after the kept ones, and a count of the kept ones' ids.
    assert all(
        any(test in sql.replace('"', "") for test in ("key = ANY", "key IN", "WHERE id > ", "count(*) FROM garden_image WHERE id <= "))
        for sql in image_reads
    ), image_reads
    assert_same_as_in_memory(version)
