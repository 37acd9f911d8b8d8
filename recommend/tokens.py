"""Which counters changed: a change token per emotion in the shared cache.

/garden reads the counters of a search key's candidates on every request: its largest query. Each
web process keeps them per search key and segment under the token of the key's emotion, and reuses
them while the token is unchanged. Every event replaces the tokens of the emotions it counted for
once it commits (one ``SET``, or one ``set_many`` for several), and a rebuild replaces them all, so the next /garden anywhere
reads fresh counters.

A reader reads the token *before* the counters: an event committed in between leaves the copy under
the older token, never stale under the newer one; and since every replacement is a new random value,
events racing each other can only make readers read again, never keep a stale copy. Only a cache
every process shares (Redis, Memcached) can carry tokens: with a per-process cache (the embedded
default) nothing is kept and every request reads the counters.

While the cache is down (config.cache's breaker is open) there are no tokens: every request reads the
counters. When the cache answers again after an outage, the process replaces every token
(``renew_all``, a config.cache recovery hook): a replacement it could not write during the outage is
then written, so a copy kept elsewhere under an older token does not outlive the outage. Replacing
tokens runs after the event's commit and never fails the request (config.outages.after_commit).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache

from config import cache as cache_breaker
from config.outages import after_commit
from garden.keys import EMOTIONS

PER_PROCESS_CACHES = ("django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache")


def shared() -> bool:
    return settings.CACHES["default"]["BACKEND"] not in PER_PROCESS_CACHES


def _key(emotion: str) -> str:
    return f"recommend:counters:{emotion}"


def current(emotion: str) -> str | None:
    """The emotion's counters token, or None when counters cannot be kept between requests."""
    if not shared() or not cache_breaker.available():
        return None
    token = cache.get(_key(emotion))
    if token is None:  # never set, or evicted: a fresh token, so no copy kept before matches it
        cache.add(_key(emotion), secrets.token_hex(8), timeout=None)
        token = cache.get(_key(emotion))
    return token


def current_with(emotion: str, *keys: str) -> tuple[str | None, dict]:
    """``current(emotion)`` and the cache's values of ``keys`` in one ``get_many``: /garden reads the
    model version (recommend.store) with the token. Both come from the same moment, before the
    counters are read, so the token's ordering guarantee above holds."""
    if not shared() or not cache_breaker.available():
        return None, {}
    values = cache.get_many([_key(emotion), *keys])  # {} when the cache fails: no token, no values
    token = values.pop(_key(emotion), None)
    return (token if token is not None else current(emotion)), values


def changed(emotions: Iterable[str]) -> None:
    """These emotions' counters changed: new tokens once the caller's transaction commits."""
    keys = [_key(emotion) for emotion in sorted(set(emotions))]
    if keys and shared():
        after_commit(lambda: _replace(keys), name="counter tokens")


def _replace(keys: list[str]) -> None:
    # A like counts for one emotion: one SET, where django-redis's set_many wraps a MULTI/EXEC.
    if len(keys) == 1:
        cache.set(keys[0], secrets.token_hex(8), timeout=None)
    else:
        cache.set_many({key: secrets.token_hex(8) for key in keys}, timeout=None)


def renew_all() -> None:
    """Every emotion's counters changed, as far as any kept copy knows (a rebuild, a cache outage)."""
    if shared():
        _replace([_key(emotion) for emotion in EMOTIONS])
