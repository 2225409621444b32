"""Sellers, their declared benefits to poor households, products and stock lots."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.roles import Role, require_role
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division, Level
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.core.money import to_money
from propoor.households.models import Household
from propoor.market.models import (
    Benefit,
    Category,
    LotEvent,
    LotEventKind,
    Mechanism,
    Product,
    ProductKind,
    Seller,
    SellerKind,
    StockLot,
    Unit,
)

ORGANISERS = (Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER, Role.VILLAGE_CADRE)
CATEGORIES = (
    # code, kind, 中文, English
    ("fresh-produce", ProductKind.GOODS, "生鲜农产品", "Fresh produce"),
    ("processed-food", ProductKind.GOODS, "加工食品", "Processed food"),
    ("handicrafts", ProductKind.GOODS, "手工艺品", "Handicrafts"),
    ("farm-stay", ProductKind.EXPERIENCE, "农家乐住宿", "Farm stays"),
    ("picking", ProductKind.EXPERIENCE, "采摘体验", "Picking"),
    ("fishing", ProductKind.EXPERIENCE, "垂钓体验", "Fishing"),
    ("folk-culture", ProductKind.EXPERIENCE, "民俗文化体验", "Folk-culture visits"),
)
LOT_CODE = re.compile(r"^[A-Za-z0-9-]{1,20}$")


def categories_install() -> list[Category]:
    out = []
    for order, (code, kind, zh, en) in enumerate(CATEGORIES, 1):
        category, _created = Category.objects.update_or_create(
            code=code,
            defaults={"kind": kind, "name_zh": zh, "name_en": en, "order": order},
        )
        out.append(category)
    return out


def _decimal(raw: object, field: str) -> Decimal:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(
            _("%(field)s: %(value)s is not a number.")
            % {"field": field, "value": repr(raw)},
            extra={"field": field},
        ) from exc
    if not value.is_finite():
        raise ValidationFailed(
            _("%(field)s: %(value)s is not a number.")
            % {"field": field, "value": repr(raw)},
            extra={"field": field},
        )
    return value


def seller_create(
    actor: object,
    *,
    name: str,
    kind: str,
    village: Division,
    operators: list[object] = (),  # type: ignore[assignment]
    household: Household | None = None,
    description: str = "",
    phone: str = "",
) -> Seller:
    """A county, township or village officer registers a seller in their area."""
    require_role(actor, ORGANISERS)
    if village.level != Level.VILLAGE or not scope_of(actor).covers(village.code):  # type: ignore[arg-type]
        raise NotFound(_("No such village."))
    if kind not in SellerKind.values:
        raise ValidationFailed(
            _("kind must be one of %(choices)s.") % {"choices": SellerKind.values},
            extra={"field": "kind"},
        )
    if not name.strip():
        raise ValidationFailed(_("A seller needs a name."), extra={"field": "name"})
    if kind == SellerKind.HOUSEHOLD_SHOP and household is None:
        raise ValidationFailed(
            _("A household shop names its household."), extra={"field": "household"}
        )
    with transaction.atomic():
        seller = Seller.objects.create(
            name=name.strip(),
            kind=kind,
            village=village,
            household=household,
            description=description.strip(),
            phone=phone.strip(),
        )
        seller.operators.set(operators)
        audit_append(
            action="market.seller_create",
            actor=actor,
            object_type="market.seller",
            object_id=seller.pk,
            data={"name": seller.name, "kind": kind, "village": village.code},
        )
    return seller


def benefit_declare(
    actor: object,
    seller: Seller,
    *,
    household: Household,
    mechanism: str,
    share: object,
    note: str = "",
) -> Benefit:
    """Declare (or change) how the seller benefits a poor household.

    Shares are fractions of the seller's settled revenue; together at most 1.
    """
    require_role(actor, ORGANISERS)
    if not scope_of(actor).covers(seller.village_id):  # type: ignore[arg-type]
        raise NotFound(_("No such seller."))
    if mechanism not in Mechanism.values:
        raise ValidationFailed(
            _("mechanism must be one of %(choices)s.") % {"choices": Mechanism.values}
        )
    value = _decimal(share, "share")
    if not Decimal(0) < value <= 1 or value != value.quantize(Decimal("0.0001")):
        raise ValidationFailed(
            _("share must be more than 0 and at most 1, four decimals.")
        )
    with transaction.atomic():
        Seller.objects.select_for_update().get(pk=seller.pk)
        others = Benefit.objects.filter(seller=seller, active=True).exclude(
            household=household, mechanism=mechanism
        ).aggregate(total=Sum("share"))["total"] or Decimal(0)
        if others + value > 1:
            raise Conflict(
                _("The seller's shares would add up to %(total)s; at most 1.")
                % {"total": others + value},
                extra={"declared": str(others)},
            )
        benefit, _created = Benefit.objects.update_or_create(
            seller=seller,
            household=household,
            mechanism=mechanism,
            defaults={"share": value, "note": note.strip()[:200], "active": True},
        )
        audit_append(
            action="market.benefit_declare",
            actor=actor,
            object_type="market.benefit",
            object_id=benefit.pk,
            data={
                "seller": seller.pk,
                "household": household.pk,
                "mechanism": mechanism,
                "share": str(value),
            },
        )
    return benefit


def require_operator(actor: object, seller: Seller) -> None:
    if getattr(actor, "is_superuser", False):
        return
    if not seller.operators.filter(pk=getattr(actor, "pk", None)).exists():
        raise PermissionDenied(_("Only the seller's operators may do this."))


def product_create(
    actor: object,
    seller: Seller,
    *,
    category: Category,
    title_zh: str,
    unit: str,
    price: object,
    origin: Division | None = None,
    title_en: str = "",
    description_zh: str = "",
    description_en: str = "",
    specs: dict[str, object] | None = None,
    gtin: str = "",
    capacity_per_day: int = 0,
) -> Product:
    require_operator(actor, seller)
    if not title_zh.strip():
        raise ValidationFailed(
            _("A product needs a Chinese title."), extra={"field": "title_zh"}
        )
    if unit not in Unit.values:
        raise ValidationFailed(
            _("unit must be one of %(choices)s.") % {"choices": Unit.values},
            extra={"field": "unit"},
        )
    amount = to_money(_decimal(price, "price"))
    if amount <= 0:
        raise ValidationFailed(
            _("The price must be more than 0."), extra={"field": "price"}
        )
    experience = category.kind == ProductKind.EXPERIENCE
    if experience and capacity_per_day < 1:
        raise ValidationFailed(
            _("An experience needs a capacity per day."),
            extra={"field": "capacity_per_day"},
        )
    if experience and unit != Unit.PERSON_DAY:
        raise ValidationFailed(
            _("Experiences are sold by the person-day."), extra={"field": "unit"}
        )
    if gtin and not (gtin.isdigit() and len(gtin) in (13, 14)):
        raise ValidationFailed(
            _("A GTIN has 13 or 14 digits."), extra={"field": "gtin"}
        )
    origin = origin or seller.village
    product = Product.objects.create(
        seller=seller,
        category=category,
        kind=category.kind,
        title_zh=title_zh.strip(),
        title_en=title_en.strip(),
        description_zh=description_zh.strip(),
        description_en=description_en.strip(),
        unit=unit,
        price=amount,
        origin=origin,
        specs=specs or {},
        gtin=gtin,
        capacity_per_day=capacity_per_day if experience else 0,
        search_text=" ".join(
            [title_zh, title_en, seller.name, origin.name, category.name_zh]
        ),
    )
    audit_append(
        action="market.product_create",
        actor=actor,
        object_type="market.product",
        object_id=product.pk,
        data={"seller": seller.pk, "title": product.title_zh, "price": str(amount)},
    )
    return product


def product_update(
    actor: object, product: Product, *, price: object, active: bool
) -> Product:
    """Change a product's price and whether it is on sale (its seller's operators)."""
    require_operator(actor, product.seller)
    amount = to_money(_decimal(price, "price"))
    if amount <= 0:
        raise ValidationFailed(
            _("The price must be more than 0."), extra={"field": "price"}
        )
    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        before = {"price": str(locked.price), "active": locked.active}
        locked.price = amount
        locked.active = active
        locked.save(update_fields=["price", "active"])
        audit_append(
            action="market.product_update",
            actor=actor,
            object_type="market.product",
            object_id=locked.pk,
            data={"before": before, "after": {"price": str(amount), "active": active}},
        )
    return locked


def lot_create(
    actor: object,
    product: Product,
    *,
    code: str,
    harvested_on: date,
    quantity: object,
    shelf_life_days: int,
    origin: Division | None = None,
) -> StockLot:
    """Record a harvest or production lot (and its harvest event)."""
    require_operator(actor, product.seller)
    if product.kind != ProductKind.GOODS:
        raise ValidationFailed(_("Experiences have places per day, not stock lots."))
    if not LOT_CODE.match(code or ""):
        raise ValidationFailed(
            _("A lot code has 1–20 letters, digits or dashes."),
            extra={"field": "code"},
        )
    amount = _decimal(quantity, "quantity")
    if amount <= 0 or amount != amount.quantize(Decimal("0.001")):
        raise ValidationFailed(
            _("quantity must be more than 0, at most three decimals.")
        )
    if harvested_on > timezone.localdate():
        raise ValidationFailed(
            _("The harvest date is in the future."), extra={"field": "harvested_on"}
        )
    if shelf_life_days < 1:
        raise ValidationFailed(_("The shelf life is at least one day."))
    if StockLot.objects.filter(product=product, code=code).exists():
        raise Conflict(
            _("Lot %(code)s already exists for this product.") % {"code": code}
        )
    with transaction.atomic():
        lot = StockLot.objects.create(
            product=product,
            code=code,
            harvested_on=harvested_on,
            quantity=amount,
            available=amount,
            shelf_life_days=shelf_life_days,
            origin=origin or product.origin,
        )
        LotEvent.objects.create(
            lot=lot,
            kind=LotEventKind.HARVEST,
            at=timezone.make_aware(datetime.combine(harvested_on, time(8, 0))),
            place=lot.origin,
            quantity=amount,
            recorded_by=actor if getattr(actor, "pk", None) else None,  # type: ignore[misc]
        )
        audit_append(
            action="market.lot_create",
            actor=actor,
            object_type="market.lot",
            object_id=lot.pk,
            data={"product": product.pk, "code": code, "quantity": str(amount)},
        )
    return lot
