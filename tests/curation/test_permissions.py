"""Who reaches curation: curators yes; plain staff, kiosk accounts and anonymous users no."""

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from garden.models import Image

pytestmark = pytest.mark.django_db

DECIDE = reverse("curation:decide")
PAGES = [
    reverse("admin:garden_image_changelist"),
    reverse("curation:review"),
    reverse("admin:garden_image_promote_kept"),
    reverse("admin:garden_image_purge_rejected"),
    reverse("admin:gardener_wordbank_changelist"),  # the gardener's word bank (docs/gardener.md)
    reverse("admin:gardener_wordbank_add"),
]


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def decide(client, ids, decision="reject"):
    return client.post(DECIDE, json.dumps({"ids": ids, "decision": decision}), content_type="application/json")


def test_anonymous_is_sent_to_login_and_json_gets_403(client, pool_images):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    assert decide(client, [pool_images[0].pk]).status_code == 403
    assert client.get(reverse("admin:garden_image_thumbnail", args=[pool_images[0].pk])).status_code == 302
    assert Image.objects.get(pk=pool_images[0].pk).status == "pool"


def test_kiosk_account_reaches_nothing(kiosk_user, pool_images):
    client = logged_in(kiosk_user)
    for url in PAGES:
        assert "/admin/login/" in client.get(url).get("Location", ""), url
    assert decide(client, [pool_images[0].pk]).status_code == 403


def test_plain_staff_without_rights_is_refused(plain_staff, pool_images):
    client = logged_in(plain_staff)
    for url in PAGES:
        assert client.get(url).status_code == 403, url
    assert decide(client, [pool_images[0].pk]).status_code == 403
    data = {"action": "reject_selected", ACTION_CHECKBOX_NAME: [pool_images[0].pk]}
    response = client.post(reverse("admin:garden_image_changelist"), data)
    assert response.status_code == 403
    assert Image.objects.get(pk=pool_images[0].pk).status == "pool"


def test_staff_with_change_right_but_no_promote_or_purge(plain_staff, pool_images):
    from django.contrib.auth.models import Permission

    plain_staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_image", "change_image"]))
    client = logged_in(plain_staff)
    assert client.get(reverse("curation:review")).status_code == 200
    assert client.get(reverse("admin:garden_image_promote_kept")).status_code == 403
    assert client.get(reverse("admin:garden_image_purge_rejected")).status_code == 403
    page = client.get(reverse("admin:garden_image_changelist")).content.decode()
    assert "promote_selected" not in page and "purge_selected" not in page and "reject_selected" in page
    # An action the user may not run is refused even when posted by hand.
    image = pool_images[0]
    client.post(reverse("admin:garden_image_changelist"), {"action": "promote_selected", ACTION_CHECKBOX_NAME: [image.pk]})
    assert Image.objects.get(pk=image.pk).status == "pool"


def test_curator_reaches_everything_and_is_logged(curator, curator_client, pool_images):
    for url in PAGES:
        assert curator_client.get(url).status_code == 200, url
    page = curator_client.get(reverse("admin:garden_image_changelist")).content.decode()
    for action in ("keep_selected", "reject_selected", "undo_selected", "promote_selected", "demote_selected", "purge_selected"):
        assert action in page
    response = decide(curator_client, [pool_images[0].pk])
    assert response.status_code == 200
    assert response.json()["images"] == [{"id": pool_images[0].pk, "status": "rejected", "kept": False}]
    assert LogEntry.objects.get(user=curator).object_id == str(pool_images[0].pk)
    # Curators do not see visitors (personal data they do not need).
    assert curator_client.get(reverse("admin:garden_visitor_changelist")).status_code == 403


def test_decide_endpoint_enforces_csrf_and_validates(curator, pool_images):
    client = Client(enforce_csrf_checks=True)
    client.force_login(curator)
    assert decide(client, [pool_images[0].pk]).status_code == 403  # no token
    client.get(reverse("curation:review"))
    token = client.cookies["csrftoken"].value
    ok = client.post(
        DECIDE, json.dumps({"ids": [pool_images[0].pk], "decision": "keep"}), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert ok.status_code == 200 and ok.json()["kept"] == 1
    bad = client.post(DECIDE, json.dumps({"ids": ["x"], "decision": "nope"}), content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert bad.status_code == 400
    assert client.get(DECIDE).status_code == 405


def test_the_old_review_address_redirects_with_its_filters(curator_client):
    response = curator_client.get("/admin/garden/image/review/?scope=kept&emotion=calm")
    assert response.status_code == 302 and response["Location"] == reverse("curation:review") + "?scope=kept&emotion=calm"


def test_setup_curators_resets_the_group_and_makes_curators(django_user_model):
    import io

    from django.contrib.auth.models import Group, Permission
    from django.core.management import CommandError, call_command

    group, _ = Group.objects.get_or_create(name="Curators")
    group.permissions.add(Permission.objects.get(codename="delete_user"))  # a right the role does not have
    ann = django_user_model.objects.create_user("ann")
    out = io.StringIO()
    call_command("setup_curators", user=["ann"], stdout=out)
    ann.refresh_from_db()
    assert ann.is_staff and not ann.is_superuser and ann.groups.filter(name="Curators").exists()
    assert not group.permissions.filter(codename="delete_user").exists()
    assert ann.has_perm("garden.change_image")
    assert "ann is now a curator" in out.getvalue()
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("setup_curators", user=["nobody"], stdout=io.StringIO())


def test_setup_curators_takes_names_as_arguments_and_says_how_to_create_a_missing_login(django_user_model):
    import io

    from django.core.management import CommandError, call_command

    django_user_model.objects.create_user("ann")
    out = io.StringIO()
    call_command("setup_curators", "ann", stdout=out)  # as an operator types it: setup_curators ann
    assert "ann is now a curator" in out.getvalue()
    with pytest.raises(CommandError, match="Add --create"):
        call_command("setup_curators", "alice", stdout=io.StringIO())

    out = io.StringIO()
    call_command("setup_curators", "alice", create=True, stdout=out)
    alice = django_user_model.objects.get(username="alice")
    password = out.getvalue().split("password: ")[1].split()[0]
    assert alice.check_password(password) and alice.is_staff and alice.groups.filter(name="Curators").exists()


def test_ensure_admin_names_the_public_site_in_production(settings, django_user_model):
    import io

    from django.core.management import call_command

    django_user_model.objects.create_superuser("root", "", "pw-for-tests-only")
    settings.GARDEN_SHARE_BASE_URL = ""
    settings.ALLOWED_HOSTS = ["localhost", "garden.example.org"]
    settings.SESSION_COOKIE_SECURE = True
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    assert "https://garden.example.org/admin/" in out.getvalue()
    assert "127.0.0.1" not in out.getvalue()
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    assert "http://127.0.0.1:8000/admin/" in out.getvalue()  # make run's local server
