"""Certification pages: the reviewers' queue, one application, a product's history and
the seller's application form.

- A township officer's queue holds the submitted applications of their area; a county
  administrator's the township-approved ones and those in public notice. Each shows the
  evidence and the seller's declared benefits (household numbers, masked names,
  mechanism, share) with approve / reject (reason) forms.
- Every form is a POST with CSRF. Bad input is answered with its 4xx status and the
  error on the page, and nothing changes; an application outside the user's area is
  404, a step the user's role may not take 403 (``web.views.page``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from propoor.core.errors import ApplicationError
from propoor.market.models import Certification, CertificationStatus, Product
from propoor.market.services import certification as services
from propoor.market.services import traceability
from propoor.web.views import page

if TYPE_CHECKING:
    from propoor.accounts.models import User

ACTIONS = {
    "township_approve": gettext_lazy("Approve"),
    "township_reject": gettext_lazy("Reject"),
    "county_approve": gettext_lazy("Approve and publish the notice"),
    "county_reject": gettext_lazy("Reject"),
    "object": gettext_lazy("Record an objection and reject"),
    "revoke": gettext_lazy("Revoke the certificate"),
}
LOTS_SHOWN = 10


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[(k, k) for k in ACTIONS])
    note = forms.CharField(
        label=gettext_lazy("Reason or note"),
        max_length=services.REASON_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    next = forms.CharField(required=False, max_length=300)


class ApplyForm(forms.Form):
    evidence = forms.CharField(
        label=gettext_lazy("Evidence"),
        max_length=services.EVIDENCE_MAX,
        required=False,  # the service says what is missing, in its words
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy(
            "How the product benefits poor households: whose produce it is, purchase "
            "agreements, wages or dividends, with numbers."
        ),
    )


def refusal(exc: ApplicationError) -> str:
    """A refusal of the services as this page words it (by the refusal's reason)."""
    reason = exc.extra.get("reason")
    status = str(exc.extra.get("status", ""))
    status_label = (
        str(CertificationStatus(status).label)
        if status in CertificationStatus.values
        else status
    )
    texts: dict[str, str] = {
        "evidence_missing": _(
            "Describe the evidence: how the product benefits poor households."
        ),
        "evidence_long": _("The evidence is at most %(n)s characters.")
        % {"n": services.EVIDENCE_MAX},
        "no_benefit": _(
            "The seller has declared no poor household it benefits; an officer must "
            "declare at least one before the product can be certified."
        ),
        "open": _("The product already has an open application (%(status)s).")
        % {"status": status_label},
        "reason_missing": _("Give the reason."),
        "reason_long": _("The reason is at most %(n)s characters.")
        % {"n": services.REASON_MAX},
        "transition": _(
            "This application is %(status)s: that step is not possible now."
        )
        % {"status": status_label},
        "notice_over": _("The public notice has ended; objections are closed."),
    }
    return texts.get(str(reason), exc.message)


def _next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _detail(
    request: HttpRequest,
    certification_id: int,
    *,
    status: int = 200,
    error: str = "",
    form: DecisionForm | None = None,
) -> HttpResponse:
    review = services.certification_get(_user(request), certification_id)
    here = reverse("market:cert_detail", kwargs={"certification_id": certification_id})
    return render(
        request,
        "market/certification/detail.html",
        {
            "review": review,
            "error": error,
            "posted": form.data if form is not None else {},
            "error_action": form.data.get("action", "") if form is not None else "",
            "actions": ACTIONS,
            "statuses": CertificationStatus.choices,
            "next_url": _next(request, here) if request.method == "POST" else here,
        },
        status=status,
    )


@page
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    reviews = services.certification_queue(_user(request))
    return render(
        request,
        "market/certification/queue.html",
        {
            "reviews": reviews,
            "actions": ACTIONS,
            "statuses": CertificationStatus.choices,
        },
    )


@page
@require_GET
def detail(request: HttpRequest, certification_id: int) -> HttpResponse:
    return _detail(request, certification_id)


@page
@require_POST
def decide(request: HttpRequest, certification_id: int) -> HttpResponse:
    user = _user(request)
    review = services.certification_get(user, certification_id)  # 404 outside scope
    form = DecisionForm(request.POST)
    if not form.is_valid():
        error = (
            _("The reason is at most %(n)s characters.") % {"n": services.REASON_MAX}
            if "note" in form.errors
            else _("The decision was not understood.")
        )
        return _detail(request, certification_id, status=400, error=error, form=form)
    action = form.cleaned_data["action"]
    note = form.cleaned_data["note"]
    certification: Certification = review.certification
    steps = {
        "township_approve": lambda: services.township_review(
            user, certification, True, note
        ),
        "township_reject": lambda: services.township_review(
            user, certification, False, note
        ),
        "county_approve": lambda: services.county_review(
            user, certification, True, note
        ),
        "county_reject": lambda: services.county_review(
            user, certification, False, note
        ),
        "object": lambda: services.certification_object(user, certification, note),
        "revoke": lambda: services.certification_revoke(user, certification, note),
    }
    try:
        done = steps[action]()
    except ApplicationError as exc:
        if exc.status in (403, 404):
            raise
        return _detail(
            request, certification_id, status=exc.status, error=refusal(exc), form=form
        )
    messages.success(
        request,
        _("%(product)s: %(status)s.")
        % {"product": done.product.t("title"), "status": done.get_status_display()},
    )
    return redirect(
        _next(
            request,
            reverse("market:cert_detail", kwargs={"certification_id": done.pk}),
        )
    )


def _history(
    request: HttpRequest,
    product_id: int,
    *,
    status: int = 200,
    form: ApplyForm | None = None,
    error: str = "",
) -> HttpResponse:
    history = services.product_certifications(_user(request), product_id)
    product = history.product
    badge = history.current or next(
        (
            a.certification
            for a in history.applications
            if a.certification.status == CertificationStatus.NOTICE
        ),
        None,
    )
    lots = [
        {
            "code": lot.code,
            "harvested_on": lot.harvested_on,
            "url": urlsplit(traceability.lot_digital_link(lot)).path,
        }
        for lot in product.lots.select_related("product").order_by(
            "-harvested_on", "-id"
        )[:LOTS_SHOWN]
    ]
    context: dict[str, Any] = {
        "history": history,
        "product": product,
        "title": product.t("title"),
        "badge": badge,
        "lots": lots,
        "form": form or ApplyForm(),
        "error": error,
        "actions": ACTIONS,
        "statuses": CertificationStatus.choices,
        "next_url": reverse("market:cert_product", kwargs={"product_id": product.pk}),
    }
    return render(request, "market/certification/history.html", context, status=status)


@page
@require_GET
def history(request: HttpRequest, product_id: int) -> HttpResponse:
    return _history(request, product_id)


@page
@require_POST
def apply(request: HttpRequest, product_id: int) -> HttpResponse:
    user = _user(request)
    found = services.product_certifications(user, product_id)  # 404 when not theirs
    product: Product = found.product
    form = ApplyForm(request.POST)
    if not form.is_valid():
        return _history(request, product_id, status=400, form=form)
    try:
        services.certification_apply(
            user, product, evidence=form.cleaned_data["evidence"]
        )
    except ApplicationError as exc:
        if exc.status in (403, 404):
            raise
        return _history(
            request, product_id, status=exc.status, form=form, error=refusal(exc)
        )
    messages.success(
        request,
        _("Application sent: the township will review it."),
    )
    return redirect("market:cert_product", product_id=product.pk)
