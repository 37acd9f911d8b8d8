"""Client keys in the admin: made with the secret shown once (only its hash kept; post/redirect/get,
so a reload makes no second key), listed with their last use, revoked; a staff user who is not a superuser makes and sees only their own."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from infra.models import ClientKey

pytestmark = pytest.mark.django_db

ADD = reverse("admin:infra_clientkey_add")
LIST = reverse("admin:infra_clientkey_changelist")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="pw-root-secret")


@pytest.fixture
def curator(django_user_model):
    user = django_user_model.objects.create_user("curator", password="pw-curator-secret", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="infra", codename__endswith="clientkey"))
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def made_secret(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return re.search(rb'id="client-key-secret"[^>]*value="(egk_[^"]+)"', response.content).group(1).decode()


def test_a_key_is_shown_once_and_only_its_hash_is_kept(superuser, curator):
    client = logged_in(superuser)
    response = client.post(ADD, {"user": curator.pk, "name": "Krita on the studio PC"}, follow=True)
    secret = made_secret(response)
    assert "no-store" in response["Cache-Control"]  # the one page with the secret is never cached
    key = ClientKey.objects.get()
    assert (key.user, key.created_by, key.digest) == (curator, superuser, hashlib.sha256(secret.encode()).hexdigest())
    listing = client.get(LIST).content.decode()
    assert key.prefix in listing and secret not in listing
    assert secret not in client.get(reverse("admin:infra_clientkey_change", args=[key.pk])).content.decode()
    basic = "Basic " + base64.b64encode(f"curator:{secret}".encode()).decode()
    assert Client().get("/sdapi/v1/progress", HTTP_AUTHORIZATION=basic).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None and "last used" in client.get(LIST).content.decode().lower()


def test_a_reload_of_the_keys_page_makes_no_second_key_and_shows_no_secret(superuser, curator):
    client = logged_in(superuser)
    answer = client.post(ADD, {"user": curator.pk, "name": "Krita"})
    issued = reverse("admin:infra_clientkey_issued", args=[ClientKey.objects.get().pk])
    assert answer.status_code == 302 and answer["Location"] == issued  # the form's answer holds no secret
    first = client.get(issued)
    secret = made_secret(first)
    assert 'id="client-key-copy"' in first.content.decode() and "infra/copy_key.js" in first.content.decode()
    again = client.get(issued)  # the browser's reload: a GET, no new key
    assert ClientKey.objects.count() == 1 and secret not in again.content.decode()
    assert 'id="client-key-shown"' in again.content.decode() and "no-store" in again["Cache-Control"]
    client.post(ADD, {"user": superuser.pk, "name": "root's own"})
    roots = reverse("admin:infra_clientkey_issued", args=[ClientKey.objects.get(user=superuser).pk])
    assert logged_in(curator).get(roots).status_code == 404  # staff see their own keys only


def test_revoking_stops_a_key_at_once(superuser, curator):
    client = logged_in(superuser)
    secret = made_secret(client.post(ADD, {"user": curator.pk, "name": "Krita"}, follow=True))
    key = ClientKey.objects.get()
    response = client.post(LIST, {"action": "revoke_keys", "_selected_action": [key.pk]}, follow=True)
    assert "1 key revoked" in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert Client().get("/sdapi/v1/progress", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_staff_who_are_not_superusers_make_and_see_only_their_own_keys(superuser, curator):
    made_secret(logged_in(superuser).post(ADD, {"user": superuser.pk, "name": "the superuser's"}, follow=True))
    client = logged_in(curator)
    refused = client.post(ADD, {"user": superuser.pk, "name": "acting as root"})
    assert refused.status_code == 200 and b"client-key-secret" not in refused.content  # the form again, with an error
    assert ClientKey.objects.filter(user=superuser).count() == 1
    made_secret(client.post(ADD, {"user": curator.pk, "name": "mine"}, follow=True))
    listing = client.get(LIST).content.decode()
    assert "mine" in listing and "the superuser&#x27;s" not in listing and "the superuser's" not in listing
