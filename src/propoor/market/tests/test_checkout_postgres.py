"""Checkout under real concurrency, on PostgreSQL: real threads (each with its own
database connection) and, for the killed checkout, a real process.

- a flash sale of 100 units (two lots) to 300 buyers sells exactly 100;
- carts naming the same products in opposite orders never deadlock;
- a process killed in the middle of a checkout leaves nothing written and no lock
  held: the stock sells again at once;
- an order reserved and never paid is expired and its stock sells again; payment and
  expiry racing for one order end in exactly one of them.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.db.models import Sum
from django.utils import timezone

from propoor.core.errors import Conflict
from propoor.households.tests.factories import VILLAGE_A2, make_user
from propoor.market import services
from propoor.market.models import (
    Allocation,
    Checkout,
    ExperienceSlot,
    Order,
    StockLot,
)
from propoor.market.tests.factories import make_lot, make_product, make_seller

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks, CHECK constraints under load and killed backends need "
        "PostgreSQL (set DATABASE_URL)",
    ),
]
POOL = 32
SRC = Path(__file__).resolve().parents[3]


def _checkout(buyer, lines, gate: threading.Event) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """One buyer's checkout in a pool thread: (outcome, checkout number or message)."""
    gate.wait()
    try:
        checkout, _ = services.checkout_create(
            buyer,
            lines=[services.LineIn(pid, Decimal(q), day) for pid, q, day in lines],
            idempotency_key=uuid.uuid4().hex,
            contact_name="抢购者",
            contact_phone="13900000000",
        )
        return "ok", checkout.number
    except Conflict as exc:
        return "conflict", exc.message
    except Exception as exc:
        return "error", repr(exc)
    finally:
        connections.close_all()  # this thread's connection


def _run(
    jobs: list[tuple[object, list[tuple[int, str, object]]]],
) -> list[tuple[str, str]]:
    gate = threading.Event()
    with ThreadPoolExecutor(max_workers=POOL) as pool:
        futures = [pool.submit(_checkout, buyer, lines, gate) for buyer, lines in jobs]
        time.sleep(0.2)  # let the pool's threads line up at the gate
        gate.set()
        return [f.result(timeout=120) for f in futures]


def test_a_flash_sale_of_100_units_to_300_buyers_sells_exactly_100(area_tree) -> None:
    product = make_product(
        make_seller(), title="秒杀高山苹果", unit="piece", price="9.90"
    )
    lots = [make_lot(product, "60", days_ago=3), make_lot(product, "40", days_ago=1)]
    buyers = [make_user("buyer") for _ in range(300)]

    results = _run([(b, [(product.pk, "1", None)]) for b in buyers])

    outcomes = Counter(outcome for outcome, _ in results)
    assert outcomes == {"ok": 100, "conflict": 200}
    assert {text for outcome, text in results if outcome == "conflict"} == {
        "Only 0 piece of 秒杀高山苹果 left."
    }
    told = {number for outcome, number in results if outcome == "ok"}
    assert len(told) == 100
    assert set(Checkout.objects.values_list("number", flat=True)) == told
    for lot in lots:
        lot.refresh_from_db()
    assert [lot.available for lot in lots] == [Decimal("0.000"), Decimal("0.000")]
    assert Allocation.objects.aggregate(total=Sum("quantity"))["total"] == Decimal(
        "100"
    )
    by_lot = dict(
        Allocation.objects.values("lot_id")
        .annotate(n=Sum("quantity"))
        .values_list("lot_id", "n")
    )
    assert by_lot == {lots[0].pk: Decimal("60"), lots[1].pk: Decimal("40")}
    # every buyer told "yes" has exactly one order holding exactly one unit
    orders = Order.objects.filter(checkout__number__in=told)
    assert orders.count() == 100
    assert set(orders.values_list("buyer_id", flat=True)) == {
        b.pk for b, (outcome, _) in zip(buyers, results, strict=True) if outcome == "ok"
    }
    per_order = dict(
        Allocation.objects.values("line__order_id")
        .annotate(n=Sum("quantity"))
        .values_list("line__order_id", "n")
    )
    assert sorted(per_order.values()) == [Decimal("1.000")] * 100
    assert set(per_order) == set(orders.values_list("id", flat=True))


def test_carts_in_opposite_orders_never_deadlock(area_tree) -> None:
    first = make_product(make_seller(), title="核桃", unit="piece")
    second = make_product(make_seller(village=VILLAGE_A2), title="蜂蜜", unit="piece")
    stay = make_product(
        make_seller(),
        category="farm-stay",
        title="农家乐",
        unit="person_day",
        price="80.00",
        capacity_per_day=70,
    )
    make_lot(first, "60")
    make_lot(second, "80")
    day = timezone.localdate() + timedelta(days=3)
    forward = [(first.pk, "1", None), (second.pk, "1", None), (stay.pk, "1", day)]
    jobs = [
        (make_user("buyer"), forward if n % 2 == 0 else forward[::-1])
        for n in range(100)
    ]

    results = _run(jobs)

    errors = [text for outcome, text in results if outcome == "error"]
    assert errors == []
    assert Counter(outcome for outcome, _ in results) == {"ok": 60, "conflict": 40}
    assert [lot.available for lot in StockLot.objects.order_by("product_id")] == [
        Decimal("0.000"),
        Decimal("20.000"),
    ]
    slot = ExperienceSlot.objects.get(product=stay, date=day)
    assert (slot.capacity, slot.reserved) == (70, 60)
    assert Order.objects.count() == 60 * 3  # one per seller


CHILD = r"""
import json, os, time
import django

django.setup()
from decimal import Decimal
from django.db import connection, transaction
from django.utils import timezone
from propoor.accounts.models import User
from propoor.market.services.checkout import (
    HOLD, LineIn, _check_lines, _reserve_and_create,
)

buyer = User.objects.get(pk=int(os.environ["BUYER"]))
now = timezone.now()
checked = _check_lines(
    [LineIn(int(os.environ["PRODUCT"]), Decimal("30"))], timezone.localdate(now)
)
with transaction.atomic():
    checkout = _reserve_and_create(
        buyer, checked, "killed-mid-checkout", "李", "138", "", None, now, HOLD
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
        if os.environ["MODE"] == "in_statement":
            # Without this a backend busy in a statement notices its client is gone
            # only when the statement ends (here: after 30 s, locks held all along).
            cursor.execute("SET client_connection_check_interval = '100ms'")
        print(json.dumps({"checkout": checkout.number, "backend": backend}), flush=True)
        if os.environ["MODE"] == "in_statement":
            cursor.execute("SELECT pg_sleep(30)")
        else:
            time.sleep(30)
"""


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    chooser = selectors.DefaultSelector()
    assert process.stdout is not None
    chooser.register(process.stdout, selectors.EVENT_READ)
    if not chooser.select(timeout):
        process.kill()
        raise AssertionError("the child said nothing in time")
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        raise AssertionError(f"the child failed: {process.stderr.read()}")  # type: ignore[union-attr]
    return line


@pytest.mark.parametrize("mode", ["idle_in_transaction", "in_statement"])
def test_a_process_killed_mid_checkout_leaves_nothing_and_no_lock(
    area_tree, mode
) -> None:
    product = make_product(make_seller(), title="高山苹果", unit="kg")
    lot = make_lot(product, "30")
    victim, next_buyer = make_user("buyer"), make_user("buyer")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "propoor.settings_test",
        "DATABASE_URL": _database_url(),
        "PYTHONPATH": str(SRC),
        "BUYER": str(victim.pk),
        "PRODUCT": str(product.pk),
        "MODE": mode,
    }
    process = subprocess.Popen(  # noqa: S603  (this interpreter, our own code)
        [sys.executable, "-c", CHILD],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        said = json.loads(_read_line(process, timeout=60))
        # mid-checkout: the child holds the lot's row lock, nothing is visible yet
        with (
            pytest.raises(OperationalError, match="could not obtain lock"),
            transaction.atomic(),
        ):
            StockLot.objects.select_for_update(nowait=True).get(pk=lot.pk)
        assert StockLot.objects.get(pk=lot.pk).available == Decimal("30.000")
        assert not Checkout.objects.filter(number=said["checkout"]).exists()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL

    started = time.monotonic()
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                [said["backend"]],
            )
            if cursor.fetchone()[0] == 0 or time.monotonic() - started > 10:
                break
            time.sleep(0.02)
    gone_after = time.monotonic() - started
    assert gone_after < 2.0  # the server rolled the transaction back at once

    assert Checkout.objects.count() == 0
    assert Order.objects.count() == 0
    assert Allocation.objects.count() == 0
    assert StockLot.objects.get(pk=lot.pk).available == Decimal("30.000")
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '500ms'")  # a hanging lock would fail here
    try:
        checkout, created = services.checkout_create(
            next_buyer,
            lines=[services.LineIn(product.pk, Decimal("30"))],
            idempotency_key="after-the-kill",
            contact_name="王",
            contact_phone="139",
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert created is True
    assert checkout.orders.get().total == Decimal("1197.00")
    assert StockLot.objects.get(pk=lot.pk).available == Decimal("0.000")


def test_an_order_never_paid_expires_and_its_stock_sells_again(area_tree) -> None:
    product = make_product(make_seller(), title="野生菌", unit="kg", price="88.00")
    lot = make_lot(product, "5")
    first, second = make_user("buyer"), make_user("buyer")
    held, _ = services.checkout_create(
        first,
        lines=[services.LineIn(product.pk, Decimal("5"))],
        idempotency_key="first-buyer-key",
        contact_name="甲",
        contact_phone="138",
    )
    with pytest.raises(Conflict):
        services.checkout_create(
            second,
            lines=[services.LineIn(product.pk, Decimal("1"))],
            idempotency_key="second-try-one",
            contact_name="乙",
            contact_phone="139",
        )
    assert services.orders_expire(now=held.expires_at - timedelta(seconds=1)) == 0
    assert services.orders_expire(now=held.expires_at + timedelta(seconds=1)) == 1
    order = held.orders.get()
    assert (order.status, order.stock_released) == ("expired", True)
    assert StockLot.objects.get(pk=lot.pk).available == Decimal("5.000")
    again, created = services.checkout_create(
        second,
        lines=[services.LineIn(product.pk, Decimal("5"))],
        idempotency_key="second-try-two",
        contact_name="乙",
        contact_phone="139",
    )
    assert created is True
    assert StockLot.objects.get(pk=lot.pk).available == Decimal("0.000")
    assert services.orders_expire(now=again.expires_at - timedelta(seconds=1)) == 0
    assert Order.objects.get(pk=order.pk).status == "expired"
    assert again.orders.get().status == "pending_payment"


def _race(order: Order, later: datetime) -> dict[str, object]:
    """Pay the order and run the expiry job at the same moment, in two threads."""
    barrier = threading.Barrier(2)
    said: dict[str, object] = {}

    def pay() -> None:
        try:
            barrier.wait()
            services.order_transition(order, "pay", actor=None)
            said["pay"] = "paid"
        except Conflict as exc:
            said["pay"] = exc.extra["status"]
        finally:
            connections.close_all()

    def expire() -> None:
        try:
            barrier.wait()
            said["expire"] = services.orders_expire(now=later)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pay), threading.Thread(target=expire)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return said


def test_payment_and_expiry_racing_for_an_order_end_in_exactly_one(area_tree) -> None:
    product = make_product(make_seller(), title="茶叶", unit="piece", price="60.00")
    lot = make_lot(product, "20")
    rounds = 20
    outcomes: list[str] = []
    for n in range(rounds):
        checkout, _ = services.checkout_create(
            make_user("buyer"),
            lines=[services.LineIn(product.pk, Decimal("1"))],
            idempotency_key=f"race-{n:04d}-key",
            contact_name="丙",
            contact_phone="137",
            hold=timedelta(0),
        )
        order = checkout.orders.get()
        said = _race(order, checkout.expires_at + timedelta(seconds=1))
        order.refresh_from_db()
        if order.status == "paid":
            assert (said, order.stock_released) == ({"pay": "paid", "expire": 0}, False)
        else:
            assert order.status == "expired"
            assert (said, order.stock_released) == (
                {"pay": "expired", "expire": 1},
                True,
            )
        outcomes.append(order.status)
    paid = outcomes.count("paid")
    assert paid + outcomes.count("expired") == rounds
    assert StockLot.objects.get(pk=lot.pk).available == Decimal(20 - paid)
