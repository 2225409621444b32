"""The market's back office: sellers, service stations, the county, a household.

- ``seller_*``: the operators of a seller manage its products (create; change the
  price, put on or off sale), its stock lots (create; record packing and shipping),
  the orders to ship and refunds asked for, and read its statement;
- ``station``: a village service station sells for a household without a smartphone
  (the checkout is the operator's, ``on_behalf_of`` the household) and records the
  cash it took (``cash_record``);
- ``county``: certified products, sales by village and month, income reaching poor
  households, top sellers, public buyers' quotas — for the user's area;
- ``household_income``: a household's own e-commerce income by month and kind.

Outside the user's scope (or another seller's) is 404; a role that may not open the
page is 403 (both through ``web.views.page``). A service's refusal is shown next to
the form that asked, with its status, and nothing is written; success redirects.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from propoor.accounts.roles import has_role
from propoor.core.errors import ApplicationError, ValidationFailed
from propoor.market import selectors
from propoor.market.cart import parse_quantity
from propoor.market.models import (
    Category,
    Channel,
    LotEventKind,
    Product,
    ProductKind,
    Seller,
    Unit,
)
from propoor.market.services import (
    LineIn,
    checkout_create,
    lot_create,
    order_transition,
    product_create,
    product_update,
)
from propoor.market.services.ledger import seller_statement
from propoor.market.services.payments import cash_record, refund_create
from propoor.market.services.traceability import lot_event_record
from propoor.market.views.store import refusal
from propoor.web.templatetags.propoor import areaname, cny
from propoor.web.views import page

if TYPE_CHECKING:
    from propoor.accounts.models import User

STATION_ROWS = 4
CASH_CHANNELS = (Channel.CASH, Channel.BANK)
INCOME_LABELS = {
    "operating": gettext_lazy("Operating income"),
    "wage": gettext_lazy("Wage income"),
    "asset": gettext_lazy("Asset income"),
}
CHART_RED = "#a61e22"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


def _year(request: HttpRequest) -> int | None:
    raw = request.GET.get("year", "")
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else None


@page
@require_GET
def office_home(request: HttpRequest) -> HttpResponse:
    """Each role to its own page of the back office."""
    user = _user(request)
    if user.household_id is not None:
        return redirect("market:office_household")
    if has_role(user, selectors.COUNTY_ROLES):
        return redirect("market:office_county")
    if has_role(user, selectors.STATION_ROLES):
        return redirect("market:office_station")
    selectors.seller_list(user)  # 403 for a user who is none of these
    return redirect("market:office_sellers")


# ============================================================================ sellers


def _seller_context(
    request: HttpRequest, seller: Seller, **extra: Any
) -> dict[str, Any]:
    return {"seller": seller, "sellers": selectors.seller_list(_user(request)), **extra}


@page
@require_GET
def seller_home(request: HttpRequest) -> HttpResponse:
    sellers = selectors.seller_list(_user(request))
    if len(sellers) == 1:
        return redirect("market:office_seller", seller_id=sellers[0].pk)
    return render(request, "market/office/sellers.html", {"sellers": sellers})


@page
@require_GET
def seller_products(request: HttpRequest, seller_id: int) -> HttpResponse:
    seller = selectors.seller_get(_user(request), seller_id)
    return render(
        request,
        "market/office/products.html",
        _seller_context(request, seller, rows=selectors.seller_products(seller)),
    )


class ProductForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), label=gettext_lazy("Category")
    )
    title_zh = forms.CharField(max_length=120, label=gettext_lazy("Title (Chinese)"))
    title_en = forms.CharField(
        max_length=120, required=False, label=gettext_lazy("Title (English)")
    )
    description_zh = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Description (Chinese)"),
    )
    description_en = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Description (English)"),
    )
    unit = forms.ChoiceField(choices=Unit.choices, label=gettext_lazy("Unit"))
    price = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        label=gettext_lazy("Price (yuan)"),
    )
    capacity_per_day = forms.IntegerField(
        min_value=0,
        max_value=10000,
        required=False,
        initial=0,
        label=gettext_lazy("Places per day (experiences)"),
    )
    gtin = forms.CharField(
        max_length=14, required=False, label=gettext_lazy("GTIN (optional)")
    )


class PriceForm(forms.Form):
    price = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        label=gettext_lazy("Price (yuan)"),
    )
    active = forms.BooleanField(required=False, label=gettext_lazy("On sale"))


@page
@require_http_methods(["GET", "POST"])
def product_new(request: HttpRequest, seller_id: int) -> HttpResponse:
    user = _user(request)
    seller = selectors.seller_get(user, seller_id)
    form = ProductForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                made = product_create(
                    user,
                    seller,
                    category=data["category"],
                    title_zh=data["title_zh"],
                    title_en=data["title_en"],
                    description_zh=data["description_zh"],
                    description_en=data["description_en"],
                    unit=data["unit"],
                    price=data["price"],
                    gtin=data["gtin"].strip(),
                    capacity_per_day=data["capacity_per_day"] or 0,
                )
            except ApplicationError as exc:
                error, status = refusal(exc), exc.status
            else:
                messages.success(
                    request, _("Product created: %(title)s.") % {"title": made.title_zh}
                )
                return redirect("market:office_seller", seller_id=seller.pk)
        else:
            status = 422
    return render(
        request,
        "market/office/product_form.html",
        _seller_context(request, seller, form=form, error=error),
        status=status,
    )


@page
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, seller_id: int, product_id: int) -> HttpResponse:
    user = _user(request)
    seller = selectors.seller_get(user, seller_id)
    item = selectors.seller_product(seller, product_id)
    form = PriceForm(
        request.POST or None, initial={"price": item.price, "active": item.active}
    )
    error, status = "", 200
    if request.method == "POST":
        if form.is_valid():
            try:
                product_update(
                    user,
                    item,
                    price=form.cleaned_data["price"],
                    active=form.cleaned_data["active"],
                )
            except ApplicationError as exc:
                error, status = refusal(exc), exc.status
            else:
                messages.success(
                    request, _("Saved: %(title)s.") % {"title": item.title_zh}
                )
                return redirect("market:office_seller", seller_id=seller.pk)
        else:
            status = 422
    return render(
        request,
        "market/office/product_edit.html",
        _seller_context(request, seller, form=form, product=item, error=error),
        status=status,
    )


class LotForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), label=gettext_lazy("Product")
    )
    code = forms.RegexField(
        regex=r"^[A-Za-z0-9-]{1,20}$",
        max_length=20,
        label=gettext_lazy("Lot number"),
        help_text=gettext_lazy("Letters, digits and dashes, up to 20."),
    )
    harvested_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label=gettext_lazy("Harvested on"),
    )
    quantity = forms.DecimalField(
        max_digits=12,
        decimal_places=3,
        min_value=Decimal("0.001"),
        label=gettext_lazy("Quantity"),
    )
    shelf_life_days = forms.IntegerField(
        min_value=1, max_value=3650, initial=30, label=gettext_lazy("Shelf life (days)")
    )

    def __init__(self, seller: Seller, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["product"]
        field.queryset = Product.objects.filter(  # type: ignore[attr-defined]
            seller=seller, kind=ProductKind.GOODS
        ).order_by("id")
        field.label_from_instance = lambda p: p.title_zh  # type: ignore[attr-defined]


@page
@require_http_methods(["GET", "POST"])
def seller_lots(request: HttpRequest, seller_id: int) -> HttpResponse:
    user = _user(request)
    seller = selectors.seller_get(user, seller_id)
    form = LotForm(
        seller,
        request.POST or None,
        initial={"harvested_on": timezone.localdate(), "shelf_life_days": 30},
    )
    error, status = "", 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                lot = lot_create(
                    user,
                    data["product"],
                    code=data["code"],
                    harvested_on=data["harvested_on"],
                    quantity=data["quantity"],
                    shelf_life_days=data["shelf_life_days"],
                )
            except ApplicationError as exc:
                error, status = refusal(exc), exc.status
            else:
                messages.success(
                    request, _("Lot %(code)s recorded.") % {"code": lot.code}
                )
                return redirect("market:office_lots", seller_id=seller.pk)
        else:
            status = 422
    return render(
        request,
        "market/office/lots.html",
        _seller_context(
            request,
            seller,
            form=form,
            error=error,
            lots=selectors.seller_lots(seller),
            event_kinds=[
                (k.value, k.label) for k in (LotEventKind.PACK, LotEventKind.SHIP)
            ],
        ),
        status=status,
    )


@page
@require_POST
def lot_event(request: HttpRequest, seller_id: int, lot_id: int) -> HttpResponse:
    """Record that a lot was packed or shipped, now."""
    user = _user(request)
    seller = selectors.seller_get(user, seller_id)
    lot = selectors.seller_lot(seller, lot_id)
    kind = request.POST.get("kind", "")
    if kind not in (LotEventKind.PACK, LotEventKind.SHIP):
        messages.error(request, _("Choose packed or shipped."))
        return redirect("market:office_lots", seller_id=seller.pk)
    try:
        quantity = request.POST.get("quantity", "").strip()
        lot_event_record(
            user,
            lot,
            kind,
            timezone.now(),
            place=lot.origin,
            quantity=parse_quantity(quantity) if quantity else None,
            note=request.POST.get("note", "").strip()[:200],
        )
    except ApplicationError as exc:
        messages.error(request, refusal(exc))
    else:
        messages.success(
            request,
            _("%(kind)s recorded for lot %(code)s.")
            % {"kind": LotEventKind(kind).label, "code": lot.code},
        )
    return redirect("market:office_lots", seller_id=seller.pk)


@page
@require_GET
def seller_orders(request: HttpRequest, seller_id: int) -> HttpResponse:
    user = _user(request)
    seller = selectors.seller_get(user, seller_id)
    return render(
        request,
        "market/office/orders.html",
        _seller_context(request, seller, rows=selectors.seller_orders(user, seller)),
    )


SELLER_DONE = {
    "ship": gettext_lazy("Order %(number)s is shipped."),
    "deliver": gettext_lazy("Order %(number)s is delivered."),
    "refund_reject": gettext_lazy("The refund of order %(number)s was refused."),
    "refund": gettext_lazy("Order %(number)s is being refunded."),
}


@page
@require_POST
def seller_order_act(request: HttpRequest, seller_id: int, number: str) -> HttpResponse:
    """Ship, confirm an experience took place, refund or refuse a refund."""
    user = _user(request)
    seller = selectors.seller_get(user, seller_id)
    order = selectors.seller_order(seller, number)
    event = request.POST.get("event", "")
    note = request.POST.get("note", "").strip()[:300]
    try:
        if event == "refund":
            refund_create(
                user, order, reason=note or _("Refund accepted by the seller.")
            )
        elif event in selectors.SELLER_EVENTS:
            order_transition(order, event, actor=user, note=note)
        else:
            raise ValidationFailed(_("Unknown action."))
    except ApplicationError as exc:
        messages.error(request, f"{order.number}: {refusal(exc)}")
    else:
        messages.success(request, str(SELLER_DONE[event]) % {"number": order.number})
    return redirect("market:office_orders", seller_id=seller.pk)


def _month_bounds(raw: str) -> tuple[datetime, datetime, str]:
    today = timezone.localdate()
    try:
        year, month = (int(x) for x in raw.split("-"))
        first = datetime(year, month, 1, tzinfo=timezone.get_current_timezone())
    except ValueError:
        first = datetime(
            today.year, today.month, 1, tzinfo=timezone.get_current_timezone()
        )
    following = datetime(
        first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=first.tzinfo
    )
    return first, following, f"{first:%Y-%m}"


@page
@require_GET
def statement(request: HttpRequest, seller_id: int) -> HttpResponse:
    seller = selectors.seller_get(_user(request), seller_id)
    since, until, month = _month_bounds(request.GET.get("month", ""))
    before = datetime(
        since.year - (since.month == 1),
        (since.month - 2) % 12 + 1,
        1,
        tzinfo=since.tzinfo,
    )
    return render(
        request,
        "market/office/statement.html",
        _seller_context(
            request,
            seller,
            statement=seller_statement(seller, since, until),
            month=month,
            previous=f"{before:%Y-%m}",
            following=f"{until:%Y-%m}" if until.date() <= timezone.localdate() else "",
        ),
    )


# ============================================================================ station


def _station_response(
    request: HttpRequest,
    *,
    error: str = "",
    status: int = 200,
    posted: dict[str, Any] | None = None,
) -> HttpResponse:
    view = selectors.station_page(_user(request))
    return render(
        request,
        "market/office/station.html",
        {
            "s": view,
            "error": error,
            "posted": posted or {},
            "rows": range(STATION_ROWS),
            "idempotency_key": uuid.uuid4().hex,
            "cash_channels": CASH_CHANNELS,
        },
        status=status,
    )


@page
@require_http_methods(["GET", "POST"])
def station(request: HttpRequest) -> HttpResponse:
    """Sell for a household of the station's village, paid in cash at the station."""
    user = _user(request)
    if request.method == "GET":
        return _station_response(request)
    posted = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
    household_id = request.POST.get("household", "")
    if not household_id.isdigit():
        return _station_response(
            request,
            error=_("Choose the household you sell for."),
            status=422,
            posted=posted,
        )
    household = selectors.station_household(user, int(household_id))
    lines: list[LineIn] = []
    titles: list[str] = []
    try:
        for n in range(STATION_ROWS):
            product = request.POST.get(f"product-{n}", "")
            quantity = request.POST.get(f"quantity-{n}", "").strip()
            if not product.isdigit() or not quantity:
                continue
            lines.append(LineIn(int(product), parse_quantity(quantity)))
            titles.append(
                Product.objects.filter(pk=int(product))
                .values_list("title_zh", flat=True)
                .first()
                or product
            )
        made, _created = checkout_create(
            user,
            lines=lines,
            idempotency_key=request.POST.get("idempotency_key", "")[:64],
            contact_name=household.head_name,
            contact_phone=request.POST.get("contact_phone", "").strip()[:20]
            or household.phone
            or "-",
            address=household.address or household.village.name,
            on_behalf_of=household,
        )
    except ApplicationError as exc:
        if exc.extra.get("problem") == "empty_cart":
            message = _("Choose at least one product and its quantity.")
        else:
            message = refusal(exc, titles)
        return _station_response(
            request, error=message, status=exc.status, posted=posted
        )
    messages.success(
        request,
        _("Checkout %(number)s made for %(household)s: %(total)s to take in cash.")
        % {
            "number": made.number,
            "household": household.head_name,
            "total": cny(made.total),
        },
    )
    return redirect("market:office_station")


@page
@require_POST
def station_cash(request: HttpRequest, number: str) -> HttpResponse:
    """The station took the money: record the payment (cash or bank transfer)."""
    user = _user(request)
    made = selectors.station_checkout(user, number)
    channel = request.POST.get("channel", Channel.CASH)
    if channel not in CASH_CHANNELS:
        messages.error(request, _("Choose cash or bank transfer."))
        return redirect("market:office_station")
    try:
        cash_record(user, made, channel=channel)
    except ApplicationError as exc:
        messages.error(request, f"{made.number}: {refusal(exc)}")
    else:
        messages.success(
            request,
            _("Payment of %(total)s recorded for %(number)s.")
            % {"total": cny(made.total), "number": made.number},
        )
    return redirect("market:office_station")


# ============================================================================= county


def county_charts(view: selectors.CountyView) -> dict[str, Any]:
    """ECharts options (drawn by propoor/charts.js): sales by village and by month."""
    out: dict[str, Any] = {}
    if view.by_village:
        rows = list(reversed(view.by_village[:15]))
        out["villages"] = {
            "height": max(160, 40 * len(rows) + 60),
            "option": {
                "grid": {
                    "left": 8,
                    "right": 64,
                    "top": 8,
                    "bottom": 24,
                    "containLabel": True,
                },
                "tooltip": {"trigger": "axis"},
                "xAxis": {
                    "type": "value",
                    "name": "¥",
                    "axisLabel": {"hideOverlap": True},
                },
                "yAxis": {
                    "type": "category",
                    "data": [areaname(r.area) for r in rows],
                    "axisLabel": {"overflow": "truncate"},
                },
                "series": [
                    {
                        "type": "bar",
                        "name": str(_("Sales")),
                        "color": CHART_RED,
                        "decimals": 2,
                        "unit": "",
                        "barMaxWidth": 28,
                        "data": [
                            {
                                "value": float(r.amount),
                                "label": {"formatter": cny(r.amount)},
                            }
                            for r in rows
                        ],
                        "label": {"show": True, "position": "right"},
                    }
                ],
            },
        }
    if view.by_month:
        out["months"] = {
            "height": 240,
            "option": {
                "grid": {
                    "left": 8,
                    "right": 16,
                    "top": 28,
                    "bottom": 24,
                    "containLabel": True,
                },
                "tooltip": {"trigger": "axis"},
                "xAxis": {
                    "type": "category",
                    "data": [f.label[5:] for f in view.by_month],
                },
                "yAxis": {"type": "value", "name": "¥"},
                "series": [
                    {
                        "type": "bar",
                        "name": str(_("Sales")),
                        "color": CHART_RED,
                        "decimals": 2,
                        "unit": "",
                        "barMaxWidth": 28,
                        "data": [float(f.amount) for f in view.by_month],
                    }
                ],
            },
        }
    return out


@page
@require_GET
def county(request: HttpRequest) -> HttpResponse:
    view = selectors.county_view(_user(request), _year(request))
    return render(
        request,
        "market/office/county.html",
        {
            "v": view,
            "charts": county_charts(view),
            "income_labels": {k: str(v) for k, v in INCOME_LABELS.items()},
        },
    )


# ======================================================================== a household


@page
@require_GET
def household_income(request: HttpRequest) -> HttpResponse:
    view = selectors.household_income_page(_user(request), _year(request))
    return render(request, "market/office/household.html", {"v": view})
