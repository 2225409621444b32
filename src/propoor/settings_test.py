"""Settings for the test suite: throw-away secrets, fast password hashing."""

from __future__ import annotations

import os

os.environ.setdefault("PROPOOR_DEV_SECRETS", "1")
os.environ.setdefault("PROPOOR_SECURE_COOKIES", "0")

from propoor.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
LANGUAGE_CODE = "en"
# each deferred audit entry chained right after its commit (core/tests test the thread)
PROPOOR_AUDIT_SEAL_DELAY = 0.0
