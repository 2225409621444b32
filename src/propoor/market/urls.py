"""/market/: storefront, seller and station back office, payments, traceability."""

from __future__ import annotations

from django.urls import include, path

app_name = "market"
urlpatterns = [
    path("", include("propoor.market.views.urls_store")),
    path("office/", include("propoor.market.views.urls_office")),
    path("pay/", include("propoor.market.payments.urls")),
    path("trace/", include("propoor.market.trace_urls")),
]
