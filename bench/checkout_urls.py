"""URLconf of the server ``bench/checkout.py`` starts: the whole site, plus the
framework floor at ``POST /bench/floor`` — the same stack as the checkout (waitress,
Django's middleware, django-ninja, the bearer token, a JSON body, a JSON answer) doing
one INSERT in a transaction and nothing else.

Loaded only by the bench's server workers (``ROOT_URLCONF`` set there); no
production URL leads here.
"""

from __future__ import annotations

import json

from django.db import connection, transaction
from django.http import HttpRequest
from django.urls import path
from ninja import NinjaAPI, Schema

from propoor.api import BearerToken, api
from propoor.market.api import router as market_router

# Until src/propoor/api.py mounts the market's router itself (then this is a no-op).
if not any(prefix.strip("/") == "market" for prefix, _ in api._routers):
    api.add_router("/market/", market_router)

from propoor.urls import urlpatterns as site_urlpatterns

floor_api = NinjaAPI(
    title="bench floor",
    version="bench",
    auth=[BearerToken()],
    urls_namespace="bench",
    docs_url=None,
    openapi_url=None,
)


class FloorIn(Schema):
    n: int
    note: str = ""


class FloorOut(Schema):
    id: int


@floor_api.post("/floor", response={201: FloorOut})
def floor(request: HttpRequest, body: FloorIn) -> tuple[int, FloorOut]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (user_id, body) VALUES (%s, %s) RETURNING id",
            [request.user.pk, json.dumps(body.model_dump(), ensure_ascii=False)],
        )
        (row_id,) = cursor.fetchone()
    return 201, FloorOut(id=row_id)


urlpatterns = [path("bench/", floor_api.urls), *site_urlpatterns]
