"""Running the gardener: filling thin keys with real jobs within budget and backlog, trusted-mode
promotion, the dry run, the off switch, the command and the beat task."""

import pytest
from django.core.management import call_command

from garden.models import Image
from gardener import services
from gardener.models import EmotionPolicy, GardenerAction, PromotionMode
from gardener.planning import make_plan
from gardener.selectors import KIOSK_FAVORITES
from generation.models import GenerationJob
from infra.models import PeriodicRun
from tests.factories import ImageFactory
from tests.gardener.conftest import serving_with_stats

pytestmark = pytest.mark.django_db
Kind = GardenerAction.Kind


def only_calm(policy, **fields):
    """The global policy off, calm on with a small target: 65 calm keys, nothing else."""
    policy.enabled = False
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()
    return EmotionPolicy.objects.create(emotion="calm", enabled=True, target_per_key=2, minimum_per_key=1)


def test_the_gardener_tends_every_kiosk_key_of_the_coverage_grid():
    from insights.selectors.coverage import KIOSK_FAVORITES as COVERAGE_FAVORITES

    # Siblings in the top layer cannot import each other: both derive the grid from the garden
    # layer; this keeps them the same grid.
    assert KIOSK_FAVORITES == COVERAGE_FAVORITES
    assert len(KIOSK_FAVORITES) == 65 and KIOSK_FAVORITES[0] == "" and "spring,sunny,day" in KIOSK_FAVORITES


def test_fill_planning_stays_within_the_daily_budget(policy):
    only_calm(policy, daily_image_budget=10, images_per_job=4)
    ImageFactory(emotion="calm")  # "calm" has one of its 2: the emptiest keys come first
    plan = make_plan()
    planned = [k for k in plan.keys if k.jobs]
    assert sum(k.add for k in plan.keys) == 10 and all(k.add == 2 for k in planned)
    assert "calm" not in [k.search_key for k in planned]
    assert plan.limited_by == "image budget" and len(plan.skipped_keys) == 65 - 5


def test_a_job_never_asks_for_more_than_the_generation_limit(policy, settings):
    settings.GARDEN_MAX_COUNT = 3
    only_calm(policy, daily_image_budget=100, images_per_job=10)
    EmotionPolicy.objects.filter(emotion="calm").update(target_per_key=16)
    calm = next(k for k in make_plan().keys if k.search_key == "calm")
    assert calm.jobs == [3, 3, 2] and calm.add == 16


def test_fill_planning_stays_within_the_pool_backlog(policy, no_enqueue):
    only_calm(policy, daily_image_budget=100, pool_backlog_limit=7)
    ImageFactory.create_batch(3, emotion="sad", status=Image.Status.POOL)
    plan = make_plan()
    assert plan.backlog_room == 4 and sum(k.add for k in plan.keys) == 4
    assert plan.limited_by == "pool backlog"


def test_a_day_of_jobs_uses_up_the_budget(policy, no_enqueue, django_capture_on_commit_callbacks):
    only_calm(policy, daily_image_budget=6, images_per_job=1)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.tend()
    assert first.actions[Kind.PLANNED] == 3 and len(no_enqueue) == 3
    assert GenerationJob.objects.filter(kind=GenerationJob.Kind.BULK, emotion="calm", background=True).count() == 3  # below staff jobs
    again = services.tend()  # the jobs are still queued: pending, and the day's budget is spent
    assert Kind.PLANNED not in again.actions and again.plan.budget_left == 0
    # One "skipped" entry per change in what was skipped, not one per run.
    assert GardenerAction.objects.filter(kind=Kind.SKIPPED_BUDGET).count() == 1


def test_jobs_go_to_the_gardener_queue_when_one_is_set(policy, no_enqueue, settings, django_capture_on_commit_callbacks):
    settings.GARDEN_GARDENER_QUEUE = "gardener"
    only_calm(policy, daily_image_budget=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.tend()
    job = GenerationJob.objects.get()
    assert job.queue == "gardener" and job.enqueued_at is not None and job.background
    assert no_enqueue == [(str(job.pk), "gardener")]


def test_a_real_run_paints_jobs_and_trusted_mode_promotes_them(policy, eager_celery, django_capture_on_commit_callbacks):
    only_calm(policy, daily_image_budget=4, promotion_mode=PromotionMode.TRUSTED)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.tend()
    assert first.actions[Kind.PLANNED] == 2 and first.actions[Kind.SKIPPED_BUDGET] == 1  # the other 63 keys
    jobs = list(GenerationJob.objects.order_by("created_at"))
    assert [j.status for j in jobs] == [GenerationJob.Status.SUCCEEDED] * 2, [j.error for j in jobs]
    assert [(j.emotion, j.favorite, j.backend) for j in jobs] == [("calm", "", "procedural"), ("calm", "autumn,cloudy,day", "procedural")]
    made = Image.objects.filter(generation_jobs__in=jobs)
    assert made.count() == 4 and set(made.values_list("status", flat=True)) == {Image.Status.POOL}

    second = services.tend()

    assert (second.actions[Kind.ADDED], second.actions[Kind.PROMOTED]) == (2, 4)
    assert set(Image.objects.filter(generation_jobs__in=jobs).values_list("status", flat=True)) == {Image.Status.SERVING}
    promoted = GardenerAction.objects.filter(kind=Kind.PROMOTED)
    assert {a.image.key.split("/")[0] for a in promoted} == {"emotions"}
    assert Kind.ADDED not in services.tend().actions  # harvested once


def test_review_mode_leaves_new_images_in_the_pool(policy, eager_celery, django_capture_on_commit_callbacks):
    only_calm(policy, daily_image_budget=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.tend()
    result = services.tend()
    assert result.actions.get(Kind.ADDED) == 1 and Kind.PROMOTED not in result.actions
    assert set(Image.objects.values_list("status", flat=True)) == {Image.Status.POOL}
    # Waiting for a curator, they count as on their way: the key is not filled twice.
    calm = next(k for k in make_plan().keys if k.search_key == "calm")
    assert calm.pending == 2 and not calm.jobs


def test_the_dry_run_changes_nothing(policy, capsys):
    only_calm(policy, daily_image_budget=4)
    bad = serving_with_stats([30, 31, 29, 30, 30, 2])[-1]
    call_command("tend_garden", "--dry-run")
    out = capsys.readouterr().out
    assert "calm: serving 6/2 (minimum 1), retire 1" in out and "add 2 in 1 job(s)" in out and "Dry run: nothing changed." in out
    assert not GenerationJob.objects.exists() and not GardenerAction.objects.exists()
    assert Image.objects.get(pk=bad.pk).status == Image.Status.SERVING


def test_off_means_nothing_happens_and_curation_is_unchanged(db, capsys, no_enqueue):
    pool = ImageFactory(status=Image.Status.POOL)
    images = serving_with_stats([30, 31, 29, 30, 30, 1])
    before = list(Image.objects.order_by("pk").values_list("pk", "status", "key"))
    call_command("tend_garden")
    assert "The gardener is off" in capsys.readouterr().out
    assert list(Image.objects.order_by("pk").values_list("pk", "status", "key")) == before
    assert not GenerationJob.objects.exists() and not GardenerAction.objects.exists() and no_enqueue == []
    assert pool.pk and images


def test_the_beat_task_is_scheduled_and_recorded(settings, policy):
    from gardener.tasks import tend_garden

    assert settings.CELERY_BEAT_SCHEDULE["gardener-tend"]["task"] == "gardener.tasks.tend_garden"
    assert tend_garden() == "skipped_budget 1"  # on, with no budget: every thin key is skipped
    run = PeriodicRun.objects.get(name="gardener.tasks.tend_garden")
    assert run.ok and run.detail == "skipped_budget 1"
    policy.enabled = False
    policy.save()
    tend_garden()
    assert PeriodicRun.objects.get(name="gardener.tasks.tend_garden").detail == "gardener off"


def test_a_run_while_another_is_going_on_is_refused(policy):
    from django.core.cache import cache

    cache.add(services.LOCK_KEY, "1", 60)
    with pytest.raises(services.Busy):
        services.tend()


def test_a_refused_job_does_not_stop_the_other_keys(policy, no_enqueue, monkeypatch, django_capture_on_commit_callbacks):
    from generation.requests import JobParameterError

    only_calm(policy, daily_image_budget=4, images_per_job=1)
    real = services.start_job

    def refuse_the_first(request):
        if request.favorite == "":
            raise JobParameterError(fields={"count": "refused"})
        return real(request)

    monkeypatch.setattr(services, "start_job", refuse_the_first)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.tend()
    assert result.actions[Kind.REFUSED] == 1 and result.actions[Kind.PLANNED] == 1
    assert GardenerAction.objects.get(kind=Kind.REFUSED).reason == "job refused: count: refused"
    assert GenerationJob.objects.get().favorite == "autumn,cloudy,day"


def test_retired_images_do_not_fill_the_backlog(policy):
    only_calm(policy, daily_image_budget=100, pool_backlog_limit=4)
    EmotionPolicy.objects.filter(emotion="calm").update(minimum_per_key=1)
    serving_with_stats([30, 31, 29, 30, 30, 1, 2, 1])
    services.tend()  # retires three, then fills within the backlog of 4
    assert GardenerAction.objects.filter(kind=Kind.RETIRED).count() == 3
    assert Image.objects.filter(status=Image.Status.POOL).count() == 3
    assert sum(a.details["images"] for a in GardenerAction.objects.filter(kind=Kind.PLANNED)) == 4


def test_the_status_page_shows_the_gardeners_last_run(policy, client, django_user_model):
    from django.urls import reverse

    from gardener.tasks import tend_garden

    tend_garden()
    client.force_login(django_user_model.objects.create_superuser("ops", password="pw-ops-12345"))
    body = client.get(reverse("curation:system-status")).content.decode()
    assert 'data-entry="gardener-tend" data-state="ok"' in body and "gardener.tasks.tend_garden" in body


def test_gpu_minutes_stop_the_filling_when_diffusers_runs(policy, settings):
    from generation.requests import JobRequest
    from generation.services import create_job

    only_calm(policy, daily_image_budget=100, daily_gpu_minutes=60)
    settings.GARDEN_GENERATOR_BACKEND = "diffusers"
    job = create_job(request=JobRequest(kind="bulk", emotion="calm", count=1, backend="diffusers"), enqueue=False)
    GenerationJob.objects.filter(pk=job.pk).update(status="succeeded", images_done=2, timings={"load": 600.0, "generate": 2999.0})
    GardenerAction.objects.create(kind=Kind.PLANNED, job=job, search_key="calm")
    assert make_plan().keys and any(k.jobs for k in make_plan().keys)  # 59.98 minutes used: still room

    GenerationJob.objects.filter(pk=job.pk).update(timings={"load": 600.0, "generate": 3000.0})
    plan = make_plan()
    assert plan.limited_by == "GPU minutes" and not any(k.jobs for k in plan.keys)
    settings.GARDEN_GENERATOR_BACKEND = "procedural"  # the painter uses no GPU minutes
    assert any(k.jobs for k in make_plan().keys)
