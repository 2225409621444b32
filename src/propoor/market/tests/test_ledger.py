"""The double-entry ledger: balanced postings, payments, refunds, income queries.

Paid orders are made here without the payment services (built concurrently): a
Payment row, the ``pay`` transition and the ``payment_applied`` signal, as
``payment_apply`` will send it. The helpers below are shared by the other ledger tests.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from propoor.core.errors import Conflict, ValidationFailed
from propoor.households.tests.factories import make_household
from propoor.market import receivers, services
from propoor.market.models import (
    Checkout,
    LedgerTransaction,
    Order,
    Payment,
    Posting,
    Refund,
    Seller,
)
from propoor.market.services.ledger import (
    allocate,
    household_ecommerce_income,
    household_income,
    ledger_balance,
    ledger_post,
    ledger_reverse,
    ledger_trial_balance,
    seller_statement,
)
from propoor.market.services.settlement import orders_settle
from propoor.market.signals import payment_applied, refund_done
from propoor.market.tests.factories import (
    buy,
    county_admin,
    make_lot,
    make_product,
    make_seller,
)

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
D = Decimal


# ------------------------------------------------------------------------------ helpers


@pytest.fixture(autouse=True)
def ledger_receivers():
    """Connect the ledger's receivers for the test, as MarketConfig.ready() will."""
    was_connected = receivers.disconnect()
    receivers.connect()
    yield
    if not was_connected:
        receivers.disconnect()


def pay(
    checkout: Checkout, *, channel: str = "alipay", at: datetime | None = None
) -> Payment:
    """What payment_apply does, minus the gateway: mark paid, transition, signal."""
    with transaction.atomic():
        payment = Payment.objects.create(
            checkout=checkout,
            channel=channel,
            out_trade_no=uuid.uuid4().hex,
            amount=checkout.total,
            status="paid",
            paid_at=at or timezone.now(),
        )
        orders = [
            services.order_transition(order, "pay", actor=None)
            for order in checkout.orders.order_by("id")
        ]
        payment_applied.send(sender=Payment, payment=payment, orders=orders)
    return payment


def complete(order: Order, *, delivered: datetime) -> Order:
    order = services.order_transition(order, "deliver", actor=None, at=delivered)
    return services.order_transition(order, "complete", actor=None, at=delivered)


def send_refund(
    order: Order, *, amount: Decimal | None = None, at: datetime | None = None
) -> Refund:
    """The refund as the payment services will report it (no state change here)."""
    payment = order.checkout.payments.get(status="paid")
    with transaction.atomic():
        refund = Refund.objects.create(
            order=order,
            payment=payment,
            out_refund_no=uuid.uuid4().hex,
            amount=order.total if amount is None else amount,
            reason="坏果",
            done_at=at or timezone.now(),
        )
        refund_done.send(sender=Refund, refund=refund)
    return refund


def refund(order: Order, *, at: datetime | None = None) -> Refund:
    """Request and grant a refund of an unsettled order, then report it."""
    services.order_transition(order, "request_refund", actor=order.buyer)
    services.order_transition(order, "refund", actor=None)
    return send_refund(order, at=at)


def seller_with_benefits(
    *shares: tuple[str, str], price: str = "10.00"
) -> tuple[Seller, list]:
    """A seller with a product and stock, benefiting one new household per share
    (mechanism, share); returns the seller and the households."""
    seller = make_seller()
    product = make_product(seller, price=price, unit="piece")
    make_lot(product, "1000")
    admin = county_admin()
    households = []
    for mechanism, share in shares:
        household = make_household(year=2024)
        services.benefit_declare(
            admin, seller, household=household, mechanism=mechanism, share=share
        )
        households.append(household)
    return seller, households


def product_of(seller: Seller):
    return seller.products.get()


def assert_balanced() -> None:
    for entry in LedgerTransaction.objects.prefetch_related("postings"):
        assert sum((p.amount for p in entry.postings.all()), D(0)) == D("0.00"), entry
    assert sum(ledger_trial_balance().values(), D(0)) == D("0.00")


# --------------------------------------------------------------------------- allocation


@pytest.mark.parametrize(
    ("total", "shares", "expected"),
    [
        ("100.00", ["0.3333", "0.3333", "0.3334"], ["33.33", "33.33", "33.34"]),
        # 10.00 × 0.9999 = 9.999 → 10.00; the spare fen goes to the first of equals
        ("10.00", ["0.3333", "0.3333", "0.3333"], ["3.34", "3.33", "3.33"]),
        ("0.01", ["0.5000", "0.5000"], ["0.01", "0.00"]),
        ("0.05", ["0.1000"], ["0.01"]),  # 0.005 rounds half up
        ("0.04", ["0.1000"], ["0.00"]),
        ("99.99", ["1"], ["99.99"]),
        ("10.00", ["0.3333"], ["3.33"]),
        # remainders 0.6, 0.7 and 0.2 fen (sum 1.5 → 2 fen): the two largest get one
        ("0.07", ["0.0857", "0.1000", "0.0314"], ["0.01", "0.01", "0.00"]),
        ("123.45", [], []),
        ("0.00", ["0.5000"], ["0.00"]),
    ],
)
def test_allocate_splits_to_the_fen_by_largest_remainders(
    total, shares, expected
) -> None:
    assert allocate(D(total), [D(s) for s in shares]) == [D(e) for e in expected]


@pytest.mark.parametrize(
    ("total", "shares"),
    [("1.001", ["0.5"]), ("-1.00", ["0.5"]), ("1.00", ["0.12345"]), ("1.00", ["-0.1"])],
)
def test_allocate_refuses_what_is_not_money_or_a_share(total, shares) -> None:
    with pytest.raises(ValueError, match=r"not|share"):
        allocate(D(total), [D(s) for s in shares])


# ------------------------------------------------------------------------------ posting


def test_a_balanced_transaction_is_written_with_its_postings(area_tree) -> None:
    at = datetime(2024, 5, 1, 9, 30, tzinfo=CHINA)

    entry = ledger_post(
        "adjustment",
        [("gateway:cash", D("12.30")), ("orders:unsettled", D("-12.30"))],
        memo="开业",
        at=at,
    )

    entry.refresh_from_db()
    assert (entry.kind, entry.memo, entry.at, entry.order_id) == (
        "adjustment",
        "开业",
        at,
        None,
    )
    assert list(entry.postings.values_list("account", "amount")) == [
        ("gateway:cash", D("12.30")),
        ("orders:unsettled", D("-12.30")),
    ]
    assert ledger_balance("gateway:cash") == D("12.30")
    assert ledger_balance("nothing:here") == D("0.00")
    assert ledger_trial_balance() == {
        "gateway:cash": D("12.30"),
        "orders:unsettled": D("-12.30"),
    }


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        ([], "A ledger transaction needs postings."),
        (
            [("a:b", D("1.00")), ("c:d", D("-0.99"))],
            "The postings do not balance: they sum to 0.01, not 0.00.",
        ),
        (
            [("a:b", D("0.00")), ("c:d", D("0.00"))],
            "Leg 1: 0.00 is not a non-zero amount to the fen.",
        ),
        (
            [("a:b", D("1.005")), ("c:d", D("-1.005"))],
            "Leg 1: 1.005 is not a non-zero amount to the fen.",
        ),
        (
            [("a:b", 1.0), ("c:d", D("-1.00"))],
            "Leg 1: the amount must be a finite Decimal.",
        ),
        (
            [("a:b", D("NaN")), ("c:d", D("-1.00"))],
            "Leg 1: the amount must be a finite Decimal.",
        ),
        (
            [("Gateway", D("1.00")), ("c:d", D("-1.00"))],
            "Leg 1: 'Gateway' is not an account name.",
        ),
        (
            [("a:b", D("1.00")), ("household:1:income:operating", D("-1.00"))],
            "Leg 2: a household income leg names its household and kind in the account "
            "(household:<id>:income:<kind>).",
        ),
        (
            [("a:b", D("1.00")), ("household:1:income:gift", D("-1.00"), 1, "gift")],
            "Leg 2: a household income leg names its household and kind in the account "
            "(household:<id>:income:<kind>).",
        ),
        (
            [("a:b", D("1.00")), ("c:d", D("-1.00"), 7, "wage")],
            "Leg 2: a household income leg names its household and kind in the account "
            "(household:<id>:income:<kind>).",
        ),
    ],
)
def test_an_empty_unbalanced_or_malformed_set_is_refused_and_nothing_written(
    area_tree, legs, message
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        ledger_post("adjustment", legs)

    assert caught.value.message == message
    assert (LedgerTransaction.objects.count(), Posting.objects.count()) == (0, 0)


def test_a_kind_is_required(area_tree) -> None:
    with pytest.raises(ValidationFailed):
        ledger_post("", [("a:b", D("1.00")), ("c:d", D("-1.00"))])
    assert LedgerTransaction.objects.count() == 0


def test_a_household_leg_names_its_household(area_tree) -> None:
    household = make_household(year=None)
    account = f"household:{household.pk}:income:wage"

    entry = ledger_post(
        "adjustment",
        [("seller:1:payable", D("5.00")), (account, D("-5.00"), household, "wage")],
    )

    posting = entry.postings.get(account=account)
    assert (posting.household_id, posting.income_kind) == (household.pk, "wage")
    assert household_income(household) == {
        (
            timezone.localtime(entry.at).year,
            timezone.localtime(entry.at).month,
            "wage",
        ): D("5.00")
    }


def test_a_reversal_negates_exactly_and_only_once(area_tree) -> None:
    entry = ledger_post("adjustment", [("a:b", D("7.00")), ("c:d", D("-7.00"))])

    with pytest.raises(ValidationFailed) as caught:
        ledger_post("fix", [("a:b", D("-6.00")), ("c:d", D("6.00"))], reverses=entry)
    assert (
        caught.value.message
        == f"A reversal must negate transaction {entry.pk} exactly."
    )
    back = ledger_reverse(entry, memo="错账")
    with pytest.raises(Conflict) as twice:
        ledger_reverse(entry)

    assert twice.value.message == f"Transaction {entry.pk} is already reversed."
    assert (back.kind, back.reverses_id) == ("adjustment_reversal", entry.pk)
    assert LedgerTransaction.objects.count() == 2
    assert ledger_trial_balance() == {"a:b": D("0.00"), "c:d": D("0.00")}


# -------------------------------------------------------------------- payments, refunds


def test_a_payment_posts_one_transaction_per_order(buyer) -> None:
    apples = make_product(make_seller(), price="12.50")
    honey = make_product(make_seller(), price="58.00", unit="piece")
    make_lot(apples)
    make_lot(honey)
    checkout, _ = services.checkout_create(
        buyer,
        lines=[services.LineIn(apples.pk, D("2")), services.LineIn(honey.pk, D("1"))],
        idempotency_key=uuid.uuid4().hex,
        contact_name="李",
        contact_phone="138",
    )

    payment = pay(checkout, channel="wechat")

    entries = list(LedgerTransaction.objects.order_by("order_id"))
    assert [(e.kind, e.order.total, e.memo) for e in entries] == [
        ("payment", D("25.00"), f"wechat {payment.out_trade_no}"),
        ("payment", D("58.00"), f"wechat {payment.out_trade_no}"),
    ]
    assert ledger_trial_balance() == {
        "gateway:wechat": D("83.00"),
        "orders:unsettled": D("-83.00"),
    }
    # The same application reported again posts nothing more.
    payment_applied.send(
        sender=Payment, payment=payment, orders=list(checkout.orders.all())
    )
    assert LedgerTransaction.objects.count() == 2


def test_a_refund_before_settlement_reverses_the_payment_to_zero(buyer) -> None:
    product = make_product(make_seller(), price="19.90")
    make_lot(product)
    checkout = buy(buyer, product, "3")
    pay(checkout, channel="cash")
    order = checkout.orders.get()

    refund(order)

    kinds = list(
        LedgerTransaction.objects.order_by("id").values_list("kind", "reverses__kind")
    )
    assert kinds == [("payment", None), ("payment_reversal", "payment")]
    assert ledger_trial_balance() == {
        "gateway:cash": D("0.00"),
        "orders:unsettled": D("0.00"),
    }
    # Reported twice: nothing left to reverse.
    refund_done.send(sender=Refund, refund=order.refunds.get())
    assert LedgerTransaction.objects.count() == 2


def test_a_partial_refund_is_refused_and_nothing_is_written(buyer) -> None:
    product = make_product(make_seller(), price="19.90")
    make_lot(product)
    checkout = buy(buyer, product, "1")
    pay(checkout)
    order = checkout.orders.get()

    with pytest.raises(Conflict) as caught:
        send_refund(order, amount=D("5.00"))

    assert caught.value.message == (
        f"The market refunds whole orders: 5.00 is not the total 19.90 of order "
        f"{order.number}."
    )
    assert Refund.objects.count() == 0  # rolled back with the refund
    assert LedgerTransaction.objects.count() == 1


def test_receivers_disconnected_post_nothing(buyer) -> None:
    product = make_product(make_seller())
    make_lot(product)
    receivers.disconnect()
    try:
        pay(buy(buyer, product, "1"))
    finally:
        receivers.connect()
    assert LedgerTransaction.objects.count() == 0


# ------------------------------------------------------------------------------ queries


def test_household_income_is_monthly_in_china_time_and_net_of_refunds(buyer) -> None:
    seller, (grower, worker) = seller_with_benefits(
        ("own_produce", "0.5000"), ("wages", "0.2500")
    )
    checkouts = [buy(buyer, product_of(seller), n) for n in ("4", "2", "1")]
    for checkout in checkouts:
        pay(checkout)
    first, second, third = (c.orders.get() for c in checkouts)
    complete(first, delivered=datetime(2024, 1, 20, tzinfo=CHINA))
    complete(second, delivered=datetime(2024, 1, 20, tzinfo=CHINA))
    complete(third, delivered=datetime(2024, 1, 20, tzinfo=CHINA))
    # 16:30 UTC on 31 January is 00:30 on 1 February in China.
    orders_settle(now=datetime(2024, 1, 31, 16, 30, tzinfo=ZoneInfo("UTC")))
    send_refund(
        second, at=datetime(2024, 3, 5, 10, 0, tzinfo=CHINA)
    )  # after settlement

    assert household_income(grower) == {
        (2024, 2, "operating"): D("35.00"),  # (40 + 20 + 10) × 0.5
        (2024, 3, "operating"): D("-10.00"),  # the refund of 20.00, in its month
    }
    assert household_income(worker, year=2024) == {
        (2024, 2, "wage"): D("17.50"),
        (2024, 3, "wage"): D("-5.00"),
    }
    assert household_income(worker, year=2023) == {}
    assert household_ecommerce_income(grower, 2024) == D("25.00")
    assert household_ecommerce_income(worker, 2024) == D("12.50")
    assert household_ecommerce_income(worker, 2025) == D("0.00")
    assert_balanced()


def test_seller_statement_shows_settlement_attribution_and_refunds(buyer) -> None:
    seller, _ = seller_with_benefits(("purchase", "0.1000"), price="30.00")
    first, second = (
        buy(buyer, product_of(seller), "1"),
        buy(buyer, product_of(seller), "2"),
    )
    pay(first)
    pay(second)
    for checkout in (first, second):
        complete(checkout.orders.get(), delivered=datetime(2024, 4, 1, tzinfo=CHINA))
    orders_settle(now=datetime(2024, 4, 10, tzinfo=CHINA))
    send_refund(first.orders.get(), at=datetime(2024, 5, 2, tzinfo=CHINA))

    april = seller_statement(
        seller, datetime(2024, 4, 1, tzinfo=CHINA), datetime(2024, 5, 1, tzinfo=CHINA)
    )
    may = seller_statement(
        seller, datetime(2024, 5, 1, tzinfo=CHINA), datetime(2024, 6, 1, tzinfo=CHINA)
    )

    assert (
        april.opening,
        april.settled,
        april.to_households,
        april.reversed,
        april.closing,
    ) == (
        D("0.00"),
        D("90.00"),
        D("9.00"),
        D("0.00"),
        D("81.00"),
    )
    assert sorted((line.kind, line.amount) for line in april.lines) == [
        ("attribution", D("-6.00")),
        ("attribution", D("-3.00")),
        ("settlement", D("30.00")),
        ("settlement", D("60.00")),
    ]
    assert (may.opening, may.settled, may.to_households, may.reversed, may.closing) == (
        D("81.00"),
        D("0.00"),
        D("0.00"),
        D("-27.00"),
        D("54.00"),
    )
    assert [line.order for line in may.lines] == [first.orders.get().number] * 2
    assert ledger_balance(f"seller:{seller.pk}:payable") == D("-54.00")
    assert_balanced()


def test_old_payment_time_dates_the_payment_posting(buyer) -> None:
    product = make_product(make_seller())
    make_lot(product)
    paid = timezone.now() - timedelta(hours=1)
    pay(buy(buyer, product, "1"), at=paid)
    assert LedgerTransaction.objects.get().at == paid
