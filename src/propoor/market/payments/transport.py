"""HTTP between us and a payment gateway, short-circuited when both live here.

The local sandbox gateway is served by this very site, and it calls our notify URL on
this very site. Over real HTTP that deadlocks a single-threaded server (a request
waiting for a second request the server cannot start) and needs a running server in
the tests. So a request to a URL under ``PROPOOR_SITE_URL`` is handed to Django's own
request handler in-process (through ``django.test.Client``, which runs the full
middleware and URL routing without a socket), unless ``PROPOOR_PAY_INPROCESS`` is
false. Everything else goes out with ``requests``.

The in-process call is the same HTTP exchange as over the wire — method, path, query,
headers, body in; status, headers, body out — so neither side can tell the difference,
and neither side's signing or verification code is involved here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.test import Client
from django.utils import translation
from requests.structures import CaseInsensitiveDict

from propoor.market.payments.keys import site_url


@dataclass
class Reply:
    status: int
    body: bytes
    headers: CaseInsensitiveDict[str] = field(default_factory=CaseInsensitiveDict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def is_local(url: str) -> bool:
    if not getattr(settings, "PROPOOR_PAY_INPROCESS", True):
        return False
    return url.startswith(site_url() + "/")


def send(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 15,
) -> Reply:
    headers = dict(headers or {})
    if is_local(url):
        return _in_process(method, url, headers, body)
    response = requests.request(
        method, url, headers=headers, data=body or None, timeout=timeout
    )
    return Reply(
        response.status_code, response.content, CaseInsensitiveDict(response.headers)
    )


def _in_process(method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    content_type = "application/octet-stream"
    extra: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() == "content-type":
            content_type = value
        elif name.lower() != "host":
            extra[name] = value
    client = Client(raise_request_exception=False)
    # The inner request activates its own language; give the caller's back after.
    with translation.override(translation.get_language()):
        response = client.generic(
            method.upper(),
            path,
            data=body,
            content_type=content_type,
            secure=parts.scheme == "https",
            headers=extra,
            HTTP_HOST=parts.netloc,
        )
    out: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for name, value in response.headers.items():
        out[name] = value
    content = b"".join(response) if response.streaming else response.content
    return Reply(response.status_code, content, out)
