"""Market test data, built through the services."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from propoor.areas.models import Division
from propoor.households.tests.factories import COUNTY, VILLAGE_A1, make_user
from propoor.market import services
from propoor.market.models import Category, Product, Seller, StockLot

_serial = itertools.count(1)


def county_admin():  # type: ignore[no-untyped-def]
    return make_user("county_admin", [COUNTY])


def make_seller(
    *,
    village: str = VILLAGE_A1,
    kind: str = "cooperative",
    operator=None,
    name: str = "",
) -> Seller:  # type: ignore[no-untyped-def]
    operator = operator or make_user("cooperative", [village])
    return services.seller_create(
        county_admin(),
        name=name or f"合作社{next(_serial)}",
        kind=kind,
        village=Division.objects.get(code=village),
        operators=[operator],
    )


def make_product(
    seller: Seller,
    *,
    category: str = "fresh-produce",
    title: str = "",
    price: str = "39.90",
    unit: str = "kg",
    capacity_per_day: int = 0,
) -> Product:
    if not Category.objects.exists():
        services.categories_install()
    operator = seller.operators.first()
    return services.product_create(
        operator,
        seller,
        category=Category.objects.get(code=category),
        title_zh=title or f"高山苹果{next(_serial)}",
        title_en="Mountain apples",
        unit=unit,
        price=price,
        capacity_per_day=capacity_per_day,
    )


def make_lot(
    product: Product, quantity: str = "100", *, days_ago: int = 2, code: str = ""
) -> StockLot:
    return services.lot_create(
        product.seller.operators.first(),
        product,
        code=code or f"L{next(_serial):04d}",
        harvested_on=timezone.localdate() - timedelta(days=days_ago),
        quantity=quantity,
        shelf_life_days=30,
    )


def buy(buyer, product: Product, quantity: str = "1", *, key: str = "", day=None):  # type: ignore[no-untyped-def]
    checkout, _ = services.checkout_create(
        buyer,
        lines=[services.LineIn(product.pk, Decimal(quantity), day)],
        idempotency_key=key or uuid.uuid4().hex,
        contact_name="李买家",
        contact_phone="13800000000",
        address="昆明市",
    )
    return checkout
