"""How API calls prove who they are (config.auth): a Basic password checked in full once and then
remembered, failed passwords throttled before any hash, client keys, and every authenticated path
taking them the same way. Hashes are counted with a real hasher that counts its own work."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.auth import KEY_PATTERN
from config.caches import breaker as cache_breaker
from generation.dispatch.beacon import record_presence
from infra import client_keys
from infra.models import ClientKey
from tests.config.outage_helpers import DEAD_REDIS, redis_cache

pytestmark = pytest.mark.django_db

USER, PASSWORD = "krita", "pw-krita-secret"
PROGRESS = "/sdapi/v1/progress"


class CountingHasher(MD5PasswordHasher):
    """The tests' fast hasher, counting each password it hashes (a check, or the dummy hash Django
    computes for a user that does not exist); ``while_hashing`` runs once inside the first hash, as
    requests that arrive while a slow hash is still running."""

    hashed = 0
    while_hashing = None

    def encode(self, password, salt):
        CountingHasher.hashed += 1
        arriving, CountingHasher.while_hashing = CountingHasher.while_hashing, None
        if arriving is not None:
            arriving()
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings):
    settings.PASSWORD_HASHERS = ["tests.config.test_logins.CountingHasher"]
    CountingHasher.hashed, CountingHasher.while_hashing = 0, None
    return CountingHasher


@pytest.fixture
def staff(django_user_model, hashes):
    user = django_user_model.objects.create_user(USER, password=PASSWORD, is_staff=True)
    hashes.hashed = 0
    return user


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def get(path: str, authorization: str = "", address: str = "127.0.0.1"):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    return APIClient().get(path, REMOTE_ADDR=address, **headers)


def test_a_password_is_hashed_once_then_remembered(staff, hashes):
    assert get(PROGRESS, basic(USER, PASSWORD)).status_code == 200
    assert hashes.hashed == 1
    for _ in range(5):
        assert get(PROGRESS, basic(USER, PASSWORD)).status_code == 200
    assert hashes.hashed == 1  # the next calls hash nothing
    assert get(PROGRESS, basic(USER, "not-the-password")).status_code == 401  # a wrong one is still checked in full
    assert hashes.hashed == 2


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda user: user.set_password("pw-changed-secret"), 401),  # the old password no longer opens anything
        (lambda user: setattr(user, "is_active", False), 401),
        (lambda user: setattr(user, "is_staff", False), 403),  # a non-staff user's password is refused by the permission
    ],
    ids=["password changed", "deactivated", "no longer staff"],
)
def test_a_remembered_login_is_dropped_when_the_user_row_changes(staff, hashes, change, status):
    assert get(PROGRESS, basic(USER, PASSWORD)).status_code == 200
    change(staff)
    staff.save()
    assert get(PROGRESS, basic(USER, PASSWORD)).status_code == status


def test_nothing_is_remembered_with_remember_seconds_zero(staff, hashes, settings):
    settings.GARDEN_LOGIN_REMEMBER_SECONDS = 0
    for _ in range(3):
        assert get(PROGRESS, basic(USER, PASSWORD)).status_code == 200
    assert hashes.hashed == 3


def test_the_shared_cache_never_holds_the_password(staff, settings):
    if not settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
        pytest.skip("reads every key and value of the shared cache: Redis (CI's PostgreSQL + Redis pass)")
    assert get(PROGRESS, basic(USER, PASSWORD)).status_code == 200
    from django_redis import get_redis_connection

    redis = get_redis_connection("default")
    stored = [(key, redis.dump(key)) for key in redis.scan_iter("*")]
    assert stored and not any(PASSWORD.encode() in key or PASSWORD.encode() in (value or b"") for key, value in stored)


def test_a_burst_of_wrong_passwords_is_throttled_before_hashing(staff, hashes):
    answers = [get(PROGRESS, basic(USER, f"wrong-{n}"), address="10.0.0.7") for n in range(30)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}  # five failures lock the pair (GARDEN_LOGIN_FAILURE_LIMIT)
    assert hashes.hashed == 5
    throttled = answers[-1]
    assert 0 < int(throttled["Retry-After"]) <= 15 * 60 and "not checked" in throttled.json()["detail"]
    assert get(PROGRESS, basic(USER, PASSWORD), address="10.0.0.7").status_code == 429  # nor the right one, from there
    assert hashes.hashed == 5
    assert get(PROGRESS, basic(USER, PASSWORD), address="10.0.0.8").status_code == 200  # from elsewhere: at once
    assert hashes.hashed == 6


def test_a_burst_sent_at_once_gets_no_more_checks_than_the_limit(staff, hashes):
    statuses = []
    hashes.while_hashing = lambda: statuses.extend(
        get(PROGRESS, basic(USER, f"wrong-{n}"), address="10.0.0.6").status_code for n in range(29)
    )  # 29 more arrive while the first is hashing: were it counted only once checked, they would get a sixth hash
    statuses.insert(0, get(PROGRESS, basic(USER, "wrong"), address="10.0.0.6").status_code)
    assert hashes.hashed == 5 and len(statuses) == 30 and statuses.count(401) == 5 and statuses.count(429) == 25


def test_one_address_trying_many_usernames_is_throttled_too(staff, hashes, settings):
    statuses = [get(PROGRESS, basic(f"user-{n}", "guess"), address="10.0.0.9").status_code for n in range(25)]
    limit = settings.GARDEN_LOGIN_ADDRESS_FAILURE_LIMIT
    assert statuses[:limit] == [401] * limit and set(statuses[limit:]) == {429}
    assert hashes.hashed == limit  # Django hashes once for a user that does not exist, then nothing more
    assert get(PROGRESS, basic(USER, PASSWORD), address="10.0.0.10").status_code == 200


def test_a_pair_axes_locked_is_a_429_without_a_hash_even_with_the_counters_lost(staff, hashes, settings):
    from django.core.cache import cache

    for n in range(5):
        get(PROGRESS, basic(USER, f"wrong-{n}"), address="10.0.0.11")
    assert AccessAttempt.objects.get(username=f"api:{USER}", ip_address="10.0.0.11").failures_since_start == 5
    cache.clear()  # the shared cache restarted: axes' rows still lock the pair
    hashes.hashed = 0
    assert get(PROGRESS, basic(USER, PASSWORD), address="10.0.0.11").status_code == 429
    assert hashes.hashed == 0


def test_after_a_restart_a_locked_client_is_told_the_real_time_left(staff, hashes, settings):
    """Axes' rows say when the lockout ends; the counters lost with the cache (a restart) must not
    turn "a minute left" into the whole cool-off (issue 96)."""
    from django.core.cache import cache
    from django.utils import timezone

    for n in range(5):
        get(PROGRESS, basic(USER, f"wrong-{n}"), address="10.0.0.13")
    cool_off = round(settings.AXES_COOLOFF_TIME * 3600)
    AccessAttempt.objects.filter(username=f"api:{USER}").update(attempt_time=timezone.now() - timedelta(seconds=cool_off - 60))
    cache.clear()  # the restart
    answer = get(PROGRESS, basic(USER, PASSWORD), address="10.0.0.13")
    assert answer.status_code == 429 and 55 <= int(answer["Retry-After"]) <= 61
    fresh = get(PROGRESS, basic(USER, "wrong-again"), address="10.0.0.13")  # counted again, still the same end
    assert fresh.status_code == 429 and int(fresh["Retry-After"]) <= 61


def test_a_success_resets_the_pairs_failures(staff, hashes):
    for n in range(3):
        assert get(PROGRESS, basic(USER, f"wrong-{n}"), address="10.0.0.12").status_code == 401
    assert get(PROGRESS, basic(USER, PASSWORD), address="10.0.0.12").status_code == 200
    assert not AccessAttempt.objects.filter(username__in=[USER, f"api:{USER}"], ip_address="10.0.0.12").exists()
    for n in range(4):  # four more wrong ones: still under the limit of five
        assert get(PROGRESS, basic(USER, f"again-{n}"), address="10.0.0.12").status_code == 401


def test_axes_reset_lifts_the_lockout_of_api_calls_too(staff, hashes, settings):
    for n in range(settings.GARDEN_LOGIN_ADDRESS_FAILURE_LIMIT):
        get(PROGRESS, basic(f"{USER}-{n % 2}", "wrong"), address="10.0.0.13")
    assert get(PROGRESS, basic(USER, PASSWORD), address="10.0.0.13").status_code == 429
    call_command("axes_reset", verbosity=0)  # what docs/settings.md tells an operator to run
    assert get(PROGRESS, basic(USER, PASSWORD), address="10.0.0.13").status_code == 200


def test_with_the_cache_down_every_call_is_checked_in_full_and_axes_still_locks(staff, hashes, settings):
    settings.CACHES = redis_cache(DEAD_REDIS)  # nothing remembered, no counts: slower, never wrong
    settings.GARDEN_CACHE_BREAKER_SECONDS = 60
    cache_breaker.reset_breakers()
    try:
        for _ in range(3):
            assert get(PROGRESS, basic(USER, PASSWORD)).status_code == 200
        assert hashes.hashed == 3
        statuses = [get(PROGRESS, basic(USER, f"wrong-{n}"), address="10.0.0.14").status_code for n in range(7)]
        assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]  # axes' rows in the database lock the pair
        assert hashes.hashed == 8
    finally:
        cache_breaker.reset_breakers()


def admin_login(username: str, password: str, address: str, language: str = "en"):
    client = Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language)
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_an_api_clients_wrong_passwords_never_lock_the_curator_out_of_the_admin(staff, hashes):
    statuses = [get(PROGRESS, basic(USER, f"wrong-{n}"), address="10.0.0.20").status_code for n in range(12)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}  # the API calls are throttled...
    answer = admin_login(USER, PASSWORD, "10.0.0.20")  # ...the admin's login from the same address is not
    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    # Counted by credential type: the API's failures under its own name, none under the admin's.
    assert set(AccessAttempt.objects.filter(ip_address="10.0.0.20").values_list("username", flat=True)) == {f"api:{USER}"}
    assert AccessLog.objects.filter(username=USER, ip_address="10.0.0.20").exists()


def test_the_admins_wrong_passwords_never_lock_the_api(staff, hashes):
    for n in range(6):
        admin_login(USER, f"wrong-{n}", "10.0.0.21")
    assert admin_login(USER, PASSWORD, "10.0.0.21").status_code == 429
    assert get(PROGRESS, basic(USER, PASSWORD), address="10.0.0.21").status_code == 200


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "Try again in 15 minutes"), ("ko", "15분 후에 다시 시도"), ("ja", "15 分後にもう一度")],
)
def test_the_admins_lockout_page_is_the_sites_own_and_says_when_to_try_again(staff, hashes, language, words):
    for n in range(5):
        admin_login(USER, f"wrong-{n}", "10.0.0.22", language)
    answer = admin_login(USER, PASSWORD, "10.0.0.22", language)
    page = answer.content.decode()
    assert answer.status_code == 429 and 14 * 60 < int(answer["Retry-After"]) <= 15 * 60
    assert 'id="lockout"' in page and "admin/css/login.css" in page and words in page
    assert "Account locked: too many login attempts" not in page  # axes' unstyled English line


def test_a_right_login_during_a_lockout_is_not_recorded_as_a_failure(staff, hashes):
    for n in range(5):
        admin_login(USER, f"wrong-{n}", "10.0.0.23")
    for _ in range(3):
        assert admin_login(USER, PASSWORD, "10.0.0.23").status_code == 429
    assert AccessAttempt.objects.get(username=USER, ip_address="10.0.0.23").failures_since_start == 5


def issued(user, name="Krita") -> tuple[ClientKey, str]:
    key = ClientKey(user=user, name=name)
    secret = client_keys.issue(key, by=user)
    return key, secret


def test_a_client_key_is_stored_as_its_hash_and_taken_as_a_password_or_a_bearer_token(staff, hashes):
    key, secret = issued(staff)
    assert KEY_PATTERN.fullmatch(secret) and key.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert not ClientKey.objects.filter(digest__contains=secret[4:]).exists() and secret.startswith(key.prefix)
    assert get(PROGRESS, basic(USER, secret)).status_code == 200
    assert get(PROGRESS, basic("any name", secret)).status_code == 200  # the key names its user
    assert get(PROGRESS, f"Bearer {secret}").status_code == 200
    assert get("/api/v1/jobs", f"Bearer {secret}").status_code == 200
    assert hashes.hashed == 0
    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert get(PROGRESS, f"Bearer {forged}").status_code == 401
    client_keys.revoke(ClientKey.objects.filter(pk=key.pk))
    answer = get(PROGRESS, basic(USER, secret))
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_a_key_stops_with_its_user_and_needs_a_staff_user(staff, django_user_model):
    _key, secret = issued(staff)
    visitor = django_user_model.objects.create_user("visitor", password=PASSWORD)
    assert get(PROGRESS, f"Bearer {issued(visitor)[1]}").status_code == 403
    staff.is_active = False
    staff.save()
    assert get(PROGRESS, f"Bearer {secret}").status_code == 401


def test_a_keys_last_use_is_written_at_most_once_a_minute(staff):
    key, secret = issued(staff)
    assert key.last_used_at is None
    get(PROGRESS, f"Bearer {secret}")
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    get(PROGRESS, f"Bearer {secret}")
    key.refresh_from_db()
    assert key.last_used_at == first  # a poll a second later writes nothing
    ClientKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    get(PROGRESS, f"Bearer {secret}")
    key.refresh_from_db()
    assert key.last_used_at > first


def test_every_authenticated_path_takes_the_same_credentials(staff, hashes, settings, django_user_model):
    _key, secret = issued(staff)
    token = Token.objects.create(user=django_user_model.objects.create_user("operator")).key
    # The retouch app's health probe answers 200 with a model configured and a GPU worker present.
    settings.GARDEN_GENERATOR_BACKEND, settings.GARDEN_DIFFUSION_MODEL = "diffusers", "/models/sd15"
    record_presence(name="gpu@box", queues=[settings.GARDEN_GPU_QUEUE])
    paths = [PROGRESS, "/sdapi/v1/options", "/sdapi/v1/sd-models", "/api/v1/jobs"]
    for path in paths:
        for authorization in (basic(USER, PASSWORD), basic(USER, secret), f"Bearer {secret}", f"Token {token}"):
            assert get(path, authorization).status_code == 200, (path, authorization)
        session = APIClient()
        session.force_login(staff)
        assert session.get(path).status_code == 200, path
        assert get(path, basic(USER, "wrong")).status_code == 401
    assert hashes.hashed == 1 + len(paths)  # one full check, then one per wrong password
    display = APIClient().post("/updateDisplay", {"zone": "hall", "landscape": []}, format="json", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert display.status_code != 401


def test_the_schema_states_both_schemes_and_the_429(staff):
    schema = APIClient().get("/api/schema", HTTP_ACCEPT="application/json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["basicAuth"] == {"type": "http", "scheme": "basic"} and schemes["clientKey"]["scheme"] == "bearer"
    for path, method in ((PROGRESS, "get"), ("/api/v1/jobs", "get"), ("/sdapi/v1/txt2img", "post")):
        operation = schema["paths"][path][method]
        assert "429" in operation["responses"], path
        assert {"basicAuth": []} in operation["security"] and {"clientKey": []} in operation["security"], path
