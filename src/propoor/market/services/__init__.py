"""Market services: views, the API and jobs call these; they never write models."""

from propoor.market.services.catalogue import (
    benefit_declare,
    categories_install,
    lot_create,
    product_create,
    product_update,
    require_operator,
    seller_create,
)
from propoor.market.services.checkout import (
    LineIn,
    checkout_create,
    orders_expire,
    release_stock,
)
from propoor.market.services.orders import (
    TRANSITIONS,
    allowed_events,
    order_transition,
    orders_complete_due,
)

__all__ = [
    "TRANSITIONS",
    "LineIn",
    "allowed_events",
    "benefit_declare",
    "categories_install",
    "checkout_create",
    "lot_create",
    "order_transition",
    "orders_complete_due",
    "orders_expire",
    "product_create",
    "product_update",
    "release_stock",
    "require_operator",
    "seller_create",
]
