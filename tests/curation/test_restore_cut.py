"""A restore cut between its object writes and its database write, on PostgreSQL + S3 (moto).

The restore writes every archived object to the bucket, then replaces the database with
pg_restore in one transaction. Here a lock of the test's holds pg_restore inside that transaction;
the restore (manage.py and pg_restore, its whole process group) is then killed, as a power cut or
an operator's kill would. The previous installation must be intact and usable (its rows, and every
object it had, byte for byte), and running the restore again must finish it.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import boto3
import pytest

from tests.curation.test_backup import IS_POSTGRES, POSTGRES, ROOT, _backed_up_then_moved_on, _env, _manage, _snapshot
from tests.garden.test_s3_storage import s3_endpoint  # noqa: F401 (the fixture)

RESTORING = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = 'pg_restore'"
WAITING = RESTORING + " AND wait_event_type = 'Lock'"


@pytest.mark.slow
@pytest.mark.postgres
def test_a_restore_cut_before_its_database_commit_leaves_the_previous_state_and_a_rerun_finishes(tmp_path, s3_endpoint):  # noqa: F811
    if not IS_POSTGRES:
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    import psycopg

    bucket = f"garden-restore-cut-{uuid.uuid4().hex[:8]}"
    database = f"garden_restore_cut_{uuid.uuid4().hex[:10]}"
    server = POSTGRES.rsplit("/", 1)[0]
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, **credentials)
    s3.create_bucket(Bucket=bucket)
    s3_settings = {"GARDEN_S3_ENDPOINT_URL": s3_endpoint, "GARDEN_S3_REGION": "us-east-1"}
    s3_settings |= {"GARDEN_S3_ACCESS_KEY_ID": "testing", "GARDEN_S3_SECRET_ACCESS_KEY": "testing"}
    env = _env(tmp_path, f"{server}/{database}", GARDEN_S3_BUCKET=bucket, PYTHONUNBUFFERED="1", **s3_settings)
    archive = tmp_path / "garden-backup.tar"

    def admin_sql(statement: str) -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(statement)

    admin_sql(f'CREATE DATABASE "{database}"')
    try:
        backed_up, previous = _backed_up_then_moved_on(env, archive)  # one more picture (and object) after the backup
        assert previous["tables"] != backed_up["tables"] and set(previous["files"]) > set(backed_up["files"])

        with psycopg.connect(f"{server}/{database}") as holder, psycopg.connect(f"{server}/postgres", autocommit=True) as monitor:
            # Held until the cut: pg_restore's first DROP on this table waits inside its transaction.
            holder.execute("LOCK TABLE garden_image IN ACCESS SHARE MODE")
            command = [sys.executable, "manage.py", "restore", "--force", str(archive)]
            restore = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                waiting = _wait_for(lambda: monitor.execute(WAITING, (database,)).fetchall(), restore, seconds=240)
            finally:
                os.killpg(restore.pid, signal.SIGKILL)  # the cut: manage.py and pg_restore together
                output = restore.communicate(timeout=30)[0].decode(errors="replace")
            assert waiting, f"pg_restore never reached the database:\n{output}"
            assert "Database: restoring" in output and "Restored" not in output, output
            holder.rollback()  # the lock goes; pg_restore's backend finds its client gone and rolls back
            assert _wait_for(lambda: not monitor.execute(RESTORING, (database,)).fetchall(), None, seconds=30)

        cut = _snapshot(env)  # usable: Django reads every table
        assert cut["tables"] == previous["tables"], "the cut restore changed the database"
        assert set(previous["files"].items()) <= set(cut["files"].items()), "an object of the previous installation changed or went"
        assert set(backed_up["files"].items()) <= set(cut["files"].items()), "the archive's objects were written before the database"

        rerun = _manage(env, "restore", "--force", str(archive))
        assert "Restored" in rerun.stdout
        after = _snapshot(env)
        assert after["tables"] == backed_up["tables"]
        assert set(backed_up["files"].items()) <= set(after["files"].items())  # every archived object, byte for byte
        assert "stored objects are not in the backup" in rerun.stdout  # the newer picture's, left in place
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
        s3.delete_bucket(Bucket=bucket)


def _wait_for(check, process, *, seconds: float):
    """``check()`` once truthy (None after ``seconds``, or once ``process`` has ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if process is not None and process.poll() is not None:
            return None
        time.sleep(0.1)
    return None
