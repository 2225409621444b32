"""The JSON API: one router per domain under /api/v1/.

OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from propoor.accounts.services import api_token_user
from propoor.core.errors import ApplicationError


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):  # type: ignore[no-untyped-def]
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """Django's session, with its CSRF check on unsafe methods."""

    param_name = "sessionid"

    def authenticate(  # type: ignore[no-untyped-def]
        self, request: HttpRequest, key: str | None
    ):
        if request.user.is_authenticated:
            return request.user
        return None


api = NinjaAPI(
    title="ProPoor API",
    version="1",
    description="Precision poverty alleviation: areas, registry, identification.",
    auth=[BearerToken(), SessionAuth(csrf=True)],
    urls_namespace="api",
)


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    body = {
        "message": "The request is not valid.",
        "code": "invalid_request",
        "extra": {"errors": exc.errors},
    }
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = {
        "message": "Log in or send a bearer token.",
        "code": "unauthorized",
        "extra": {},
    }
    return api.create_response(request, body, status=401)


def _mount() -> None:
    from propoor.areas.api import router as areas_router
    from propoor.households.api import router as households_router
    from propoor.households.identification_api import (
        identification_router,
        plans_router,
    )
    from propoor.market.api import router as market_router
    from propoor.training.api import router as training_router

    api.add_router("/areas/", areas_router)
    api.add_router("/households/", households_router)
    api.add_router("/identification/", identification_router)
    api.add_router("/plans/", plans_router)
    api.add_router("/training/", training_router)
    api.add_router("/market/", market_router)


_mount()
