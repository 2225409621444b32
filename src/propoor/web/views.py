"""Pages. Each view validates its input, calls one selector and renders the result.

Scope and role checks happen in the selectors; their errors become 404 (outside the
user's scope: the object must not be known to exist) and 403 pages here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers

from propoor.accounts.models import Role
from propoor.core.errors import NotFound, PermissionDenied
from propoor.insights import selectors
from propoor.web import charts
from propoor.web.forms import DashboardForm, HouseholdFilterForm

if TYPE_CHECKING:
    from propoor.accounts.models import User

View = Callable[..., HttpResponse]


def page(view: View) -> View:
    """Log-in required; selector errors mapped to Django's 404 and 403 pages."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc

    return login_required(wrapper)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


def _wants_fragment(request: HttpRequest) -> bool:
    """An htmx request that swaps part of the page (not a history restore)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Request-Type", "partial") != "full"
    )


@page
def dashboard(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role == Role.HOUSEHOLD and user.household_id is not None:
        # A household's own login has no dashboard: its home is its own page.
        return redirect("web:household_detail", household_id=user.household_id)
    form = DashboardForm(request.GET)
    form.is_valid()
    wanted = getattr(form, "cleaned_data", {})
    board = selectors.county_dashboard(
        user, area_code=wanted.get("area") or None, year=wanted.get("year")
    )
    return render(
        request,
        "web/dashboard.html",
        {"board": board, "charts": charts.dashboard_charts(board), "form": form},
    )


@page
def household_list(request: HttpRequest) -> HttpResponse:
    form = HouseholdFilterForm(request.GET)
    search = selectors.household_search(
        _user(request), page=form.page_number(), **form.filters()
    )
    context = {"search": search, "form": form}
    if _wants_fragment(request):
        response = render(request, "web/households/_results.html", context)
    else:
        response = render(request, "web/households/list.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@page
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    report = selectors.household_report(_user(request), household_id)
    return render(request, "web/households/detail.html", {"report": report})


@page
def village_list(request: HttpRequest) -> HttpResponse:
    overview = selectors.village_overview(_user(request))
    return render(request, "web/villages/list.html", {"overview": overview})


@page
def village_detail(request: HttpRequest, code: str) -> HttpResponse:
    report = selectors.village_report(_user(request), code)
    return render(request, "web/villages/detail.html", {"report": report})
