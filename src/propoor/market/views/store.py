"""The storefront: browse and search, a product, the cart, checkout, my orders.

Browsing needs no login; the cart lives in the session (:mod:`propoor.market.cart`)
and checking out asks to log in. The checkout form carries an idempotency key made
for each render, so pressing "Place the order" twice makes one checkout. A refusal
of the services (out of stock, a date without places …) is shown on the page that
asked, with its status, and nothing is written; a success redirects (post, redirect,
get). Each view validates its input, calls the selectors or one service, renders.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from propoor.core.errors import ApplicationError, NotFound, PermissionDenied
from propoor.market import cart as session_cart
from propoor.market import selectors
from propoor.market.models import Channel, Checkout, Order, Product, ProductKind
from propoor.market.services import checkout_create, order_transition
from propoor.market.services.buyers import public_buyer_of, review_create
from propoor.web.templatetags.propoor import localdate
from propoor.web.views import page

if TYPE_CHECKING:
    from propoor.accounts.models import User

View = Callable[..., HttpResponse]
PAY_CHANNELS = (Channel.ALIPAY, Channel.WECHAT)
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}
# A refused line of the cart, by its problem (``extra`` of the checkout's refusal),
# said after the title of its product.
LINE_PROBLEMS: dict[str, Any] = {
    "not_positive": gettext_lazy("The quantity must be more than 0."),
    "decimals": gettext_lazy("The quantity has at most three decimals."),
    "whole_units": gettext_lazy("this product is sold by whole units."),
    "not_on_sale": gettext_lazy("this product is no longer on sale."),
    "no_date": gettext_lazy("Choose the date of the experience."),
    "date_passed": gettext_lazy("that date has passed."),
    "not_by_date": gettext_lazy("Goods are not sold by date."),
    "twice": gettext_lazy("The same product appears twice."),
}

# Refusals of the services as the pages word them, by the services' English message
# (the services translate their messages; these entries reword some for a page).
REFUSALS: dict[str, Any] = {
    "The cart is empty.": gettext_lazy("The cart is empty."),
    "Give a contact name and phone number.": gettext_lazy(
        "Give a contact name and phone number."
    ),
    "Send an idempotency key of 8 to 64 characters.": gettext_lazy(
        "The form has expired; please try again."
    ),
    "The quantity must be more than 0.": gettext_lazy(
        "The quantity must be more than 0."
    ),
    "The quantity has at most three decimals.": gettext_lazy(
        "The quantity has at most three decimals."
    ),
    "The quantity is too large.": gettext_lazy("The quantity is too large."),
    "You may not cancel this order.": gettext_lazy("You may not cancel this order."),
    "You may not deliver this order.": gettext_lazy(
        "You may not confirm delivery of this order."
    ),
    "You may not request refund this order.": gettext_lazy(
        "You may not ask for a refund of this order."
    ),
    "Review an order once it is completed.": gettext_lazy(
        "Review an order once it is completed."
    ),
    "You have already reviewed this product for this order.": gettext_lazy(
        "You have already reviewed this product for this order."
    ),
    "Give a rating from 1 to 5.": gettext_lazy("Give a rating from 1 to 5."),
    # the back office's
    "A product needs a Chinese title.": gettext_lazy(
        "A product needs a Chinese title."
    ),
    "An experience needs a capacity per day.": gettext_lazy(
        "An experience needs a capacity per day."
    ),
    "Experiences are sold by the person-day.": gettext_lazy(
        "Experiences are sold by the person-day."
    ),
    "A GTIN has 13 or 14 digits.": gettext_lazy("A GTIN has 13 or 14 digits."),
    "The price must be more than 0.": gettext_lazy("The price must be more than 0."),
    "The harvest date is in the future.": gettext_lazy(
        "The harvest date is in the future."
    ),
    "Experiences have places per day, not stock lots.": gettext_lazy(
        "Experiences have places per day, not stock lots."
    ),
    "An event cannot be in the future.": gettext_lazy(
        "An event cannot be in the future."
    ),
    "Nothing of this lot was shipped that is not yet received.": gettext_lazy(
        "Nothing of this lot was shipped that is not yet received."
    ),
    "This checkout is paid already.": gettext_lazy("This checkout is paid already."),
    "Nothing in this checkout is waiting for payment.": gettext_lazy(
        "Nothing in this checkout is waiting for payment."
    ),
    "Unknown action.": gettext_lazy("Unknown action."),
    "A search has at most 5 words.": gettext_lazy("A search has at most 5 words."),
}
LOT_EXISTS = re.compile(r"^Lot (\S+) already exists for this product\.$")


def refusal(exc: ApplicationError, titles: Sequence[str] = ()) -> str:
    """A service's refusal in the page's language, naming the product it is about.

    ``titles`` are the titles of the lines sent, so that a refused line (its number and
    problem in the refusal's ``extra``) is named by its product.
    """
    message = exc.message
    extra = exc.extra
    if exc.status == 409 and "available" in extra:
        title = _product_title(extra.get("product"))
        if "date" in extra:
            day = date.fromisoformat(str(extra["date"]))
            return _("Only %(n)s places left on %(day)s for %(title)s.") % {
                "n": extra["available"],
                "day": localdate(day),
                "title": title,
            }
        return _("Only %(n)s %(unit)s of %(title)s left.") % {
            "n": _quantity_text(str(extra["available"])),
            "unit": _unit_label(extra.get("product")),
            "title": title,
        }
    problem = LINE_PROBLEMS.get(str(extra.get("problem")))
    if isinstance(extra.get("line"), int) and problem is not None:
        index = int(extra["line"]) - 1  # type: ignore[call-overload]
        prefix = f"{titles[index]}: " if 0 <= index < len(titles) else ""
        return prefix + str(problem)
    exists = LOT_EXISTS.match(message)
    if exists is not None:
        return _("Lot %(code)s already exists for this product.") % {"code": exists[1]}
    text = REFUSALS.get(message)
    if text is None:
        # The services translate their messages: find them in the page's language.
        text = next((v for k, v in REFUSALS.items() if _(k) == message), message)
    return str(text)


def _product(product_id: object) -> Product | None:
    if not isinstance(product_id, int):
        return None
    return Product.objects.filter(pk=product_id).first()


def _product_title(product_id: object) -> str:
    product = _product(product_id)
    return product.t("title") if product is not None else ""


def _unit_label(product_id: object) -> str:
    product = _product(product_id)
    return product.get_unit_display() if product is not None else ""


def _quantity_text(raw: str) -> str:
    text = raw.rstrip("0").rstrip(".") if "." in raw else raw
    return text or "0"


def public(view: View) -> View:
    """No login needed; selector errors mapped to Django's 404 and 403 pages."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc

    return wrapper


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """A storefront page, with the number of lines in the cart for the menu."""
    context = {"cart_count": session_cart.cart_count(request.session), **context}
    return render(request, f"market/store/{template}", context, status=status)


def _int(raw: object, default: int = 0) -> int:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else default


# --------------------------------------------------------------------- browse


@public
@require_GET
def store(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:60]
    category = request.GET.get("category", "")[:40]
    village = request.GET.get("village", "")
    village = village if re.fullmatch(r"[0-9]{12}", village) else ""
    certified = request.GET.get("certified") in {"1", "on", "true"}
    error, status = "", 200
    try:
        front = selectors.storefront(
            query=query,
            category=category,
            village=village,
            certified=certified,
            page=_int(request.GET.get("page"), 1),
        )
    except ApplicationError as exc:  # a search the search cannot take
        error, status = refusal(exc), exc.status
        front = selectors.storefront(
            category=category, village=village, certified=certified
        )
    return _render(
        request,
        "store.html",
        {
            "front": front,
            "error": error,
            "filtered": bool(query or category or village or certified),
            "next_url": _page_url(request, front.page + 1),
            "previous_url": _page_url(request, front.page - 1),
        },
        status=status,
    )


def _page_url(request: HttpRequest, number: int) -> str:
    wanted: dict[str, str] = {
        key: str(value) for key, value in request.GET.items() if value and key != "page"
    }
    if number > 1:
        wanted["page"] = str(number)
    query = urlencode(wanted)
    return reverse("market:home") + (f"?{query}" if query else "")


def _product_response(
    request: HttpRequest,
    product_id: int,
    *,
    error: str = "",
    status: int = 200,
    chosen: str = "",
) -> HttpResponse:
    view = selectors.product_page(product_id)
    return _render(
        request,
        "product.html",
        {"p": view, "product": view.product, "error": error, "chosen": chosen},
        status=status,
    )


@public
@require_GET
def product(request: HttpRequest, product_id: int) -> HttpResponse:
    return _product_response(request, product_id)


@require_GET
def photo(request: HttpRequest, photo_id: int) -> HttpResponse:
    try:
        image = selectors.photo_get(photo_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if image.content_type not in PHOTO_TYPES:
        raise Http404("Not an image.")
    response = HttpResponse(bytes(image.data), content_type=image.content_type)
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------- the cart


def _cart_response(
    request: HttpRequest,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, str] | None = None,
) -> HttpResponse:
    view = selectors.cart_page(session_cart.cart_lines(request.session))
    user = request.user
    contact = dict(form or {})
    if not contact and user.is_authenticated:
        last = Checkout.objects.filter(buyer=user, on_behalf_of__isnull=True).first()
        contact = {
            "contact_name": last.contact_name if last else user.get_full_name(),
            "contact_phone": last.contact_phone if last else "",
            "address": last.address if last else "",
        }
    login = f"{reverse('web:login')}?{urlencode({'next': reverse('market:cart')})}"
    organisation = (
        public_buyer_of(user, timezone.localdate().year)  # type: ignore[arg-type]
        if user.is_authenticated
        else None
    )
    return _render(
        request,
        "cart.html",
        {
            "cart": view,
            "error": error,
            "contact": contact,
            "organisation": organisation,
            "idempotency_key": uuid.uuid4().hex,
            "login_url": login,
        },
        status=status,
    )


@public
@require_GET
def cart(request: HttpRequest) -> HttpResponse:
    return _cart_response(request)


@public
@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    product_id = _int(request.POST.get("product"))
    item = Product.objects.filter(
        pk=product_id, active=True, seller__active=True
    ).first()
    if item is None:
        raise Http404("No such product on sale.")
    raw_day = request.POST.get("date", "")
    try:
        day = session_cart.parse_date(raw_day)
        if item.kind == ProductKind.EXPERIENCE and day is None:
            raise ApplicationError(_("Choose the date of the experience."))
        if item.kind == ProductKind.GOODS:
            day = None
        session_cart.cart_add(
            request.session, item.pk, request.POST.get("quantity", "1"), day
        )
    except ApplicationError as exc:
        return _product_response(
            request, item.pk, error=refusal(exc), status=422, chosen=raw_day
        )
    messages.success(
        request, _("Added to the cart: %(title)s.") % {"title": item.t("title")}
    )
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("market:cart")


@public
@require_POST
def cart_update(request: HttpRequest) -> HttpResponse:
    """Change the quantities ("quantity-<line>") or remove one line ("remove")."""
    session = request.session
    try:
        if request.POST.get("remove"):
            product_id, day = session_cart.parse_key(request.POST["remove"])
            session_cart.cart_remove(session, product_id, day)
        else:
            for line in session_cart.cart_lines(session):
                raw = request.POST.get(f"quantity-{line.key}")
                if raw is not None and raw.strip():
                    session_cart.cart_update(session, line.product_id, raw, line.date)
    except ApplicationError as exc:
        return _cart_response(request, error=refusal(exc), status=422)
    return redirect("market:cart")


@public
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    """Place the orders: one per seller, stock held while the buyer pays."""
    if not request.user.is_authenticated:
        login = reverse("web:login")
        return redirect(f"{login}?{urlencode({'next': reverse('market:cart')})}")
    form = {
        "contact_name": request.POST.get("contact_name", "").strip()[:60],
        "contact_phone": request.POST.get("contact_phone", "").strip()[:20],
        "address": request.POST.get("address", "").strip()[:300],
    }
    lines = session_cart.cart_lines(request.session)
    titles = _line_titles(lines)
    buyer = _user(request)
    organisation = (
        public_buyer_of(buyer, timezone.localdate().year)
        if request.POST.get("for_organisation") == "1"
        else None
    )
    if request.POST.get("for_organisation") == "1" and organisation is None:
        return _cart_response(
            request,
            error=_("You do not buy for an organisation this year."),
            status=403,
            form=form,
        )
    try:
        made, created = checkout_create(
            buyer,
            public_buyer=organisation,
            lines=[line.as_line_in() for line in lines],
            idempotency_key=request.POST.get("idempotency_key", "")[:64],
            contact_name=form["contact_name"],
            contact_phone=form["contact_phone"],
            address=form["address"],
        )
    except ApplicationError as exc:
        return _cart_response(
            request, error=refusal(exc, titles), status=exc.status, form=form
        )
    if created:
        session_cart.cart_clear(request.session)
    return redirect("market:checkout_detail", number=made.number)


def _line_titles(lines: Sequence[session_cart.CartLine]) -> list[str]:
    products = {
        p.pk: p for p in Product.objects.filter(pk__in=[x.product_id for x in lines])
    }
    return [
        products[x.product_id].t("title")
        if x.product_id in products
        else str(x.product_id)
        for x in lines
    ]


def pay_url(number: str, channel: str) -> str:
    """Where the buyer starts paying through ``channel`` (the payments' own page)."""
    try:
        return reverse("market:pay_start", args=[number, channel])
    except NoReverseMatch:
        return ""


@page
@require_GET
def checkout_detail(request: HttpRequest, number: str) -> HttpResponse:
    view = selectors.checkout_page(_user(request), number)
    channels = [
        (channel.value, channel.label, pay_url(number, channel.value))
        for channel in PAY_CHANNELS
    ]
    return _render(
        request,
        "checkout.html",
        {"c": view, "checkout": view.checkout, "channels": channels},
    )


# --------------------------------------------------------------------- my orders


@page
@require_GET
def orders(request: HttpRequest) -> HttpResponse:
    return _render(
        request, "orders.html", {"orders": selectors.order_list(_user(request))}
    )


def _order_response(
    request: HttpRequest, number: str, *, error: str = "", status: int = 200
) -> HttpResponse:
    view = selectors.order_page(_user(request), number)
    channels = [
        (
            channel.value,
            channel.label,
            pay_url(view.order.checkout.number, channel.value),
        )
        for channel in PAY_CHANNELS
    ]
    return _render(
        request,
        "order.html",
        {"o": view, "order": view.order, "error": error, "channels": channels},
        status=status,
    )


@page
@require_GET
def order(request: HttpRequest, number: str) -> HttpResponse:
    return _order_response(request, number)


EVENT_DONE = {
    "cancel": gettext_lazy("The order is cancelled."),
    "deliver": gettext_lazy("Thank you: delivery confirmed."),
    "complete": gettext_lazy("The order is completed."),
    "request_refund": gettext_lazy("Your refund request was sent to the seller."),
}


@page
@require_POST
def order_act(request: HttpRequest, number: str) -> HttpResponse:
    """The buyer cancels, confirms delivery, completes, or asks for a refund."""
    user = _user(request)
    event = request.POST.get("event", "")
    found = (
        Order.objects.filter(number=number, buyer=user).select_related("seller").first()
    )
    if found is None:
        raise Http404("No such order.")
    if event not in selectors.BUYER_EVENTS:
        return _order_response(request, number, error=_("Unknown action."), status=400)
    note = request.POST.get("reason", "").strip()[:300]
    if event == "request_refund" and not note:
        return _order_response(
            request, number, error=_("Say why you want a refund."), status=422
        )
    try:
        order_transition(found, event, actor=user, note=note)
    except ApplicationError as exc:
        if exc.status == 409:
            message = _(
                "This order is now “%(status)s”; that cannot be done any more."
            ) % {
                "status": Order(
                    status=str(exc.extra.get("status", found.status))
                ).get_status_display()
            }
        else:
            message = refusal(exc)
        return _order_response(request, number, error=message, status=exc.status)
    messages.success(request, str(EVENT_DONE[event]))
    return redirect("market:order_detail", number=number)


@page
@require_POST
def order_review(request: HttpRequest, number: str) -> HttpResponse:
    """A review of one product of a completed order."""
    user = _user(request)
    found = Order.objects.filter(number=number, buyer=user).first()
    if found is None:
        raise Http404("No such order.")
    rating = _int(request.POST.get("rating"))
    product_id = _int(request.POST.get("product"))
    line = found.lines.filter(product_id=product_id).select_related("product").first()
    if line is None:
        return _order_response(
            request, number, error=_("Choose a product of this order."), status=422
        )
    try:
        review_create(
            user,
            order=found,
            product=line.product,
            rating=rating,
            text=request.POST.get("text", "").strip()[:2000],
        )
    except ApplicationError as exc:
        return _order_response(request, number, error=refusal(exc), status=exc.status)
    messages.success(request, _("Thank you for your review."))
    return redirect("market:order_detail", number=number)
