"""insights 0004: the visitors' rollup column `generation` becomes `age_group` in place: every row
kept, the unique constraint on the new name (a second row of the same labels is refused); and back."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from tests.migration_support import migrate, migrated_from

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("insights", "0003_gardenrollup_fallback_help")]
AFTER = [("insights", "0004_visitor_age_group")]
BUCKET = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_age_group_column_keeps_its_rows_and_its_uniqueness_and_goes_back():
    with migrated_from(BEFORE) as old:
        old.get_model("insights", "VisitorRollup").objects.create(
            granularity="day", bucket=BUCKET, emotion="calm", generation="adult", gender="Female", visitors=7, likers=3
        )

        new = migrate(AFTER)
        rollups = new.get_model("insights", "VisitorRollup")
        assert list(rollups.objects.values_list("age_group", "gender", "visitors", "likers")) == [("adult", "Female", 7, 3)]
        with pytest.raises(IntegrityError), transaction.atomic():
            rollups.objects.create(granularity="day", bucket=BUCKET, emotion="calm", age_group="adult", gender="Female")

        old = migrate(BEFORE)
        assert list(old.get_model("insights", "VisitorRollup").objects.values_list("generation", "visitors")) == [("adult", 7)]
