"""manage.py backup / restore: a whole installation round-trips (PostgreSQL + S3 on moto; SQLite + local files).

Each round trip runs the real commands in child processes on a database and storage of the test's
own: make a garden (users, Curators, a job, the admin log, a live display zone, served gardens,
counters, insights rollups, thumbnails, a retouch upload), snapshot every table and object, back
up, wipe (a new empty database, an empty bucket or folder), restore, snapshot again: identical.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from config.version import app_version
from curation import backup, backup_db
from tests.factories import ImageFactory
from tests.garden.test_s3_storage import s3_endpoint  # noqa: F401 (the fixture)

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = os.environ.get("DATABASE_URL", "")
IS_POSTGRES = POSTGRES.startswith(("postgres://", "postgresql://"))


def _env(tmp_path: Path, database_url: str, **extra: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GARDEN_", "DATABASE_", "CACHE_", "CELERY_", "AWS_")) and key != "PYTEST_CURRENT_TEST"
    }
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "GARDEN_VAR_DIR": str(tmp_path / "var"),
        "GARDEN_MEDIA_ROOT": str(tmp_path / "media"),
        "GARDEN_RETOUCH_UPLOAD_ROOT": str(tmp_path / "uploads"),
        "CELERY_BROKER_URL": "filesystem://",
        "CACHE_URL": "locmemcache://backup-test",  # the restore clears the cache: never a shared one here
        **extra,
    }


def _run(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def _manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run(env, "manage.py", *args, check=check)


def _snapshot(env: dict) -> dict:
    code = "import django; django.setup(); from tests.curation.backup_support import snapshot; snapshot()"
    line = next(line for line in _run(env, "-c", code).stdout.splitlines() if line.startswith("SNAPSHOT "))
    return json.loads(line.removeprefix("SNAPSHOT "))


def _round_trip(env: dict, archive: Path, *, wipe) -> tuple[dict, dict, subprocess.CompletedProcess]:
    _manage(env, "migrate", "--no-input", "-v", "0")
    _run(env, "-c", "import django; django.setup(); from tests.curation.backup_support import populate; populate()")
    before = _snapshot(env)
    made = _manage(env, "backup", str(archive))
    assert "Backed up" in made.stdout and "Database:" in made.stderr + made.stdout, made
    wipe()
    restored = _manage(env, "restore", str(archive))
    after = _snapshot(env)
    return before, after, restored


def _assert_everything_came_back(before: dict, after: dict) -> None:
    counts = {label: rows for label, (rows, _digest) in before["tables"].items()}
    for label in (
        "auth.user",
        "auth.group",
        "auth.user_groups",
        "auth.group_permissions",
        "admin.logentry",
        "garden.image",
        "garden.visitor",
        "generation.generationjob",
        "generation.generationjob_images",
        "displays.displayzone",
        "recommend.recommendation",
        "recommend.interaction",
        "recommend.imagestat",
        "insights.visitorrollup",
        "insights.imagetotal",
    ):
        assert counts[label] > 0, f"the test garden has no {label}"
    assert sum(1 for name in before["files"] if "thumbs/" in name) == 5
    assert any(name.startswith("default:display/lobby/") for name in before["files"])
    assert any(name.startswith("retouch:jobs/") for name in before["files"])
    assert after["tables"] == before["tables"]
    assert after["files"] == before["files"]  # every object back, byte for byte (sha256)


@pytest.mark.slow
@pytest.mark.backend_free  # its own SQLite, files and broker: the same in both of CI's passes
def test_round_trip_on_sqlite_and_local_files(tmp_path):
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'var' / 'garden.sqlite3'}")

    def wipe():
        (tmp_path / "var" / "garden.sqlite3").unlink()
        for name in ("garden.sqlite3-wal", "garden.sqlite3-shm"):
            (tmp_path / "var" / name).unlink(missing_ok=True)
        shutil.rmtree(tmp_path / "media")
        shutil.rmtree(tmp_path / "uploads")

    before, after, restored = _round_trip(env, tmp_path / "garden-backup.tar.gz", wipe=wipe)
    _assert_everything_came_back(before, after)
    assert "Restored" in restored.stdout
    manifest = backup.read_manifest(tmp_path / "garden-backup.tar.gz")
    assert manifest["app_version"] == app_version() == "0.2.0"
    assert manifest["database"]["vendor"] == "sqlite" and "0001_initial" in manifest["migrations"]["garden"]
    assert manifest["counts"]["garden.image"] == before["tables"]["garden.image"][0]
    assert len(manifest["files"]) == len({name for name in before["files"]})
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"])
    # A second restore over the data is refused without --force, then replaces it with --force.
    refused = _manage(env, "restore", str(tmp_path / "garden-backup.tar.gz"), check=False)
    assert refused.returncode != 0 and "has data" in refused.stderr and "--force" in refused.stderr
    _manage(env, "restore", "--force", "-v", "0", str(tmp_path / "garden-backup.tar.gz"))
    assert _snapshot(env) == before


@pytest.mark.slow
@pytest.mark.postgres
def test_round_trip_on_postgresql_and_s3(tmp_path, s3_endpoint):  # noqa: F811
    if not IS_POSTGRES:
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    import psycopg

    bucket = "garden-backup-test"
    database = f"garden_backup_{uuid.uuid4().hex[:10]}"
    server = POSTGRES.rsplit("/", 1)[0]
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, **credentials)
    s3.create_bucket(Bucket=bucket)
    env = _env(
        tmp_path,
        f"{server}/{database}",
        GARDEN_S3_BUCKET=bucket,
        GARDEN_S3_ENDPOINT_URL=s3_endpoint,
        GARDEN_S3_REGION="us-east-1",
        GARDEN_S3_ACCESS_KEY_ID="testing",
        GARDEN_S3_SECRET_ACCESS_KEY="testing",
    )

    def admin_sql(statement: str) -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(statement)

    def wipe():
        admin_sql(f'DROP DATABASE "{database}" WITH (FORCE)')
        admin_sql(f'CREATE DATABASE "{database}"')
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])

    admin_sql(f'CREATE DATABASE "{database}"')
    try:
        before, after, restored = _round_trip(env, tmp_path / "garden-backup.tar", wipe=wipe)
        _assert_everything_came_back(before, after)
        assert "Restored" in restored.stdout
        # Sequences came back too: new rows do not collide with restored ones.
        code = (
            "import django; django.setup(); from django.contrib.auth import get_user_model; "
            "from tests.factories import ImageFactory; get_user_model().objects.create_user('bob'); ImageFactory()"
        )
        _run(env, "-c", code)
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
        s3.delete_bucket(Bucket=bucket)


def _backed_up_then_moved_on(env: dict, archive: Path) -> tuple[dict, dict]:
    """A migrated, populated installation backed up to ``archive``, then one more picture (and its
    file or object) after the backup: the snapshots at the backup and now."""
    _manage(env, "migrate", "--no-input", "-v", "0")
    _run(env, "-c", "import django; django.setup(); from tests.curation.backup_support import populate; populate()")
    backed_up = _snapshot(env)
    _manage(env, "backup", "-v", "0", str(archive))
    _run(env, "-c", "import django; django.setup(); from tests.factories import ImageFactory; ImageFactory()")
    return backed_up, _snapshot(env)


@pytest.mark.slow
@pytest.mark.backend_free  # its own SQLite, files and broker: the same in both of CI's passes
def test_an_interrupted_restore_leaves_the_previous_database_and_a_rerun_finishes_it(tmp_path):
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'var' / 'garden.sqlite3'}")
    archive = tmp_path / "garden-backup.tar"
    backed_up, previous = _backed_up_then_moved_on(env, archive)
    assert previous["tables"] != backed_up["tables"]

    # Storage breaks half way: a file where the display slots' folder should be (root ignores permissions).
    display = tmp_path / "media" / "display"
    display.rename(tmp_path / "display-aside")
    display.write_bytes(b"not a folder")
    failed = _manage(env, "restore", "--force", str(archive), check=False)
    assert failed.returncode != 0
    assert "database was not changed" in failed.stderr and "Run the restore again" in failed.stderr, failed.stderr
    assert _snapshot(env)["tables"] == previous["tables"]  # the previous installation, usable

    display.unlink()
    (tmp_path / "display-aside").rename(display)
    rerun = _manage(env, "restore", "--force", str(archive))
    assert "Restored" in rerun.stdout
    after = _snapshot(env)
    assert after["tables"] == backed_up["tables"]
    assert set(backed_up["files"].items()) <= set(after["files"].items())  # every archived object, byte for byte


# --- refusals (in this process, on the test database) ------------------------------------------------


def _fake_archive(path: Path, **manifest_changes) -> Path:
    manifest = {
        "format": backup.FORMAT,
        "format_version": backup.FORMAT_VERSION,
        "app_version": "9.9.9",
        "created_at": "2026-01-01T00:00:00+00:00",
        "database": {"vendor": connection.vendor, "name": backup_db.dump_name(), "size": 0, "sha256": "", "tables": []},
        "migrations": backup_db.applied_migrations(),
        "counts": {},
        "files": [],
        **manifest_changes,
    }
    content = json.dumps(manifest).encode()
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo(backup.MANIFEST)
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return path


@pytest.mark.django_db
def test_restore_refuses_an_archive_ahead_of_the_code(tmp_path):
    migrations = backup_db.applied_migrations()
    migrations["garden"] = [*migrations["garden"], "9999_from_the_future"]
    archive = _fake_archive(tmp_path / "ahead.tar", migrations=migrations)
    with pytest.raises(CommandError, match=r"newer version \(9\.9\.9.*garden\.9999_from_the_future"):
        call_command("restore", str(archive), "--force")


@pytest.mark.django_db
def test_restore_refuses_a_database_with_data_and_a_damaged_archive(tmp_path):
    ImageFactory()
    archive = _fake_archive(tmp_path / "b.tar")
    with pytest.raises(CommandError, match=r"has data \(.*garden\.image.*--force"):
        call_command("restore", str(archive))
    # Forced, it still checks every file before changing anything: the dump is missing here.
    with pytest.raises(CommandError, match=r"missing.*nothing was changed"):
        call_command("restore", str(archive), "--force")
    assert ImageFactory._meta.model.objects.count() == 1


@pytest.mark.django_db
def test_restore_refuses_what_is_not_a_backup(tmp_path):
    export = tmp_path / "export.tar.gz"
    call_command("export_garden", str(export), verbosity=0)
    with pytest.raises(CommandError, match="import_garden"):
        call_command("restore", str(export))
    with pytest.raises(CommandError, match="not a file"):
        call_command("restore", str(tmp_path / "nothing.tar"))


@pytest.mark.django_db
def test_backup_refuses_to_overwrite(tmp_path):
    (tmp_path / "there.tar").write_bytes(b"")
    with pytest.raises(CommandError, match="exists"):
        call_command("backup", str(tmp_path / "there.tar"))
