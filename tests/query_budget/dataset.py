"""The small fixed dataset every budgeted request runs against: a few serving images per emotion, a
pool image, a visitor who liked one, a display zone, jobs in each state, an enrolled screen and a
row for every model admin. Counts depend on the shape of this data, so change it with care (and
rewrite the baseline: docs/development.md, "Query budget")."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from rest_framework.authtoken.models import Token

from displays import services as display_services
from garden import keys
from garden.models import Image
from generation import services as generation_services
from generation.models import GenerationJob, WorkerPresence
from infra import client_keys
from infra.models import ClientKey
from library.models import LibraryEntry
from live import services as live_services
from recommend import services as recommend_services
from safety.models import Release, Term
from screens import services as screen_services
from screens.models import Screen
from tests.factories import ImageFactory, VisitorFactory
from tests.query_budget.case import STAFF_PASSWORD

EMOTIONS = ("calm", "happy", "sad")
ZONE = "hall"
FILES = "django.core.files.storage.FileSystemStorage"


@dataclass
class Dataset:
    """What a case's path, body and headers are built from (``Case.path`` formats with these)."""

    staff: object
    token_key: str
    client_key: str  # the staff user's client key (its secret)
    serving: list[Image]
    portrait: Image
    pool: Image
    visitor_id: str
    zone: str
    job: GenerationJob
    queued_job: GenerationJob
    failed_job: GenerationJob
    live_job: GenerationJob
    screen: Screen
    screen_secret: str
    enrolling_screen: Screen
    enrol_token: str
    admin_objects: dict[str, object] = field(default_factory=dict)

    @property
    def serving_key(self) -> str:
        return self.serving[0].key

    @property
    def keys(self) -> list[str]:
        return [image.key for image in self.serving[:3]]

    @property
    def pk(self) -> _RowIds:
        return _RowIds(self.admin_objects)

    @property
    def image_content_type(self) -> int:
        return ContentType.objects.get_for_model(Image).pk

    def __getitem__(self, name: str) -> object:
        """``str.format_map`` support: "{job.pk}", "{serving_key}" and "{pk[garden.image]}" resolve."""
        return getattr(self, name)


class _RowIds:
    """``pk["app.model"]``: the dataset's row of that model (its first row by pk otherwise)."""

    def __init__(self, chosen: dict[str, object]) -> None:
        self._chosen = chosen

    def __getitem__(self, label: str) -> object:
        if label in self._chosen:
            return self._chosen[label].pk
        model = apps.get_model(label)
        rows = model.objects.order_by("pk")
        # Random keys (UUIDs, tokens) do not follow creation order: with several rows, name one above.
        assert isinstance(model._meta.pk, models.AutoField) or rows.count() <= 1, f"{label}: choose its row in admin_objects"
        row = rows.first()
        return row.pk if row is not None else 0


def _images() -> tuple[list[Image], Image, Image]:
    serving = []
    for emotion in EMOTIONS:
        serving += [ImageFactory(emotion=emotion), ImageFactory(emotion=emotion)]
        ImageFactory(emotion=emotion, orientation=keys.PORTRAIT)
    portrait = Image.objects.filter(status=Image.Status.SERVING, orientation=keys.PORTRAIT).order_by("pk").first()
    pool = ImageFactory(status=Image.Status.POOL, emotion="calm", safety_verdict=Image.Safety.FLAGGED)
    return serving, portrait, pool


def _jobs(owner) -> tuple[GenerationJob, GenerationJob, GenerationJob]:
    def make(**changes) -> GenerationJob:
        request = generation_services.JobRequest(emotion="calm", width=64, height=64, steps=2, seed=1234, backend="procedural")
        job = generation_services.create_job(created_by=owner, request=request, enqueue=False)
        if changes:
            GenerationJob.objects.filter(pk=job.pk).update(**changes)
            job.refresh_from_db()
        return job

    now = timezone.now()
    done = make(status=GenerationJob.Status.SUCCEEDED, steps_done=2, steps_total=2, started_at=now, finished_at=now)
    return done, make(), make(status=GenerationJob.Status.FAILED, error="a test failure", finished_at=now)


def _screens(staff) -> tuple[Screen, str, Screen, str]:
    screen = Screen.objects.create(name="Hall kiosk", kind=Screen.Kind.KIOSK, location="hall")
    screen, secret = screen_services.enrol(token=screen_services.open_enrolment(screen=screen))
    screen_services.issue_command(screen=screen, kind="reload", by=staff)
    waiting = Screen.objects.create(name="Lobby signage", kind=Screen.Kind.SIGNAGE, location="lobby", zone=ZONE)
    return screen, secret, waiting, screen_services.open_enrolment(screen=waiting, by=staff)


def _model(name: str):
    """A model by its class name, wherever its app is (what the admin shows follows it)."""
    return next(model for model in apps.get_models() if model.__name__ == name)


def _admin_rows(staff, serving: list[Image], pool: Image, client_key: ClientKey) -> dict[str, object]:
    """One row for each model admin that the rest of the dataset does not already fill, by label."""
    from gardener.models import EmotionPolicy, GardenerAction, GardenerPolicy, WordBank

    now = timezone.now()
    rows = [
        Group.objects.create(name="curators"),
        Term.objects.create(text="thornbush", kind="blocked", category="violence"),
        Release.objects.create(image=pool, released_by=staff, reason="a test release", verdict="flagged"),
        _model("PromptStyle").objects.create(name="watercolour", prompt="{prompt}, watercolour"),
        _model("ClientChoice").objects.create(identity=f"key:{client_key.pk}", model="tiny"),
        LibraryEntry.objects.create(kind="pipeline", name="tiny", path="tiny", family="sd15"),
        GardenerPolicy.objects.create(),
        EmotionPolicy.objects.create(emotion="calm"),
        WordBank.objects.create(words="moss, fern"),
        GardenerAction.objects.create(kind="retire", image=serving[0], search_key="calm", reason="test"),
        AccessAttempt.objects.create(username="intruder", ip_address="10.0.0.9", failures_since_start=1, attempt_time=now),
        AccessLog.objects.create(username="curator", ip_address="10.0.0.8", attempt_time=now),
        AccessFailureLog.objects.create(username="intruder", ip_address="10.0.0.9", attempt_time=now),
        client_key,
    ]
    return {row._meta.label_lower: row for row in rows}


def storage_settings(root: Path) -> dict:
    """tests/conftest.py's media_dir settings, for a folder that outlives one test."""
    media = root / "media"
    media.mkdir(exist_ok=True)
    return {
        "MEDIA_ROOT": str(media),
        "STORAGES": {
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(media), "base_url": "/media/"},
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            "retouch": {"BACKEND": FILES, "OPTIONS": {"location": str(root / "retouch-uploads")}},
        },
        "GARDEN_PUBLIC_BASE_URL": "",
        # A setting, never loaded: img2img and the options answer as with a model, and their jobs stay queued.
        "GARDEN_RETOUCH_INPAINT_MODEL": str(root / "tiny-inpaint"),
    }


def build(django_user_model) -> Dataset:
    staff = django_user_model.objects.create_superuser("budget-curator", password=STAFF_PASSWORD)
    token_user = django_user_model.objects.create_user("budget-operator")
    token = Token.objects.create(user=token_user)
    client_key = ClientKey(user=staff, name="Krita")
    client_key_secret = client_keys.issue(client_key, by=staff)
    serving, portrait, pool = _images()
    visitor = VisitorFactory(emotion="calm")
    recommend_services.record_like(visitor_id=visitor.id, item_key=serving[0].key, impression=[image.key for image in serving[:2]])
    selection = display_services.Selection(landscape=[serving[0].key], portrait=[portrait.key])
    display_services.update_zone(zone=ZONE, selection=selection, user=staff)
    job, queued, failed = _jobs(token_user)
    WorkerPresence.objects.create(name="live@budget", queues=["live"], seen_at=timezone.now())
    WorkerPresence.objects.create(name="gpu@budget", queues=[settings.GARDEN_GPU_QUEUE, "celery"], gpu=True, seen_at=timezone.now())
    live_job = live_services.request_live_picture(visitor_id=visitor.id, search_key="calm")
    screen, secret, enrolling, enrol_token = _screens(staff)
    return Dataset(
        staff=staff,
        token_key=token.key,
        client_key=client_key_secret,
        serving=serving,
        portrait=portrait,
        pool=pool,
        visitor_id=visitor.id,
        zone=ZONE,
        job=job,
        queued_job=queued,
        failed_job=failed,
        live_job=live_job,
        screen=screen,
        screen_secret=secret,
        enrolling_screen=enrolling,
        enrol_token=enrol_token,
        # The succeeded job, by name: jobs have random (UUID) keys, so "the first by pk" changes from run to run.
        admin_objects={**_admin_rows(staff, serving, pool, client_key), job._meta.label_lower: job},
    )
