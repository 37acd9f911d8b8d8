"""The rollups: what one refresh counts, that refreshing again changes nothing, that only recent
days are recomputed (so history survives a retention policy), and the beat task."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connections

from insights import services
from insights.charts import wilson
from insights.models import (
    FeedbackRollup,
    ImageRollup,
    ImageTotal,
    JobRollup,
    RecommenderRollup,
    RollupState,
    VisitorRollup,
)
from recommend.models import Interaction
from recommend.retention import apply_retention, forget_visitor
from tests.insights.conftest import DAY1, DAY2, at

pytestmark = pytest.mark.django_db
NOW = at(DAY2, 20)
KEY = "happy/spring,sunny,day"


def visitors(granularity, bucket):
    return {
        (r.emotion, r.age_group, r.gender): (r.visitors, r.likers)
        for r in VisitorRollup.objects.filter(granularity=granularity, bucket=bucket)
    }


def snapshot() -> dict:
    """Every rollup row's values (no ids), to compare two refreshes."""
    tables = (VisitorRollup, FeedbackRollup, ImageRollup, ImageTotal, RecommenderRollup, JobRollup)
    return {
        model.__name__: sorted(tuple(sorted((k, str(v)) for k, v in row.items() if k != "id")) for row in model.objects.values())
        for model in tables
    }


def test_one_refresh_counts_everything(events, settings):
    settings.RECOMMEND_FRESH_IMPRESSIONS = 4  # images shown fewer times before a day are "fresh" that day
    result = services.refresh_rollups(now=NOW)
    assert result.window_start == DAY1 and result.days == 2 and result.computed_until == NOW
    v1, v2, v3, v4 = (("happy", "adult", "Female"), ("calm", "elder", "Male"), ("", "", ""), ("sad", "child", "Male"))
    unknown = ("", "", "")  # "kiosk-7": events without a Visitor row (no /emotion reading)
    # Visitors: distinct per bucket, with those who liked anything; a reading alone (v4) is a visit.
    assert visitors("day", DAY1) == {v1: (1, 1), v2: (1, 1), v3: (1, 0)}
    assert visitors("day", DAY2) == {v1: (1, 1), v4: (1, 0), unknown: (1, 0)}
    assert visitors("hour", at(DAY1, 10)) == {v1: (1, 1)}
    assert visitors("hour", at(DAY1, 11)) == {v2: (1, 1)}
    assert visitors("hour", at(DAY2, 15)) == {v4: (1, 0)}
    # Feedback per search key: every key on screen is an impression; the hostile key counts nowhere.
    day1 = FeedbackRollup.objects.get(bucket=DAY1, search_key=KEY)
    assert (day1.emotion, day1.impressions, day1.likes, day1.dislikes) == ("happy", 10, 2, 1)
    assert FeedbackRollup.objects.filter(bucket=DAY1).count() == 1
    assert FeedbackRollup.objects.get(bucket=DAY2, search_key=KEY).impressions == 3
    assert FeedbackRollup.objects.get(bucket=DAY2, search_key="calm").impressions == 1
    # Per image, and the totals with their intervals.
    a, b, c, calm = events.a.pk, events.b.pk, events.c.pk, events.calm.pk
    per_image = {(r.image_id, r.bucket): (r.impressions, r.likes, r.dislikes) for r in ImageRollup.objects.all()}
    assert per_image == {
        (a, DAY1): (4, 1, 0),
        (b, DAY1): (3, 0, 0),
        (c, DAY1): (3, 1, 1),
        (a, DAY2): (1, 0, 0),
        (b, DAY2): (1, 1, 0),
        (c, DAY2): (1, 0, 0),
        (calm, DAY2): (1, 0, 0),
    }
    totals = {t.image_id: t for t in ImageTotal.objects.all()}
    counts = {pk: (t.impressions, t.likes, t.dislikes) for pk, t in totals.items()}
    assert counts == {a: (5, 1, 0), b: (4, 1, 0), c: (4, 1, 1), calm: (1, 0, 0)}
    assert totals[a].like_rate == pytest.approx(0.2)
    assert (totals[a].like_low, totals[a].like_high) == pytest.approx(wilson(1, 5))
    assert 0 < totals[a].like_low < 0.2 < totals[a].like_high < 1
    # The recommender: attributed impressions and likes by ranker; on day 1 every image is fresh.
    day1_counting = RecommenderRollup.objects.get(bucket=DAY1, ranker="counting-v3", emotion="happy")
    assert (day1_counting.gardens, day1_counting.gardens_liked, day1_counting.impressions, day1_counting.likes) == (1, 1, 9, 2)
    assert (day1_counting.explore_impressions, day1_counting.explore_likes) == (9, 2)
    popularity = RecommenderRollup.objects.get(bucket=DAY2, ranker="popularity")
    assert (popularity.gardens, popularity.gardens_liked, popularity.impressions, popularity.likes) == (1, 1, 3, 1)
    # Before day 2, A was shown 4 times (no longer fresh), B and C 3 times: B's like is a fresh like.
    assert (popularity.explore_impressions, popularity.explore_likes) == (2, 1)
    unliked = RecommenderRollup.objects.get(bucket=DAY2, ranker="counting-v3", emotion="calm")
    assert (unliked.gardens, unliked.impressions, unliked.gardens_liked) == (1, 0, 0)
    # Generation: by the day the job finished.
    painter = JobRollup.objects.get(bucket=DAY1, backend="procedural")
    assert (painter.jobs, painter.succeeded, painter.failed, painter.images) == (2, 1, 1, 2)
    assert (painter.queue_wait_seconds, painter.waited_jobs) == (30.0, 1)
    assert (painter.work_seconds, painter.timed_images) == (pytest.approx(1.3), 2)
    cancelled = JobRollup.objects.get(bucket=DAY2)
    assert (cancelled.backend, cancelled.model_id, cancelled.cancelled, cancelled.queue_wait_seconds) == ("diffusers", "tiny-sd", 1, 120.0)
    assert RollupState.objects.get().computed_until == NOW


def test_refreshing_again_changes_nothing(events):
    services.refresh_rollups(now=NOW)
    first = snapshot()
    services.refresh_rollups(now=NOW)
    assert snapshot() == first
    services.refresh_rollups(now=NOW, since=DAY1)  # a full recompute gives the same rows too
    assert snapshot() == first
    assert services.rebuild_totals() == 4
    assert snapshot() == first


def test_history_survives_retention(events, settings):
    services.refresh_rollups(now=NOW)
    before = snapshot()
    # The retention policy (recommend.retention) with one-day periods, run the next morning: day 1's
    # events, gardens and the visitors last seen then are deleted; the next refreshes run later on.
    settings.GARDEN_RETAIN_EVENT_DAYS = settings.GARDEN_RETAIN_RECOMMENDATION_DAYS = settings.GARDEN_RETAIN_VISITOR_DAYS = 1
    morning = NOW + timedelta(hours=12)
    deleted = apply_retention(now=morning)
    assert (deleted.events, deleted.recommendations, deleted.visitors) == (5, 1, 2)
    assert not Interaction.objects.filter(created_at__lt=DAY2).exists()
    services.refresh_rollups(now=morning + timedelta(minutes=5))
    services.refresh_rollups(now=morning + timedelta(minutes=15))
    assert snapshot() == before
    assert FeedbackRollup.objects.get(bucket=DAY1, search_key=KEY).likes == 2
    # A deletion request leaves the counts too: rollups hold no visitor ids.
    forget_visitor(visitor_id=events.visitors[0].pk)
    services.refresh_rollups(now=morning + timedelta(minutes=25))
    assert FeedbackRollup.objects.get(bucket=DAY1, search_key=KEY).likes == 2


def test_only_recent_days_are_recomputed(events):
    services.refresh_rollups(now=NOW)
    # A late event on day 1 (beyond INSIGHTS_RECOMPUTE_HOURS): a normal refresh leaves day 1 alone…
    Interaction.objects.create(visitor=events.visitors[0], event_type="impression", impression=[events.a.key], created_at=at(DAY1, 23))
    result = services.refresh_rollups(now=NOW + timedelta(minutes=10))
    assert result.window_start == DAY2 and result.days == 1
    assert FeedbackRollup.objects.get(bucket=DAY1).impressions == 10
    # …and recomputing from that day picks it up, totals included.
    services.refresh_rollups(now=NOW + timedelta(minutes=20), since=DAY1)
    assert FeedbackRollup.objects.get(bucket=DAY1).impressions == 11
    assert ImageTotal.objects.get(image=events.a).impressions == 6


def test_a_stopped_beat_catches_up_from_where_it_stopped(events):
    services.refresh_rollups(now=at(DAY1, 12, 30))
    assert FeedbackRollup.objects.filter(bucket=DAY2).count() == 0
    result = services.refresh_rollups(now=at(DAY2, 23))  # a day later: from the last complete point
    assert result.window_start == DAY1 and result.days == 2
    assert FeedbackRollup.objects.get(bucket=DAY2, search_key=KEY).likes == 1


def test_hours_follow_the_local_time_zone(events, settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+5:30: local hours and days start at :30 UTC
    services.refresh_rollups(now=NOW, since=DAY1 - timedelta(days=1))
    services.refresh_rollups(now=NOW)
    buckets = VisitorRollup.objects.filter(granularity="hour").values_list("bucket", flat=True)
    assert {bucket.minute for bucket in buckets} == {30}
    day_visitors = sum(VisitorRollup.objects.filter(granularity="day").values_list("visitors", flat=True))
    assert day_visitors == 6  # v1 on two local days, v2, v3, v4, kiosk-7


def test_an_empty_garden_refreshes_to_nothing(db):
    result = services.refresh_rollups(now=NOW)
    assert result.days == 1 and result.window_start == DAY2
    assert all(not rows for rows in snapshot().values())
    assert RollupState.objects.get().computed_until == NOW


@pytest.mark.django_db(transaction=True)
def test_one_refresh_at_a_time(events):
    held, release = threading.Event(), threading.Event()

    def hold():
        try:
            with services.refresh_lock():
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        with pytest.raises(services.RefreshBusy):
            services.refresh_rollups(now=NOW)
    finally:
        release.set()
        thread.join()
    # Once released, a refresh runs (from DAY1 explicitly: a RollupState row left committed by another
    # test's thread must not decide the window).
    assert services.refresh_rollups(now=NOW, since=DAY1).days == 2


def test_beat_task_and_schedule(events, eager_celery):
    from insights import tasks

    assert django_settings.CELERY_BEAT_SCHEDULE["insights-refresh"]["task"] == tasks.refresh_rollups.name
    tasks.refresh_rollups.delay()
    assert FeedbackRollup.objects.filter(bucket=DAY1).exists()
    assert RollupState.objects.get().last_seconds is not None


def test_simulated_traffic_adds_up(db):
    call_command("simulate_interactions", visitors=150, images_per_key=6, emotions=2, no_rebuild=True, stdout=None)
    services.refresh_rollups()
    clicks = Interaction.objects.filter(event_type="click").count()
    shown = sum(len(keys) for keys in Interaction.objects.exclude(event_type="dislike").values_list("impression", flat=True))
    assert sum(FeedbackRollup.objects.values_list("likes", flat=True)) == clicks
    assert sum(FeedbackRollup.objects.values_list("impressions", flat=True)) == shown
    assert sum(ImageTotal.objects.values_list("likes", flat=True)) == clicks
    active = Interaction.objects.values("visitor_id").distinct().count()
    day_rows = VisitorRollup.objects.filter(granularity="day")
    assert sum(day_rows.values_list("visitors", flat=True)) >= active
