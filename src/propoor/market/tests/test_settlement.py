"""Settlement, household attribution, reversal on refund, and the snapshot sync."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from propoor.core.models import AuditEntry
from propoor.households.models import Snapshot
from propoor.households.tests.factories import (
    TOWNSHIP_A,
    VILLAGE_B1,
    make_household,
    make_user,
)
from propoor.market.models import Acceptance, LedgerTransaction, Order, Posting
from propoor.market.services.ledger import (
    household_ecommerce_income,
    ledger_balance,
    ledger_trial_balance,
)
from propoor.market.services.settlement import (
    order_settle,
    orders_settle,
    settlement_waiting,
    snapshot_ecommerce_sync,
)
from propoor.market.tests.factories import (
    buy,
    county_admin,
    make_lot,
    make_product,
    make_seller,
)
from propoor.market.tests.test_ledger import (
    assert_balanced,
    complete,
    ledger_receivers,
    pay,
    product_of,
    refund,
    seller_with_benefits,
    send_refund,
)

__all__ = ["ledger_receivers"]  # the autouse fixture, shared

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
D = Decimal
DELIVERED = datetime(2024, 6, 1, 10, 0, tzinfo=CHINA)
SETTLE = datetime(2024, 6, 10, 2, 0, tzinfo=CHINA)


def income_postings(order: Order) -> list[tuple[str, Decimal, str]]:
    return list(
        Posting.objects.filter(transaction__order=order, household__isnull=False)
        .order_by("id")
        .values_list("account", "amount", "income_kind")
    )


def settled_order(buyer, seller, quantity: str = "1") -> Order:
    checkout = buy(buyer, product_of(seller), quantity)
    pay(checkout)
    return complete(checkout.orders.get(), delivered=DELIVERED)


def test_an_order_of_100_splits_33_33_33_33_33_34(buyer) -> None:
    seller, (a, b, c) = seller_with_benefits(
        ("own_produce", "0.3333"),
        ("wages", "0.3333"),
        ("dividend", "0.3334"),
        price="100.00",
    )
    order = settled_order(buyer, seller)

    assert orders_settle(now=SETTLE) == 1

    order.refresh_from_db()
    assert order.settled_at == SETTLE
    assert income_postings(order) == [
        (f"household:{a.pk}:income:operating", D("-33.33"), "operating"),
        (f"household:{b.pk}:income:wage", D("-33.33"), "wage"),
        (f"household:{c.pk}:income:asset", D("-33.34"), "asset"),
    ]
    assert list(
        LedgerTransaction.objects.filter(order=order)
        .order_by("id")
        .values_list("kind", "at")
    ) == [
        ("payment", order.checkout.payments.get().paid_at),
        ("settlement", SETTLE),
        ("attribution", SETTLE),
    ]
    assert ledger_balance(f"seller:{seller.pk}:payable") == D("0.00")
    assert ledger_balance("orders:unsettled") == D("0.00")
    assert ledger_balance("gateway:alipay") == D("100.00")
    assert (
        AuditEntry.objects.filter(
            action="market.order.settle", object_id=order.number
        ).count()
        == 1
    )
    assert_balanced()


def test_ten_yuan_in_thirds_gives_the_spare_fen_to_the_first_declared(buyer) -> None:
    seller, (a, b, c) = seller_with_benefits(
        ("purchase", "0.3333"), ("purchase", "0.3333"), ("purchase", "0.3333")
    )
    order = settled_order(buyer, seller)

    orders_settle(now=SETTLE)

    # 10.00 × 0.9999 = 9.999 → 10.00 for the households; 3.333 each, plus one fen.
    assert [amount for _, amount, _ in income_postings(order)] == [
        D("-3.34"),
        D("-3.33"),
        D("-3.33"),
    ]
    assert ledger_balance(f"seller:{seller.pk}:payable") == D("0.00")
    assert [household_ecommerce_income(h, 2024) for h in (a, b, c)] == [
        D("3.34"),
        D("3.33"),
        D("3.33"),
    ]


def test_the_seller_keeps_what_it_did_not_declare(buyer) -> None:
    seller, (a,) = seller_with_benefits(("wages", "0.1250"), price="13.37")
    order = settled_order(buyer, seller, "3")  # 40.11 × 0.125 = 5.01375

    orders_settle(now=SETTLE)

    assert income_postings(order) == [
        (f"household:{a.pk}:income:wage", D("-5.01"), "wage"),
    ]
    assert ledger_balance(f"seller:{seller.pk}:payable") == D("-35.10")


def test_two_benefits_of_one_kind_to_one_household_post_once(buyer) -> None:
    seller, (grower,) = seller_with_benefits(("own_produce", "0.2000"))
    from propoor.market import services

    services.benefit_declare(
        county_admin(), seller, household=grower, mechanism="purchase", share="0.1000"
    )
    order = settled_order(buyer, seller, "7")  # 70.00

    orders_settle(now=SETTLE)

    assert income_postings(order) == [
        (f"household:{grower.pk}:income:operating", D("-21.00"), "operating"),
    ]


def test_a_seller_without_benefits_settles_without_attribution(buyer) -> None:
    seller = make_seller()
    make_lot(make_product(seller, price="8.80"))
    order = settled_order(buyer, seller, "2")

    orders_settle(now=SETTLE)

    assert list(
        LedgerTransaction.objects.filter(order=order)
        .order_by("id")
        .values_list("kind", flat=True)
    ) == [
        "payment",
        "settlement",
    ]
    assert ledger_balance(f"seller:{seller.pk}:payable") == D("-17.60")


def test_inactive_benefits_get_nothing(buyer) -> None:
    seller, (a, b) = seller_with_benefits(("wages", "0.5000"), ("dividend", "0.2000"))
    seller.benefits.filter(household=b).update(active=False)
    order = settled_order(buyer, seller)

    orders_settle(now=SETTLE)

    assert [account for account, _, _ in income_postings(order)] == [
        f"household:{a.pk}:income:wage"
    ]


def test_orders_settle_only_after_completion_and_the_return_window(buyer) -> None:
    seller, _ = seller_with_benefits(("wages", "0.5000"))
    paid_only = buy(buyer, product_of(seller), "1")
    pay(paid_only)
    unpaid = buy(buyer, product_of(seller), "1")
    recent = settled_order(buyer, seller)
    Order.objects.filter(pk=recent.pk).update(delivered_at=SETTLE - timedelta(days=6))
    due = settled_order(buyer, seller)

    assert orders_settle(now=SETTLE) == 1
    assert settlement_waiting(SETTLE) == {
        "return_window": 1,
        "acceptance": 0,
        "payment_posting": 0,
    }

    assert list(
        Order.objects.filter(settled_at__isnull=False).values_list("pk", flat=True)
    ) == [due.pk]
    assert unpaid.orders.get().settled_at is None
    assert orders_settle(now=SETTLE + timedelta(days=2)) == 1  # the recent one's window
    assert_balanced()


def test_settling_twice_settles_once(buyer) -> None:
    seller, _ = seller_with_benefits(("own_produce", "0.4000"))
    orders = [settled_order(buyer, seller) for _ in range(3)]

    assert orders_settle(now=SETTLE, limit=2) == 3  # two batches
    before = Posting.objects.count()
    assert orders_settle(now=SETTLE + timedelta(days=1)) == 0

    assert Posting.objects.count() == before
    assert LedgerTransaction.objects.filter(kind="settlement").count() == len(orders)


def test_order_settle_alone_settles_an_order_once(buyer) -> None:
    seller, (a,) = seller_with_benefits(("wages", "0.5000"))
    order = settled_order(buyer, seller, "2")

    assert order_settle(order, now=SETTLE) is True
    assert order_settle(order, now=SETTLE) is False  # a stale copy: still once

    assert LedgerTransaction.objects.filter(kind="settlement").count() == 1
    assert household_ecommerce_income(a, 2024) == D("10.00")
    assert orders_settle(now=SETTLE) == 0


def test_a_completed_order_without_a_payment_posting_waits(buyer) -> None:
    from propoor.market import receivers

    seller, _ = seller_with_benefits(("wages", "0.5000"))
    receivers.disconnect()
    try:
        order = settled_order(buyer, seller)
    finally:
        receivers.connect()

    assert orders_settle(now=SETTLE) == 0
    assert settlement_waiting(SETTLE)["payment_posting"] == 1
    order.refresh_from_db()
    assert order.settled_at is None


def test_a_public_buyers_order_settles_only_after_acceptance(buyer) -> None:
    from propoor.market.services.buyers import acceptance_record, public_buyer_create

    seller, (a,) = seller_with_benefits(("wages", "0.5000"))
    office = public_buyer_create(
        county_admin(), name="县教育局", year=2024, quota="10000.00", users=[buyer]
    )
    checkout = buy(buyer, product_of(seller), "2")
    Order.objects.filter(checkout=checkout).update(
        public_buyer=office
    )  # no checkout hook yet
    pay(checkout)
    order = complete(checkout.orders.get(), delivered=DELIVERED)

    assert orders_settle(now=SETTLE) == 0
    assert settlement_waiting(SETTLE)["acceptance"] == 1
    acceptance_record(
        buyer,
        order,
        invoice=b"%PDF-1.7 invoice",
        invoice_name="发票.pdf",
        inspection=b"\x89PNG\r\n\x1a\nreport",
        inspection_name="验收.png",
    )
    assert orders_settle(now=SETTLE) == 1

    assert Acceptance.objects.get().order_id == order.pk
    assert household_ecommerce_income(a, 2024) == D("10.00")


def test_a_refund_after_settlement_takes_the_attribution_back(buyer) -> None:
    seller, (a, b) = seller_with_benefits(
        ("own_produce", "0.3000"), ("dividend", "0.3000")
    )
    kept = settled_order(buyer, seller, "3")
    returned = settled_order(buyer, seller, "5")
    orders_settle(now=SETTLE)

    send_refund(returned, at=SETTLE + timedelta(days=3))

    kinds = list(
        LedgerTransaction.objects.filter(order=returned)
        .order_by("id")
        .values_list("kind", "reverses__kind")
    )
    assert kinds == [
        ("payment", None),
        ("settlement", None),
        ("attribution", None),
        ("attribution_reversal", "attribution"),
        ("settlement_reversal", "settlement"),
        ("payment_reversal", "payment"),
    ]
    assert sum(amount for _, amount, _ in income_postings(returned)) == D("0.00")
    assert [household_ecommerce_income(h, 2024) for h in (a, b)] == [
        D("9.00"),
        D("9.00"),
    ]
    assert ledger_trial_balance() == {
        "gateway:alipay": D("30.00"),
        f"household:{a.pk}:income:operating": D("-9.00"),
        f"household:{b.pk}:income:asset": D("-9.00"),
        "orders:unsettled": D("0.00"),
        f"seller:{seller.pk}:payable": D("-12.00"),
    }
    kept.refresh_from_db()
    assert kept.settled_at == SETTLE


def test_a_refund_before_settlement_means_it_never_settles(buyer) -> None:
    seller, (a,) = seller_with_benefits(("wages", "0.5000"))
    checkout = buy(buyer, product_of(seller), "1")
    pay(checkout)
    refund(checkout.orders.get())

    assert orders_settle(now=SETTLE) == 0
    assert household_ecommerce_income(a, 2024) == D("0.00")
    assert ledger_trial_balance() == {
        "gateway:alipay": D("0.00"),
        "orders:unsettled": D("0.00"),
    }


# ---------------------------------------------------------------------------- snapshots


def test_snapshot_sync_puts_market_income_into_business_and_online_income(
    buyer,
) -> None:
    seller, (a, b) = seller_with_benefits(
        ("own_produce", "0.3333"), ("wages", "0.2000")
    )
    no_snapshot = make_household(year=None)
    from propoor.market import services

    services.benefit_declare(
        county_admin(),
        seller,
        household=no_snapshot,
        mechanism="dividend",
        share="0.1000",
    )
    settled_order(buyer, seller, "10")  # 100.00
    orders_settle(now=SETTLE)
    admin = county_admin()

    report = snapshot_ecommerce_sync(admin, year=2024)

    assert (
        report.households,
        report.updated,
        report.unchanged,
        report.without_snapshot,
        report.failed,
    ) == (3, 2, 0, 1, {})
    snaps = {s.household_id: s for s in Snapshot.objects.filter(year=2024)}
    # surveyed: business 1500.00, of which online 0.00
    assert (snaps[a.pk].income_ecommerce, snaps[a.pk].income_business) == (
        D("33.33"),
        D("1533.33"),
    )
    assert (snaps[b.pk].income_ecommerce, snaps[b.pk].income_business) == (
        D("20.00"),
        D("1520.00"),
    )
    assert AuditEntry.objects.filter(action="snapshot.update").count() == 2
    again = snapshot_ecommerce_sync(admin, year=2024)
    assert (again.updated, again.unchanged) == (0, 2)


def test_snapshot_sync_follows_refunds_and_keeps_offline_income(buyer) -> None:
    seller, (a,) = seller_with_benefits(("own_produce", "0.5000"))
    Snapshot.objects.filter(household=a, year=2024).update(
        income_business=D("2000.00"), income_ecommerce=D("300.00")
    )
    order = settled_order(buyer, seller, "4")  # 40.00 → 20.00
    orders_settle(now=SETTLE)

    snapshot_ecommerce_sync(None, year=2024)
    snap = Snapshot.objects.get(household=a, year=2024)
    assert (snap.income_ecommerce, snap.income_business) == (D("20.00"), D("1720.00"))

    send_refund(order, at=SETTLE + timedelta(days=1))
    report = snapshot_ecommerce_sync(None, year=2024)

    snap.refresh_from_db()
    assert report.updated == 1
    assert (snap.income_ecommerce, snap.income_business) == (D("0.00"), D("1700.00"))


def test_snapshot_sync_keeps_to_the_area_and_the_actors_scope(buyer) -> None:
    seller, (a,) = seller_with_benefits(("own_produce", "0.5000"))
    far = make_household(village_code=VILLAGE_B1, year=2024)
    from propoor.market import services

    services.benefit_declare(
        county_admin(), seller, household=far, mechanism="wages", share="0.5000"
    )
    settled_order(buyer, seller)
    orders_settle(now=SETTLE)

    in_area = snapshot_ecommerce_sync(None, year=2024, area_prefix=VILLAGE_B1)
    assert (in_area.households, in_area.updated) == (1, 1)
    officer = make_user("township_officer", [TOWNSHIP_A])
    scoped = snapshot_ecommerce_sync(officer, year=2024)
    assert (scoped.households, scoped.updated) == (1, 1)
    assert Snapshot.objects.get(household=a, year=2024).income_ecommerce == D("5.00")


def test_snapshot_sync_reports_a_snapshot_the_registry_refuses(buyer) -> None:
    seller, (a,) = seller_with_benefits(("own_produce", "0.5000"))
    Snapshot.objects.filter(household=a, year=2024).update(size=0)  # invalid since
    settled_order(buyer, seller)
    orders_settle(now=SETTLE)

    report = snapshot_ecommerce_sync(None, year=2024)

    assert report.updated == 0
    assert list(report.failed) == [a.number]
    assert Snapshot.objects.get(household=a, year=2024).income_ecommerce == D("0.00")


def test_snapshot_sync_needs_a_registry_writer(area_tree) -> None:
    from propoor.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        snapshot_ecommerce_sync(make_user("buyer"), year=2024)


def test_the_management_command_settles_and_syncs(buyer) -> None:
    seller, (a,) = seller_with_benefits(("own_produce", "0.5000"))
    settled_order(buyer, seller, "2")
    out = StringIO()

    call_command(
        "market_settle",
        "--now",
        "2024-06-10T02:00:00+08:00",
        "--snapshots",
        "2024",
        stdout=out,
        stderr=StringIO(),
    )

    assert out.getvalue().splitlines() == [
        "settled 1 orders; waiting: 0 in the return window, 0 for a public buyer's "
        "acceptance, 0 without a payment posting",
        "snapshots 2024: 1 households with market income, 1 updated, 0 unchanged, "
        "0 without a snapshot, 0 refused",
    ]
    assert Snapshot.objects.get(household=a, year=2024).income_ecommerce == D("10.00")


def test_the_management_command_refuses_a_bad_time(area_tree) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("market_settle", "--now", "yesterday", stdout=StringIO())


# --------------------------------------------------------------------------- PostgreSQL


THREADS = 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL's row locks"
)
def test_concurrent_settlement_runs_settle_each_order_once() -> None:
    from propoor.households.tests.factories import make_area_tree

    make_area_tree()
    buyer = make_user("buyer")
    seller, _ = seller_with_benefits(("own_produce", "0.3333"), ("wages", "0.3333"))
    orders = [settled_order(buyer, seller, "3") for _ in range(12)]
    barrier = threading.Barrier(THREADS)
    counts: list[object] = [None] * THREADS

    def run(i: int) -> None:
        try:
            barrier.wait()
            counts[i] = orders_settle(now=timezone.now(), limit=3)
        except Exception as exc:  # the outcome under test
            counts[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(isinstance(c, int) for c in counts), counts
    assert sum(counts) == len(orders)
    assert LedgerTransaction.objects.filter(kind="settlement").count() == len(orders)
    assert LedgerTransaction.objects.filter(kind="attribution").count() == len(orders)
    assert ledger_balance("orders:unsettled") == D("0.00")
    assert_balanced()
