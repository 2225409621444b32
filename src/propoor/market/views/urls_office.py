"""The back office: sellers, stations, the county, a household (at /market/office/)."""

from __future__ import annotations

from django.urls import path

from propoor.market.views import office

urlpatterns = [
    path("", office.office_home, name="office"),
    path("seller/", office.seller_home, name="office_sellers"),
    path("seller/<int:seller_id>/", office.seller_products, name="office_seller"),
    path(
        "seller/<int:seller_id>/products/new",
        office.product_new,
        name="office_product_new",
    ),
    path(
        "seller/<int:seller_id>/products/<int:product_id>/",
        office.product_edit,
        name="office_product",
    ),
    path("seller/<int:seller_id>/lots/", office.seller_lots, name="office_lots"),
    path(
        "seller/<int:seller_id>/lots/<int:lot_id>/events",
        office.lot_event,
        name="office_lot_event",
    ),
    path("seller/<int:seller_id>/orders/", office.seller_orders, name="office_orders"),
    path(
        "seller/<int:seller_id>/orders/<str:number>/act",
        office.seller_order_act,
        name="office_order_act",
    ),
    path(
        "seller/<int:seller_id>/statement/", office.statement, name="office_statement"
    ),
    path("station/", office.station, name="office_station"),
    path(
        "station/checkouts/<str:number>/cash",
        office.station_cash,
        name="office_station_cash",
    ),
    path("county/", office.county, name="office_county"),
    path("household/", office.household_income, name="office_household"),
]
