"""Retention and deletion requests: the data goes, the counters and the model keep their aggregates."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from garden.models import Visitor
from recommend import retention, tasks, training
from recommend.models import FavoriteStat, ImageStat, Interaction, Recommendation
from tests.factories import ImageFactory, VisitorFactory

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def counters():
    return (
        sorted(ImageStat.objects.values_list("segment", "image_id", "impressions", "likes", "dislikes")),
        sorted(FavoriteStat.objects.values_list("segment", "search_key", "impressions", "likes")),
    )


@pytest.fixture
def history(client):
    """Two visitors' events and gardens; the old visitor's are 400 days old."""
    images = [ImageFactory(emotion="calm") for _ in range(3)]
    keys = [image.key for image in images]
    old, recent = VisitorFactory(age_group="elder", gender="Male"), VisitorFactory(age_group="adult", gender="Female")
    for visitor in (old, recent):
        post(client, "/garden", {"id": visitor.id, "emotion": "calm"})
        post(client, "/like", {"id": visitor.id, "itemId": keys[0], "impression": keys})
        post(client, "/impression", {"id": visitor.id, "impression": keys[1:]})
    post(client, "/dislike", {"id": old.id, "itemId": keys[0]})
    long_ago = timezone.now() - timedelta(days=400)
    Interaction.objects.filter(visitor_id=old.id).update(created_at=long_ago)
    Recommendation.objects.filter(visitor_id=old.id).update(created_at=long_ago)
    Visitor.objects.filter(pk=old.pk).update(last_seen=long_ago)
    return old, recent


def test_retention_deletes_old_data_and_keeps_the_aggregates(history, settings):
    _, recent = history
    settings.GARDEN_RETAIN_VISITOR_DAYS, settings.GARDEN_RETAIN_EVENT_DAYS, settings.GARDEN_RETAIN_RECOMMENDATION_DAYS = 90, 365, 90
    live = counters()
    training.rebuild()
    assert counters() == live

    deleted = retention.apply_retention()

    assert deleted.as_dict() == {"visitors": 1, "events": 3, "recommendations": 1, "job_links": 0, "retry_keys": 0}
    assert list(Visitor.objects.values_list("pk", flat=True)) == [recent.pk]
    assert set(Interaction.objects.values_list("visitor_id", flat=True)) == {recent.pk}
    assert set(Recommendation.objects.values_list("visitor_id", flat=True)) == {recent.pk}
    assert counters() == live  # the live counters are untouched
    training.rebuild()  # and a full recount from what remains, plus what was retired, agrees
    assert counters() == live
    assert ImageStat.objects.filter(segment="elder|male").exists()  # counted under the old visitor's segment still


def test_zero_days_keeps_that_kind_of_data_forever(history, settings):
    settings.GARDEN_RETAIN_VISITOR_DAYS = settings.GARDEN_RETAIN_EVENT_DAYS = settings.GARDEN_RETAIN_RECOMMENDATION_DAYS = 0
    assert retention.apply_retention().as_dict() == {"visitors": 0, "events": 0, "recommendations": 0, "job_links": 0, "retry_keys": 0}
    assert Interaction.objects.count() == 5


def test_deleting_a_visitors_labels_alone_changes_no_count(history, settings):
    old, _ = history
    settings.GARDEN_RETAIN_EVENT_DAYS = settings.GARDEN_RETAIN_RECOMMENDATION_DAYS = 0
    live = counters()
    assert retention.apply_retention().visitors == 1
    training.rebuild()
    assert counters() == live and Interaction.objects.filter(visitor_id=old.id).count() == 3


def test_forget_visitor_deletes_everything_about_one_id(history):
    old, recent = history
    live = counters()
    out = io.StringIO()
    call_command("forget_visitor", recent.id, stdout=out)
    assert "1 label row, 2 event(s), 1 served garden(s)" in out.getvalue()
    assert not Visitor.objects.filter(pk=recent.pk).exists()
    assert not Interaction.objects.filter(visitor_id=recent.id).exists()
    assert not Recommendation.objects.filter(visitor_id=recent.id).exists()
    assert Interaction.objects.filter(visitor_id=old.id).count() == 3  # nobody else's
    training.rebuild()
    assert counters() == live
    out = io.StringIO()
    call_command("forget_visitor", recent.id, stdout=out)
    assert "Nothing is kept" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("forget_visitor", "x" * 65)


def test_the_daily_schedule_and_the_command(history, settings):
    assert settings.CELERY_BEAT_SCHEDULE["apply-retention"]["task"] == "recommend.tasks.apply_retention"
    assert tasks.apply_retention() == {"visitors": 1, "events": 3, "recommendations": 1, "job_links": 0, "retry_keys": 0}
    out = io.StringIO()
    call_command("apply_retention", stdout=out)
    assert "Deleted 0 visitor(s), 0 event(s), 0 served garden(s)." in out.getvalue()


def test_a_visitor_code_finds_the_visitor_and_the_command_deletes_by_it(history):
    from garden.visitors import normalize_code, visitor_code

    old, recent = history
    code = visitor_code(recent.id)
    assert len(code) == 9 and code[4] == "-"
    assert code != visitor_code(old.id)
    assert normalize_code(code.lower().replace("-", "")) == code
    assert retention.visitor_ids_with_code(code) == [recent.id]
    # Events under an id with no label row (old devices) are found too.
    Visitor.objects.filter(pk=recent.pk).delete()
    assert retention.visitor_ids_with_code(code) == [recent.id]

    out = io.StringIO()
    call_command("forget_visitor", "--code", code, stdout=out)
    assert "Deleted visitor" in out.getvalue()
    assert not Interaction.objects.filter(visitor_id=recent.id).exists()
    assert not Recommendation.objects.filter(visitor_id=recent.id).exists()
    with pytest.raises(CommandError, match="no visitor"):
        call_command("forget_visitor", "--code", code)
    with pytest.raises(CommandError, match="8 letters"):
        call_command("forget_visitor", "--code", "ABC")
    with pytest.raises(CommandError, match="not both"):
        call_command("forget_visitor", old.id, "--code", code)


def test_a_deletion_request_deletes_the_visitors_retry_keys(client):
    # The kiosk's Idempotency-Key rows are scoped "kiosk:<visitor id>": visitor data, kept 24 h otherwise.
    from infra.models import IdempotencyKey

    image = ImageFactory(emotion="calm")
    for visitor_id, event_id in (("visitor-a", "like-1"), ("visitor-a", "like-2"), ("visitor-b", "like-1")):
        body = {"id": visitor_id, "itemId": image.key, "impression": [image.key], "eventId": event_id}
        assert post(client, "/like", body).status_code == 200
    assert IdempotencyKey.objects.count() == 3

    deleted = retention.forget_visitor(visitor_id="visitor-a")

    assert deleted.retry_keys == 2
    assert list(IdempotencyKey.objects.values_list("scope", flat=True)) == ["kiosk:visitor-b"]
    out = io.StringIO()
    call_command("forget_visitor", "visitor-b", stdout=out)
    assert "1 retry key(s)" in out.getvalue() and not IdempotencyKey.objects.exists()
