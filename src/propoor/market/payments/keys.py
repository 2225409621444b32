"""Key material and gateway settings for Alipay and WeChat Pay.

Three RSA-2048 key pairs are made with ``cryptography`` on first use and kept as PEM
files in ``PROPOOR_PAY_KEYS_DIR`` (default ``var/keys/`` under ``settings.HOME``;
never committed):

- ``merchant``: our own key. It signs our Alipay requests (the "app private key") and
  our WeChat Pay requests (the merchant API certificate's key).
- ``alipay-sandbox``: the local sandbox Alipay's key; we verify with its public half.
- ``wechat-sandbox``: the local sandbox WeChat Pay's platform key, likewise.

The WeChat APIv3 key (32 characters, AES-256-GCM) is made the same way unless
``PROPOOR_WECHAT_APIV3_KEY`` is set. A production deployment sets the real keys in the
settings named below, and points the gateways at the real URLs; the sandbox is then
switched off.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

SANDBOX_PATH = "/market/pay/sandbox"
_lock = threading.Lock()


def site_url() -> str:
    return str(getattr(settings, "PROPOOR_SITE_URL", "http://localhost:8000")).rstrip(
        "/"
    )


def sandbox_url() -> str:
    """Where the local sandbox gateway answers (on our own site)."""
    return site_url() + SANDBOX_PATH


def keys_dir() -> Path:
    configured = getattr(settings, "PROPOOR_PAY_KEYS_DIR", None)
    if configured:
        return Path(configured)
    return Path(settings.HOME) / "var" / "keys"


@dataclass(frozen=True)
class KeyPair:
    private_pem: str  # PKCS#8
    public_pem: str  # SubjectPublicKeyInfo


def _write_new(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def key_pair(name: str) -> KeyPair:
    """The PEM pair ``name``, made on first use (safe across threads and processes)."""
    directory = keys_dir()
    private_path = directory / f"{name}-private.pem"
    public_path = directory / f"{name}-public.pem"
    if not (private_path.exists() and public_path.exists()):
        with _lock:
            directory.mkdir(parents=True, exist_ok=True)
            with open(directory / ".lock", "a") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                if not (private_path.exists() and public_path.exists()):
                    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                    _write_new(
                        private_path,
                        key.private_bytes(
                            serialization.Encoding.PEM,
                            serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption(),
                        ),
                        0o600,
                    )
                    _write_new(
                        public_path,
                        key.public_key().public_bytes(
                            serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo,
                        ),
                        0o644,
                    )
    return KeyPair(private_path.read_text(), public_path.read_text())


def _secret_file(name: str, make: int) -> str:
    """A random secret of ``make`` characters kept in the keys folder."""
    path = keys_dir() / name
    if not path.exists():
        with _lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path.parent / ".lock", "a") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                if not path.exists():
                    value = secrets.token_hex(make // 2)
                    _write_new(path, value.encode(), 0o600)
    return path.read_text().strip()


@lru_cache(maxsize=16)
def _fingerprint(public_pem: str, length: int) -> str:
    der = serialization.load_pem_public_key(public_pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest().upper()[:length]


def _setting(name: str, default: str = "") -> str:
    return str(getattr(settings, name, "") or default)


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    seller_id: str
    gateway: str
    app_private_key: str
    alipay_public_key: str

    @property
    def is_sandbox(self) -> bool:
        return self.gateway.startswith(sandbox_url() + "/")


@dataclass(frozen=True)
class WechatConfig:
    mchid: str
    appid: str
    gateway: str
    private_key: str
    cert_serial_no: str
    apiv3_key: str
    public_key: str
    public_key_id: str

    @property
    def is_sandbox(self) -> bool:
        return self.gateway.startswith(sandbox_url() + "/")


def alipay_config() -> AlipayConfig:
    return AlipayConfig(
        app_id=_setting("PROPOOR_ALIPAY_APP_ID", "2021000000000001"),
        seller_id=_setting("PROPOOR_ALIPAY_SELLER_ID", "2088000000000001"),
        gateway=_setting("PROPOOR_ALIPAY_GATEWAY", sandbox_url() + "/alipay/gateway"),
        app_private_key=_setting("PROPOOR_ALIPAY_APP_PRIVATE_KEY")
        or key_pair("merchant").private_pem,
        alipay_public_key=_setting("PROPOOR_ALIPAY_PUBLIC_KEY")
        or key_pair("alipay-sandbox").public_pem,
    )


def wechat_config() -> WechatConfig:
    merchant = key_pair("merchant")
    platform_public = (
        _setting("PROPOOR_WECHAT_PUBLIC_KEY") or key_pair("wechat-sandbox").public_pem
    )
    return WechatConfig(
        mchid=_setting("PROPOOR_WECHAT_MCHID", "1900000001"),
        appid=_setting("PROPOOR_WECHAT_APPID", "wx00000000sandbox"),
        gateway=_setting("PROPOOR_WECHAT_GATEWAY", sandbox_url() + "/wechat"),
        private_key=_setting("PROPOOR_WECHAT_PRIVATE_KEY") or merchant.private_pem,
        cert_serial_no=_setting("PROPOOR_WECHAT_CERT_SERIAL_NO")
        or _fingerprint(merchant.public_pem, 40),
        apiv3_key=_setting("PROPOOR_WECHAT_APIV3_KEY")
        or _secret_file("wechat-apiv3.key", 32),
        public_key=platform_public,
        public_key_id=_setting("PROPOOR_WECHAT_PUBLIC_KEY_ID")
        or public_key_id(platform_public),
    )


def public_key_id(public_pem: str) -> str:
    """A WeChat Pay platform public key's ID, as the merchant console shows it."""
    return "PUB_KEY_ID_" + _fingerprint(public_pem, 32)


@lru_cache(maxsize=8)
def public_of(private_pem: str) -> str:
    """The public half (SubjectPublicKeyInfo PEM) of a private key."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )


def sandbox_enabled() -> bool:
    """The sandbox answers only while one of the gateways points at it."""
    flag = getattr(settings, "PROPOOR_PAY_SANDBOX", None)
    if flag is not None:
        return bool(flag)
    here = sandbox_url() + "/"
    return any(
        _setting(name, here).startswith(here)
        for name in ("PROPOOR_ALIPAY_GATEWAY", "PROPOOR_WECHAT_GATEWAY")
    )
