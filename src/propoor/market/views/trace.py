"""Public traceability pages: what a buyer sees after scanning a lot's QR code.

No login. The path is the lot's GS1 Digital Link on our resolver,
``/market/trace/01/{gtin}/10/{lot}``; a GTIN given in fewer than 14 digits is redirected
to the 14-digit form, and ``?linkType=gs1:epcis`` (the GS1 link type for EPCIS event
data) to the lot's EPCIS 2.0 JSON-LD document. A wrong check digit or an unknown lot is
404. The page never shows a household head's full name, a seller's phone, order numbers
or the operators' notes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from propoor.areas.models import Division
from propoor.core.errors import NotFound
from propoor.market.models import LotEventKind, Product, SellerKind, StockLot, Unit
from propoor.market.services import traceability

View = Callable[..., HttpResponse]
EPCIS_LINK_TYPE = "gs1:epcis"
JSON_LD = "application/ld+json"


def public(view: View) -> View:
    """No login; a NotFound of the services becomes the 404 page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def unit_text(unit: str, value: Decimal) -> str:
    """The unit after a number, in the page's language (one piece, 2 pieces)."""
    one = value == 1
    texts = {
        Unit.KG: _("kg"),
        Unit.JIN: _("jin"),
        Unit.PIECE: _("piece") if one else _("pieces"),
        Unit.BOX: _("box") if one else _("boxes"),
        Unit.PERSON_DAY: _("person-day") if one else _("person-days"),
    }
    return str(texts.get(unit, unit))  # type: ignore[call-overload]


def quantity_text(value: Decimal | None, unit: str) -> str:
    """``100 kg``, ``2.5 jin``, ``1,200 pieces``: no trailing zeros, grouped."""
    if value is None:
        return ""
    number = value.normalize()
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    return _("%(number)s %(unit)s") % {
        "number": f"{number:,f}",
        "unit": unit_text(unit, number),
    }


@dataclass(frozen=True)
class EventRow:
    kind: str
    label: str
    at: datetime
    place: Division | None
    quantity: str
    past_best_before: bool


def _event_label(kind: str) -> str:
    return str(LotEventKind(kind).label) if kind in LotEventKind.values else kind


def _producer_kind(kind: str) -> str:
    return str(SellerKind(kind).label) if kind in SellerKind.values else kind


@public
@require_GET
def lot_page(request: HttpRequest, gtin: str, lot: str) -> HttpResponse:
    parts = traceability.parts_from_path(gtin, lot)
    if request.GET.get("linkType") == EPCIS_LINK_TYPE:
        return redirect("market:trace_lot_epcis", gtin=parts.gtin, lot=parts.lot)
    if gtin != parts.gtin:
        return redirect(
            "market:trace_lot", gtin=parts.gtin, lot=parts.lot, permanent=True
        )
    info = traceability.lot_public(parts)
    events = [
        EventRow(
            kind=e.kind,
            label=_event_label(e.kind),
            at=e.at,
            place=e.place,
            quantity=quantity_text(e.quantity, info.unit),
            past_best_before=e.past_best_before,
        )
        for e in info.events
    ]
    context = {
        "info": info,
        "title": info.title_en
        if (request.LANGUAGE_CODE or "").startswith("en") and info.title_en
        else info.title_zh,
        "quantity": quantity_text(info.quantity, info.unit),
        "producer_kind": _producer_kind(info.producer_kind),
        "events": events,
        "qr": traceability.qr_svg(info.digital_link, title=_("QR code of this lot")),
        "today": timezone.localdate(),
        "epcis_url": reverse(
            "market:trace_lot_epcis", kwargs={"gtin": info.gtin, "lot": info.lot_code}
        ),
        "qr_url": reverse(
            "market:trace_lot_qr", kwargs={"gtin": info.gtin, "lot": info.lot_code}
        ),
    }
    return render(request, "market/trace/lot.html", context)


def _json_ld(document: dict[str, object], filename: str) -> HttpResponse:
    body = json.dumps(document, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type=f"{JSON_LD}; charset=utf-8")
    response.headers["Content-Disposition"] = (
        content_disposition_header(True, filename) or "attachment"
    )
    response.headers["Access-Control-Allow-Origin"] = "*"  # public data, for any tool
    return response


def _lot(gtin: str, lot: str) -> StockLot:
    return traceability.lot_resolve(traceability.parts_from_path(gtin, lot))


@public
@require_GET
def lot_epcis(request: HttpRequest, gtin: str, lot: str) -> HttpResponse:
    found = _lot(gtin, lot)
    return _json_ld(
        traceability.lot_epcis(found),
        f"epcis-{traceability.product_gtin(found.product)}-{found.code}.json",
    )


@public
@require_GET
def lot_qr(request: HttpRequest, gtin: str, lot: str) -> HttpResponse:
    """The QR code as an SVG file, to print on labels."""
    found = _lot(gtin, lot)
    response = HttpResponse(
        traceability.qr_file(traceability.lot_digital_link(found)),
        content_type="image/svg+xml",
    )
    response.headers["Content-Disposition"] = (
        content_disposition_header(
            True, f"qr-{traceability.product_gtin(found.product)}-{found.code}.svg"
        )
        or "attachment"
    )
    return response


@public
@require_GET
def product_epcis(request: HttpRequest, gtin: str) -> HttpResponse:
    """Every lot of the product (all products sharing the GTIN) in one document."""
    gtin14 = traceability.gtin_normalise(gtin)
    products: list[Product] = traceability.products_for_gtin(gtin14)
    if not products:
        raise NotFound(_("No product has that GTIN."))
    lots = list(
        StockLot.objects.filter(product__in=products)
        .select_related("product")
        .order_by("id")
    )
    return _json_ld(traceability.epcis_document(lots), f"epcis-{gtin14}.json")


@public
@require_GET
def place_page(request: HttpRequest, code: str) -> HttpResponse:
    """A place named in EPCIS documents (a division): its name and where it lies."""
    place = Division.objects.filter(code=code).select_related("parent").first()
    if place is None:
        raise NotFound(_("No such place."))
    chain = []
    node: Division | None = place
    while node is not None:
        chain.append(node)
        node = node.parent
    return render(
        request,
        "market/trace/place.html",
        {"place": place, "chain": list(reversed(chain))},
    )
