"""On PostgreSQL, with real threads: eight deliveries of one valid notification at the
same moment apply it once — one paid transition per order — and all eight hear
success."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from propoor.households.tests.factories import VILLAGE_A2
from propoor.market import services
from propoor.market.models import Notification, OrderTransition, Payment
from propoor.market.services.payments import notification_receive
from propoor.market.signals import payment_applied
from propoor.market.tests.factories import make_lot, make_product, make_seller
from propoor.market.tests.test_payments import (  # noqa: F401  (fixtures)
    ok,
    paid_in_sandbox,
    pay_keys_dir,
    pay_sandbox,
    start,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (DATABASE_URL): real row locks, concurrent writers",
    ),
]
THREADS = 8


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_eight_threads_delivering_one_notification_apply_it_once(
    buyer, channel
) -> None:
    apples = make_product(make_seller(), price="10.00")
    honey = make_product(make_seller(village=VILLAGE_A2), price="58.00", unit="piece")
    make_lot(apples, "20")
    make_lot(honey, "5")
    checkout, _ = services.checkout_create(
        buyer,
        lines=[
            services.LineIn(apples.pk, Decimal("2")),
            services.LineIn(honey.pk, Decimal("1")),
        ],
        idempotency_key=f"concurrent-{channel}",
        contact_name="李",
        contact_phone="138",
    )
    payment = start(buyer, checkout, channel)
    headers, body = paid_in_sandbox(channel, payment)
    applied: list[str] = []

    def on_applied(sender, payment, orders, **kwargs):  # type: ignore[no-untyped-def]
        applied.append(payment.out_trade_no)

    payment_applied.connect(on_applied, dispatch_uid="concurrency-test")
    barrier = threading.Barrier(THREADS)
    replies: list[tuple[int, bytes, str]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def deliver() -> None:
        try:
            barrier.wait()
            reply = notification_receive(channel, dict(headers), body)
            with lock:
                replies.append(reply)
        except BaseException as exc:  # reported below, not lost in the thread
            with lock:
                failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        payment_applied.disconnect(dispatch_uid="concurrency-test")

    assert failures == []
    assert replies == [ok(channel)] * THREADS
    assert sorted(Notification.objects.values_list("outcome", flat=True)) == [
        "applied"
    ] + ["duplicate"] * (THREADS - 1)
    assert applied == [payment.out_trade_no]
    assert Payment.objects.get().status == "paid"
    assert sorted(
        OrderTransition.objects.filter(event="pay").values_list(
            "order__number", flat=True
        )
    ) == [f"{checkout.number}-1", f"{checkout.number}-2"]
    assert sorted(checkout.orders.values_list("status", flat=True)) == ["paid", "paid"]
