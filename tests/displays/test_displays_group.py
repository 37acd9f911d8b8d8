"""The Displays group: display operators fill zones without being superusers."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tests.displays.test_update_display import make_image

pytestmark = pytest.mark.django_db


def test_a_display_operator_fills_a_zone_in_the_admin_and_through_the_api(client, django_user_model):
    operator = django_user_model.objects.create_user("dora", password="pw-for-tests-only")
    out = io.StringIO()
    call_command("setup_displays", "dora", stdout=out)
    assert "dora is now a display operator" in out.getvalue()
    operator.refresh_from_db()
    assert operator.is_staff and not operator.is_superuser
    assert not operator.has_perm("garden.change_image") and not operator.has_perm("garden.view_visitor")

    client.force_login(operator)
    assert client.get("/admin/displays/displayzone/").status_code == 200
    image = make_image()
    response = client.post("/updateDisplay", json.dumps({"zone": "lobby", "landscape": [image.key]}), content_type="application/json")
    assert response.status_code == 200, response.content
    assert client.get("/admin/displays/displayzone/").content.decode().count("lobby") >= 1
    assert client.get("/admin/garden/visitor/").status_code == 403
