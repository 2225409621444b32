"""/market/trace/: lots' GS1 Digital Links (public), their EPCIS documents and QR codes,
places named in EPCIS documents, and (under certification/) the certification pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from propoor.market.views import certification, trace

urlpatterns: list[URLPattern] = [
    path("01/<str:gtin>/10/<str:lot>", trace.lot_page, name="trace_lot"),
    path(
        "01/<str:gtin>/10/<str:lot>/epcis.json", trace.lot_epcis, name="trace_lot_epcis"
    ),
    path("01/<str:gtin>/10/<str:lot>/qr.svg", trace.lot_qr, name="trace_lot_qr"),
    path("01/<str:gtin>/epcis.json", trace.product_epcis, name="trace_product_epcis"),
    path("places/<str:code>", trace.place_page, name="trace_place"),
    path("certification/", certification.queue, name="cert_queue"),
    path(
        "certification/<int:certification_id>/",
        certification.detail,
        name="cert_detail",
    ),
    path(
        "certification/<int:certification_id>/decide",
        certification.decide,
        name="cert_decide",
    ),
    path(
        "certification/products/<int:product_id>/",
        certification.history,
        name="cert_product",
    ),
    path(
        "certification/products/<int:product_id>/apply",
        certification.apply,
        name="cert_apply",
    ),
]
