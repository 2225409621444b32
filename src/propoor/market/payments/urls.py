"""/market/pay/: the gateways' notify URLs, the buyer's start and return pages, and the
local sandbox gateway (the other side, under sandbox/)."""

from __future__ import annotations

from django.urls import path

from propoor.market.payments import sandbox_views, views

urlpatterns = [
    path("notify/alipay", views.notify_alipay, name="notify_alipay"),
    path("notify/wechat", views.notify_wechat, name="notify_wechat"),
    path("start/<str:number>/<str:channel>", views.pay_start, name="pay_start"),
    path("return/<str:number>", views.pay_return, name="pay_return"),
    path(
        "sandbox/alipay/gateway",
        sandbox_views.alipay_gateway,
        name="sandbox_alipay_gateway",
    ),
    path(
        "sandbox/<str:gateway>/cashier/<str:out_trade_no>",
        sandbox_views.cashier,
        name="sandbox_cashier",
    ),
    # after the cashier: WeChat Pay's API is everything else under sandbox/wechat/
    path(
        "sandbox/wechat/<path:rest>",
        sandbox_views.wechat_api,
        name="sandbox_wechat_api",
    ),
]
