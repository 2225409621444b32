"""Settings, all from the environment.

Secrets (production must set them; the demo and the tests derive throw-away ones):
- ``PROPOOR_SECRET_KEY``: Django's secret key.
- ``PROPOOR_ID_KEY``: Fernet key that encrypts resident ID numbers.
- ``PROPOOR_ID_HASH_KEY``: HMAC key of the ID numbers' de-duplication hash.
Other settings: ``DATABASE_URL`` (default: SQLite under ``./var``), ``PROPOOR_DEBUG``,
``PROPOOR_ALLOWED_HOSTS`` (comma separated), ``PROPOOR_HOME`` (where ``var/`` lives).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


PACKAGE_DIR = Path(__file__).resolve().parent
HOME = Path(os.environ.get("PROPOOR_HOME", Path.cwd())).resolve()
VAR_DIR = HOME / "var"

DEBUG = _flag("PROPOOR_DEBUG")
DEV_SECRETS = DEBUG or _flag("PROPOOR_DEV_SECRETS")


def _secret(name: str, dev_value: str) -> str:
    value = os.environ.get(name)
    if value:
        return value
    if DEV_SECRETS:
        return dev_value
    raise ImproperlyConfigured(
        f"{name} is not set. Set it in the environment (see README: secrets)."
    )


SECRET_KEY = _secret("PROPOOR_SECRET_KEY", "dev-only-secret-key-not-for-production")
# A Fernet key is 32 url-safe base64 bytes; this dev key is public on purpose.
ID_ENCRYPTION_KEY = _secret(
    "PROPOOR_ID_KEY", "ZGV2LW9ubHktaWQta2V5LW5vdC1mb3ItcHJvZHVjdGk="
)
ID_HASH_KEY = _secret("PROPOOR_ID_HASH_KEY", "dev-only-id-hash-key")

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("PROPOOR_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip()
    for o in os.environ.get("PROPOOR_CSRF_TRUSTED_ORIGINS", "").split(",")
    if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "propoor.core",
    "propoor.accounts",
    "propoor.areas",
    "propoor.households",
    "propoor.surveys",
    "propoor.training",
    "propoor.market",
    "propoor.insights",
    "propoor.seeding",
    "propoor.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "propoor.urls"
WSGI_APPLICATION = "propoor.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'propoor.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_db), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Statements are prepared by the server only where the code asks for it
    # (``cursor.execute(..., prepare=True)``: the checkout's one statement), never
    # automatically after repeated use. Behind a connection pooler in transaction mode,
    # it must pass protocol-level prepared statements through (PgBouncer >= 1.21 with
    # max_prepared_statements set).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
DATABASES["default"]["TEST"] = {
    "NAME": os.environ.get("PROPOOR_TEST_DB_NAME") or None,
}

# Realm of HTTP Digest authentication (OpenRosa clients); changing it invalidates
# every stored digest credential.
PROPOOR_DIGEST_REALM = os.environ.get("PROPOOR_DIGEST_REALM", "ProPoor")

# Largest attachment (a photo) a survey submission may carry, in bytes.
PROPOOR_SURVEY_MAX_ATTACHMENT = int(
    os.environ.get("PROPOOR_SURVEY_MAX_ATTACHMENT", 10 * 1024 * 1024)
)

# The standard whose runs move households' statuses (identified, not poor, returned).
PROPOOR_OFFICIAL_STANDARD = os.environ.get("PROPOOR_OFFICIAL_STANDARD", "cn-national")
# On PostgreSQL, a run writing at least this many results loads them into a partition
# of their own (households/migrations/0002_result_partitions.py).
PROPOOR_RESULT_PARTITION_ROWS = int(
    os.environ.get("PROPOOR_RESULT_PARTITION_ROWS", "20000")
)
# On PostgreSQL, bulk reads and writes of identification over this many rows use up
# to PROPOOR_BULK_CONNECTIONS connections at once (households/identification_io.py).
PROPOOR_BULK_PARALLEL_ROWS = int(os.environ.get("PROPOOR_BULK_PARALLEL_ROWS", "200000"))
PROPOOR_BULK_CONNECTIONS = int(os.environ.get("PROPOOR_BULK_CONNECTIONS", "2"))
# Audit entries recorded with a change (core/audit.py, audit_defer) are chained this
# many seconds after the commit by a sealer thread of the process, all the entries of
# that window in one transaction; 0 chains each right after its commit.
PROPOOR_AUDIT_SEAL_DELAY = float(os.environ.get("PROPOOR_AUDIT_SEAL_DELAY", "0.2"))
# Uploaded files (lesson videos); served through views that check access.
MEDIA_ROOT = HOME / "var" / "media"
MEDIA_URL = "/media/"
# Absolute address of the site: certificate QR codes and xAPI activity IDs use it.
PROPOOR_SITE_URL = os.environ.get("PROPOOR_SITE_URL", "http://localhost:8000").rstrip(
    "/"
)
# Market: GS1 company prefix for GTINs derived for products without one (040–049:
# for use within a company), public-notice days and validity of product certifications.
PROPOOR_GS1_PREFIX = os.environ.get("PROPOOR_GS1_PREFIX", "0400000")
PROPOOR_CERT_NOTICE_DAYS = int(os.environ.get("PROPOOR_CERT_NOTICE_DAYS", "7"))
PROPOOR_CERT_VALID_YEARS = int(os.environ.get("PROPOOR_CERT_VALID_YEARS", "1"))
# Payments. Unless the gateway settings name real Alipay/WeChat Pay endpoints, both
# point at the local sandbox gateway (/market/pay/sandbox/), which signs notifications
# with its own keys in the gateways' formats so the real verification code runs. Keys
# left empty are generated on first use under PROPOOR_PAY_KEYS_DIR (never committed).
PROPOOR_PAY_KEYS_DIR = Path(
    os.environ.get("PROPOOR_PAY_KEYS_DIR", HOME / "var" / "keys")
)
PROPOOR_PAY_SANDBOX_STORE = Path(
    os.environ.get("PROPOOR_PAY_SANDBOX_STORE", HOME / "var" / "pay-sandbox.json")
)
PROPOOR_PAY_RECONCILE_MINUTES = int(
    os.environ.get("PROPOOR_PAY_RECONCILE_MINUTES", "10")
)
PROPOOR_PAY_MERCHANT_NAME = os.environ.get(
    "PROPOOR_PAY_MERCHANT_NAME", "ProPoor 扶贫商城"
)
PROPOOR_ALIPAY_APP_ID = os.environ.get("PROPOOR_ALIPAY_APP_ID", "2021000000000001")
PROPOOR_ALIPAY_SELLER_ID = os.environ.get(
    "PROPOOR_ALIPAY_SELLER_ID", "2088000000000001"
)
PROPOOR_ALIPAY_GATEWAY = os.environ.get(
    "PROPOOR_ALIPAY_GATEWAY", PROPOOR_SITE_URL + "/market/pay/sandbox/alipay/gateway"
)
PROPOOR_ALIPAY_APP_PRIVATE_KEY = os.environ.get("PROPOOR_ALIPAY_APP_PRIVATE_KEY", "")
PROPOOR_ALIPAY_PUBLIC_KEY = os.environ.get("PROPOOR_ALIPAY_PUBLIC_KEY", "")
PROPOOR_WECHAT_MCHID = os.environ.get("PROPOOR_WECHAT_MCHID", "1900000001")
PROPOOR_WECHAT_APPID = os.environ.get("PROPOOR_WECHAT_APPID", "wx00000000sandbox")
PROPOOR_WECHAT_GATEWAY = os.environ.get(
    "PROPOOR_WECHAT_GATEWAY", PROPOOR_SITE_URL + "/market/pay/sandbox/wechat"
)
PROPOOR_WECHAT_PRIVATE_KEY = os.environ.get("PROPOOR_WECHAT_PRIVATE_KEY", "")
PROPOOR_WECHAT_CERT_SERIAL_NO = os.environ.get("PROPOOR_WECHAT_CERT_SERIAL_NO", "")
PROPOOR_WECHAT_APIV3_KEY = os.environ.get("PROPOOR_WECHAT_APIV3_KEY", "")
PROPOOR_WECHAT_PUBLIC_KEY = os.environ.get("PROPOOR_WECHAT_PUBLIC_KEY", "")
PROPOOR_WECHAT_PUBLIC_KEY_ID = os.environ.get("PROPOOR_WECHAT_PUBLIC_KEY_ID", "")
# Who signs training certificates.
PROPOOR_TRAINING_ISSUER = os.environ.get(
    "PROPOOR_TRAINING_ISSUER", "县人力资源和社会保障局 County human-resources bureau"
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = _flag("PROPOOR_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = _flag("PROPOOR_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("PROPOOR_HSTS_SECONDS", "0"))
    SECURE_SSL_REDIRECT = _flag("PROPOOR_SSL_REDIRECT", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PROPOOR_LOG", "INFO")},
    # fontTools (fpdf2 embedding a font subset in a PDF) tells of every table it
    # subsets at INFO
    "loggers": {"fontTools": {"level": "WARNING"}},
}
