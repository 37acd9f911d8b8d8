"""How an API call proves who it is with a password or a client key (docs/a1111.md#authentication).

Django hashes passwords slowly on purpose (PBKDF2, a million rounds: about half a second here), and
an A1111 client sends its password with every call, polling progress once a second. So:

- **Remembered logins.** A user name and password that passed the full check (django-axes' lockout,
  then the hasher) are remembered for GARDEN_LOGIN_REMEMBER_SECONDS in the shared cache, under an
  HMAC of both keyed with SECRET_KEY (the password is never stored), as a stamp of the user row: its
  password hash, ``is_active`` and ``is_staff``. A changed password, a deactivation or lost staff
  rights change the stamp, so the next call is checked in full again, at once.
- **Failed logins throttled before hashing.** Failures are counted per address and per (address,
  user name), read before anything else: past GARDEN_LOGIN_ADDRESS_FAILURE_LIMIT or
  GARDEN_LOGIN_FAILURE_LIMIT the call is a 429 with Retry-After and no hash is computed. A full
  check is counted before it runs (and given back if it succeeds), so a burst sent all at once
  cannot get more checks than the limit. Counting per user name alone would let anyone lock a user
  out from elsewhere; a login from another address is never slowed.
- **Counted by credential type.** An API call's failures are counted apart from the admin's login
  form: axes records them under the user name ``api:<name>`` (``axes_username``), so a client
  with a wrong password locks out its own API calls, never the curator's admin login from the same
  address (one studio PC, one NAT), and the admin's failures never lock the API
  (docs/a1111.md#authentication). Axes' rows are the durable count: they survive a restart of the
  shared cache, and ``manage.py axes_reset`` lifts both.
- **Client keys** (``egk_`` + 43 characters: 256 random bits) are made by staff in the admin and
  stored as their SHA-256 (infra.client_keys, registered with ``use_client_keys``): a key is as hard
  to guess as its hash is to invert, so stretching it would add cost and no safety, and one indexed
  lookup finds it. Sent as the Basic password (the user name is not checked: the key names its user)
  or as ``Authorization: Bearer``. A wrong key costs one lookup and no hash, so it is not throttled.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication

from config import caches
from config.axes_names import API_CHANNEL, API_NAME_PREFIX, CHANNEL
from config.lockout import seconds_left

KEY_PREFIX = "egk_"
KEY_PATTERN = re.compile(r"egk_[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32): 43 characters

REMEMBERED_LOGINS = caches.shared(
    owner=__name__,
    name="REMEMBERED_LOGINS",
    prefix="login-ok:",
    ttl=None,
    key="an HMAC (SECRET_KEY) of a user name and password that passed the full check; the value: a stamp of the user row",
    fresh="the stamp (HMAC of the row's password hash, is_active, is_staff) is compared on every use, so a changed row "
    "is checked in full again; expires after GARDEN_LOGIN_REMEMBER_SECONDS",
)


def new_client_key() -> str:
    """A fresh secret: ``egk_`` and 32 random bytes, base64url."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(secret: str) -> str:
    """What is stored of a key: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def is_client_key(text: str) -> bool:
    return KEY_PATTERN.fullmatch(text) is not None


class ClientKeys(Protocol):
    """Where client keys are kept and looked up (``infra.client_keys.ClientKeyRows``)."""

    def user_of(self, digest: str) -> tuple[object, object] | None:
        """(user, key) of the live key with this digest whose user is active; records its use. None: no such key."""
        ...


_store: ClientKeys | None = None


def use_client_keys(store: ClientKeys) -> None:
    """Called once at start-up (``infra.apps``): where client keys are looked up."""
    global _store
    _store = store


class LoginThrottled(exceptions.Throttled):
    default_detail = gettext_lazy("Too many failed logins from this address: the password was not checked.")


def _api():
    # config.api imports rest_framework.views, whose APIView reads this module's class from the
    # settings (REST_FRAMEWORK's default authentication): taken on first use, not when this loads.
    from config import api

    return api


def _window() -> int:
    """The counters' window: the lockout's cool-off (GARDEN_LOGIN_COOLOFF_MINUTES), in seconds."""
    return max(1, round(settings.AXES_COOLOFF_TIME * 3600))


def api_credentials(username: str, password: str | None = None) -> dict:
    found = {"username": username, CHANNEL: API_CHANNEL}
    return found if password is None else {**found, "password": password}


@dataclass
class FailedLogins:
    """The failed password checks counted so far from one address, and from it for one user name."""

    address_key: str
    pair_key: str
    address: str = ""
    username: str = ""
    from_address: int = 0
    for_pair: int = 0

    @classmethod
    def of(cls, address: str, username: str) -> FailedLogins:
        name = hashlib.sha256(username.encode()).hexdigest()[:16]  # any text a client sends, made a short key
        return cls(f"throttle:login:{address}", f"throttle:login:{address}:{name}", address, username)

    @classmethod
    def read(cls, address: str, username: str) -> FailedLogins:
        found = cls.of(address, username)
        found.from_address, found.for_pair = _api().read_counts([found.address_key, found.pair_key])
        return found

    @property
    def over_limit(self) -> bool:
        return self.from_address >= settings.GARDEN_LOGIN_ADDRESS_FAILURE_LIMIT or self.for_pair >= settings.AXES_FAILURE_LIMIT

    def claim(self) -> bool:
        """Count this attempt before its hash, so that attempts running at once cannot all pass the
        limit; False when it is over the limit and must not run."""
        self.from_address = _api().count_request(self.address_key, window=_window())
        self.for_pair = _api().count_request(self.pair_key, window=_window())
        return self.from_address <= settings.GARDEN_LOGIN_ADDRESS_FAILURE_LIMIT and self.for_pair <= settings.AXES_FAILURE_LIMIT

    def release(self) -> None:
        """The claimed attempt succeeded: the address gets it back, and the pair starts again."""
        _api().uncount(self.address_key)
        _api().forget_count(self.pair_key)

    def throttled(self) -> LoginThrottled:
        if self.from_address >= settings.GARDEN_LOGIN_ADDRESS_FAILURE_LIMIT:
            return LoginThrottled(wait=_api().seconds_left(self.address_key, window=_window()))
        # The pair's lockout ends with axes' (its rows survive a restart; the counters may not, and
        # outside Redis they cannot say their expiry): the real time left, not the whole cool-off.
        counted = _api().seconds_left(self.pair_key, window=_window())
        return LoginThrottled(wait=seconds_left(API_NAME_PREFIX + self.username, self.address, unknown=counted))


@receiver(post_delete, sender=AccessAttempt)
def forget_failures(sender, instance, **kwargs) -> None:
    """Axes' failures deleted (``manage.py axes_reset``, the admin, a success): an API pair's count
    goes with them, and the address's once axes holds no failure from it."""
    username = instance.username or ""
    failed = FailedLogins.of(instance.ip_address or "", username.removeprefix(API_NAME_PREFIX))
    if username.startswith(API_NAME_PREFIX):
        _api().forget_count(failed.pair_key)
    if not AccessAttempt.objects.filter(ip_address=instance.ip_address).exists():
        _api().forget_count(failed.address_key)


def _login_key(username: str, password: str) -> str:
    # A user name holds no ":" in Basic (the first one ends it), so the pair is unambiguous.
    return REMEMBERED_LOGINS.key(salted_hmac("config.auth.login", f"{username}:{password}", algorithm="sha256").hexdigest())


def _stamp(user) -> str:
    row = f"{user.pk}:{user.password}:{user.is_active}:{user.is_staff}"
    return salted_hmac("config.auth.login-user", row, algorithm="sha256").hexdigest()


def _remembered_user(username: str, password: str):
    """The user of a remembered login whose row still matches its stamp, else None (one query on a hit)."""
    stamp = REMEMBERED_LOGINS.get(_login_key(username, password))
    if not stamp:
        return None
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    return user if user is not None and hmac.compare_digest(stamp, _stamp(user)) else None


class PasswordOrKeyAuthentication(BasicAuthentication):
    """``Authorization: Basic`` with a password (remembered once checked, failures throttled) or a
    client key, and ``Authorization: Bearer <client key>``; None for any other header."""

    def authenticate(self, request):
        keyword, _, value = request.headers.get("Authorization", "").partition(" ")
        if keyword.lower() == "bearer" and is_client_key(value.strip()):
            return self.key_user(value.strip())
        return super().authenticate(request)  # Basic (parsed by DRF, then authenticate_credentials), else None

    def authenticate_credentials(self, userid, password, request=None):
        if is_client_key(password):
            return self.key_user(password)
        address = _api().client_ip(request)
        failed = FailedLogins.read(address, userid)
        if failed.over_limit:
            raise failed.throttled()
        user = _remembered_user(userid, password)
        if user is not None:
            return user, None
        # Axes' lockout is read here too (one query) so that a locked-out pair is told so, not told its password is wrong.
        if not failed.claim() or not AxesProxyHandler.is_allowed(request, api_credentials(userid)):
            raise failed.throttled()
        user = self.checked_user(userid, password, request)
        failed.release()
        if failed.for_pair > 1:  # earlier failures of this pair: reset, as AXES_RESET_ON_SUCCESS does for the admin
            AxesProxyHandler.reset_attempts(ip_address=address, username=API_NAME_PREFIX + userid)
        if settings.GARDEN_LOGIN_REMEMBER_SECONDS > 0:
            REMEMBERED_LOGINS.set(_login_key(userid, password), _stamp(user), settings.GARDEN_LOGIN_REMEMBER_SECONDS)
        return user, None

    @staticmethod
    def checked_user(userid: str, password: str, request):
        """DRF's check (axes, then the hasher; else a 401), with the credentials marked as the API's,
        so that axes counts a failure under the API's name."""
        user = authenticate(request=request, **api_credentials(userid, password))
        if user is None:
            raise exceptions.AuthenticationFailed(gettext_lazy("Invalid username/password."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(gettext_lazy("User inactive or deleted."))
        return user

    def key_user(self, secret: str):
        found = _store.user_of(key_digest(secret)) if _store is not None else None
        if found is None:
            raise exceptions.AuthenticationFailed(gettext_lazy("Unknown or revoked client key."))
        return found


class PasswordOrKeyScheme(OpenApiAuthenticationExtension):
    target_class = PasswordOrKeyAuthentication
    name = ["basicAuth", "clientKey"]

    def get_security_requirement(self, auto_schema):
        return [{name: []} for name in self.name]  # either one (spectacular's default for a list: both at once)

    def get_security_definition(self, auto_schema):
        key = {"type": "http", "scheme": "bearer", "description": "A client key made by staff in the admin (docs/a1111.md)"}
        return [{"type": "http", "scheme": "basic"}, key]
