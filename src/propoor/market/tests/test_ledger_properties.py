"""Properties of the ledger, with Hypothesis.

Whatever orders are placed (one to four sellers per checkout, each seller with random
declared benefits whose shares add up to at most 1), paid, refunded before or after
settlement, accepted or not by a public buyer, and however often the settlement job
runs: every transaction balances, the trial balance is exactly zero, each settled and
unrefunded order gives its households exactly what the largest-remainder rule says, and
a refunded order leaves them nothing.

The database: pytest-django wraps the whole test (every example) in one transaction,
so the world (areas, sellers, households) is built once per test and each example runs
inside its own savepoint, rolled back at its end; no example sees another's rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from math import floor
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from propoor.households.tests.factories import make_household, make_user
from propoor.market import services
from propoor.market.models import (
    INCOME_KIND,
    LedgerTransaction,
    Order,
    Posting,
    Product,
    PublicBuyer,
    Seller,
)
from propoor.market.services.buyers import acceptance_record, public_buyer_create
from propoor.market.services.ledger import (
    allocate,
    ledger_balance,
    ledger_trial_balance,
)
from propoor.market.services.settlement import orders_settle
from propoor.market.tests.factories import (
    county_admin,
    make_lot,
    make_product,
    make_seller,
)
from propoor.market.tests.test_ledger import (
    complete,
    ledger_receivers,
    pay,
    refund,
    send_refund,
)

__all__ = ["ledger_receivers"]

CHINA = ZoneInfo("Asia/Shanghai")
D = Decimal
PRICES = ("13.37", "0.99", "128.00", "7.77")
HOUSEHOLDS = 6
MECHANISMS = ("own_produce", "purchase", "wages", "dividend")
FATES = (
    "paid",
    "refund_before",
    "complete",
    "refund_after",
    "public_waiting",
    "public_accepted",
)
DELIVERED = datetime(2024, 3, 1, 9, 0, tzinfo=CHINA)
SETTLE = datetime(2024, 3, 20, 9, 0, tzinfo=CHINA)


# ------------------------------------------------------------------------ the reference


def reference_split(total: Decimal, shares: list[Decimal]) -> list[Decimal]:
    """Largest remainders, slowly and with fractions: floor every exact share to the
    fen, then hand out the fen that round-half-up(total × Σ shares) still needs, one by
    one, to the largest remainder left (the first declared among equals)."""
    exact = [Fraction(total) * Fraction(s) * 100 for s in shares]  # in fen
    target = floor(
        Fraction(total) * sum(Fraction(s) for s in shares) * 100 + Fraction(1, 2)
    )
    fen = [floor(e) for e in exact]
    waiting = list(range(len(shares)))
    while sum(fen) < target:
        best = max(waiting, key=lambda i: (exact[i] - floor(exact[i]), -i))
        fen[best] += 1
        waiting.remove(best)
    return [D(f) / 100 for f in fen]


money = st.integers(min_value=0, max_value=10**9).map(lambda fen: D(fen) / 100)


@st.composite
def share_lists(draw) -> list[Decimal]:
    left = 10000
    shares = []
    for _ in range(draw(st.integers(0, 6))):
        if left == 0:
            break
        basis = draw(st.integers(1, left))
        left -= basis
        shares.append(D(basis) / 10000)
    return shares


@settings(max_examples=500, deadline=None)
@given(total=money, shares=share_lists())
def test_allocate_matches_the_slow_reference(
    total: Decimal, shares: list[Decimal]
) -> None:
    got = allocate(total, shares)

    assert got == reference_split(total, shares)
    target = (total * sum(shares, D(0))).quantize(D("0.01"), rounding="ROUND_HALF_UP")
    assert sum(got, D(0)) == target
    for amount, share in zip(got, shares, strict=True):
        assert (
            D(0)
            <= amount - (total * share).quantize(D("0.01"), rounding="ROUND_FLOOR")
            <= D("0.01")
        )


# ---------------------------------------------------------------------------- the world


@dataclass
class World:
    admin: object
    buyer: object
    sellers: list[Seller]
    products: list[Product]
    households: list[object]
    office: PublicBuyer


@pytest.fixture
def world(area_tree) -> World:
    buyer = make_user("buyer")
    sellers, products = [], []
    for price in PRICES:
        seller = make_seller()
        product = make_product(seller, price=price)
        make_lot(product, "1000000")
        sellers.append(seller)
        products.append(product)
    admin = county_admin()
    return World(
        admin=admin,
        buyer=buyer,
        sellers=sellers,
        products=products,
        households=[make_household(year=None) for _ in range(HOUSEHOLDS)],
        office=public_buyer_create(
            admin, name="县机关事务局", year=2024, quota="100000.00", users=[buyer]
        ),
    )


@st.composite
def benefit_plans(draw) -> list[list[tuple[int, str, Decimal]]]:
    """Per seller: (household index, mechanism, share), shares summing to ≤ 1."""
    plans = []
    for _ in PRICES:
        pairs = draw(
            st.lists(
                st.tuples(st.integers(0, HOUSEHOLDS - 1), st.sampled_from(MECHANISMS)),
                unique=True,
                max_size=4,
            )
        )
        left, plan = 10000, []
        for household, mechanism in pairs:
            if left == 0:
                break
            basis = draw(
                st.integers(1, left) | st.sampled_from([min(left, 3333), left])
            )
            left -= basis
            plan.append((household, mechanism, D(basis) / 10000))
        plans.append(plan)
    return plans


checkout_plans = st.lists(
    st.tuples(
        # seller index → quantity in grams (at least 10 g: an order is never ¥0.00)
        st.dictionaries(
            st.integers(0, len(PRICES) - 1),
            st.integers(10, 20000),
            min_size=1,
            max_size=len(PRICES),
        ),
        st.booleans(),  # paid?
        st.lists(st.sampled_from(FATES), min_size=len(PRICES), max_size=len(PRICES)),
    ),
    min_size=1,
    max_size=5,
)


class _Rollback(Exception):
    pass


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(benefits=benefit_plans(), checkouts=checkout_plans, early_run=st.booleans())
@pytest.mark.django_db
def test_the_ledger_balances_and_households_get_what_sellers_declared(
    world: World,
    benefits,
    checkouts,
    early_run: bool,
) -> None:
    try:
        with transaction.atomic():
            _run_example(world, benefits, checkouts, early_run)
            raise _Rollback
    except _Rollback:
        pass


def _run_example(world: World, benefits, checkouts, early_run: bool) -> None:
    # Given the sellers' declared benefits
    declared: dict[int, list[tuple[int, str, Decimal]]] = {}
    for seller, plan in zip(world.sellers, benefits, strict=True):
        for index, mechanism, share in plan:
            services.benefit_declare(
                world.admin,
                seller,
                household=world.households[index],
                mechanism=mechanism,
                share=share,
            )
        declared[seller.pk] = [
            (world.households[i].pk, INCOME_KIND[m], s) for i, m, s in plan
        ]
    # When orders are placed, paid, delivered, refunded and settled
    fate: dict[int, str] = {}
    for lines, paid, fates in checkouts:
        checkout, _ = services.checkout_create(
            world.buyer,
            lines=[
                services.LineIn(world.products[i].pk, D(g) / 1000)
                for i, g in sorted(lines.items())
            ],
            idempotency_key=uuid.uuid4().hex,
            contact_name="李",
            contact_phone="138",
        )
        orders = list(checkout.orders.order_by("id"))
        for order, chosen in zip(orders, fates, strict=False):
            fate[order.pk] = chosen if paid else "pending"
            if chosen.startswith("public") and paid:
                Order.objects.filter(pk=order.pk).update(public_buyer=world.office)
        if paid:
            pay(checkout)
    if early_run:
        assert orders_settle(now=SETTLE) == 0  # nothing is completed yet
    for order in Order.objects.filter(pk__in=fate).order_by("id"):
        chosen = fate[order.pk]
        if chosen == "refund_before":
            refund(order)
        elif chosen in (
            "complete",
            "refund_after",
            "public_waiting",
            "public_accepted",
        ):
            order = complete(order, delivered=DELIVERED)
            if chosen == "public_accepted":
                acceptance_record(
                    world.buyer,
                    order,
                    invoice=b"%PDF-1.4",
                    invoice_name="i.pdf",
                    inspection=b"%PDF-1.4",
                    inspection_name="r.pdf",
                )
    settles = {"complete", "refund_after", "public_accepted"}
    assert orders_settle(now=SETTLE) == sum(f in settles for f in fate.values())
    assert orders_settle(now=SETTLE + timedelta(days=1)) == 0  # runs again: nothing
    for order in Order.objects.filter(pk__in=fate).order_by("id"):
        if fate[order.pk] == "refund_after":
            send_refund(order, at=SETTLE + timedelta(days=2))
    assert orders_settle(now=SETTLE + timedelta(days=3)) == 0

    # Then every transaction balances, and so does the whole ledger
    for entry in LedgerTransaction.objects.prefetch_related("postings"):
        assert sum((p.amount for p in entry.postings.all()), D(0)) == D("0.00")
    assert sum(ledger_trial_balance().values(), D(0)) == D("0.00")

    orders = {o.pk: o for o in Order.objects.filter(pk__in=fate)}
    received = unsettled = D(0)
    owed: dict[int, Decimal] = {seller.pk: D(0) for seller in world.sellers}
    for pk, chosen in fate.items():
        order = orders[pk]
        postings = Posting.objects.filter(transaction__order=order)
        income = postings.filter(household__isnull=False)
        by_account: dict[str, Decimal] = {}
        for account, amount in income.values_list("account", "amount"):
            by_account[account] = by_account.get(account, D(0)) + amount
        if chosen == "pending":
            assert not postings.exists()
        elif chosen in ("refund_before", "refund_after"):
            # a refunded order leaves nothing anywhere, households included
            assert all(v == 0 for v in by_account.values())
            totals: dict[str, Decimal] = {}
            for account, amount in postings.values_list("account", "amount"):
                totals[account] = totals.get(account, D(0)) + amount
            assert all(v == 0 for v in totals.values())
            assert (order.settled_at is not None) == (chosen == "refund_after")
        elif chosen in settles:
            assert order.settled_at == SETTLE
            plan = declared[order.seller_id]
            split = reference_split(order.total, [s for _, _, s in plan])
            expected: dict[str, Decimal] = {}
            for (household, kind, _), amount in zip(plan, split, strict=True):
                account = f"household:{household}:income:{kind}"
                expected[account] = expected.get(account, D(0)) - amount
            assert by_account == {a: v for a, v in expected.items() if v != 0}
            assert -sum(by_account.values(), D(0)) == (
                order.total * sum((s for _, _, s in plan), D(0))
            ).quantize(D("0.01"), rounding="ROUND_HALF_UP")
            received += order.total
            owed[order.seller_id] += order.total + sum(by_account.values(), D(0))
        else:  # paid, public_waiting: money in, nothing settled
            assert order.settled_at is None
            assert not income.exists()
            received += order.total
            unsettled += order.total
    assert ledger_balance("gateway:alipay") == received
    assert ledger_balance("orders:unsettled") == -unsettled
    for seller_id, amount in owed.items():
        assert ledger_balance(f"seller:{seller_id}:payable") == -amount
