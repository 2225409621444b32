"""The wire format of ODK Collect, written from the specifications, not from our code.

- Digest credentials computed step by step as RFC 7616 §3.4.1 says (MD5, qop=auth);
- multipart bodies laid out as ODK Collect lays them (``xml_submission_file`` named
  ``submission.xml`` with type text/xml, then one part per attachment named after its
  file);
- :class:`OdkClient`, a Django test client that answers a 401 as ODK Collect's HTTP
  stack does: it reads the Digest challenge, keeps the nonce and counts ``nc`` up on
  each request, and asks afresh when told ``stale=true``.

The instance documents themselves come from ``surveys.tests.factories``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import Any

from django.test import Client

# A 16x16 baseline JFIF picture (543 bytes; CPython's imghdr test data).
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkI"
    "CQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQ"
    "EBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBD/wAARCAAQABADASIA"
    "AhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQIDBAYF"
    "BwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAEC"
    "EQMEBQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUg"
    "slSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4tILoS4kqcWke"
    "zS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKh"
    "QMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhS"
    "mCg3BYlyeWDkMolvw4KOp1KM6iCNvngZHwetf//Z"
)

_PARAM = re.compile(r'([A-Za-z-]+)=(?:"([^"]*)"|([^,\s]*))')


def challenges(response: Any) -> dict[str, dict[str, str]]:
    """Every ``WWW-Authenticate`` header of a response, by scheme (lower case)."""
    found: dict[str, dict[str, str]] = {}
    for name, value in response.items():
        if name.lower() != "www-authenticate":
            continue
        scheme, _, rest = value.partition(" ")
        found[scheme.lower()] = {
            k.lower(): (q if q else b) for k, q, b in _PARAM.findall(rest)
        }
    return found


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def digest_authorization(
    challenge: dict[str, str],
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """RFC 7616 §3.4.1 with algorithm MD5 and qop=auth."""
    cnonce = cnonce or secrets.token_hex(8)
    realm, nonce = challenge["realm"], challenge["nonce"]
    ha1 = md5_hex(f"{username}:{realm}:{password}")
    ha2 = md5_hex(f"{method}:{uri}")
    count = f"{nc:08x}"
    response = md5_hex(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
    header = (
        f'Digest username="{username}", realm="{realm}", nonce="{nonce}", '
        f'uri="{uri}", algorithm=MD5, response="{response}", qop=auth, '
        f'nc={count}, cnonce="{cnonce}"'
    )
    if "opaque" in challenge:
        header += f', opaque="{challenge["opaque"]}"'
    return header


def basic_authorization(username: str, password: str) -> str:
    pair = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def multipart(
    xml: bytes,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    *,
    fields: Sequence[tuple[str, str]] = (),
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """(body, content type) of a submission as ODK Collect posts it."""
    boundary = boundary or secrets.token_hex(16)
    parts = [
        (
            'name="xml_submission_file"; filename="submission.xml"',
            "text/xml",
            xml,
        ),
        *(
            (f'name="{name}"; filename="{name}"', content_type, data)
            for name, content_type, data in attachments
        ),
    ]
    chunks: list[bytes] = []
    for disposition, content_type, data in parts:
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n"
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    for name, value in fields:
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


class OdkClient:
    """Speaks to the OpenRosa endpoints the way ODK Collect does (Digest auth)."""

    def __init__(self, username: str, password: str) -> None:
        self.client = Client(headers={"X-OpenRosa-Version": "1.0"})
        self.username = username
        self.password = password
        self.challenge: dict[str, str] | None = None
        self.nc = 0
        self.unauthorized = 0  # 401s answered on the way

    def request(
        self, method: str, path: str, *, body: bytes = b"", content_type: str = ""
    ) -> Any:
        for _ in range(3):
            headers = {}
            if self.challenge is not None:
                self.nc += 1
                headers["Authorization"] = digest_authorization(
                    self.challenge,
                    username=self.username,
                    password=self.password,
                    method=method,
                    uri=path,
                    nc=self.nc,
                )
            response = self.client.generic(
                method,
                path,
                data=body,
                content_type=content_type or "application/octet-stream",
                headers=headers,
            )
            if response.status_code != 401:
                return response
            self.unauthorized += 1
            offered = challenges(response).get("digest")
            if offered is None or (
                self.challenge is not None and offered.get("stale") != "true"
            ):
                return response
            self.challenge, self.nc = offered, 0
        return response

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def head(self, path: str) -> Any:
        return self.request("HEAD", path)

    def submit(
        self,
        xml: bytes,
        attachments: Sequence[tuple[str, str, bytes]] = (),
        *,
        fields: Sequence[tuple[str, str]] = (),
    ) -> Any:
        body, content_type = multipart(xml, attachments, fields=fields)
        return self.request(
            "POST", "/openrosa/submission", body=body, content_type=content_type
        )
