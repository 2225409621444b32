"""Our side of Alipay, through python-alipay-sdk.

- ``start``: the signed ``alipay.trade.page.pay`` request; the buyer is sent to the
  gateway with it (the SDK signs, no HTTP call).
- ``parse_notification``: an asynchronous notification (form-encoded) checked with the
  SDK's ``verify`` against Alipay's public key: RSA2 over the sorted ``k=v&…`` string of
  every field but ``sign`` and ``sign_type``.
- ``query`` / ``refund``: ``alipay.trade.query`` and ``alipay.trade.refund``; the SDK
  verifies the signature of each synchronous response.
- ``reply``: Alipay stops retrying only on the plain text ``success``.
"""

from __future__ import annotations

import binascii
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.market.payments import transport
from propoor.market.payments.keys import AlipayConfig, alipay_config
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
    fen_of,
)

CHINA = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Alipay's times are Beijing time, no zone
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


class _AliPay(AliPay):
    """python-alipay-sdk's client, adapted in one place.

    The SDK fetches synchronous responses with ``urllib.request.urlopen`` from its
    private ``_gateway``, which ``client()`` sets from ``PROPOOR_ALIPAY_GATEWAY`` (the
    SDK knows only Alipay's two hosts). Here the fetch goes through our transport so
    that the local sandbox is reached in-process; the request signing and the
    response verification are still the SDK's own.
    """

    def verified_sync_response(self, data, response_type):  # type: ignore[no-untyped-def]
        url = self._gateway + "?" + self.sign_data(data)
        reply = transport.send("GET", url)
        return self._verify_and_return_sync_response(reply.text, response_type)


@lru_cache(maxsize=4)
def _client(config: AlipayConfig) -> _AliPay:
    client = _AliPay(
        appid=config.app_id,
        app_notify_url=None,
        app_private_key_string=config.app_private_key,
        alipay_public_key_string=config.alipay_public_key,
        sign_type="RSA2",
    )
    client._gateway = config.gateway  # the SDK's only gateway setting is private
    return client


def client() -> _AliPay:
    return _client(alipay_config())


def _beijing(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=CHINA)
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
    """The URL that takes the buyer to Alipay's cashier."""
    config = alipay_config()
    signed = client().api_alipay_trade_page_pay(
        subject=subject,
        out_trade_no=out_trade_no,
        total_amount=f"{amount:.2f}",
        return_url=return_url,
        notify_url=notify_url,
        time_expire=timezone.localtime(expires_at, CHINA).strftime(TIME_FORMAT),
    )
    return f"{config.gateway}?{signed}"


def parse_notification(headers: dict[str, str], body: bytes) -> Event:
    del headers  # Alipay signs the form fields only
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed("the body is not UTF-8") from exc
    pairs = parse_qsl(text, keep_blank_values=True)
    data = dict(pairs)
    if len(data) != len(pairs):
        raise Malformed("a field appears twice")
    signature = data.pop("sign", "")
    if not signature:
        raise BadSignature("no sign field")
    try:
        verified = client().verify(dict(data), signature)
    except (AliPayException, ValueError, binascii.Error) as exc:
        raise BadSignature(f"cannot verify: {exc}") from exc
    if not verified:
        raise BadSignature("the RSA2 signature does not match")
    config = alipay_config()
    status = data.get("trade_status", "")
    if data.get("refund_fee") or data.get("gmt_refund") or data.get("out_biz_no"):
        kind = REFUND  # a refund's notice (trade_status stays SUCCESS, or CLOSED)
    elif status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
        kind = PAID
    elif status == "WAIT_BUYER_PAY":
        kind = WAITING
    elif status == "TRADE_CLOSED":
        kind = CLOSED
    else:
        kind = OTHER
    return Event(
        kind=kind,
        out_trade_no=data.get("out_trade_no", ""),
        merchant_ok=data.get("app_id") == config.app_id
        and data.get("seller_id") == config.seller_id,
        amount_fen=fen_of(data.get("total_amount", "")),
        gateway_trade_no=data.get("trade_no", ""),
        paid_at=_beijing(data.get("gmt_payment", "")),
        note=status,
    )


def _call(method: str, **kwargs: object) -> dict[str, str]:
    try:
        return getattr(client(), method)(**kwargs)  # type: ignore[no-any-return]
    except AliPayValidationError as exc:
        raise GatewayUnavailable(_("Alipay's answer did not verify.")) from exc
    except (AliPayException, OSError, ValueError) as exc:
        raise GatewayUnavailable(
            (_("Alipay did not answer: %(error)s") % {"error": exc})[:300]
        ) from exc


def query(out_trade_no: str) -> TradeState:
    answer = _call("api_alipay_trade_query", out_trade_no=out_trade_no)
    if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
        return TradeState(state="missing")
    if answer.get("code") != "10000":
        raise GatewayUnavailable(
            _("Alipay refused the query: %(reason)s")
            % {"reason": answer.get("sub_msg") or answer.get("msg")}
        )
    status = answer.get("trade_status", "")
    state = {
        "TRADE_SUCCESS": PAID,
        "TRADE_FINISHED": PAID,
        "WAIT_BUYER_PAY": WAITING,
        "TRADE_CLOSED": CLOSED,
    }.get(status, WAITING)
    return TradeState(
        state=state,
        amount_fen=fen_of(answer.get("total_amount", "")),
        gateway_trade_no=answer.get("trade_no", ""),
        paid_at=_beijing(answer.get("send_pay_date", "")),
        note=status,
    )


def refund(
    *,
    out_trade_no: str,
    out_refund_no: str,
    amount: Decimal,
    total: Decimal,
    reason: str,
) -> None:
    """Give ``amount`` back; the same ``out_refund_no`` again refunds nothing more."""
    del total
    answer = _call(
        "api_alipay_trade_refund",
        refund_amount=f"{amount:.2f}",
        out_trade_no=out_trade_no,
        out_request_no=out_refund_no,
        refund_reason=reason[:256],
    )
    if answer.get("code") != "10000":
        raise GatewayUnavailable(
            _("Alipay refused the refund: %(reason)s")
            % {"reason": answer.get("sub_msg") or answer.get("msg")}
        )


def reply(outcome: str) -> tuple[int, bytes, str]:
    body = b"success" if outcome in OK_OUTCOMES else b"fail"
    return 200, body, "text/plain; charset=utf-8"
