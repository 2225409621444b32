"""The local sandbox gateway's HTTP face (see :mod:`propoor.market.payments.sandbox`).

Served only while a gateway setting points at the sandbox (``keys.sandbox_enabled``);
404 otherwise, so a production site configured for the real gateways has no sandbox.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from propoor.market.payments import keys, sandbox
from propoor.market.payments.views import relative


def _require_sandbox() -> None:
    if not keys.sandbox_enabled():
        raise Http404("The payment sandbox is off.")


def _response(answer: sandbox.Answer) -> HttpResponse:
    if answer.redirect:
        return redirect(relative(answer.redirect))
    response = HttpResponse(
        answer.body, status=answer.status, content_type=answer.content_type
    )
    for name, value in answer.headers.items():
        response[name] = value
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def alipay_gateway(request: HttpRequest) -> HttpResponse:
    """Alipay's ``gateway.do``: page pay (→ cashier), query and refund."""
    _require_sandbox()
    params = {**request.GET.dict(), **request.POST.dict()}
    return _response(sandbox.alipay_gateway(params))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def wechat_api(request: HttpRequest, rest: str) -> HttpResponse:
    """WeChat Pay's API v3 (``/v3/…`` under the sandbox's base URL)."""
    _require_sandbox()
    full = request.get_full_path()
    canonical = full[full.index("/v3/") :]  # the URL as the merchant signed it
    return _response(
        sandbox.wechat_api(
            request.method or "GET", canonical, dict(request.headers), request.body
        )
    )


def _safe_next(request: HttpRequest, url: str) -> str:
    hosts = {request.get_host(), urlsplit(keys.site_url()).netloc}
    return url if url_has_allowed_host_and_scheme(url, allowed_hosts=hosts) else ""


@require_http_methods(["GET", "POST"])
def cashier(request: HttpRequest, gateway: str, out_trade_no: str) -> HttpResponse:
    """The page the buyer pays on: Pay, Cancel; once paid, the notifications sent."""
    _require_sandbox()
    if gateway not in ("alipay", "wechat"):
        raise Http404("No such gateway.")
    found = sandbox.trade(gateway, out_trade_no)
    if found is None:
        raise Http404("No such trade in the sandbox.")
    next_url = _safe_next(
        request, request.POST.get("next") or request.GET.get("next", "")
    )
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "pay":
            found = sandbox.cashier_pay(gateway, out_trade_no)
            target = (
                sandbox.alipay_return_url(found) if gateway == "alipay" else next_url
            )
        elif action == "cancel":
            found = sandbox.cashier_cancel(gateway, out_trade_no)
            target = found.get("return_url", "") if gateway == "alipay" else next_url
        elif action == "notify" and sandbox.is_paid(found):
            sandbox.notify(found)
            target = ""
        else:
            return HttpResponseBadRequest("Unknown action.")
        if target:
            return redirect(relative(target))
        return redirect(request.get_full_path())
    code_url = ""
    if gateway == "wechat":
        code_url = f"weixin://wxpay/bizpayurl?pr={found['code']}"
    return render(
        request,
        "market/pay/sandbox_cashier.html",
        {
            "gateway": gateway,
            "trade": found,
            "amount": sandbox.amount_of(found),
            "subject": found.get("subject") or found.get("description", ""),
            "gateway_trade_no": found.get("trade_no")
            or found.get("transaction_id", ""),
            "merchant": getattr(settings, "PROPOOR_PAY_MERCHANT_NAME", "")
            or "ProPoor 扶贫商城",
            "open": sandbox.is_open(found),
            "paid": sandbox.is_paid(found),
            "refunded": _refunded(found),
            "deliveries": [
                {**d, "at": datetime.fromisoformat(d["at"])}
                for d in reversed(found["deliveries"][-5:])
            ],
            "next": next_url,
            "back": relative(found.get("return_url", "") or next_url),
            "qr": segno.make(code_url, error="m").svg_inline(scale=4)
            if code_url
            else "",
        },
    )


def _refunded(found: sandbox.Trade) -> Decimal:
    if found["gateway"] == "alipay":
        return sum((Decimal(v) for v in found["refunds"].values()), Decimal(0))
    return Decimal(sum(r["amount"] for r in found["refunds"].values())) / 100
