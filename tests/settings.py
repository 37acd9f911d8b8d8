"""The tests' settings: the app's settings with a fast password hasher.

Django's default hasher (PBKDF2, a million rounds) takes about a quarter of a second per password on
a 2-core machine, and the suite makes or checks one for every curator, admin and login it sets up:
238 curation and A1111 tests ran in 171 s with it and 71 s without (`pytest -n 2`). Nothing here
tests the hasher's cost; servers and workers the tests start as processes of their own keep
config.settings. bin/fuzz-api's server uses these settings too: Schemathesis sends a generated Basic
credential with most A1111 requests, and Django hashes each new one (even for a user that does not
exist) until the fuzzer's address is past GARDEN_LOGIN_ADDRESS_FAILURE_LIMIT (config.auth).
"""

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# In-process tests scan the models folder when they mean to (tests/library/test_library_follow.py
# runs the follower itself); processes the tests start with config.settings follow it.
GARDEN_LIBRARY_SCAN_SECONDS = 0

# Each test process's SQLite database is a file (tests/conftest.py): a write waits for another
# connection's write as in the app, but not 20 s: a test's own transaction holds the write lock to
# its end, so a thread of the test that writes beside it (an upload's progress) waits that long for nothing.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["OPTIONS"]["timeout"] = 2  # noqa: F405
