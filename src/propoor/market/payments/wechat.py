"""Our side of WeChat Pay (API v3, Native: the buyer scans a QR code), through
wechatpayv3.

- ``start``: ``pay()`` → ``code_url`` (``weixin://wxpay/bizpayurl?pr=…``), the QR text.
- ``parse_notification``: the SDK's ``callback(headers, body)`` checks the
  ``Wechatpay-Signature`` over ``timestamp\\nnonce\\nbody\\n`` with the platform public
  key and decrypts the AES-256-GCM ``resource`` with the APIv3 key.
- ``query`` / ``refund``: ``query(out_trade_no=, mchid=)`` and ``refund(...)``; the SDK
  verifies the signature of each 2xx response.
- ``reply``: 204 tells WeChat it is done; 4xx/5xx with ``{"code": "FAIL", …}`` makes it
  retry (and shows in the merchant console).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from django.utils import timezone
from django.utils.translation import gettext as _
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.core import Core
from wechatpayv3.type import RequestType
from wechatpayv3.utils import build_authorization

from propoor.market.payments import transport
from propoor.market.payments.keys import WechatConfig, wechat_config
from propoor.market.payments.types import (
    CLOSED,
    OTHER,
    PAID,
    REFUND,
    WAITING,
    BadSignature,
    Event,
    GatewayUnavailable,
    Malformed,
    TradeState,
    fen,
)

OK_OUTCOMES = frozenset(
    {
        "applied",
        "duplicate",
        "waiting",
        "closed",
        "closed_ignored",
        "refund_notice",
        "ignored",
    }
)
FAIL_STATUS = {"bad_signature": 401, "stale": 401, "error": 500}
HEADERS_SIGNED = (
    "Wechatpay-Signature",
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)


class _Core(Core):
    """wechatpayv3's Core with its HTTP exchange routed through our transport.

    ``Core.request`` calls the module-level ``requests.get/post`` with no hook; for a
    URL on our own site (the local sandbox) this sends the very same exchange —
    the SDK's ``Authorization`` header over the same JSON body — in-process, and
    checks the answer with the SDK's own ``_verify_signature``. Any other URL goes
    to the SDK's request unchanged.
    """

    def request(  # type: ignore[no-untyped-def]
        self,
        path,
        method=RequestType.GET,
        data=None,
        skip_verify=False,
        sign_data=None,
        files=None,
        cipher_data=False,
        headers=None,
    ):
        url = self._gate_way + path
        if files or cipher_data or not transport.is_local(url):
            return super().request(
                path,
                method=method,
                data=data,
                skip_verify=skip_verify,
                sign_data=sign_data,
                files=files,
                cipher_data=cipher_data,
                headers=headers,
            )
        body = json.dumps(data) if data else ""  # what requests' json= would send
        sent = {
            **(headers or {}),
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": build_authorization(
                path,
                method.value,
                self._mchid,
                self._cert_serial_no,
                self._private_key,
                data=sign_data or data,
            ),
        }
        if self._public_key_id:
            sent["Wechatpay-Serial"] = self._public_key_id
        reply = transport.send(method.value, url, headers=sent, body=body.encode())
        verify = 200 <= reply.status < 300 and not skip_verify
        if verify and not self._verify_signature(reply.headers, reply.text):
            raise Exception("failed to verify the signature")  # as the SDK does
        is_json = "application/json" in reply.headers.get("Content-Type", "")
        return reply.status, reply.text if is_json else reply.body


@lru_cache(maxsize=4)
def _client(config: WechatConfig) -> WeChatPay:
    options = {
        "mchid": config.mchid,
        "private_key": config.private_key,
        "cert_serial_no": config.cert_serial_no,
        "apiv3_key": config.apiv3_key,
        "public_key": config.public_key,
        "public_key_id": config.public_key_id,
    }
    client = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE, appid=config.appid, **options
    )
    # wechatpayv3 has no public setting for the API base URL (Core's private
    # ``_gate_way``) nor for its HTTP calls: give the client our Core subclass, built
    # with the same options, pointed at PROPOOR_WECHAT_GATEWAY.
    core = _Core(**options)
    core._gate_way = config.gateway.rstrip("/")
    client._core = core
    return client


def client() -> WeChatPay:
    return _client(wechat_config())


def _rfc3339(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def start(
    *,
    out_trade_no: str,
    amount: Decimal,
    subject: str,
    return_url: str,
    notify_url: str,
    expires_at: datetime,
) -> str:
    """The ``code_url`` the buyer scans with WeChat."""
    del return_url  # Native payments have none: the buyer stays on our page
    try:
        code, message = client().pay(
            description=subject[:127],
            out_trade_no=out_trade_no,
            amount={"total": fen(amount), "currency": "CNY"},
            notify_url=notify_url,
            time_expire=timezone.localtime(expires_at).isoformat(timespec="seconds"),
        )
    except Exception as exc:  # the SDK raises bare Exceptions
        raise GatewayUnavailable(
            (_("WeChat Pay did not answer: %(error)s") % {"error": exc})[:300]
        ) from exc
    if code != 200:
        refused = _("WeChat Pay refused the payment: %(reason)s") % {"reason": message}
        raise GatewayUnavailable(refused[:300])
    return str(json.loads(message)["code_url"])


def parse_notification(headers: dict[str, str], body: bytes) -> Event:
    config = wechat_config()
    serial = headers.get("Wechatpay-Serial", "")
    if serial != config.public_key_id:
        # Checked first: for an unknown serial the SDK would go and download the
        # platform certificates.
        raise BadSignature(f"unknown platform key serial {serial[:40]!r}")
    try:
        data = client().callback({k: headers.get(k, "") for k in HEADERS_SIGNED}, body)
    except UnicodeDecodeError as exc:
        raise Malformed("the body is not UTF-8") from exc
    except Exception as exc:  # the SDK raises bare Exceptions (algorithm, bad JSON)
        raise BadSignature(f"cannot verify: {exc}"[:200]) from exc
    if not data:
        raise BadSignature("the signature or the encrypted resource does not verify")
    resource = data.get("resource")
    if not isinstance(resource, dict):
        raise Malformed("no resource")
    event_type = str(data.get("event_type", ""))
    amount = resource.get("amount") or {}
    try:
        sent_at = datetime.fromtimestamp(int(headers["Wechatpay-Timestamp"]), tz=UTC)
    except (KeyError, ValueError, OverflowError, OSError):
        sent_at = None
    merchant_ok = resource.get("mchid") == config.mchid
    if event_type.startswith("REFUND."):
        kind = REFUND
    elif (
        event_type == "TRANSACTION.SUCCESS" and resource.get("trade_state") == "SUCCESS"
    ):
        kind = PAID
        merchant_ok = merchant_ok and resource.get("appid") == config.appid
    else:
        kind = OTHER
    total = amount.get("total")
    return Event(
        kind=kind,
        out_trade_no=str(resource.get("out_trade_no", "")),
        merchant_ok=merchant_ok and amount.get("currency", "CNY") == "CNY",
        amount_fen=total if isinstance(total, int) else None,
        gateway_trade_no=str(resource.get("transaction_id", "")),
        paid_at=_rfc3339(resource.get("success_time", "")),
        sent_at=sent_at,
        note=f"{event_type} {resource.get('trade_state', '')}".strip(),
    )


def _call(method: str, **kwargs: object) -> tuple[int, dict[str, object]]:
    try:
        code, message = getattr(client(), method)(**kwargs)
    except Exception as exc:  # the SDK raises bare Exceptions, requests its own
        raise GatewayUnavailable(
            (_("WeChat Pay did not answer: %(error)s") % {"error": exc})[:300]
        ) from exc
    try:
        answer = json.loads(message) if message else {}
    except (TypeError, ValueError) as exc:
        raise GatewayUnavailable(
            _("WeChat Pay answered something that is not JSON.")
        ) from exc
    return code, answer


def query(out_trade_no: str) -> TradeState:
    config = wechat_config()
    code, answer = _call("query", out_trade_no=out_trade_no, mchid=config.mchid)
    if code == 404 or answer.get("code") == "ORDER_NOT_EXIST":
        return TradeState(state="missing")
    if code != 200:
        raise GatewayUnavailable(
            _("WeChat Pay refused the query: %(reason)s")
            % {"reason": answer.get("message")}
        )
    trade_state = str(answer.get("trade_state", ""))
    state = {
        "SUCCESS": PAID,
        "REFUND": PAID,  # paid, and refunded since
        "NOTPAY": WAITING,
        "USERPAYING": WAITING,
        "CLOSED": CLOSED,
        "REVOKED": CLOSED,
        "PAYERROR": CLOSED,
    }.get(trade_state, WAITING)
    amount = answer.get("amount") or {}
    total = amount.get("total") if isinstance(amount, dict) else None
    return TradeState(
        state=state,
        merchant_ok=answer.get("mchid") == config.mchid
        and answer.get("appid") == config.appid,
        amount_fen=total if isinstance(total, int) else None,
        gateway_trade_no=str(answer.get("transaction_id", "")),
        paid_at=_rfc3339(answer.get("success_time", "")),
        note=trade_state,
    )


def refund(
    *,
    out_trade_no: str,
    out_refund_no: str,
    amount: Decimal,
    total: Decimal,
    reason: str,
) -> None:
    """Give ``amount`` back; the same ``out_refund_no`` again refunds nothing more.

    WeChat may answer PROCESSING: the refund is accepted and will be paid out.
    """
    code, answer = _call(
        "refund",
        out_refund_no=out_refund_no,
        amount={"refund": fen(amount), "total": fen(total), "currency": "CNY"},
        out_trade_no=out_trade_no,
        reason=reason[:80],
    )
    if code != 200 or answer.get("status") not in ("SUCCESS", "PROCESSING"):
        raise GatewayUnavailable(
            _("WeChat Pay refused the refund: %(reason)s")
            % {"reason": answer.get("message") or answer.get("status")}
        )


def reply(outcome: str) -> tuple[int, bytes, str]:
    if outcome in OK_OUTCOMES:
        return 204, b"", "application/json"
    body = json.dumps({"code": "FAIL", "message": outcome}).encode()
    return FAIL_STATUS.get(outcome, 400), body, "application/json"
