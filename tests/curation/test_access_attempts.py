"""The Access attempts list (django-axes, curation/admin/logins.py) tells an ended lock from one that holds:
axes' own said "Locked Out" on every row at the failure limit, long after the cool-off ended."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db
LIST = reverse("admin:axes_accessattempt_changelist")


def _attempt(username: str, minutes_ago: float, failures: int) -> AccessAttempt:
    attempt = AccessAttempt.objects.create(
        username=username, ip_address="10.0.0.9", user_agent="browser", http_accept="*/*", path_info="/admin/login/",
        get_data="", post_data="", failures_since_start=failures,
    )  # fmt: skip
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=timezone.now() - timedelta(minutes=minutes_ago))
    return attempt


@pytest.fixture
def attempts():
    cool_off = settings.AXES_COOLOFF_TIME * 60  # minutes
    limit = settings.AXES_FAILURE_LIMIT
    _attempt("cooled", minutes_ago=cool_off + 5, failures=limit)
    _attempt("locked", minutes_ago=1, failures=limit)
    _attempt("typo", minutes_ago=1, failures=1)


def _rows(page: str) -> dict[str, str]:
    import re

    rows = re.findall(r"<tr>.*?</tr>", page.replace("\n", " "), re.S)
    return {name: row for row in rows for name in ("cooled", "locked", "typo") if f">{name}<" in row}


def test_an_ended_lock_is_not_shown_as_locked_out(admin_client, attempts):
    rows = _rows(admin_client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert "Lock ended at" in rows["cooled"] and "Locked" not in rows["cooled"].replace("Lock ended", "")
    assert "Locked out until" in rows["locked"]
    assert f"{settings.AXES_FAILURE_LIMIT - 1} attempts left" in rows["typo"]


def test_the_filter_counts_only_locks_that_hold(admin_client, attempts):
    now = _rows(admin_client.get(LIST + "?locked_out=yes", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert set(now) == {"locked"}
    other = _rows(admin_client.get(LIST + "?locked_out=no", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert set(other) == {"cooled", "typo"}


@pytest.mark.parametrize(("language", "word"), [("ko", "잠금"), ("ja", "ロック")])
def test_the_status_is_in_the_curators_language(admin_client, attempts, language, word):
    rows = _rows(admin_client.get(LIST, HTTP_ACCEPT_LANGUAGE=language).content.decode())
    assert word in rows["cooled"] and "Lock ended" not in rows["cooled"]
