"""Payments against the local sandbox gateway: the SDKs' real verification runs on
notifications the sandbox signs with its own keys, in each gateway's real format."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.households.tests.factories import (
    VILLAGE_A2,
    VILLAGE_B1,
    make_household,
    make_user,
)
from propoor.market import services
from propoor.market.models import (
    Allocation,
    Notification,
    Order,
    OrderTransition,
    Payment,
    Refund,
    StockLot,
)
from propoor.market.payments import keys, sandbox
from propoor.market.payments.types import GatewayUnavailable
from propoor.market.payments.views import relative
from propoor.market.services.payments import (
    cash_record,
    notification_receive,
    payment_create,
    payment_reconcile,
    refund_create,
)
from propoor.market.signals import payment_applied, refund_done
from propoor.market.tests.factories import buy, make_lot, make_product, make_seller

pytestmark = pytest.mark.django_db

ALIPAY_OK = (200, b"success", "text/plain; charset=utf-8")
ALIPAY_FAIL = (200, b"fail", "text/plain; charset=utf-8")
WECHAT_OK = (204, b"", "application/json")


def wechat_fail(status: int, outcome: str) -> tuple[int, bytes, str]:
    return (
        status,
        json.dumps({"code": "FAIL", "message": outcome}).encode(),
        "application/json",
    )


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def pay_keys_dir(tmp_path_factory):  # type: ignore[no-untyped-def]
    return tmp_path_factory.mktemp("pay-keys")  # RSA keys: made once per session


@pytest.fixture(autouse=True)
def pay_sandbox(settings, pay_keys_dir, tmp_path):  # type: ignore[no-untyped-def]
    settings.PROPOOR_PAY_KEYS_DIR = str(pay_keys_dir)
    settings.PROPOOR_PAY_SANDBOX_STORE = str(tmp_path / "pay-sandbox.json")
    return tmp_path


@pytest.fixture
def signals():  # type: ignore[no-untyped-def]
    seen: dict[str, list[object]] = {"applied": [], "refunds": []}

    def on_applied(sender, payment, orders, **kwargs):  # type: ignore[no-untyped-def]
        seen["applied"].append((payment.out_trade_no, sorted(o.number for o in orders)))

    def on_refund(sender, refund, **kwargs):  # type: ignore[no-untyped-def]
        seen["refunds"].append((refund.out_refund_no, refund.amount))

    payment_applied.connect(on_applied, dispatch_uid="test-applied")
    refund_done.connect(on_refund, dispatch_uid="test-refund")
    yield seen
    payment_applied.disconnect(dispatch_uid="test-applied")
    refund_done.disconnect(dispatch_uid="test-refund")


# ------------------------------------------------------------------------------ helpers


def a_checkout(buyer, *, price: str = "39.90", quantity: str = "2", stock: str = "10"):  # type: ignore[no-untyped-def]
    product = make_product(make_seller(), price=price)
    make_lot(product, stock)
    return buy(buyer, product, quantity)


def start(buyer, checkout, channel: str) -> Payment:  # type: ignore[no-untyped-def]
    """Start paying; for Alipay the buyer's browser opens the gateway URL."""
    payment, url = payment_create(buyer, checkout, channel)
    if channel == "alipay":
        response = Client().get(relative(url))
        assert response.status_code == 302
        assert response["Location"] == reverse(
            "market:sandbox_cashier",
            kwargs={"gateway": "alipay", "out_trade_no": payment.out_trade_no},
        )
    else:
        assert url.startswith("weixin://wxpay/bizpayurl?pr=")
    return payment


def notification(channel: str, payment: Payment, **options):  # type: ignore[no-untyped-def]
    """The sandbox's signed notification for the trade as it stands."""
    found = sandbox.trade(channel, payment.out_trade_no)
    assert found is not None
    if channel == "alipay":
        return sandbox.alipay_notification(found, **options)
    return sandbox.wechat_notification(found, **options)


def paid_in_sandbox(channel: str, payment: Payment):  # type: ignore[no-untyped-def]
    """The buyer pays; the notification is built but not delivered (we deliver it)."""
    sandbox.cashier_pay(channel, payment.out_trade_no, deliver=False)
    return notification(channel, payment)


def ok(channel: str) -> tuple[int, bytes, str]:
    return ALIPAY_OK if channel == "alipay" else WECHAT_OK


def statuses(checkout) -> list[str]:  # type: ignore[no-untyped-def]
    return list(checkout.orders.order_by("number").values_list("status", flat=True))


def pay_transitions(checkout) -> int:  # type: ignore[no-untyped-def]
    return OrderTransition.objects.filter(
        order__checkout=checkout, event__in=("pay", "pay_late")
    ).count()


def outcomes() -> list[tuple[str, bool, str]]:
    return list(
        Notification.objects.order_by("id").values_list(
            "channel", "verified", "outcome"
        )
    )


# --------------------------------------------------------------------------- end to end


def test_alipay_end_to_end_through_the_sandbox_cashier(buyer, signals) -> None:
    checkout = a_checkout(buyer)
    client = Client()
    client.force_login(buyer)

    to_gateway = client.get(
        reverse("market:pay_start", args=[checkout.number, "alipay"])
    )
    assert to_gateway.status_code == 302
    assert to_gateway["Location"].startswith("/market/pay/sandbox/alipay/gateway?")
    to_cashier = client.get(to_gateway["Location"])
    cashier = client.get(to_cashier["Location"])
    assert cashier.status_code == 200
    page = cashier.content.decode()
    assert "沙箱 Sandbox" in page
    assert "¥79.80" in page
    payment = Payment.objects.get()
    assert payment.out_trade_no in page

    back = client.post(to_cashier["Location"], {"action": "pay"})

    assert back.status_code == 302
    assert back["Location"].startswith(
        reverse("market:pay_return", args=[checkout.number])
    )
    returned = dict(parse_qsl(back["Location"].split("?", 1)[1]))
    assert returned["method"] == "alipay.trade.page.pay.return"
    assert returned["total_amount"] == "79.80"
    payment.refresh_from_db()
    assert (payment.status, payment.amount) == ("paid", Decimal("79.80"))
    assert (
        payment.gateway_trade_no
        == sandbox.trade("alipay", payment.out_trade_no)["trade_no"]
    )
    assert statuses(checkout) == ["paid"]
    assert outcomes() == [("alipay", True, "applied")]
    assert signals["applied"] == [(payment.out_trade_no, [f"{checkout.number}-1"])]
    delivered = sandbox.trade("alipay", payment.out_trade_no)["deliveries"]
    assert [(d["status"], d["reply"], d["accepted"]) for d in delivered] == [
        (200, "success", True)
    ]
    result = client.get(back["Location"])
    assert result.status_code == 200
    assert 'data-state="paid"' in result.content.decode()


def test_wechat_end_to_end_through_the_sandbox_cashier(buyer, signals) -> None:
    checkout = a_checkout(buyer, price="12.34", quantity="1")
    client = Client()
    client.force_login(buyer)

    to_cashier = client.get(
        reverse("market:pay_start", args=[checkout.number, "wechat"])
    )
    payment = Payment.objects.get()
    assert to_cashier.status_code == 302
    assert to_cashier["Location"] == (
        reverse(
            "market:sandbox_cashier",
            kwargs={"gateway": "wechat", "out_trade_no": payment.out_trade_no},
        )
        + "?"
        + urlencode({"next": reverse("market:pay_return", args=[checkout.number])})
    )
    cashier = client.get(to_cashier["Location"])
    assert "<svg" in cashier.content.decode()
    assert sandbox.trade("wechat", payment.out_trade_no)["total"] == 1234

    back = client.post(
        to_cashier["Location"],
        {"action": "pay", "next": reverse("market:pay_return", args=[checkout.number])},
    )

    assert back["Location"] == reverse("market:pay_return", args=[checkout.number])
    payment.refresh_from_db()
    assert payment.status == "paid"
    assert (
        payment.gateway_trade_no
        == sandbox.trade("wechat", payment.out_trade_no)["transaction_id"]
    )
    assert statuses(checkout) == ["paid"]
    assert outcomes() == [("wechat", True, "applied")]
    delivered = sandbox.trade("wechat", payment.out_trade_no)["deliveries"]
    assert [(d["status"], d["accepted"]) for d in delivered] == [(204, True)]
    stored = Notification.objects.get()
    assert sorted(stored.headers) == [
        "Content-Type",
        "Wechatpay-Nonce",
        "Wechatpay-Serial",
        "Wechatpay-Signature",
        "Wechatpay-Signature-Type",
        "Wechatpay-Timestamp",
    ]
    assert json.loads(stored.body)["resource"]["algorithm"] == "AEAD_AES_256_GCM"


def test_cancel_in_the_alipay_cashier_closes_the_payment_and_orders_stay_unpaid(
    buyer,
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "alipay")
    cashier = reverse(
        "market:sandbox_cashier",
        kwargs={"gateway": "alipay", "out_trade_no": payment.out_trade_no},
    )

    back = Client().post(cashier, {"action": "cancel"})

    assert back["Location"] == reverse("market:pay_return", args=[checkout.number])
    payment.refresh_from_db()
    assert payment.status == "closed"
    assert statuses(checkout) == ["pending_payment"]
    assert outcomes() == [("alipay", True, "closed")]


# --------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_the_same_notification_twice_is_applied_once_and_both_replies_succeed(
    buyer, signals, channel
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, channel)
    headers, body = paid_in_sandbox(channel, payment)

    first = notification_receive(channel, headers, body)
    second = notification_receive(channel, headers, body)

    assert first == second == ok(channel)
    assert outcomes() == [(channel, True, "applied"), (channel, True, "duplicate")]
    assert pay_transitions(checkout) == 1
    assert statuses(checkout) == ["paid"]
    assert len(signals["applied"]) == 1


def test_a_valid_alipay_notification_replayed_days_later_is_not_applied_again(
    buyer,
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "alipay")
    headers, body = paid_in_sandbox("alipay", payment)
    assert notification_receive("alipay", headers, body) == ALIPAY_OK

    later = notification_receive(
        "alipay", headers, body, now=timezone.now() + timedelta(days=3)
    )

    assert later == ALIPAY_OK
    assert outcomes() == [("alipay", True, "applied"), ("alipay", True, "duplicate")]
    assert pay_transitions(checkout) == 1


def test_a_valid_wechat_notification_replayed_days_later_is_refused_as_stale(
    buyer,
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "wechat")
    headers, body = paid_in_sandbox("wechat", payment)
    assert notification_receive("wechat", headers, body) == WECHAT_OK

    later = notification_receive(
        "wechat", headers, body, now=timezone.now() + timedelta(days=3)
    )

    assert later == wechat_fail(401, "stale")
    assert outcomes() == [("wechat", True, "applied"), ("wechat", True, "stale")]
    assert pay_transitions(checkout) == 1


def test_a_replay_after_the_refund_does_not_pay_the_order_again(buyer) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "alipay")
    headers, body = paid_in_sandbox("alipay", payment)
    notification_receive("alipay", headers, body)
    order = checkout.orders.get()
    services.order_transition(order, "request_refund", actor=buyer)
    refund_create(order.seller.operators.first(), order, reason="坏果")

    replay = notification_receive(
        "alipay", headers, body, now=timezone.now() + timedelta(days=2)
    )

    assert replay == ALIPAY_OK
    assert Notification.objects.order_by("-id").first().outcome == "duplicate"
    assert statuses(checkout) == ["refunded"]
    assert pay_transitions(checkout) == 1


# ------------------------------------------------------------------------------- forged


def _nothing_applied(checkout, payment) -> None:  # type: ignore[no-untyped-def]
    payment.refresh_from_db()
    assert payment.status == "created"
    assert statuses(checkout) == ["pending_payment"]
    assert pay_transitions(checkout) == 0


def test_an_alipay_notification_with_a_wrong_signature_is_never_applied(
    buyer, signals
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "alipay")
    headers, body = paid_in_sandbox("alipay", payment)
    fields = dict(parse_qsl(body.decode()))
    fields["buyer_id"] = "2088000000009999"  # changed after signing
    tampered = urlencode(fields).encode()
    fields["sign"] = fields["sign"][:-8] + "AAAAAAA="  # a signature that is not one
    garbled = urlencode(fields).encode()
    unsigned = urlencode({k: v for k, v in fields.items() if k != "sign"}).encode()

    replies = [
        notification_receive("alipay", headers, b)
        for b in (tampered, garbled, unsigned)
    ]

    assert replies == [ALIPAY_FAIL] * 3
    assert outcomes() == [("alipay", False, "bad_signature")] * 3
    _nothing_applied(checkout, payment)
    assert signals["applied"] == []


def test_an_alipay_notification_signed_by_another_key_is_never_applied(buyer) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "alipay")
    headers, body = paid_in_sandbox("alipay", payment)
    fields = dict(parse_qsl(body.decode()))
    fields.pop("sign")
    fields.pop("sign_type")
    unsigned = "&".join(f"{k}={v}" for k, v in sorted(fields.items()))
    fields["sign"] = sandbox._rsa_sign(keys.key_pair("merchant").private_pem, unsigned)
    fields["sign_type"] = "RSA2"

    reply = notification_receive("alipay", headers, urlencode(fields).encode())

    assert reply == ALIPAY_FAIL
    assert outcomes() == [("alipay", False, "bad_signature")]
    _nothing_applied(checkout, payment)


def test_a_wechat_notification_with_a_wrong_signature_is_never_applied(buyer) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "wechat")
    headers, body = paid_in_sandbox("wechat", payment)
    other_body = body.replace(b'"summary":"', b'"summary":"X')
    other_serial = {**headers, "Wechatpay-Serial": "PUB_KEY_ID_SOMEONE_ELSE"}
    bad_signature = {
        **headers,
        "Wechatpay-Signature": headers["Wechatpay-Signature"][::-1],
    }
    no_headers = {"Content-Type": "application/json"}

    replies = [
        notification_receive("wechat", headers, other_body),
        notification_receive("wechat", other_serial, body),
        notification_receive("wechat", bad_signature, body),
        notification_receive("wechat", no_headers, body),
    ]

    assert replies == [wechat_fail(401, "bad_signature")] * 4
    assert outcomes() == [("wechat", False, "bad_signature")] * 4
    _nothing_applied(checkout, payment)


def test_a_wechat_resource_not_encrypted_with_our_apiv3_key_is_never_applied(
    buyer,
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "wechat")
    paid_in_sandbox("wechat", payment)
    found = sandbox.trade("wechat", payment.out_trade_no)
    body = json.loads(sandbox.wechat_notification(found)[1])
    body["resource"]["ciphertext"] = body["resource"]["ciphertext"][::-1]
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    signed = sandbox._wechat_signed(
        200, text, timezone.now()
    )  # validly signed, bad resource
    headers = {k: v for k, v in signed.headers.items() if k.startswith("Wechatpay-")}

    reply = notification_receive("wechat", headers, text.encode())

    assert reply == wechat_fail(401, "bad_signature")
    _nothing_applied(checkout, payment)


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_a_valid_signature_with_a_wrong_amount_is_never_applied(buyer, channel) -> None:
    checkout = a_checkout(buyer, price="39.90", quantity="2")
    payment = start(buyer, checkout, channel)
    sandbox.cashier_pay(channel, payment.out_trade_no, deliver=False)
    if channel == "alipay":
        forged = notification(channel, payment, total_amount="0.01")
        exact_but_more_places = notification(channel, payment, total_amount="79.801")
    else:
        forged = notification(
            channel, payment, resource={"amount": {"total": 1, "currency": "CNY"}}
        )
        exact_but_more_places = notification(
            channel, payment, resource={"amount": {"total": "7980", "currency": "CNY"}}
        )

    replies = [
        notification_receive(channel, *forged),
        notification_receive(channel, *exact_but_more_places),
    ]

    expected = ALIPAY_FAIL if channel == "alipay" else wechat_fail(400, "wrong_amount")
    assert replies == [expected, expected]
    assert outcomes() == [(channel, True, "wrong_amount")] * 2
    assert Notification.objects.order_by("id").first().detail == (
        "notified 1 fen, the payment is 7980 fen"
    )
    _nothing_applied(checkout, payment)


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_a_valid_signature_for_another_merchant_is_never_applied(
    buyer, channel
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, channel)
    sandbox.cashier_pay(channel, payment.out_trade_no, deliver=False)
    if channel == "alipay":
        forged = [
            notification(channel, payment, app_id="2021000000009999"),
            notification(channel, payment, seller_id="2088000000009999"),
        ]
    else:
        forged = [
            notification(channel, payment, resource={"mchid": "1900009999"}),
            notification(channel, payment, resource={"appid": "wx_someone_else"}),
        ]

    replies = [notification_receive(channel, *n) for n in forged]

    expected = (
        ALIPAY_FAIL if channel == "alipay" else wechat_fail(400, "wrong_merchant")
    )
    assert replies == [expected, expected]
    assert outcomes() == [(channel, True, "wrong_merchant")] * 2
    _nothing_applied(checkout, payment)


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_a_valid_signature_for_an_unknown_order_is_never_applied(
    buyer, channel
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, channel)
    sandbox.cashier_pay(channel, payment.out_trade_no, deliver=False)
    if channel == "alipay":
        forged = notification(channel, payment, out_trade_no="P20260101000000NOSUCH")
    else:
        forged = notification(
            channel, payment, resource={"out_trade_no": "P20260101000000NOSUCH"}
        )

    reply = notification_receive(channel, *forged)

    assert reply == (
        ALIPAY_FAIL if channel == "alipay" else wechat_fail(400, "unknown_order")
    )
    assert outcomes() == [(channel, True, "unknown_order")]
    assert Notification.objects.get().out_trade_no == "P20260101000000NOSUCH"
    _nothing_applied(checkout, payment)


def test_the_notify_views_answer_the_gateways_over_http(buyer) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "alipay")
    _headers, body = paid_in_sandbox("alipay", payment)
    client = Client(enforce_csrf_checks=True)

    forged = client.post(
        reverse("market:notify_alipay"),
        body.replace(b"79.80", b"0.01"),
        content_type="application/x-www-form-urlencoded",
    )
    good = client.post(
        reverse("market:notify_alipay"),
        body,
        content_type="application/x-www-form-urlencoded",
    )
    wechat = client.post(
        reverse("market:notify_wechat"), b"{}", content_type="application/json"
    )

    assert (forged.status_code, forged.content) == (200, b"fail")
    assert (good.status_code, good.content) == (200, b"success")
    assert (wechat.status_code, json.loads(wechat.content)) == (
        401,
        {"code": "FAIL", "message": "bad_signature"},
    )
    assert client.get(reverse("market:notify_alipay")).status_code == 405
    assert statuses(checkout) == ["paid"]


# ------------------------------------------------------------------------- out of order


def test_trade_closed_before_the_success_notification_does_no_harm(buyer) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "alipay")
    sandbox.cashier_pay("alipay", payment.out_trade_no, deliver=False)
    closed = notification("alipay", payment, trade_status="TRADE_CLOSED")
    waiting = notification("alipay", payment, trade_status="WAIT_BUYER_PAY")
    success = notification("alipay", payment)

    replies = [notification_receive("alipay", *n) for n in (closed, waiting, success)]

    assert replies == [ALIPAY_OK] * 3
    assert outcomes() == [
        ("alipay", True, "closed"),
        ("alipay", True, "waiting"),
        ("alipay", True, "applied"),
    ]
    payment.refresh_from_db()
    assert payment.status == "paid"
    assert statuses(checkout) == ["paid"]


def test_trade_closed_after_the_payment_is_ignored(buyer) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "alipay")
    notification_receive("alipay", *paid_in_sandbox("alipay", payment))

    reply = notification_receive(
        "alipay", *notification("alipay", payment, trade_status="TRADE_CLOSED")
    )

    assert reply == ALIPAY_OK
    assert outcomes()[-1] == ("alipay", True, "closed_ignored")
    payment.refresh_from_db()
    assert payment.status == "paid"


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_a_refund_notice_before_the_payment_notification_does_no_harm(
    buyer, channel
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, channel)
    sandbox.cashier_pay(channel, payment.out_trade_no, deliver=False)
    if channel == "alipay":
        notice = notification(
            channel,
            payment,
            refund_fee="79.80",
            out_biz_no="R1-1",
            gmt_refund="2026-01-01 10:00:00.123",
            trade_status="TRADE_CLOSED",
        )
    else:
        notice = notification(channel, payment, event_type="REFUND.SUCCESS")

    first = notification_receive(channel, *notice)

    assert first == ok(channel)
    assert outcomes() == [(channel, True, "refund_notice")]
    _nothing_applied(checkout, payment)
    assert notification_receive(channel, *notification(channel, payment)) == ok(channel)
    assert statuses(checkout) == ["paid"]
    assert Refund.objects.count() == 0


def test_a_wechat_event_other_than_success_is_acknowledged_and_ignored(buyer) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "wechat")

    reply = notification_receive(
        "wechat",
        *notification(
            "wechat",
            payment,
            event_type="TRANSACTION.CLOSED",
            resource={"trade_state": "CLOSED"},
        ),
    )

    assert reply == WECHAT_OK
    assert outcomes() == [("wechat", True, "ignored")]
    _nothing_applied(checkout, payment)


# --------------------------------------------------------------------------------- late


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_a_payment_after_the_order_expired_takes_the_stock_again_and_pays_late(
    buyer, signals, channel
) -> None:
    product = make_product(make_seller(), price="10.00")
    lot = make_lot(product, "5")
    checkout = buy(buyer, product, "3")
    payment = start(buyer, checkout, channel)
    headers, body = paid_in_sandbox(channel, payment)
    services.orders_expire(now=timezone.now() + timedelta(minutes=20))
    lot.refresh_from_db()
    assert (statuses(checkout), lot.available) == (["expired"], Decimal("5.000"))

    reply = notification_receive(channel, headers, body)

    assert reply == ok(channel)
    lot.refresh_from_db()
    order = checkout.orders.get()
    assert (order.status, order.stock_released, lot.available) == (
        "paid",
        False,
        Decimal("2.000"),
    )
    assert list(
        Allocation.objects.filter(line__order=order).values_list("lot_id", "quantity")
    ) == [(lot.pk, Decimal("3.000"))]
    assert list(order.transitions.values_list("event", flat=True)) == [
        "checkout",
        "expire",
        "pay_late",
    ]
    assert signals["applied"] == [(payment.out_trade_no, [order.number])]
    assert Refund.objects.count() == 0


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_a_payment_after_the_order_expired_and_its_stock_sold_is_refunded_the_same_way(
    buyer, signals, channel
) -> None:
    product = make_product(make_seller(), price="10.00")
    lot = make_lot(product, "5")
    checkout = buy(buyer, product, "3")
    payment = start(buyer, checkout, channel)
    headers, body = paid_in_sandbox(channel, payment)
    services.orders_expire(now=timezone.now() + timedelta(minutes=20))
    buy(make_user("buyer"), product, "4")  # the stock went to someone else

    reply = notification_receive(channel, headers, body)

    assert reply == ok(channel)
    order = checkout.orders.get()
    lot.refresh_from_db()
    assert (order.status, lot.available) == ("expired", Decimal("1.000"))
    refund = Refund.objects.get()
    assert (refund.order, refund.payment, refund.amount, refund.reason) == (
        order,
        payment,
        Decimal("30.00"),
        "paid after the hold ran out and the stock is gone",
    )
    assert refund.done_at is not None
    payment.refresh_from_db()
    assert payment.status == "refunded"
    found = sandbox.trade(channel, payment.out_trade_no)
    if channel == "alipay":
        assert found["refunds"] == {refund.out_refund_no: "30.00"}
    else:
        assert {k: v["amount"] for k, v in found["refunds"].items()} == {
            refund.out_refund_no: 3000
        }
    assert signals["applied"] == [(payment.out_trade_no, [])]
    assert signals["refunds"] == [(refund.out_refund_no, Decimal("30.00"))]
    assert Notification.objects.get().detail == (
        f"{order.number} refunded: paid after the hold ran out and the stock is gone"
    )


def test_a_late_payment_for_two_sellers_pays_what_is_left_and_refunds_the_rest(
    buyer,
) -> None:
    apples = make_product(make_seller(), price="10.00")
    honey = make_product(make_seller(village=VILLAGE_A2), price="50.00", unit="piece")
    make_lot(apples, "5")
    honey_lot = make_lot(honey, "1")
    checkout, _ = services.checkout_create(
        buyer,
        lines=[
            services.LineIn(apples.pk, Decimal("2")),
            services.LineIn(honey.pk, Decimal("1")),
        ],
        idempotency_key="late-two-sellers",
        contact_name="李",
        contact_phone="138",
    )
    payment = start(buyer, checkout, "alipay")
    headers, body = paid_in_sandbox("alipay", payment)
    services.orders_expire(now=timezone.now() + timedelta(minutes=20))
    buy(make_user("buyer"), honey, "1")

    assert notification_receive("alipay", headers, body) == ALIPAY_OK

    assert statuses(checkout) == ["paid", "expired"]
    honey_lot.refresh_from_db()
    assert honey_lot.available == Decimal("0.000")
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("50.00")]
    payment.refresh_from_db()
    assert payment.status == "paid"  # 20.00 of 70.00 kept
    assert sandbox.trade("alipay", payment.out_trade_no)["refunds"] == {
        Refund.objects.get().out_refund_no: "50.00"
    }


def test_a_second_payment_of_a_paid_checkout_goes_back_and_the_order_stays_paid(
    buyer, signals
) -> None:
    checkout = a_checkout(buyer)
    by_alipay = start(buyer, checkout, "alipay")
    by_wechat = start(buyer, checkout, "wechat")  # the buyer tried both
    alipay_paid = paid_in_sandbox("alipay", by_alipay)
    wechat_paid = paid_in_sandbox("wechat", by_wechat)

    replies = [
        notification_receive("alipay", *alipay_paid),
        notification_receive("wechat", *wechat_paid),
    ]

    assert replies == [ALIPAY_OK, WECHAT_OK]
    order = checkout.orders.get()
    assert statuses(checkout) == ["paid"]
    assert pay_transitions(checkout) == 1
    refund = Refund.objects.get()
    assert (refund.payment, refund.order, refund.amount, refund.reason) == (
        by_wechat,
        order,
        Decimal("79.80"),
        "paid twice",
    )
    by_alipay.refresh_from_db()
    by_wechat.refresh_from_db()
    assert (by_alipay.status, by_wechat.status) == ("paid", "refunded")
    found = sandbox.trade("wechat", by_wechat.out_trade_no)
    assert found["refunds"][refund.out_refund_no]["amount"] == 7980
    assert signals["applied"] == [
        (by_alipay.out_trade_no, [order.number]),
        (by_wechat.out_trade_no, []),
    ]
    assert signals["refunds"] == []  # the order's own money did not go back
    assert list(order.ledger.values_list("kind", flat=True)) == ["payment"]


def test_a_failure_while_applying_rolls_back_and_asks_the_gateway_to_retry(
    buyer,
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "wechat")
    headers, body = paid_in_sandbox("wechat", payment)

    def broken(sender, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("ledger unavailable")

    payment_applied.connect(broken, dispatch_uid="test-broken")
    try:
        failed = notification_receive("wechat", headers, body)
    finally:
        payment_applied.disconnect(dispatch_uid="test-broken")
    retried = notification_receive("wechat", headers, body)

    assert failed == wechat_fail(500, "error")
    assert retried == WECHAT_OK
    assert list(
        Notification.objects.order_by("id").values_list("outcome", "detail")
    ) == [
        ("error", "RuntimeError: ledger unavailable"),
        ("applied", f"{checkout.number}-1 pay"),
    ]
    assert pay_transitions(checkout) == 1


# ---------------------------------------------------------------------------- reconcile


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_reconciliation_applies_a_payment_whose_notification_was_lost(
    buyer, signals, channel
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, channel)
    waiting = a_checkout(buyer)
    start(buyer, waiting, channel)  # never paid
    sandbox.cashier_pay(
        channel, payment.out_trade_no, deliver=False
    )  # notification lost

    too_early = payment_reconcile(now=timezone.now() + timedelta(minutes=5))
    later = payment_reconcile(now=timezone.now() + timedelta(minutes=15))
    again = payment_reconcile(now=timezone.now() + timedelta(minutes=30))

    assert too_early == {}
    assert later == {"applied": 1, "waiting": 1}
    assert again == {"waiting": 1}
    payment.refresh_from_db()
    assert payment.status == "paid"
    assert statuses(checkout) == ["paid"]
    assert statuses(waiting) == ["pending_payment"]
    assert len(signals["applied"]) == 1
    assert Notification.objects.count() == 0
    # The notification arrives after all: a duplicate, answered as success.
    assert notification_receive(channel, *notification(channel, payment)) == ok(channel)
    assert pay_transitions(checkout) == 1


def test_the_return_page_asks_the_gateway_when_the_notification_is_late(buyer) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "wechat")
    client = Client()
    client.force_login(buyer)
    url = reverse("market:pay_return", args=[checkout.number])
    assert 'data-state="waiting"' in client.get(url).content.decode()
    sandbox.cashier_pay("wechat", payment.out_trade_no, deliver=False)

    page = client.get(url).content.decode()

    assert 'data-state="paid"' in page
    assert statuses(checkout) == ["paid"]


def test_the_reconcile_command_prints_what_it_did(buyer, capsys) -> None:
    from django.core.management import call_command

    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "alipay")
    sandbox.cashier_pay("alipay", payment.out_trade_no, deliver=False)

    call_command("market_reconcile", "--minutes", "0")

    assert capsys.readouterr().out == "applied: 1\n"
    assert statuses(checkout) == ["paid"]


# --------------------------------------------------------------------------------- cash


def test_cash_recorded_by_a_station_operator_goes_the_same_apply_path(
    buyer, signals
) -> None:
    operator = make_user("station_operator", [VILLAGE_B1])
    seller = make_seller(village=VILLAGE_B1, kind="station", operator=operator)
    product = make_product(seller, price="25.00")
    make_lot(product, "10")
    checkout = buy(buyer, product, "2")

    payment = cash_record(operator, checkout, "cash", reference="收据 0012")

    assert (payment.channel, payment.status, payment.amount, payment.recorded_by) == (
        "cash",
        "paid",
        Decimal("50.00"),
        operator,
    )
    assert payment.gateway_trade_no == "收据 0012"
    assert statuses(checkout) == ["paid"]
    assert signals["applied"] == [(payment.out_trade_no, [f"{checkout.number}-1"])]
    with pytest.raises(Conflict) as caught:
        cash_record(operator, checkout, "bank")
    assert caught.value.message == "This checkout is paid already."
    assert Payment.objects.count() == 1


def test_a_station_covering_the_households_village_may_record_its_cash(buyer) -> None:
    household = make_household(village_code=VILLAGE_B1)
    operator = make_user("station_operator", [VILLAGE_B1])
    product = make_product(make_seller(), price="8.00")
    make_lot(product, "5")
    checkout, _ = services.checkout_create(
        buyer,
        lines=[services.LineIn(product.pk, Decimal("1"))],
        idempotency_key="on-behalf-1",
        contact_name="张三",
        contact_phone="139",
        on_behalf_of=household,
    )

    payment = cash_record(operator, checkout, "bank", reference="6222 **** 0001")

    assert (payment.channel, payment.status) == ("bank", "paid")
    assert statuses(checkout) == ["paid"]


def test_cash_is_refused_to_other_roles_and_stations(buyer) -> None:
    checkout = a_checkout(buyer)
    elsewhere = make_user("station_operator", [VILLAGE_B1])
    cadre = make_user("village_cadre", [VILLAGE_B1])

    with pytest.raises(PermissionDenied) as caught:
        cash_record(elsewhere, checkout)
    assert caught.value.message == (
        "Only an operator of this checkout's sellers, or of the buyer's village, "
        "may record its payment."
    )
    with pytest.raises(PermissionDenied):
        cash_record(cadre, checkout)
    with pytest.raises(ValidationFailed):
        cash_record(elsewhere, checkout, "alipay")
    assert Payment.objects.count() == 0
    assert statuses(checkout) == ["pending_payment"]


# ------------------------------------------------------------------------------ refunds


@pytest.mark.parametrize("channel", ["alipay", "wechat", "cash"])
def test_a_requested_refund_goes_back_through_the_same_channel(
    buyer, signals, channel
) -> None:
    operator = make_user("station_operator", [VILLAGE_B1])
    seller = make_seller(village=VILLAGE_B1, kind="station", operator=operator)
    product = make_product(seller, price="19.90")
    make_lot(product, "10")
    checkout = buy(buyer, product, "2")
    if channel == "cash":
        payment = cash_record(operator, checkout)
    else:
        payment = start(buyer, checkout, channel)
        notification_receive(channel, *paid_in_sandbox(channel, payment))
    order = checkout.orders.get()
    services.order_transition(order, "request_refund", actor=buyer)

    refund = refund_create(operator, order, reason="果子坏了")

    order.refresh_from_db()
    payment.refresh_from_db()
    assert (refund.amount, refund.reason, refund.payment) == (
        Decimal("39.80"),
        "果子坏了",
        payment,
    )
    assert refund.done_at is not None
    assert (order.status, payment.status) == ("refunded", "refunded")
    assert signals["refunds"] == [(refund.out_refund_no, Decimal("39.80"))]
    if channel == "alipay":
        assert sandbox.trade(channel, payment.out_trade_no)["refunds"] == {
            refund.out_refund_no: "39.80"
        }
    elif channel == "wechat":
        found = sandbox.trade(channel, payment.out_trade_no)
        assert (
            found["trade_state"],
            found["refunds"][refund.out_refund_no]["amount"],
        ) == ("REFUND", 3980)
    with pytest.raises(Conflict):
        refund_create(operator, order, reason="again")
    assert Refund.objects.count() == 1


def test_a_refund_is_refused_before_the_buyer_asks_and_to_strangers(buyer) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "alipay")
    notification_receive("alipay", *paid_in_sandbox("alipay", payment))
    order = checkout.orders.get()
    operator = order.seller.operators.first()

    with pytest.raises(Conflict) as caught:
        refund_create(operator, order, reason="?")
    assert (
        caught.value.message
        == "An order that is paid cannot be refunded: the buyer asks first."
    )
    services.order_transition(order, "request_refund", actor=buyer)
    with pytest.raises(PermissionDenied):
        refund_create(buyer, order, reason="我要退")
    with pytest.raises(ValidationFailed):
        refund_create(operator, order, reason="  ")
    assert Refund.objects.count() == 0
    assert sandbox.trade("alipay", payment.out_trade_no)["refunds"] == {}


# ------------------------------------------------------------------------------- create


def test_starting_twice_reuses_the_open_payment(buyer) -> None:
    checkout = a_checkout(buyer)

    first, _ = payment_create(buyer, checkout, "wechat")
    second, code_url = payment_create(buyer, checkout, "wechat")

    assert first.pk == second.pk
    assert (
        code_url
        == "weixin://wxpay/bizpayurl?pr="
        + sandbox.trade("wechat", first.out_trade_no)["code"]
    )
    assert Payment.objects.count() == 1


def test_payment_create_refuses_what_cannot_be_paid(buyer) -> None:
    checkout = a_checkout(buyer)

    with pytest.raises(NotFound):
        payment_create(make_user("buyer"), checkout, "alipay")
    with pytest.raises(ValidationFailed):
        payment_create(buyer, checkout, "cash")
    with pytest.raises(Conflict) as caught:
        payment_create(
            buyer, checkout, "alipay", now=timezone.now() + timedelta(minutes=16)
        )
    assert caught.value.message == (
        "The goods were held until the time to pay ran out; check out again."
    )
    assert Payment.objects.count() == 0
    order = checkout.orders.get()
    services.order_transition(order, "cancel", actor=buyer)
    with pytest.raises(Conflict):
        payment_create(buyer, checkout, "alipay")


def test_the_start_page_shows_why_a_payment_cannot_start(buyer) -> None:
    checkout = a_checkout(buyer)
    services.order_transition(checkout.orders.get(), "cancel", actor=buyer)
    client = Client()
    client.force_login(buyer)

    response = client.get(reverse("market:pay_start", args=[checkout.number, "alipay"]))
    stranger = Client()
    stranger.force_login(make_user("buyer"))

    assert response.status_code == 409
    assert (
        "Nothing in this checkout is waiting for payment." in response.content.decode()
    )
    assert (
        stranger.get(
            reverse("market:pay_start", args=[checkout.number, "alipay"])
        ).status_code
        == 404
    )
    assert (
        client.get(
            reverse("market:pay_start", args=[checkout.number, "cash"])
        ).status_code
        == 404
    )


# -------------------------------------------------------------------------- the sandbox


def test_the_sandbox_refuses_requests_the_merchant_did_not_sign(buyer) -> None:
    checkout = a_checkout(buyer)
    _payment, url = payment_create(buyer, checkout, "alipay")
    tampered = relative(url).replace("79.80", "0.01")
    client = Client()

    refused = client.get(tampered)
    unsigned_wechat = client.post(
        "/market/pay/sandbox/wechat/v3/pay/transactions/native",
        b"{}",
        content_type="application/json",
    )

    assert refused.status_code == 200
    answer = json.loads(refused.content)["alipay_trade_page_pay_response"]
    assert (answer["code"], answer["sub_code"]) == ("40002", "isv.invalid-signature")
    assert sandbox.trade("alipay", _payment.out_trade_no) is None
    assert unsigned_wechat.status_code == 401
    assert json.loads(unsigned_wechat.content)["code"] == "SIGN_ERROR"


def test_the_sandbox_is_off_when_the_gateways_are_real(settings) -> None:
    settings.PROPOOR_ALIPAY_GATEWAY = "https://openapi.alipay.com/gateway.do"
    settings.PROPOOR_WECHAT_GATEWAY = "https://api.mch.weixin.qq.com"

    response = Client().get("/market/pay/sandbox/alipay/gateway")

    assert response.status_code == 404
    assert keys.alipay_config().is_sandbox is False


def test_keys_are_made_once_as_pem_files(settings, tmp_path) -> None:
    settings.PROPOOR_PAY_KEYS_DIR = str(tmp_path / "fresh")

    first = keys.key_pair("merchant")
    second = keys.key_pair("merchant")

    assert first == second
    assert first.private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert first.public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert sorted(p.name for p in (tmp_path / "fresh").iterdir()) == [
        ".lock",
        "merchant-private.pem",
        "merchant-public.pem",
    ]
    assert (
        oct((tmp_path / "fresh" / "merchant-private.pem").stat().st_mode & 0o777)
        == "0o600"
    )
    assert len(keys.wechat_config().apiv3_key) == 32


def test_expired_checkout_orders_can_still_be_paid_in_cash_late(buyer) -> None:
    operator = make_user("station_operator", [VILLAGE_B1])
    seller = make_seller(village=VILLAGE_B1, kind="station", operator=operator)
    product = make_product(seller, price="5.00")
    lot = make_lot(product, "3")
    checkout = buy(buyer, product, "2")
    services.orders_expire(now=timezone.now() + timedelta(minutes=20))

    payment = cash_record(operator, checkout)

    lot.refresh_from_db()
    assert (payment.status, statuses(checkout), lot.available) == (
        "paid",
        ["paid"],
        Decimal("1.000"),
    )
    assert Order.objects.get().transitions.last().event == "pay_late"
    assert StockLot.objects.get().available == Decimal("1.000")


def test_reconciliation_closes_what_the_gateway_closed_and_leaves_what_it_never_saw(
    buyer,
) -> None:
    abandoned = a_checkout(buyer)
    never_opened = a_checkout(buyer)
    closed = start(buyer, abandoned, "wechat")
    sandbox.cashier_cancel("wechat", closed.out_trade_no)  # WeChat sends nothing
    unseen, _url = payment_create(buyer, never_opened, "alipay")  # buyer never went

    counts = payment_reconcile(now=timezone.now() + timedelta(minutes=15))

    assert counts == {"closed": 1, "missing": 1}
    closed.refresh_from_db()
    unseen.refresh_from_db()
    assert (closed.status, unseen.status) == ("closed", "created")
    assert statuses(abandoned) == statuses(never_opened) == ["pending_payment"]


def test_a_refund_the_gateway_could_not_take_is_sent_again_by_reconciliation(
    buyer, settings, signals
) -> None:
    checkout = a_checkout(buyer)
    payment = start(buyer, checkout, "alipay")
    notification_receive("alipay", *paid_in_sandbox("alipay", payment))
    order = checkout.orders.get()
    services.order_transition(order, "request_refund", actor=buyer)
    settings.PROPOOR_ALIPAY_GATEWAY = "http://127.0.0.1:1/gateway.do"  # down

    with pytest.raises(GatewayUnavailable):
        refund_create(order.seller.operators.first(), order, reason="坏果")

    refund = Refund.objects.get()
    order.refresh_from_db()
    assert (refund.done_at, order.status, signals["refunds"]) == (
        None,
        "refund_requested",
        [],
    )
    assert sandbox.trade("alipay", payment.out_trade_no)["refunds"] == {}
    del settings.PROPOOR_ALIPAY_GATEWAY  # back up: the sandbox

    counts = payment_reconcile(now=timezone.now() + timedelta(minutes=15))

    assert counts == {"refund_done": 1}
    order.refresh_from_db()
    assert order.status == "refunded"
    assert sandbox.trade("alipay", payment.out_trade_no)["refunds"] == {
        refund.out_refund_no: "79.80"
    }
    assert signals["refunds"] == [(refund.out_refund_no, Decimal("79.80"))]


def test_starting_again_after_the_wechat_trade_closed_begins_a_new_one(buyer) -> None:
    checkout = a_checkout(buyer)
    first, _ = payment_create(buyer, checkout, "wechat")
    sandbox.cashier_cancel("wechat", first.out_trade_no)  # no notification comes

    second, code_url = payment_create(buyer, checkout, "wechat")

    first.refresh_from_db()
    assert (first.status, second.status) == ("closed", "created")
    assert second.pk != first.pk
    assert code_url == (
        "weixin://wxpay/bizpayurl?pr="
        + sandbox.trade("wechat", second.out_trade_no)["code"]
    )
