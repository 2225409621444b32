"""Traceability: each stock lot's GS1 Digital Link, its QR code, its events, and their
export as EPCIS 2.0 JSON-LD.

- A lot is identified by its product's GTIN (AI 01) and its lot code (AI 10). The
  Digital Link lives on our own resolver, ``PROPOOR_SITE_URL + "/market/trace"``:
  ``https://example.cn/market/trace/01/00400000000428/10/L0001``. ``biip`` builds and
  parses the URIs and checks every check digit.
- A product without a GTIN of its own gets one derived from its id under
  ``PROPOOR_GS1_PREFIX`` (default ``0400000``: GS1 prefixes 040–049 are "Restricted
  Circulation Numbers within a company", valid only inside our own system; 02x are
  restricted to a *geographic region* and some scanners read them as variable-measure
  codes with a price or weight inside). Nothing is stored: it is computed each time.
- Events (harvest, pack, ship, receive) are recorded in time order by an operator of the
  seller or by the system; a shipment or receipt after the lot's best-before date is
  allowed but flagged.
- The public page of a lot shows the producer masked when it is a household shop
  (``张*明``): never a household head's full name.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit, urlunsplit

import segno
from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString, GS1ElementStrings
from biip.gtin import Gtin
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.areas.models import Division, Level
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, NotFound, ValidationFailed
from propoor.core.privacy import mask_name
from propoor.market.models import (
    Certification,
    CertificationStatus,
    LotEvent,
    LotEventKind,
    Order,
    Product,
    Seller,
    SellerKind,
    StockLot,
    Unit,
)
from propoor.market.services.catalogue import require_operator

RESOLVER_PATH = "market/trace"
DEFAULT_GS1_PREFIX = "0400000"
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
# China has one time zone and no daylight saving time.
TIME_ZONE_OFFSET = "+08:00"
# Lot events recorded after a lot was created (harvest comes from lot_create).
RECORDABLE = (LotEventKind.PACK, LotEventKind.SHIP, LotEventKind.RECEIVE)
CLOCK_SKEW = timedelta(minutes=5)

# CBV 2.0 business steps, actions and dispositions of each kind of lot event.
BIZ_STEP = {
    LotEventKind.HARVEST: "commissioning",
    LotEventKind.PACK: "packing",
    LotEventKind.SHIP: "shipping",
    LotEventKind.RECEIVE: "receiving",
}
ACTION = {
    LotEventKind.HARVEST: "ADD",
    LotEventKind.PACK: "OBSERVE",
    LotEventKind.SHIP: "OBSERVE",
    LotEventKind.RECEIVE: "OBSERVE",
}
DISPOSITION = {
    LotEventKind.HARVEST: "active",
    LotEventKind.PACK: "in_progress",
    LotEventKind.SHIP: "in_transit",
    LotEventKind.RECEIVE: "in_progress",
}
# UN/ECE Recommendation 20 unit codes; a jin (斤) is half a kilogram.
UOM: dict[str, tuple[str, Decimal]] = {
    Unit.KG: ("KGM", Decimal(1)),
    Unit.JIN: ("KGM", Decimal("0.5")),
    Unit.PIECE: ("H87", Decimal(1)),
    Unit.BOX: ("BX", Decimal(1)),
}


# ----------------------------------------------------------------------------- settings


def site_url() -> str:
    return str(getattr(settings, "PROPOOR_SITE_URL", "http://localhost:8000")).rstrip(
        "/"
    )


def gs1_prefix() -> str:
    prefix = str(getattr(settings, "PROPOOR_GS1_PREFIX", DEFAULT_GS1_PREFIX))
    if not (prefix.isdigit() and 4 <= len(prefix) <= 11):
        raise ValidationFailed(
            _("PROPOOR_GS1_PREFIX must be 4 to 11 digits, not %(prefix)s.")
            % {"prefix": repr(prefix)},
            extra={"setting": "PROPOOR_GS1_PREFIX"},
        )
    return prefix


# ----------------------------------------------------------------------------- GTINs


def derived_gtin(product_id: int) -> str:
    """The GTIN-14 of a product without one: company prefix, the id, check digit."""
    prefix = gs1_prefix()
    width = 12 - len(prefix)
    reference = str(product_id)
    if product_id < 1 or len(reference) > width:
        raise ValidationFailed(
            _(
                "Product %(product)s does not fit the %(width)s-digit item references "
                "of GS1 prefix %(prefix)s; give the product a GTIN of its own."
            )
            % {"product": product_id, "width": width, "prefix": prefix},
            extra={"product": product_id, "prefix": prefix},
        )
    payload = prefix + reference.zfill(width)
    gtin = "0" + payload + str(gs1_standard_check_digit(payload))
    return Gtin.parse(gtin).as_gtin_14()  # biip checks the check digit once more


def product_gtin(product: Product) -> str:
    """The product's GTIN-14: its own when valid, else the derived one."""
    if product.gtin:
        try:
            return Gtin.parse(product.gtin).as_gtin_14()
        except ParseError:
            pass  # a wrong check digit: the product is traced by the derived GTIN
    return derived_gtin(product.pk)


def _derived_product_id(gtin14: str) -> int | None:
    prefix = gs1_prefix()
    if not gtin14.startswith("0" + prefix):
        return None
    return int(gtin14[1 + len(prefix) : 13])


# ------------------------------------------------------------------------- Digital Link


@dataclass(frozen=True)
class LinkParts:
    """What a Digital Link of a lot says: the GTIN-14 and the lot code."""

    gtin: str
    lot: str


def _element_strings(gtin14: str, lot_code: str | None) -> GS1ElementStrings:
    strings = GS1ElementStrings([GS1ElementString.parse(f"01{gtin14}")])
    if lot_code is not None:
        strings.append(GS1ElementString.parse(f"10{lot_code}"))
    return strings


def _on_our_resolver(link: GS1DigitalLinkURI) -> str:
    """The link on our resolver (biip writes https; the site may be served on http)."""
    site = urlsplit(site_url())
    prefix = "/".join(p for p in (site.path.strip("/"), RESOLVER_PATH) if p)
    uri = link.as_uri(domain=site.netloc, prefix=prefix)
    if site.scheme == "https":
        return uri
    return urlunsplit(urlsplit(uri)._replace(scheme=site.scheme))


def lot_digital_link(lot: StockLot) -> str:
    """``{site}/market/trace/01/{gtin14}/10/{lot code}``, built by biip."""
    strings = _element_strings(product_gtin(lot.product), lot.code)
    return _on_our_resolver(GS1DigitalLinkURI.from_element_strings(strings))


def lot_canonical_link(lot: StockLot) -> str:
    """The canonical form (``https://id.gs1.org/01/…/10/…``): its class in EPCIS."""
    strings = _element_strings(product_gtin(lot.product), lot.code)
    return GS1DigitalLinkURI.from_element_strings(strings).as_canonical_uri()


def link_parse(uri: str) -> LinkParts:
    """Read a lot's Digital Link (ours or any resolver's); NotFound if it is not one."""
    try:
        link = GS1DigitalLinkURI.parse(uri)
    except ParseError as exc:
        raise NotFound(_("That is not the Digital Link of a lot.")) from exc
    gtin = link.element_strings.get(ai="01")
    lot = link.element_strings.get(ai="10")
    if gtin is None or gtin.gtin is None or lot is None:
        raise NotFound(_("That is not the Digital Link of a lot."))
    return LinkParts(gtin=gtin.gtin.as_gtin_14(), lot=lot.value)


def parts_from_path(gtin: str, lot: str) -> LinkParts:
    """The GTIN and lot code from our resolver's path, checked by biip."""
    return link_parse(f"{site_url()}/{RESOLVER_PATH}/01/{gtin}/10/{lot}")


def gtin_normalise(gtin: str) -> str:
    """A GTIN-8/12/13/14 as GTIN-14; NotFound when its check digit is wrong."""
    try:
        return Gtin.parse(gtin).as_gtin_14()
    except ParseError as exc:
        raise NotFound(_("No product has that GTIN.")) from exc


def products_for_gtin(gtin14: str) -> list[Product]:
    """Products traced under a GTIN-14 (derived or their own)."""
    found: list[Product] = []
    derived = _derived_product_id(gtin14)
    if derived is not None:
        found.extend(Product.objects.filter(pk=derived))
    candidates = {gtin14, gtin14.lstrip("0").zfill(13), gtin14.lstrip("0").zfill(12)}
    found.extend(Product.objects.filter(gtin__in=candidates).exclude(pk=derived or 0))
    return [p for p in found if product_gtin(p) == gtin14]


def lot_resolve(parts: LinkParts) -> StockLot:
    products = products_for_gtin(parts.gtin)
    lot = (
        StockLot.objects.select_related("product__seller", "origin__parent")
        .filter(product__in=products, code=parts.lot)
        .order_by("id")
        .first()
    )
    if lot is None:
        raise NotFound(_("No lot has that code."))
    return lot


QR_ERROR = "m"  # 15% of the code may be smudged or covered and it still reads


def qr_svg(link: str, *, title: str = "") -> str:
    """A link as an inline SVG QR code (no size: it scales with CSS)."""
    code = segno.make(link, error=QR_ERROR)
    svg: str = code.svg_inline(
        scale=1,
        border=4,
        omitsize=True,
        light="#fff",
        svgclass="qr",
        lineclass="qr-line",
        title=title or None,
    )
    return svg


def lot_qr_svg(lot: StockLot, *, title: str = "") -> str:
    """The lot's Digital Link as an inline SVG QR code."""
    return qr_svg(lot_digital_link(lot), title=title)


def qr_file(link: str) -> str:
    """A standalone SVG document of the QR code (for printing labels)."""
    code = segno.make(link, error=QR_ERROR)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=8, border=4, light="#fff")
    return out.getvalue().decode("utf-8")


# ----------------------------------------------------------------------------- events


def best_before(lot: StockLot) -> date:
    """The last day the lot may be sold (the checkout's rule)."""
    return lot.harvested_on + timedelta(days=lot.shelf_life_days)


def event_past_best_before(event: LotEvent, lot: StockLot | None = None) -> bool:
    lot = lot or event.lot
    return event.kind in (
        LotEventKind.SHIP,
        LotEventKind.RECEIVE,
    ) and timezone.localtime(event.at).date() > best_before(lot)


def _quantity(raw: object) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(
            _("%(field)s: %(value)s is not a number.")
            % {"field": "quantity", "value": repr(raw)},
            extra={"field": "quantity"},
        ) from exc
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.001")):
        raise ValidationFailed(
            _("The quantity must be more than 0, at most three decimals."),
            extra={"field": "quantity"},
        )
    return value


def lot_event_record(
    actor: object | None,
    lot: StockLot,
    kind: str,
    at: datetime,
    place: Division | None = None,
    quantity: object = None,
    order: Order | None = None,
    note: str = "",
) -> LotEvent:
    """Record that a lot was packed, shipped or received (``actor=None``: the system).

    Events come in time order: none before the lot's last event, none in the future. A
    receipt needs a shipment not yet received. A shipment or receipt after the lot's
    best-before date is recorded but flagged (``past_best_before`` in the audit entry
    and on the public page).
    """
    if actor is not None:
        require_operator(actor, lot.product.seller)
    if kind not in RECORDABLE:
        raise ValidationFailed(
            _("kind must be one of %(choices)s.")
            % {"choices": [str(k) for k in RECORDABLE]},
            extra={"field": "kind", "reason": "kind"},
        )
    if not isinstance(at, datetime) or timezone.is_naive(at):
        raise ValidationFailed(
            _("The time of an event needs its time zone."), extra={"field": "at"}
        )
    if at > timezone.now() + CLOCK_SKEW:
        raise ValidationFailed(
            _("An event cannot be in the future."),
            extra={"field": "at", "reason": "future"},
        )
    amount = _quantity(quantity)
    if amount is not None and amount > lot.quantity:
        raise ValidationFailed(
            _("The lot has only %(quantity)s in all.")
            % {"quantity": f"{lot.quantity.normalize():f}"},
            extra={"field": "quantity", "reason": "too_much"},
        )
    if order is not None and order.seller_id != lot.product.seller_id:
        raise ValidationFailed(
            _("That order is not the seller's."), extra={"field": "order"}
        )
    if len(note) > 200:
        raise ValidationFailed(
            _("The note is at most 200 characters."), extra={"field": "note"}
        )
    with transaction.atomic():
        StockLot.objects.select_for_update().get(pk=lot.pk)
        last = LotEvent.objects.filter(lot=lot).order_by("-at", "-id").first()
        if last is not None and at < last.at:
            raise Conflict(
                _(
                    "Events are recorded in time order: the lot's last event was at "
                    "%(last)s."
                )
                % {"last": f"{timezone.localtime(last.at):%Y-%m-%d %H:%M}"},
                extra={"field": "at", "reason": "order", "last": last.at.isoformat()},
            )
        if kind == LotEventKind.RECEIVE:
            shipped = LotEvent.objects.filter(lot=lot, kind=LotEventKind.SHIP).count()
            received = LotEvent.objects.filter(
                lot=lot, kind=LotEventKind.RECEIVE
            ).count()
            if shipped <= received:
                raise Conflict(
                    _("Nothing of this lot was shipped that is not yet received."),
                    extra={"reason": "not_shipped"},
                )
        event = LotEvent.objects.create(
            lot=lot,
            kind=kind,
            at=at,
            place=place,
            quantity=amount,
            order=order,
            note=note.strip(),
            recorded_by=actor if getattr(actor, "pk", None) else None,  # type: ignore[misc]
        )
        late = event_past_best_before(event, lot)
        audit_append(
            action=f"market.lot_event.{kind}",
            actor=actor,
            object_type="market.lot",
            object_id=lot.pk,
            data={
                "event": event.pk,
                "at": at.isoformat(),
                "place": place.code if place else None,
                "quantity": str(amount) if amount is not None else None,
                "order": order.number if order else None,
                "past_best_before": late,
            },
        )
    return event


# -------------------------------------------------------------------------- public page


def producer_name(seller: Seller) -> str:
    """The seller's name, except a household shop: its head's name, masked."""
    if seller.kind == SellerKind.HOUSEHOLD_SHOP:
        household = seller.household
        return mask_name(household.head_name if household is not None else "") or "*"
    return seller.name


@dataclass(frozen=True)
class CertificationBadge:
    status: str
    certified_on: date | None
    valid_until: date | None
    notice_ends_on: date | None

    @property
    def certified(self) -> bool:
        return self.status == CertificationStatus.CERTIFIED


@dataclass(frozen=True)
class PublicEvent:
    kind: str
    at: datetime
    place: Division | None
    quantity: Decimal | None
    past_best_before: bool


@dataclass(frozen=True)
class LotPublic:
    """What anyone who scans the lot's QR code may see."""

    lot_id: int
    product_id: int
    digital_link: str
    gtin: str
    lot_code: str
    title_zh: str
    title_en: str
    unit: str
    village: Division
    township: Division | None
    producer: str
    producer_kind: str
    harvested_on: date
    best_before: date
    quantity: Decimal
    certification: CertificationBadge | None
    events: tuple[PublicEvent, ...]

    @property
    def expired(self) -> bool:
        return timezone.localdate() > self.best_before


def _badge(product: Product, on: date) -> CertificationBadge | None:
    from propoor.market.services.certification import product_certified

    current = product_certified(product, on=on)
    if current is None:
        current = (
            Certification.objects.filter(
                product=product, status=CertificationStatus.NOTICE
            )
            .order_by("-applied_at", "-id")
            .first()
        )
    if current is None:
        return None
    return CertificationBadge(
        status=current.status,
        certified_on=current.certified_on,
        valid_until=current.valid_until,
        notice_ends_on=current.notice_ends_on,
    )


def _township(village: Division) -> Division | None:
    node: Division | None = village
    while node is not None and node.level != Level.TOWNSHIP:
        node = node.parent
    return node


def lot_public(lot_or_parts: StockLot | LinkParts | tuple[str, str]) -> LotPublic:
    """The lot's public facts, from the lot or from its Digital Link's parts."""
    if isinstance(lot_or_parts, StockLot):
        lot = lot_or_parts
    else:
        parts = (
            lot_or_parts
            if isinstance(lot_or_parts, LinkParts)
            else LinkParts(gtin_normalise(lot_or_parts[0]), lot_or_parts[1])
        )
        lot = lot_resolve(parts)
    product = lot.product
    events = tuple(
        PublicEvent(
            kind=e.kind,
            at=e.at,
            place=e.place,
            quantity=e.quantity,
            past_best_before=event_past_best_before(e, lot),
        )
        for e in LotEvent.objects.filter(lot=lot)
        .select_related("place")
        .order_by("at", "id")
    )
    return LotPublic(
        lot_id=lot.pk,
        product_id=product.pk,
        digital_link=lot_digital_link(lot),
        gtin=product_gtin(product),
        lot_code=lot.code,
        title_zh=product.title_zh,
        title_en=product.title_en,
        unit=product.unit,
        village=lot.origin,
        township=_township(lot.origin),
        producer=producer_name(product.seller),
        producer_kind=product.seller.kind,
        harvested_on=lot.harvested_on,
        best_before=best_before(lot),
        quantity=lot.quantity,
        certification=_badge(product, timezone.localdate()),
        events=events,
    )


# ----------------------------------------------------------------------------- EPCIS


def place_uri(code: str) -> str:
    """The identifier of a place (a division) in EPCIS documents; a public page."""
    return f"{site_url()}/{RESOLVER_PATH}/places/{code}"


def _event_id(event: LotEvent) -> str:
    """Stable across exports: a UUID named by the event's address on this site."""
    return "urn:uuid:" + str(
        uuid.uuid5(
            uuid.NAMESPACE_URL, f"{site_url()}/{RESOLVER_PATH}/events/{event.pk}"
        )
    )


def _number(value: Decimal) -> int | float:
    """A JSON number (EPCIS quantities are xsd:double)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _iso(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return local.isoformat(timespec="milliseconds")


def _object_event(event: LotEvent, lot: StockLot, epc_class: str) -> dict[str, object]:
    kind = event.kind
    quantity = (
        event.quantity
        if event.quantity is not None
        else (lot.quantity if kind == LotEventKind.HARVEST else None)
    )
    element: dict[str, object] = {"epcClass": epc_class}
    unit = UOM.get(lot.product.unit)
    if quantity is not None and unit is not None:
        element["quantity"] = _number((quantity * unit[1]).normalize())
        element["uom"] = unit[0]
    out: dict[str, object] = {
        "type": "ObjectEvent",
        "eventID": _event_id(event),
        "eventTime": _iso(event.at),
        "eventTimeZoneOffset": TIME_ZONE_OFFSET,
        "quantityList": [element],
        "action": ACTION[kind],  # type: ignore[index]
        "bizStep": BIZ_STEP[kind],  # type: ignore[index]
        "disposition": DISPOSITION[kind],  # type: ignore[index]
    }
    place = event.place_id
    if place:
        out["readPoint"] = {"id": place_uri(place)}
        if kind != LotEventKind.SHIP:  # in transit after shipping: no business location
            out["bizLocation"] = {"id": place_uri(place)}
    if kind == LotEventKind.HARVEST:
        out["ilmd"] = {
            "cbvmda:harvestStartDate": lot.harvested_on.isoformat(),
            "cbvmda:bestBeforeDate": best_before(lot).isoformat(),
            "cbvmda:countryOfOrigin": "CN",
        }
    return out


def epcis_document(
    lots: Iterable[StockLot], *, created: datetime | None = None
) -> dict[str, object]:
    """An EPCIS 2.0 JSON-LD document: one ObjectEvent per LotEvent, in time order."""
    events: list[tuple[datetime, int, dict[str, object]]] = []
    for lot in lots:
        epc_class = lot_canonical_link(lot)
        for event in LotEvent.objects.filter(lot=lot).order_by("at", "id"):
            events.append((event.at, event.pk, _object_event(event, lot, epc_class)))
    events.sort(key=lambda item: (item[0], item[1]))
    moment = created or timezone.now()
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": moment.astimezone(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "epcisBody": {"eventList": [item[2] for item in events]},
    }


def epcis_for_product(
    product: Product, *, created: datetime | None = None
) -> dict[str, object]:
    lots: Sequence[StockLot] = list(
        StockLot.objects.filter(product=product)
        .select_related("product")
        .order_by("id")
    )
    return epcis_document(lots, created=created)


def lot_epcis(lot: StockLot, *, created: datetime | None = None) -> dict[str, object]:
    return epcis_document([lot], created=created)


__all__ = [
    "EPCIS_CONTEXT",
    "CertificationBadge",
    "LinkParts",
    "LotPublic",
    "PublicEvent",
    "best_before",
    "derived_gtin",
    "epcis_document",
    "epcis_for_product",
    "event_past_best_before",
    "gtin_normalise",
    "link_parse",
    "lot_canonical_link",
    "lot_digital_link",
    "lot_epcis",
    "lot_event_record",
    "lot_public",
    "lot_qr_svg",
    "lot_resolve",
    "mask_name",
    "parts_from_path",
    "place_uri",
    "producer_name",
    "product_gtin",
    "qr_file",
    "qr_svg",
]
