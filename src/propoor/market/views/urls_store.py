"""The storefront, the cart, checkouts and the buyer's orders (mounted at /market/)."""

from __future__ import annotations

from django.urls import path

from propoor.market.views import store

urlpatterns = [
    path("", store.store, name="home"),
    path("products/<int:product_id>/", store.product, name="product"),
    path("photos/<int:photo_id>", store.photo, name="photo"),
    path("cart/", store.cart, name="cart"),
    path("cart/add", store.cart_add, name="cart_add"),
    path("cart/update", store.cart_update, name="cart_update"),
    path("cart/checkout", store.checkout, name="checkout"),
    path("checkouts/<str:number>/", store.checkout_detail, name="checkout_detail"),
    path("orders/", store.orders, name="orders"),
    path("orders/<str:number>/", store.order, name="order_detail"),
    path("orders/<str:number>/act", store.order_act, name="order_act"),
    path("orders/<str:number>/review", store.order_review, name="order_review"),
]
