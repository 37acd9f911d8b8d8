"""bin/fuzz-api's server: the app's settings with a fast password hasher.

Schemathesis sends a generated Basic credential with most requests to the A1111 operations, and
Django runs the password hasher for each, even for a user that does not exist (PBKDF2: a large
part of a second on a 2-core machine). The fuzzer checks the answers, not the cost of hashing.
"""

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
