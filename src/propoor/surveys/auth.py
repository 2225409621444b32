"""HTTP authentication for OpenRosa clients (ODK Collect, KoboCollect, Enketo).

Two schemes, both with the user's own ProPoor credentials, never the session:

- **Digest** (RFC 7616, ``algorithm=MD5``, ``qop=auth``): the server keeps
  ``User.digest_ha1`` = MD5(username:realm:password), derived whenever the password
  is set (``accounts.services``), and checks
  ``response = MD5(HA1:nonce:nc:cnonce:qop:MD5(method:uri))``.
  Nonces are stateless: ``<timestamp>-<salt>-<HMAC(SECRET_KEY; realm, timestamp,
  salt)>``, so any number of web workers accept each other's nonces without shared
  state. A nonce older than ``PROPOOR_DIGEST_NONCE_SECONDS`` (default 300) is
  *stale*: a request whose response is right for it gets a fresh challenge with
  ``stale=true`` and the client retries without asking for the password. Being
  stateless, the server does not track ``nc``: a captured request can be replayed
  while its nonce lives (the window is the nonce lifetime) — run OpenRosa over
  HTTPS, as for anything carrying passwords.
- **Basic** with the user's Django password, checked by
  ``django.contrib.auth.authenticate`` (so the configured password hashers and
  inactive-user rules apply). Slow by design (PBKDF2); clients that can, use Digest.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import connection
from django.utils.crypto import salted_hmac

from propoor.accounts.models import User

if TYPE_CHECKING:
    from django.http import HttpRequest

_NONCE_SALT = "propoor.surveys.auth.nonce"
_OPAQUE_SALT = "propoor.surveys.auth.opaque"
_DEFAULT_NONCE_SECONDS = 300
# Clock skew we tolerate on a nonce's timestamp (several workers, one clock each).
_FUTURE_SKEW_S = 30

# token "=" ( token / quoted-string ), comma separated (RFC 7235 auth-param)
_AUTH_PARAM = re.compile(
    r"""\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*"""
    r"""(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)""",
    re.DOTALL,
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_NC = re.compile(r"[0-9a-fA-F]{8}")


@dataclass(frozen=True)
class AuthOutcome:
    """Who the request authenticated as (``user`` None: nobody).

    ``stale`` is true when a Digest response was right but for an expired nonce;
    ``scheme`` is ``"digest"`` or ``"basic"`` when a user was found.
    """

    user: User | None
    scheme: str = ""
    stale: bool = False


ANONYMOUS = AuthOutcome(user=None)


def realm() -> str:
    return str(settings.PROPOOR_DIGEST_REALM)


def _nonce_seconds() -> int:
    seconds = getattr(settings, "PROPOOR_DIGEST_NONCE_SECONDS", _DEFAULT_NONCE_SECONDS)
    return int(seconds)


def _md5(text: bytes) -> str:
    return hashlib.md5(text, usedforsecurity=False).hexdigest()


def _nonce_mac(stamp: str, salt: str) -> str:
    value = f"{realm()}:{stamp}:{salt}"
    return salted_hmac(_NONCE_SALT, value, algorithm="sha256").hexdigest()[:32]


def nonce_make(now: float | None = None) -> str:
    """A fresh nonce: its timestamp, a random salt, and their HMAC."""
    stamp = format(int(time.time() if now is None else now), "x")
    salt = secrets.token_hex(8)
    return f"{stamp}-{salt}-{_nonce_mac(stamp, salt)}"


def nonce_check(nonce: str, now: float | None = None) -> str:
    """``"ok"``, ``"stale"`` (ours, but expired) or ``"invalid"`` (not ours)."""
    parts = nonce.split("-")
    if len(parts) != 3:
        return "invalid"
    stamp, salt, mac = parts
    try:
        issued = int(stamp, 16)
    except ValueError:
        return "invalid"
    if not hmac.compare_digest(_nonce_mac(stamp, salt), mac):
        return "invalid"
    now = time.time() if now is None else now
    if issued > now + _FUTURE_SKEW_S:
        return "invalid"
    if now - issued > _nonce_seconds():
        return "stale"
    return "ok"


def opaque() -> str:
    return salted_hmac(_OPAQUE_SALT, realm(), algorithm="sha256").hexdigest()[:32]


def challenges(*, stale: bool = False) -> list[str]:
    """The ``WWW-Authenticate`` values of a 401: Digest first, then Basic."""
    digest = (
        f'Digest realm="{realm()}", qop="auth", nonce="{nonce_make()}", '
        f'opaque="{opaque()}", algorithm=MD5'
    )
    if stale:
        digest += ", stale=true"
    return [digest, f'Basic realm="{realm()}", charset="UTF-8"']


def parse_auth_params(text: str) -> dict[str, str] | None:
    """``k=v, k="quoted"`` pairs (names lower-cased); None when malformed."""
    params: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _AUTH_PARAM.match(text, pos)
        if match is None or match.end() == pos:
            return None
        name, quoted, bare = match.groups()
        value = _QUOTED_PAIR.sub(r"\1", quoted) if quoted is not None else bare
        params[name.lower()] = value
        pos = match.end()
    return params


def _header_text(request: HttpRequest) -> str | None:
    """The Authorization header as UTF-8 text (undecodable bytes kept as surrogates).

    WSGI hands headers over as latin-1; clients send user names in UTF-8.
    """
    raw = request.META.get("HTTP_AUTHORIZATION")
    if not raw:
        return None
    try:
        data = raw.encode("latin-1")
    except UnicodeEncodeError:
        data = raw.encode("utf-8", "surrogateescape")
    return data.decode("utf-8", "surrogateescape")


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _uri_matches(uri: str, request: HttpRequest) -> bool:
    """The digest ``uri`` names this request (path and query; absolute allowed)."""
    parts = urlsplit(uri)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return target in {request.get_full_path(), request.path}


def _user_named(username: str) -> User | None:
    """The user of this username, loaded as ``User.objects.get`` would.

    Every OpenRosa request runs this: the SQL is made once from the model, as
    Django's query compiler costs several times what the lookup itself does.
    """
    sql, attnames = _user_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [username])
        row = cursor.fetchone()
    if row is None:
        return None
    return User.from_db(connection.alias, attnames, row)


@functools.cache
def _user_query() -> tuple[str, tuple[str, ...]]:
    meta = User._meta
    fields = meta.concrete_fields
    columns = ", ".join(f.column for f in fields)
    username = meta.get_field("username").column
    # Only the model's own names go into the SQL; the username is a parameter.
    sql = f"SELECT {columns} FROM {meta.db_table} WHERE {username} = %s"  # noqa: S608
    return sql, tuple(f.attname for f in fields)


def _digest(request: HttpRequest, text: str) -> AuthOutcome:
    params = parse_auth_params(text)
    if params is None:
        return ANONYMOUS
    username = params.get("username")
    if "username*" in params:  # RFC 7616 §3.4.4: UTF-8''percent-encoded
        charset, _, rest = params["username*"].partition("''")
        if charset.lower() != "utf-8":
            return ANONYMOUS
        username = unquote(rest, encoding="utf-8")
    required = ("realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
    if username is None or any(k not in params for k in required):
        return ANONYMOUS
    if params["realm"] != realm() or params["qop"] != "auth":
        return ANONYMOUS
    if params.get("algorithm", "MD5").upper() != "MD5":
        return ANONYMOUS
    if params.get("userhash", "false").lower() == "true":
        return ANONYMOUS
    if "opaque" in params and not hmac.compare_digest(params["opaque"], opaque()):
        return ANONYMOUS
    if not _NC.fullmatch(params["nc"]) or not _uri_matches(params["uri"], request):
        return ANONYMOUS
    freshness = nonce_check(params["nonce"])
    if freshness == "invalid":
        return ANONYMOUS
    user = _user_named(username)
    if user is None or not user.is_active or not user.digest_ha1:
        return ANONYMOUS
    ha2 = _md5(_b(f"{request.method}:{params['uri']}"))
    expected = _md5(
        _b(
            f"{user.digest_ha1}:{params['nonce']}:{params['nc']}:"
            f"{params['cnonce']}:auth:{ha2}"
        )
    )
    if not hmac.compare_digest(expected, params["response"].lower()):
        return ANONYMOUS
    if freshness == "stale":
        return AuthOutcome(user=None, stale=True)
    return AuthOutcome(user=user, scheme="digest")


def _basic(request: HttpRequest, token: str) -> AuthOutcome:
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return ANONYMOUS
    try:
        pair = decoded.decode("utf-8")
    except UnicodeDecodeError:
        pair = decoded.decode("latin-1")
    username, sep, password = pair.partition(":")
    if not sep:
        return ANONYMOUS
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User):
        return ANONYMOUS
    return AuthOutcome(user=user, scheme="basic")


def authenticate_request(request: HttpRequest) -> AuthOutcome:
    """Check the request's Digest or Basic credentials."""
    text = _header_text(request)
    if text is None:
        return ANONYMOUS
    scheme, _, rest = text.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "digest":
        return _digest(request, rest)
    if scheme == "basic":
        return _basic(request, rest)
    return ANONYMOUS
