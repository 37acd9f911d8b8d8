"""SD clients in the admin (issue 96): the client key's page names the /k/<key>/ address a client
without headers is given, and "A1111 clients' choices" lists which model each client chose, by the
key's name and user (curation/admin/client_choices.py)."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from a1111.models import ClientChoice
from infra.models import ClientKey
from tests.infra.test_client_keys_admin import ADD, logged_in, made_secret

pytestmark = pytest.mark.django_db
CHOICES = reverse("admin:a1111_clientchoice_changelist")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="pw-root-secret")


@pytest.fixture
def curator(django_user_model):
    user = django_user_model.objects.create_user("curator", password="pw-curator-secret", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="infra", codename__endswith="clientkey")
        | Permission.objects.filter(codename="view_clientchoice")
    )
    return user


def rows(page: str) -> list[list[str]]:
    """The changelist's rows, each as its cells' text (the checkbox's cell left out)."""
    body = page.split('id="result_list"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for attributes, cell in re.findall(r"<t[dh]([^>]*)>(.*?)</t[dh]>", row, re.DOTALL)
            if "action-checkbox" not in attributes
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    ]


def test_the_key_page_names_the_address_with_the_key_and_the_address_works(superuser, curator):
    page = logged_in(superuser).post(ADD, {"user": curator.pk, "name": "Open WebUI"}, follow=True)
    secret = made_secret(page)
    address = f"http://testserver/k/{secret}"
    assert (
        f'id="client-key-address" type="text" readonly size="80" autocomplete="off" spellcheck="false" value="{address}"'
        in page.content.decode()
    )
    assert "<code>/k/&lt;key&gt;/sdapi/v1/…</code>" in page.content.decode() and CHOICES in page.content.decode()
    assert Client().get(f"{address.removeprefix('http://testserver')}/sdapi/v1/progress").status_code == 200  # what the client will call
    shown_again = logged_in(superuser).get(page.redirect_chain[-1][0]).content.decode()
    assert secret not in shown_again and "/k/&lt;key&gt;" in shown_again  # never the secret twice


def test_the_choices_list_names_each_client_and_its_model(superuser, curator):
    key = ClientKey.objects.create(user=curator, name="Krita on the studio PC", prefix="egk_abcd", digest="0" * 64)
    ClientChoice.objects.create(identity=f"key:{key.pk}", model="dreamy", vae="sdxl-vae-fp16-fix")
    ClientChoice.objects.create(identity=f"user:{superuser.pk}", model="")
    ClientChoice.objects.create(identity="key:999999", model="sd15")  # a deleted key's row
    listed = sorted(rows(logged_in(superuser).get(CHOICES).content.decode()))
    assert listed[0][:4] == ["key “Krita on the studio PC”", "curator", "dreamy", "sdxl-vae-fp16-fix"]
    assert ["key:999999", "-", "sd15", "the model's own"] in [row[:4] for row in listed]  # "-": the admin's empty value
    assert ["root", "root", "the venue's default", "the model's own"] in [row[:4] for row in listed]
    # Staff who are not superusers see their own clients only, as on the keys' list.
    assert [row[:3] for row in rows(logged_in(curator).get(CHOICES).content.decode())] == [
        ["key “Krita on the studio PC”", "curator", "dreamy"]
    ]


def test_the_choices_list_speaks_korean(superuser):
    ClientChoice.objects.create(identity=f"user:{superuser.pk}", model="")
    page = logged_in(superuser).get(CHOICES, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "장소 기본값" in page and "클라이언트" in page
