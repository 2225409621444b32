"""Resident ID numbers at rest: encrypted, hashed for de-duplication, shown masked.

The clear number exists only while a request is being handled; it is never stored,
logged, audited or put in an error message. Checks (GB 11643 check character, birth
date, sex) come from the pure :mod:`propoor.kernel.idcard`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.core.errors import ValidationFailed
from propoor.kernel import idcard

EARLIEST_BIRTH = date(1890, 1, 1)


@dataclass(frozen=True)
class ProtectedId:
    """What the registry keeps of one ID number (and what it derives from it)."""

    cipher: str
    hash: str
    masked: str
    birth_date: date
    sex: str  # "male" | "female"

    def __repr__(self) -> str:  # never the cipher: keep reprs short and harmless
        return f"ProtectedId({self.masked})"


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def rough_mask(raw: str) -> str:
    """A mask for any input, valid or not, safe to show in an error message."""
    text = str(raw).strip()
    if len(text) == 18:
        return idcard.mask(text)
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def normalize(raw: str) -> str:
    """Validate with the kernel; a ValidationFailed never echoes the clear number."""
    text = str(raw).strip().upper()
    if not text:
        raise ValidationFailed(_("Give the ID number."), extra={"id_number": ""})
    try:
        return idcard.validate(text)
    except ValueError as exc:
        # The kernel's messages do not quote the number; make sure of it anyway.
        message = str(exc).replace(text, rough_mask(text))
        raise ValidationFailed(
            _("ID number %(id_number)s is not valid: %(reason)s")
            % {"id_number": rough_mask(text), "reason": message},
            extra={"id_number": rough_mask(text)},
        ) from None


def id_hash(number: str) -> str:
    """Keyed hash of a validated number (HMAC-SHA256), for de-duplication."""
    return hmac.new(
        settings.ID_HASH_KEY.encode(), number.encode(), hashlib.sha256
    ).hexdigest()


def mask(number: str) -> str:
    return idcard.mask(number)


def encrypt(number: str) -> str:
    return _fernet(settings.ID_ENCRYPTION_KEY).encrypt(number.encode()).decode()


def decrypt(cipher: str) -> str:
    """The clear number; only for the audited reveal service."""
    try:
        return _fernet(settings.ID_ENCRYPTION_KEY).decrypt(cipher.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("the ID cipher does not decrypt with the current key") from exc


def protect(raw: str) -> ProtectedId:
    """Validate, then encrypt, hash and mask one input ID number."""
    number = normalize(raw)
    born = idcard.birth_date(number)
    masked = idcard.mask(number)
    if not EARLIEST_BIRTH <= born <= timezone.localdate():
        raise ValidationFailed(
            _(
                "ID number %(id_number)s is not valid: its birth date %(birth_date)s "
                "is impossible."
            )
            % {"id_number": masked, "birth_date": born.isoformat()},
            extra={"id_number": masked},
        )
    return ProtectedId(
        cipher=encrypt(number),
        hash=id_hash(number),
        masked=masked,
        birth_date=born,
        sex=idcard.sex(number),
    )
