from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from propoor.market.models import StockLot
from propoor.market.tests.factories import buy, make_lot, make_product, make_seller

pytestmark = pytest.mark.django_db


def test_the_jobs_command_expires_unpaid_orders_and_reports_each_step(buyer) -> None:
    product = make_product(make_seller())
    lot = make_lot(product, "10")
    checkout = buy(buyer, product, "4")
    from propoor.market.models import Order

    Order.objects.filter(checkout=checkout).update(expires_at=checkout.created_at)
    out = StringIO()
    call_command("market_jobs", stdout=out)
    assert out.getvalue().splitlines() == [
        "reconciled payments: none",
        "expired unpaid orders: 1",
        "completed orders (return window passed): 0",
        "settled orders: 0",
        "certifications out of notice: 0",
    ]
    lot.refresh_from_db()
    assert lot.available == StockLot.objects.get().quantity
