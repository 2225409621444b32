from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from propoor.core.errors import Conflict, PermissionDenied, ValidationFailed
from propoor.core.models import AuditPending
from propoor.households.tests.factories import VILLAGE_A2, make_user
from propoor.market import services
from propoor.market.models import Order, OrderTransition, StockLot
from propoor.market.tests.factories import buy, make_lot, make_product, make_seller

pytestmark = pytest.mark.django_db


def test_one_checkout_makes_one_order_per_seller(buyer) -> None:
    apples = make_product(make_seller(), price="10.00")
    honey = make_product(make_seller(village=VILLAGE_A2), price="58.00", unit="piece")
    make_lot(apples, "50")
    make_lot(honey, "10")
    checkout, created = services.checkout_create(
        buyer,
        lines=[
            services.LineIn(apples.pk, Decimal("2.5")),
            services.LineIn(honey.pk, Decimal("2")),
        ],
        idempotency_key="k" * 16,
        contact_name="李",
        contact_phone="138",
    )
    assert created is True
    orders = list(checkout.orders.order_by("number"))
    assert [(o.seller_id, o.total, o.status) for o in orders] == [
        (apples.seller_id, Decimal("25.00"), "pending_payment"),
        (honey.seller_id, Decimal("116.00"), "pending_payment"),
    ]
    assert checkout.total == Decimal("141.00")
    assert list(
        StockLot.objects.order_by("id").values_list("available", flat=True)
    ) == [
        Decimal("47.500"),
        Decimal("8.000"),
    ]
    again, created_again = services.checkout_create(
        buyer,
        lines=[services.LineIn(apples.pk, Decimal("1"))],
        idempotency_key="k" * 16,
        contact_name="李",
        contact_phone="138",
    )
    assert (again.pk, created_again) == (checkout.pk, False)


def test_a_repeated_key_writes_nothing_more_even_once_the_cart_is_invalid(
    buyer,
) -> None:
    apples = make_product(make_seller(), price="10.00")
    make_lot(apples, "5")

    def again(quantity: str):  # type: ignore[no-untyped-def]
        return services.checkout_create(
            buyer,
            lines=[services.LineIn(apples.pk, Decimal(quantity))],
            idempotency_key="same-key-0001",
            contact_name="李",
            contact_phone="138",
        )

    first, _ = again("2")
    counts = (
        Order.objects.count(),
        OrderTransition.objects.count(),
        AuditPending.objects.count(),
    )

    # the same key again: the product sold out meanwhile, then stopped being on sale
    repeated, created = again("4")
    apples.active = False
    apples.save(update_fields=["active"])
    later, created_later = again("4")

    assert (repeated.pk, created, later.pk, created_later) == (
        first.pk,
        False,
        first.pk,
        False,
    )
    assert (
        (
            Order.objects.count(),
            OrderTransition.objects.count(),
            AuditPending.objects.count(),
        )
        == counts
        == (1, 1, 1)
    )
    assert StockLot.objects.get().available == Decimal("3.000")


def test_stock_is_taken_first_in_first_out_across_lots(buyer) -> None:
    product = make_product(make_seller())
    old = make_lot(product, "3", days_ago=5)
    new = make_lot(product, "10", days_ago=1)
    buy(buyer, product, "5")
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.available, new.available) == (Decimal("0.000"), Decimal("8.000"))


def test_more_than_is_left_is_refused_and_nothing_changes(buyer) -> None:
    product = make_product(make_seller(), title="核桃")
    make_lot(product, "4")
    with pytest.raises(Conflict) as caught:
        buy(buyer, product, "4.5")
    assert caught.value.message == "Only 4 kg of 核桃 left."
    assert Order.objects.count() == 0
    assert StockLot.objects.get().available == Decimal("4.000")


def test_expired_lots_are_not_sold(buyer) -> None:
    product = make_product(make_seller())
    make_lot(product, "10", days_ago=40)  # shelf life 30 days
    with pytest.raises(Conflict):
        buy(buyer, product, "1")


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "Line 1: the quantity must be more than 0."),
        ("-1", "Line 1: the quantity must be more than 0."),
        ("1.0001", "Line 1: at most three decimals."),
        ("NaN", "Line 1: the quantity must be more than 0."),
    ],
)
def test_bad_quantities_are_refused(buyer, quantity, message) -> None:
    product = make_product(make_seller())
    make_lot(product, "10")
    with pytest.raises(ValidationFailed) as caught:
        buy(buyer, product, quantity)
    assert caught.value.message == message


def test_pieces_are_sold_whole(buyer) -> None:
    product = make_product(make_seller(), unit="piece", title="蜂蜜")
    make_lot(product, "10")
    with pytest.raises(ValidationFailed) as caught:
        buy(buyer, product, "1.5")
    assert caught.value.message == "Line 1: 蜂蜜 is sold by whole piece."


def test_refusals_are_worded_in_the_active_language(buyer) -> None:
    honey = make_product(make_seller(), unit="piece", title="蜂蜜")
    make_lot(honey, "10")
    stay = make_product(
        make_seller(),
        category="farm-stay",
        unit="person_day",
        capacity_per_day=2,
        title="农家乐",
    )
    day = timezone.localdate() + timedelta(days=3)
    caught = []
    with translation.override("zh-hans"):
        for product, quantity, when in (
            (honey, "1.5", None),
            (honey, "11", None),
            (stay, "3", day),
        ):
            with pytest.raises((ValidationFailed, Conflict)) as refused:
                buy(buyer, product, quantity, day=when)
            caught.append(refused.value.message)
    assert caught == [
        "第 1 行：蜂蜜 只能按整件购买。",
        "蜂蜜 只剩 10 件。",
        f"农家乐 在 {day} 只剩 2 个名额。",
    ]
    assert Order.objects.count() == 0


def test_experiences_reserve_places_on_a_date(buyer) -> None:
    stay = make_product(
        make_seller(),
        category="farm-stay",
        unit="person_day",
        capacity_per_day=4,
        title="农家乐",
    )
    day = timezone.localdate() + timedelta(days=3)
    buy(buyer, stay, "3", day=day)
    with pytest.raises(Conflict) as caught:
        buy(buyer, stay, "2", day=day)
    assert caught.value.message == f"Only 1 places left on {day} for 农家乐."
    buy(buyer, stay, "4", day=day + timedelta(days=1))
    with pytest.raises(ValidationFailed):
        buy(buyer, stay, "1")  # no date


def test_unpaid_orders_expire_and_give_their_stock_back(buyer) -> None:
    product = make_product(make_seller())
    lot = make_lot(product, "10")
    checkout = buy(buyer, product, "6")
    assert services.orders_expire(now=timezone.now()) == 0
    assert services.orders_expire(now=checkout.expires_at + timedelta(seconds=1)) == 1
    lot.refresh_from_db()
    order = checkout.orders.get()
    assert (order.status, order.stock_released, lot.available) == (
        "expired",
        True,
        Decimal("10.000"),
    )
    assert list(order.transitions.values_list("from_status", "to_status", "event")) == [
        ("", "pending_payment", "checkout"),
        ("pending_payment", "expired", "expire"),
    ]


def test_the_transition_table_refuses_illegal_moves_with_what_is_allowed(buyer) -> None:
    product = make_product(make_seller())
    make_lot(product, "10")
    order = buy(buyer, product, "1").orders.get()
    with pytest.raises(Conflict) as caught:
        services.order_transition(order, "ship", actor=product.seller.operators.first())
    assert caught.value.message == (
        "An order that is pending_payment cannot ship; it can: cancel, expire, pay."
    )
    with pytest.raises(PermissionDenied):
        services.order_transition(order, "pay", actor=buyer)
    services.order_transition(order, "cancel", actor=buyer)
    assert StockLot.objects.get().available == Decimal("10.000")
    assert OrderTransition.objects.filter(order=order).count() == 2


def test_refund_rejected_returns_to_where_it_was(buyer) -> None:
    product = make_product(make_seller())
    make_lot(product, "10")
    order = buy(buyer, product, "1").orders.get()
    operator = product.seller.operators.first()
    services.order_transition(order, "pay", actor=None)
    services.order_transition(order, "ship", actor=operator)
    services.order_transition(order, "request_refund", actor=buyer)
    order = services.order_transition(
        order, "refund_reject", actor=operator, note="已签收"
    )
    assert order.status == "shipped"
    with pytest.raises(PermissionDenied):
        services.order_transition(order, "deliver", actor=make_user("buyer"))


def test_buying_for_a_public_body_marks_its_orders_and_needs_membership(buyer) -> None:
    from propoor.market.models import PublicBuyer

    product = make_product(make_seller())
    make_lot(product, "10")
    office = PublicBuyer.objects.create(
        name="县教育局食堂", year=timezone.localdate().year, quota="10000.00"
    )
    line = [services.LineIn(product.pk, Decimal("1"))]
    with pytest.raises(PermissionDenied):
        services.checkout_create(
            buyer,
            lines=line,
            idempotency_key=uuid.uuid4().hex,
            contact_name="李",
            contact_phone="138",
            public_buyer=office,
        )
    office.users.add(buyer)
    checkout, _ = services.checkout_create(
        buyer,
        lines=line,
        idempotency_key=uuid.uuid4().hex,
        contact_name="李",
        contact_phone="138",
        public_buyer=office,
    )
    assert checkout.orders.get().public_buyer == office
    assert buy(buyer, product, "1").orders.get().public_buyer is None
