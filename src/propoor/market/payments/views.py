"""Our payment endpoints: the gateways' notify URLs, and the buyer's start and return
pages. Thin: the services in :mod:`propoor.market.services.payments` decide."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import segno
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from propoor.core.errors import ApplicationError
from propoor.market.models import Channel, Checkout, OrderStatus, PaymentStatus
from propoor.market.payments.keys import site_url, wechat_config
from propoor.market.payments.types import GatewayUnavailable
from propoor.market.services.payments import (
    notification_receive,
    payment_create,
    payment_sync,
)
from propoor.web.views import page

if TYPE_CHECKING:
    from propoor.market.models import Order

ONLINE = (Channel.ALIPAY, Channel.WECHAT)


def relative(url: str) -> str:
    """A URL on our own site made host-relative, so the browser keeps its host (and
    its session) whichever name it reached us by."""
    base = site_url()
    return url[len(base) :] if url.startswith(base + "/") else url


def _notify(request: HttpRequest, channel: str) -> HttpResponse:
    status, body, content_type = notification_receive(
        channel, dict(request.headers), request.body
    )
    return HttpResponse(body, status=status, content_type=content_type)


@csrf_exempt
@require_POST
def notify_alipay(request: HttpRequest) -> HttpResponse:
    return _notify(request, Channel.ALIPAY)


@csrf_exempt
@require_POST
def notify_wechat(request: HttpRequest) -> HttpResponse:
    return _notify(request, Channel.WECHAT)


def _own_checkout(request: HttpRequest, number: str) -> Checkout:
    checkout = Checkout.objects.filter(number=number, buyer_id=request.user.pk).first()
    if checkout is None:
        raise Http404("No such checkout.")
    return checkout


def _maybe_url(name: str, *args: object) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@page
def pay_start(request: HttpRequest, number: str, channel: str) -> HttpResponse:
    if channel not in ONLINE:
        raise Http404("No such way to pay online.")
    checkout = _own_checkout(request, number)
    return_url = reverse("market:pay_return", args=[checkout.number])
    try:
        payment, url = payment_create(request.user, checkout, channel)
    except ApplicationError as exc:
        return render(
            request,
            "market/pay/problem.html",
            {"checkout": checkout, "message": exc.message, "return_url": return_url},
            status=exc.status,
        )
    if channel == Channel.ALIPAY:
        return redirect(relative(url))
    if wechat_config().is_sandbox:
        # The sandbox's cashier stands in for the buyer's phone scanning the code.
        cashier = reverse(
            "market:sandbox_cashier",
            kwargs={"gateway": "wechat", "out_trade_no": payment.out_trade_no},
        )
        return redirect(f"{cashier}?{urlencode({'next': return_url})}")
    return render(
        request,
        "market/pay/qr.html",
        {
            "checkout": checkout,
            "payment": payment,
            "return_url": return_url,
            "qr": segno.make(url, error="m").svg_inline(scale=6, dark="#111"),
        },
    )


def _state(checkout: Checkout, orders: list[Order]) -> str:
    statuses = set(checkout.payments.values_list("status", flat=True))
    if statuses & {PaymentStatus.PAID, PaymentStatus.REFUNDED}:
        return "paid"
    if PaymentStatus.CREATED in statuses and any(
        o.status == OrderStatus.PENDING_PAYMENT for o in orders
    ):
        return "waiting"
    return "failed"


@page
def pay_return(request: HttpRequest, number: str) -> HttpResponse:
    """Where the gateway sends the buyer back: paid, still waiting, or not paid."""
    checkout = _own_checkout(request, number)
    latest = (
        checkout.payments.filter(status=PaymentStatus.CREATED, channel__in=ONLINE)
        .order_by("-created_at", "-id")
        .first()
    )
    if latest is not None:
        # The notification may still be on its way: ask the gateway (same apply path).
        with suppress(GatewayUnavailable):
            payment_sync(latest)
    orders = list(checkout.orders.select_related("seller").order_by("number"))
    state = _state(checkout, orders)
    can_retry = state == "failed" and any(
        o.status == OrderStatus.PENDING_PAYMENT for o in orders
    )
    return render(
        request,
        "market/pay/return.html",
        {
            "checkout": checkout,
            "state": state,
            "can_retry": can_retry,
            "payments": list(checkout.payments.order_by("-created_at", "-id")),
            "orders": [
                (o, _maybe_url("market:order_detail", o.number)) for o in orders
            ],
            "orders_url": _maybe_url("market:orders"),
            "shop_url": _maybe_url("market:home"),
        },
    )
