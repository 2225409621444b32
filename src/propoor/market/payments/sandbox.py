"""The local sandbox gateway: Alipay and WeChat Pay as seen from the other side.

It answers the requests the SDKs send (Alipay's ``gateway.do`` methods
``alipay.trade.page.pay`` / ``query`` / ``refund``; WeChat Pay's
``/v3/pay/transactions/native``, ``…/out-trade-no/{no}``,
``/v3/refund/domestic/refunds``)
in the gateways' real formats, verifies the merchant's request signatures, signs its
answers, and shows a cashier page where the buyer presses Pay or Cancel. Pressing Pay
marks the trade paid and sends the asynchronous notification to the notify URL the
merchant gave, signed with the sandbox's own private key:

- Alipay: form fields, ``sign`` = RSA2 (SHA256withRSA) over the sorted ``k=v&…`` string
  of every field except ``sign`` and ``sign_type``;
- WeChat Pay: a JSON body whose ``resource`` is encrypted with AES-256-GCM under the
  merchant's APIv3 key, and ``Wechatpay-Timestamp/-Nonce/-Signature/-Serial`` headers,
  the signature being SHA256withRSA over ``timestamp\\nnonce\\nbody\\n``.

This module is "the other side": it signs, encrypts and verifies with ``cryptography``
directly and never calls our verification code or the SDKs. What it shares with us is
only what a real gateway shares with a merchant: the merchant's IDs, its public key
and the APIv3 key (from the settings, "registered in the console").

Its trades live in a JSON file (``PROPOOR_PAY_SANDBOX_STORE``, default
``var/pay-sandbox.json``; models are fixed and a cache would not be shared between the
server and ``propoor market_reconcile``), guarded by a file lock. Notifications reach a
notify URL on this site in-process (see :mod:`propoor.market.payments.transport`).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from propoor.market.payments import keys, transport

CHINA = ZoneInfo("Asia/Shanghai")
ALIPAY_TIME = "%Y-%m-%d %H:%M:%S"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
CLOCK_SKEW = timedelta(minutes=5)
Trade = dict[str, Any]
_lock = threading.Lock()


# -------------------------------------------------------------------------------- store


def store_path() -> Path:
    configured = getattr(settings, "PROPOOR_PAY_SANDBOX_STORE", None)
    if configured:
        return Path(configured)
    return Path(settings.HOME) / "var" / "pay-sandbox.json"


@contextmanager
def _store() -> Iterator[dict[str, dict[str, Trade]]]:
    """The whole store, locked (threads and processes); written back if changed."""
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, open(path.with_name(path.name + ".lock"), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        data = json.loads(path.read_text("utf-8")) if path.exists() else {}
        data.setdefault("alipay", {})
        data.setdefault("wechat", {})
        before = json.dumps(data, sort_keys=True, ensure_ascii=False)
        yield data
        after = json.dumps(data, sort_keys=True, ensure_ascii=False)
        if after != before:
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
            tmp.write_text(after, "utf-8")
            os.replace(tmp, path)


def trade(gateway: str, out_trade_no: str) -> Trade | None:
    with _store() as data:
        found = data.get(gateway, {}).get(out_trade_no)
        return json.loads(json.dumps(found)) if found else None


# ------------------------------------------------------------------------------- crypto


@lru_cache(maxsize=8)
def _private_key(pem: str) -> Any:
    # Loading checks the RSA key, which takes a noticeable fraction of a second.
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _rsa_sign(private_pem: str, message: str) -> str:
    key = _private_key(private_pem)
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def _rsa_verify(public_pem: str, message: str, signature: str) -> bool:
    try:
        key = serialization.load_pem_public_key(public_pem.encode())
        key.verify(  # type: ignore[union-attr, call-arg]
            base64.b64decode(signature),
            message.encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _merchant_public_key(private_pem: str) -> str:
    return keys.public_of(private_pem)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer of the sandbox: the views turn it into a response."""

    status: int = 200
    body: str = ""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    redirect: str = ""


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _beijing(moment: datetime) -> str:
    return timezone.localtime(moment, CHINA).strftime(ALIPAY_TIME)


def _rfc3339(moment: datetime) -> str:
    return timezone.localtime(moment, CHINA).isoformat(timespec="seconds")


def _day(moment: datetime) -> str:
    return f"{timezone.localtime(moment, CHINA):%Y%m%d}"


def _digits(n: int) -> str:
    return f"{secrets.randbelow(10**n):0{n}d}"


# ------------------------------------------------------------------------------- Alipay


def _alipay_private() -> str:
    return keys.key_pair("alipay-sandbox").private_pem


def _alipay_answer(method: str, body: dict[str, Any]) -> Answer:
    """A synchronous answer: ``{"<method>_response": {...}, "sign": "..."}``, the sign
    covering the exact text of the inner object."""
    inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    sign = _rsa_sign(_alipay_private(), inner)
    key = method.replace(".", "_") + "_response"
    text = f'{{"{key}":{inner},"sign":"{sign}"}}'
    return Answer(body=text, content_type="text/html;charset=utf-8")


def _alipay_error(
    method: str, code: str, msg: str, sub_code: str, sub_msg: str
) -> Answer:
    return _alipay_answer(
        method, {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}
    )


def alipay_gateway(params: dict[str, str], *, now: datetime | None = None) -> Answer:
    """``gateway.do``: check the merchant's signed request, then do ``method``."""
    now = _now(now)
    method = params.get("method", "")
    merchant = keys.alipay_config()
    if params.get("app_id") != merchant.app_id:
        return _alipay_error(
            method,
            "40002",
            "Invalid Arguments",
            "isv.invalid-app-id",
            "无效的AppID参数",
        )
    unsigned = "&".join(
        f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != ""
    )
    if params.get("sign_type") != "RSA2" or not _rsa_verify(
        _merchant_public_key(merchant.app_private_key), unsigned, params.get("sign", "")
    ):
        return _alipay_error(
            method, "40002", "Invalid Arguments", "isv.invalid-signature", "验签出错"
        )
    try:
        biz = json.loads(params.get("biz_content") or "{}")
    except ValueError:
        biz = None
    if not isinstance(biz, dict):
        return _alipay_error(
            method, "40002", "Invalid Arguments", "isv.invalid-parameter", "参数无效"
        )
    if method in ("alipay.trade.page.pay", "alipay.trade.wap.pay"):
        return _alipay_page_pay(params, biz, merchant.seller_id, now)
    if method == "alipay.trade.query":
        return _alipay_query(method, biz)
    if method == "alipay.trade.refund":
        return _alipay_refund(method, biz, now)
    return _alipay_error(
        method, "40004", "Business Failed", "isv.invalid-method", "不存在的方法名"
    )


def _alipay_page_pay(
    params: dict[str, str], biz: dict[str, Any], seller_id: str, now: datetime
) -> Answer:
    out_trade_no = str(biz.get("out_trade_no", ""))
    try:
        amount = Decimal(str(biz.get("total_amount", ""))).quantize(Decimal("0.01"))
    except ArithmeticError:
        amount = Decimal(0)
    if not out_trade_no or amount <= 0:
        return Answer(
            status=400, body="ACQ.INVALID_PARAMETER 参数无效", content_type="text/plain"
        )
    with _store() as data:
        existing = data["alipay"].get(out_trade_no)
        if existing is not None and existing["total_amount"] != f"{amount:.2f}":
            return Answer(
                status=400,
                body="ACQ.CONTEXT_INCONSISTENT 交易信息被篡改",
                content_type="text/plain",
            )
        if existing is None:
            data["alipay"][out_trade_no] = {
                "gateway": "alipay",
                "out_trade_no": out_trade_no,
                "trade_no": f"{timezone.localtime(now, CHINA):%Y%m%d}2200{_digits(16)}",
                "app_id": params["app_id"],
                "seller_id": seller_id,
                "subject": str(biz.get("subject", ""))[:256],
                "total_amount": f"{amount:.2f}",
                "status": "WAIT_BUYER_PAY",
                "notify_url": params.get("notify_url", ""),
                "return_url": params.get("return_url", ""),
                "created_at": now.isoformat(),
                "paid_at": "",
                "closed_at": "",
                "buyer_id": "2088" + _digits(12),
                "buyer_logon_id": "138****" + _digits(4),
                "refunds": {},
                "deliveries": [],
            }
    return Answer(redirect=cashier_url("alipay", out_trade_no))


def _alipay_query(method: str, biz: dict[str, Any]) -> Answer:
    found = trade("alipay", str(biz.get("out_trade_no", "")))
    if found is None:
        return _alipay_error(
            method, "40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在"
        )
    body = {
        "code": "10000",
        "msg": "Success",
        "buyer_logon_id": found["buyer_logon_id"],
        "buyer_pay_amount": found["total_amount"] if found["paid_at"] else "0.00",
        "buyer_user_id": found["buyer_id"],
        "invoice_amount": found["total_amount"] if found["paid_at"] else "0.00",
        "out_trade_no": found["out_trade_no"],
        "point_amount": "0.00",
        "receipt_amount": found["total_amount"] if found["paid_at"] else "0.00",
        "total_amount": found["total_amount"],
        "trade_no": found["trade_no"],
        "trade_status": found["status"],
    }
    if found["paid_at"]:
        body["send_pay_date"] = _beijing(datetime.fromisoformat(found["paid_at"]))
    return _alipay_answer(method, body)


def _alipay_refund(method: str, biz: dict[str, Any], now: datetime) -> Answer:
    out_trade_no = str(biz.get("out_trade_no", ""))
    request_no = str(biz.get("out_request_no") or out_trade_no)
    try:
        amount = Decimal(str(biz.get("refund_amount", ""))).quantize(Decimal("0.01"))
    except ArithmeticError:
        amount = Decimal(0)
    with _store() as data:
        found = data["alipay"].get(out_trade_no)
        if found is None:
            return _alipay_error(
                method, "40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在"
            )
        if not found["paid_at"]:
            return _alipay_error(
                method,
                "40004",
                "Business Failed",
                "ACQ.TRADE_STATUS_ERROR",
                "交易状态不合法",
            )
        refunds = found["refunds"]
        change = "N"
        if request_no not in refunds:
            refunded = sum((Decimal(v) for v in refunds.values()), Decimal(0))
            if amount <= 0 or refunded + amount > Decimal(found["total_amount"]):
                return _alipay_error(
                    method,
                    "40004",
                    "Business Failed",
                    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                    "退款金额超限",
                )
            refunds[request_no] = f"{amount:.2f}"
            change = "Y"
            if refunded + amount == Decimal(found["total_amount"]):
                found["status"] = "TRADE_CLOSED"
                found["closed_at"] = now.isoformat()
        total_refunded = sum((Decimal(v) for v in refunds.values()), Decimal(0))
        body = {
            "code": "10000",
            "msg": "Success",
            "buyer_logon_id": found["buyer_logon_id"],
            "buyer_user_id": found["buyer_id"],
            "fund_change": change,
            "gmt_refund_pay": _beijing(now),
            "out_trade_no": out_trade_no,
            "refund_fee": f"{total_refunded:.2f}",
            "send_back_fee": refunds[request_no],
            "trade_no": found["trade_no"],
        }
    return _alipay_answer(method, body)


def alipay_notification(
    found: Trade, *, now: datetime | None = None, **overrides: str
) -> tuple[dict[str, str], bytes]:
    """The asynchronous notification for the trade's current status, signed.

    ``overrides`` replace fields before signing (tests: another app_id, amount…).
    """
    now = _now(now)
    status = found["status"]
    fields: dict[str, str] = {
        "app_id": found["app_id"],
        "auth_app_id": found["app_id"],
        "buyer_id": found["buyer_id"],
        "buyer_logon_id": found["buyer_logon_id"],
        "charset": "utf-8",
        "gmt_create": _beijing(datetime.fromisoformat(found["created_at"])),
        "notify_id": hashlib.sha256(
            f"{found['trade_no']}:{status}".encode()
        ).hexdigest()[:34],
        "notify_time": _beijing(now),
        "notify_type": "trade_status_sync",
        "out_trade_no": found["out_trade_no"],
        "seller_id": found["seller_id"],
        "subject": found["subject"],
        "total_amount": found["total_amount"],
        "trade_no": found["trade_no"],
        "trade_status": status,
        "version": "1.0",
    }
    if found["paid_at"]:
        paid = found["total_amount"]
        fields.update(
            gmt_payment=_beijing(datetime.fromisoformat(found["paid_at"])),
            buyer_pay_amount=paid,
            invoice_amount=paid,
            receipt_amount=paid,
            point_amount="0.00",
            fund_bill_list=json.dumps(
                [{"amount": paid, "fundChannel": "ALIPAYACCOUNT"}],
                separators=(",", ":"),
            ),
        )
    if found["closed_at"]:
        fields["gmt_close"] = _beijing(datetime.fromisoformat(found["closed_at"]))
    fields.update(overrides)
    unsigned = "&".join(f"{k}={v}" for k, v in sorted(fields.items()))
    fields["sign"] = _rsa_sign(_alipay_private(), unsigned)
    fields["sign_type"] = "RSA2"
    return (
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        urlencode(fields).encode(),
    )


def alipay_return_url(found: Trade, *, now: datetime | None = None) -> str:
    """Where the buyer's browser goes after paying: the return URL, signed fields."""
    if not found["return_url"]:
        return ""
    fields = {
        "app_id": found["app_id"],
        "auth_app_id": found["app_id"],
        "charset": "utf-8",
        "method": "alipay.trade.page.pay.return",
        "out_trade_no": found["out_trade_no"],
        "seller_id": found["seller_id"],
        "timestamp": _beijing(_now(now)),
        "total_amount": found["total_amount"],
        "trade_no": found["trade_no"],
        "version": "1.0",
    }
    unsigned = "&".join(f"{k}={v}" for k, v in sorted(fields.items()))
    fields["sign"] = _rsa_sign(_alipay_private(), unsigned)
    fields["sign_type"] = "RSA2"
    glue = "&" if "?" in found["return_url"] else "?"
    return found["return_url"] + glue + urlencode(fields)


# --------------------------------------------------------------------------- WeChat Pay


def _wechat_private() -> str:
    return keys.key_pair("wechat-sandbox").private_pem


def _wechat_key_id() -> str:
    return keys.public_key_id(keys.key_pair("wechat-sandbox").public_pem)


def _wechat_signed(status: int, body: str, now: datetime) -> Answer:
    """A JSON answer with the platform's signature headers."""
    timestamp = str(int(now.timestamp()))
    nonce = secrets.token_hex(16).upper()
    headers = {
        "Request-ID": secrets.token_hex(16),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": _wechat_key_id(),
        "Wechatpay-Signature": _rsa_sign(
            _wechat_private(), f"{timestamp}\n{nonce}\n{body}\n"
        ),
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        "Wechatpay-Timestamp": timestamp,
    }
    return Answer(status=status, body=body, headers=headers)


def _wechat_error(status: int, code: str, message: str) -> Answer:
    return Answer(
        status=status,
        body=json.dumps({"code": code, "message": message}, ensure_ascii=False),
    )


def _wechat_authorised(
    method: str, path: str, headers: dict[str, str], body: str, now: datetime
) -> str:
    """'' if the merchant's ``Authorization`` verifies, else why not."""
    merchant = keys.wechat_config()
    scheme, _, rest = headers.get("Authorization", "").partition(" ")
    if scheme != SIGNATURE_TYPE:
        return "unknown authorization scheme"
    parts = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    if parts.get("mchid") != merchant.mchid:
        return "unknown mchid"
    if parts.get("serial_no") != merchant.cert_serial_no:
        return "unknown merchant certificate serial"
    try:
        signed_at = datetime.fromtimestamp(int(parts.get("timestamp", "")), tz=CHINA)
    except (ValueError, OverflowError, OSError):
        return "bad timestamp"
    if abs(now - signed_at) > CLOCK_SKEW:
        return "timestamp too far from now"
    nonce = parts.get("nonce_str", "")
    message = f"{method}\n{path}\n{parts['timestamp']}\n{nonce}\n{body}\n"
    if not _rsa_verify(
        _merchant_public_key(merchant.private_key), message, parts.get("signature", "")
    ):
        return "signature does not verify"
    return ""


def wechat_api(
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
) -> Answer:
    """One API v3 call; ``path`` is the canonical URL (``/v3/…`` with its query)."""
    now = _now(now)
    text = body.decode("utf-8", errors="replace")
    why = _wechat_authorised(method, path, headers, text, now)
    if why:
        return _wechat_error(401, "SIGN_ERROR", f"签名错误 ({why})")
    route, _, query = path.partition("?")
    if method == "POST" and route == "/v3/pay/transactions/native":
        return _wechat_native(text, now)
    match = re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)", route)
    if method == "GET" and match:
        return _wechat_query(match.group(1), now)
    if method == "POST" and route == "/v3/refund/domestic/refunds":
        return _wechat_refund(text, now)
    del query
    return _wechat_error(404, "NOT_FOUND", "请求的资源不存在")


def _wechat_native(text: str, now: datetime) -> Answer:
    merchant = keys.wechat_config()
    try:
        request = json.loads(text)
        total = int(request["amount"]["total"])
        out_trade_no = str(request["out_trade_no"])
    except (ValueError, KeyError, TypeError):
        return _wechat_error(400, "PARAM_ERROR", "参数错误")
    if request.get("mchid") != merchant.mchid or request.get("appid") != merchant.appid:
        return _wechat_error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
    if total <= 0 or not 6 <= len(out_trade_no) <= 32:
        return _wechat_error(400, "PARAM_ERROR", "参数错误")
    with _store() as data:
        found = data["wechat"].get(out_trade_no)
        if found is not None and found["total"] != total:
            return _wechat_error(400, "INVALID_REQUEST", "201 商户订单号重复")
        if found is not None and found["trade_state"] == "CLOSED":
            return _wechat_error(400, "ORDER_CLOSED", "订单已关闭")
        if found is None:
            found = data["wechat"][out_trade_no] = {
                "gateway": "wechat",
                "out_trade_no": out_trade_no,
                "transaction_id": f"4200{_digits(6)}{_day(now)}" + _digits(10),
                "appid": request["appid"],
                "mchid": request["mchid"],
                "description": str(request.get("description", ""))[:127],
                "total": total,
                "trade_state": "NOTPAY",
                "notify_url": str(request.get("notify_url", "")),
                "code": secrets.token_urlsafe(12),
                "created_at": now.isoformat(),
                "paid_at": "",
                "openid": "oSBX" + secrets.token_urlsafe(20),
                "refunds": {},
                "deliveries": [],
            }
        code_url = f"weixin://wxpay/bizpayurl?pr={found['code']}"
    return _wechat_signed(200, json.dumps({"code_url": code_url}), now)


def _wechat_transaction(found: Trade) -> dict[str, Any]:
    out: dict[str, Any] = {
        "amount": {
            "currency": "CNY",
            "payer_currency": "CNY",
            "total": found["total"],
            "payer_total": found["total"] if found["paid_at"] else 0,
        },
        "appid": found["appid"],
        "mchid": found["mchid"],
        "out_trade_no": found["out_trade_no"],
        "trade_state": found["trade_state"],
        "trade_state_desc": {
            "SUCCESS": "支付成功",
            "NOTPAY": "未支付",
            "CLOSED": "已关闭",
            "REFUND": "转入退款",
        }.get(found["trade_state"], ""),
        "trade_type": "NATIVE",
    }
    if found["paid_at"]:
        out.update(
            transaction_id=found["transaction_id"],
            bank_type="OTHERS",
            payer={"openid": found["openid"]},
            success_time=_rfc3339(datetime.fromisoformat(found["paid_at"])),
        )
    return out


def _wechat_query(out_trade_no: str, now: datetime) -> Answer:
    found = trade("wechat", out_trade_no)
    if found is None:
        return _wechat_error(404, "ORDER_NOT_EXIST", "订单不存在")
    return _wechat_signed(
        200, json.dumps(_wechat_transaction(found), ensure_ascii=False), now
    )


def _wechat_refund(text: str, now: datetime) -> Answer:
    try:
        request = json.loads(text)
        out_trade_no = str(request["out_trade_no"])
        out_refund_no = str(request["out_refund_no"])
        refund = int(request["amount"]["refund"])
        total = int(request["amount"]["total"])
    except (ValueError, KeyError, TypeError):
        return _wechat_error(400, "PARAM_ERROR", "参数错误")
    with _store() as data:
        found = data["wechat"].get(out_trade_no)
        if found is None:
            return _wechat_error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if not found["paid_at"]:
            return _wechat_error(403, "TRADE_ERROR", "订单未支付")
        if total != found["total"]:
            return _wechat_error(400, "PARAM_ERROR", "订单金额与原订单不符")
        refunds = found["refunds"]
        if out_refund_no not in refunds:
            refunded = sum(r["amount"] for r in refunds.values())
            if refund <= 0 or refunded + refund > found["total"]:
                return _wechat_error(403, "NOT_ENOUGH", "退款金额超限")
            refunds[out_refund_no] = {
                "refund_id": f"5030{_digits(6)}{timezone.localtime(now, CHINA):%Y%m%d}"
                + _digits(10),
                "amount": refund,
                "at": now.isoformat(),
            }
            found["trade_state"] = "REFUND"
        entry = refunds[out_refund_no]
        answer = {
            "amount": {
                "currency": "CNY",
                "discount_refund": 0,
                "payer_refund": entry["amount"],
                "payer_total": found["total"],
                "refund": entry["amount"],
                "settlement_refund": entry["amount"],
                "settlement_total": found["total"],
                "total": found["total"],
            },
            "channel": "ORIGINAL",
            "create_time": _rfc3339(datetime.fromisoformat(entry["at"])),
            "funds_account": "AVAILABLE",
            "out_refund_no": out_refund_no,
            "out_trade_no": out_trade_no,
            "refund_id": entry["refund_id"],
            "status": "SUCCESS",
            "success_time": _rfc3339(datetime.fromisoformat(entry["at"])),
            "transaction_id": found["transaction_id"],
            "user_received_account": "支付用户零钱",
        }
    return _wechat_signed(200, json.dumps(answer, ensure_ascii=False), now)


def wechat_notification(
    found: Trade,
    *,
    event_type: str = "TRANSACTION.SUCCESS",
    now: datetime | None = None,
    resource: dict[str, Any] | None = None,
) -> tuple[dict[str, str], bytes]:
    """A notification: encrypted resource, signature headers.

    ``resource`` replaces the plaintext's fields before encryption (tests).
    """
    now = _now(now)
    if event_type.startswith("REFUND."):
        original, summary = "refund", "退款成功"
        plain: dict[str, Any] = {
            "mchid": found["mchid"],
            "out_trade_no": found["out_trade_no"],
            "transaction_id": found["transaction_id"],
            "out_refund_no": "R" + _digits(10),
            "refund_id": "5030" + _digits(24),
            "refund_status": event_type.split(".", 1)[1],
            "success_time": _rfc3339(now),
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": found["total"],
                "refund": found["total"],
                "payer_total": found["total"],
                "payer_refund": found["total"],
            },
        }
    else:
        original, summary = "transaction", "支付成功"
        plain = _wechat_transaction(found)
    plain.update(resource or {})
    nonce = secrets.token_urlsafe(9)[:12]
    apiv3_key = keys.wechat_config().apiv3_key.encode()
    ciphertext = AESGCM(apiv3_key).encrypt(
        nonce.encode(),
        json.dumps(plain, ensure_ascii=False).encode(),
        original.encode(),
    )
    body = json.dumps(
        {
            "id": "EV-" + secrets.token_hex(12),
            "create_time": _rfc3339(now),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": original,
                "nonce": nonce,
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    signed = _wechat_signed(200, body, now)
    headers = {k: v for k, v in signed.headers.items() if k.startswith("Wechatpay-")}
    headers["Content-Type"] = "application/json"
    return headers, body.encode()


# ------------------------------------------------------------------------------ cashier


def cashier_url(gateway: str, out_trade_no: str) -> str:
    return keys.site_url() + reverse(
        "market:sandbox_cashier",
        kwargs={"gateway": gateway, "out_trade_no": out_trade_no},
    )


def trade_by_code(code: str) -> Trade | None:
    """A WeChat trade by the ``pr`` of its code URL (what the buyer's phone scans)."""
    with _store() as data:
        for found in data["wechat"].values():
            if found["code"] == code:
                return json.loads(json.dumps(found))
    return None


def is_paid(found: Trade) -> bool:
    return bool(found["paid_at"])


def is_open(found: Trade) -> bool:
    state = found.get("status") or found.get("trade_state")
    return state in ("WAIT_BUYER_PAY", "NOTPAY")


def amount_of(found: Trade) -> Decimal:
    if found["gateway"] == "alipay":
        return Decimal(found["total_amount"])
    return Decimal(found["total"]) / 100


def _set(gateway: str, out_trade_no: str, **changes: str) -> Trade:
    with _store() as data:
        found = data[gateway][out_trade_no]
        found.update(changes)
        return json.loads(json.dumps(found))


def cashier_pay(
    gateway: str,
    out_trade_no: str,
    *,
    now: datetime | None = None,
    deliver: bool = True,
) -> Trade:
    """The buyer paid: mark the trade paid and (unless told not to) notify."""
    now = _now(now)
    found = trade(gateway, out_trade_no)
    if found is None:
        raise KeyError(out_trade_no)
    if is_open(found):
        state = (
            {"status": "TRADE_SUCCESS"}
            if gateway == "alipay"
            else {"trade_state": "SUCCESS"}
        )
        found = _set(gateway, out_trade_no, paid_at=now.isoformat(), **state)
    if deliver and is_paid(found):
        notify(found, now=now)
    return found


def cashier_cancel(
    gateway: str, out_trade_no: str, *, now: datetime | None = None
) -> Trade:
    """The buyer gave up: the trade closes (Alipay notifies TRADE_CLOSED; WeChat
    Pay sends nothing for a closed trade)."""
    now = _now(now)
    found = trade(gateway, out_trade_no)
    if found is None:
        raise KeyError(out_trade_no)
    if not is_open(found):
        return found
    if gateway == "alipay":
        found = _set(
            gateway, out_trade_no, status="TRADE_CLOSED", closed_at=now.isoformat()
        )
        notify(found, now=now)
    else:
        found = _set(gateway, out_trade_no, trade_state="CLOSED")
    return found


def notify(found: Trade, *, now: datetime | None = None) -> transport.Reply:
    """Send the trade's notification to its notify URL and log the answer."""
    if found["gateway"] == "alipay":
        headers, body = alipay_notification(found, now=now)
    else:
        headers, body = wechat_notification(found, now=now)
    return deliver(found, headers, body, now=now)


def deliver(
    found: Trade, headers: dict[str, str], body: bytes, *, now: datetime | None = None
) -> transport.Reply:
    if not found["notify_url"]:
        return transport.Reply(0, b"no notify_url")
    try:
        reply = transport.send("POST", found["notify_url"], headers=headers, body=body)
    except OSError as exc:
        reply = transport.Reply(0, str(exc).encode())
    if found["gateway"] == "alipay":
        accepted = reply.status == 200 and reply.body.strip() == b"success"
    else:
        accepted = 200 <= reply.status < 300
    with _store() as data:
        stored = data[found["gateway"]].get(found["out_trade_no"])
        if stored is not None:
            stored["deliveries"] = [
                *stored["deliveries"][-19:],
                {
                    "at": _now(now).isoformat(),
                    "status": reply.status,
                    "reply": reply.text[:120],
                    "accepted": accepted,
                },
            ]
    return reply
