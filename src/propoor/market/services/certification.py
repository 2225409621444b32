"""Poverty-alleviation product certification (扶贫产品认定).

An operator of the seller applies with evidence of how the product benefits poor
households (the seller must have declared at least one). The township reviews, then
the county; the county's approval opens a public notice period
(``PROPOOR_CERT_NOTICE_DAYS``, 7 by default) during which a county administrator may
raise an objection, which rejects the application. A daily job certifies the
applications whose notice ended: ``certified_on`` is the day the notice ended and the
certificate is valid for ``PROPOOR_CERT_VALID_YEARS`` (1) years, until the same
calendar day. A county administrator may revoke a certificate. Rejections, objections
and revocations need a reason.

Every move is in one explicit table (``TRANSITIONS``), made under a row lock, recorded
as a ``CertificationStep`` and appended to the audit log. An event the table does not
allow from the current status is refused with a Conflict that says what is allowed.

Who: the seller's operators apply; a township officer whose scope covers the product's
origin reviews first; a county administrator (in scope) reviews second, objects and
revokes; the system (``actor=None``) finalises. An application outside the reviewer's
scope is not found (404), as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from propoor.accounts.roles import Role, has_role, require_role
from propoor.accounts.scope import scope_of
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.core.privacy import mask_name
from propoor.market.models import (
    INCOME_KIND,
    Benefit,
    Certification,
    CertificationStatus,
    CertificationStep,
    Product,
)
from propoor.market.services.catalogue import require_operator

if TYPE_CHECKING:
    from decimal import Decimal

    from propoor.accounts.models import User

S = CertificationStatus
APPLY = "apply"
# (status, event) → new status. "" is "no application yet".
TRANSITIONS: dict[tuple[str, str], str] = {
    ("", APPLY): S.SUBMITTED,
    (S.SUBMITTED, "township_approve"): S.TOWNSHIP_APPROVED,
    (S.SUBMITTED, "township_reject"): S.REJECTED,
    (S.TOWNSHIP_APPROVED, "county_approve"): S.NOTICE,
    (S.TOWNSHIP_APPROVED, "county_reject"): S.REJECTED,
    (S.NOTICE, "object"): S.REJECTED,
    (S.NOTICE, "finalise"): S.CERTIFIED,
    (S.CERTIFIED, "revoke"): S.REVOKED,
}
# Who may fire each event: "operator" of the seller, a role, or "system" (no actor).
WHO: dict[str, str] = {
    APPLY: "operator",
    "township_approve": Role.TOWNSHIP_OFFICER,
    "township_reject": Role.TOWNSHIP_OFFICER,
    "county_approve": Role.COUNTY_ADMIN,
    "county_reject": Role.COUNTY_ADMIN,
    "object": Role.COUNTY_ADMIN,
    "finalise": "system",
    "revoke": Role.COUNTY_ADMIN,
}
NEEDS_REASON = frozenset({"township_reject", "county_reject", "object", "revoke"})
OPEN = (S.SUBMITTED, S.TOWNSHIP_APPROVED, S.NOTICE)
REVIEWERS = (Role.TOWNSHIP_OFFICER, Role.COUNTY_ADMIN)
EVIDENCE_MAX = 5000
REASON_MAX = 300


def notice_days() -> int:
    return int(getattr(settings, "PROPOOR_CERT_NOTICE_DAYS", 7))


def valid_years() -> int:
    return int(getattr(settings, "PROPOOR_CERT_VALID_YEARS", 1))


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def allowed_events(status: str) -> list[str]:
    return sorted(event for (state, event) in TRANSITIONS if state == status)


# ----------------------------------------------------------------------------- checks


def _in_scope(actor: object, product: Product) -> None:
    if not scope_of(actor).covers(product.origin_id):  # type: ignore[arg-type]
        raise NotFound(_("No such certification application."))


def _may(actor: object | None, event: str, product: Product) -> None:
    """Raise unless ``actor`` may fire ``event`` on an application for ``product``."""
    who = WHO[event]
    if who == "system":
        if actor is not None:
            raise PermissionDenied(
                _("Only the daily job certifies at the end of the notice.")
            )
        return
    if actor is None:
        raise PermissionDenied(_("A person must do this."))
    if who == "operator":
        require_operator(actor, product.seller)
        return
    require_role(actor, [who])  # type: ignore[arg-type]
    _in_scope(actor, product)


def _reason(event: str, note: str) -> str:
    text = (note or "").strip()
    if event in NEEDS_REASON and not text:
        raise ValidationFailed(
            _("Give the reason."), extra={"field": "note", "reason": "reason_missing"}
        )
    if len(text) > REASON_MAX:
        raise ValidationFailed(
            _("The reason is at most %(n)s characters.") % {"n": REASON_MAX},
            extra={"field": "note", "reason": "reason_long"},
        )
    return text


def _refuse_transition(certification: Certification, event: str) -> Conflict:
    allowed = allowed_events(certification.status)
    values = {"status": certification.status, "event": event.replace("_", " ")}
    if allowed:
        message = _(
            "An application that is %(status)s cannot take %(event)s; it can take: "
            "%(allowed)s."
        ) % {**values, "allowed": ", ".join(allowed)}
    else:
        message = (
            _(
                "An application that is %(status)s cannot take %(event)s; it can "
                "take: nothing more."
            )
            % values
        )
    return Conflict(
        message,
        extra={
            "certification": certification.pk,
            "status": certification.status,
            "event": event,
            "allowed": allowed,
            "reason": "transition",
        },
    )


def _record(
    certification: Certification,
    old: str,
    event: str,
    actor: object | None,
    note: str,
    extra: dict[str, object] | None = None,
) -> None:
    CertificationStep.objects.create(
        certification=certification,
        from_status=old,
        to_status=certification.status,
        by=actor if getattr(actor, "pk", None) else None,  # type: ignore[misc]
        note=note[:REASON_MAX],
    )
    audit_append(
        action=f"market.certification.{event}",
        actor=actor,
        object_type="market.certification",
        object_id=certification.pk,
        data={
            "product": certification.product_id,
            "from": old,
            "to": certification.status,
            "note": note[:REASON_MAX],
            "notice_ends_on": certification.notice_ends_on,
            "certified_on": certification.certified_on,
            "valid_until": certification.valid_until,
            **(extra or {}),
        },
    )


def _transition(
    certification: Certification,
    event: str,
    actor: object | None,
    note: str = "",
    *,
    today: date | None = None,
) -> Certification:
    _may(actor, event, certification.product)
    text = _reason(event, note)
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = (
            Certification.objects.select_for_update()
            .select_related("product")
            .get(pk=certification.pk)
        )
        key = (locked.status, event)
        if key not in TRANSITIONS:
            raise _refuse_transition(locked, event)
        if (
            event == "object"
            and locked.notice_ends_on
            and today >= locked.notice_ends_on
        ):
            raise Conflict(
                _("The public notice ended on %(date)s; objections are closed.")
                % {"date": f"{locked.notice_ends_on:%Y-%m-%d}"},
                extra={"reason": "notice_over", "ended": locked.notice_ends_on},
            )
        old = locked.status
        locked.status = TRANSITIONS[key]
        fields = ["status"]
        if locked.status == S.NOTICE:
            locked.notice_ends_on = today + timedelta(days=notice_days())
            fields.append("notice_ends_on")
        elif locked.status == S.CERTIFIED:
            assert locked.notice_ends_on is not None  # noqa: S101  # set on entering notice
            locked.certified_on = locked.notice_ends_on
            locked.valid_until = add_years(locked.certified_on, valid_years())
            fields += ["certified_on", "valid_until"]
        elif locked.status in (S.REJECTED, S.REVOKED):
            locked.reason = text
            fields.append("reason")
        locked.save(update_fields=fields)
        _record(locked, old, event, actor, text)
    return locked


# ---------------------------------------------------------------------------- the steps


def certification_apply(
    actor: object, product: Product, *, evidence: str
) -> Certification:
    """An operator of the seller applies; refused while another application is open."""
    _may(actor, APPLY, product)
    text = (evidence or "").strip()
    if not text:
        raise ValidationFailed(
            _("Describe the evidence: how the product benefits poor households."),
            extra={"field": "evidence", "reason": "evidence_missing"},
        )
    if len(text) > EVIDENCE_MAX:
        raise ValidationFailed(
            _("The evidence is at most %(n)s characters.") % {"n": EVIDENCE_MAX},
            extra={"field": "evidence", "reason": "evidence_long"},
        )
    if not Benefit.objects.filter(seller_id=product.seller_id, active=True).exists():
        raise ValidationFailed(
            _(
                "The seller has declared no poor household it benefits; an officer "
                "must declare at least one before the product can be certified."
            ),
            extra={"field": "evidence", "reason": "no_benefit"},
        )
    with transaction.atomic():
        Product.objects.select_for_update().get(pk=product.pk)
        open_one = (
            Certification.objects.filter(product=product, status__in=OPEN)
            .order_by("-applied_at", "-id")
            .first()
        )
        if open_one is not None:
            raise Conflict(
                _("The product already has an open application (%(status)s).")
                % {"status": open_one.status},
                extra={
                    "certification": open_one.pk,
                    "status": open_one.status,
                    "reason": "open",
                },
            )
        certification = Certification.objects.create(
            product=product,
            evidence=text,
            applied_by=actor,  # type: ignore[misc]  # require_operator: a user
            status=S.SUBMITTED,
        )
        # What the seller declared when it applied (benefits may change later).
        declared = [
            {
                "household": b.household_id,
                "mechanism": b.mechanism,
                "share": str(b.share),
            }
            for b in Benefit.objects.filter(seller_id=product.seller_id, active=True)
        ]
        _record(certification, "", APPLY, actor, "", {"benefits": declared})
    return certification


def township_review(
    actor: object, certification: Certification, approve: bool, note: str = ""
) -> Certification:
    event = "township_approve" if approve else "township_reject"
    return _transition(certification, event, actor, note)


def county_review(
    actor: object,
    certification: Certification,
    approve: bool,
    note: str = "",
    *,
    today: date | None = None,
) -> Certification:
    """Approval opens the public notice for ``PROPOOR_CERT_NOTICE_DAYS`` days."""
    event = "county_approve" if approve else "county_reject"
    return _transition(certification, event, actor, note, today=today)


def certification_object(
    actor: object,
    certification: Certification,
    reason: str,
    *,
    today: date | None = None,
) -> Certification:
    """An objection raised during the public notice: the application is rejected."""
    return _transition(certification, "object", actor, reason, today=today)


def certification_revoke(
    actor: object, certification: Certification, reason: str
) -> Certification:
    return _transition(certification, "revoke", actor, reason)


def certifications_finalise(*, today: date | None = None) -> int:
    """The daily job: applications whose notice ended become certified."""
    today = today or timezone.localdate()
    due = Certification.objects.filter(
        status=S.NOTICE, notice_ends_on__lte=today
    ).order_by("notice_ends_on", "id")
    done = 0
    for certification in due:
        try:
            _transition(
                certification, "finalise", None, "public notice ended", today=today
            )
        except Conflict:  # pragma: no cover  (an objection came between list and lock)
            continue
        done += 1
    return done


# ----------------------------------------------------------------------------- badges


def product_certified(product: Product, on: date | None = None) -> Certification | None:
    """The certificate in force on ``on`` (today), or None: the product's badge."""
    day = on or timezone.localdate()
    return (
        Certification.objects.filter(
            product=product,
            status=S.CERTIFIED,
            certified_on__lte=day,
            valid_until__gte=day,
        )
        .order_by("-certified_on", "-id")
        .first()
    )


def certified_products(
    products: QuerySet[Product], on: date | None = None
) -> QuerySet[Product]:
    """The products certified and not expired on ``on`` (today): a search filter."""
    day = on or timezone.localdate()
    in_force = Certification.objects.filter(
        product=OuterRef("pk"),
        status=S.CERTIFIED,
        certified_on__lte=day,
        valid_until__gte=day,
    )
    return products.filter(Exists(in_force))


# ---------------------------------------------------------------------------- selectors


@dataclass(frozen=True)
class BenefitRow:
    household_number: str
    head_masked: str
    mechanism: str
    mechanism_label: str
    income_kind: str
    share: Decimal


@dataclass(frozen=True)
class Review:
    """One application as a reviewer (or the seller) sees it."""

    certification: Certification
    product: Product
    title: str  # the product's, in the page's language
    benefits: tuple[BenefitRow, ...]
    steps: tuple[CertificationStep, ...]
    actions: tuple[str, ...]  # what the viewer may do now


def _benefits(seller_id: int) -> tuple[BenefitRow, ...]:
    rows = (
        Benefit.objects.filter(seller_id=seller_id, active=True)
        .select_related("household")
        .order_by("household__number", "mechanism")
    )
    return tuple(
        BenefitRow(
            household_number=b.household.number,
            head_masked=mask_name(b.household.head_name),
            mechanism=b.mechanism,
            mechanism_label=str(b.get_mechanism_display()),
            income_kind=INCOME_KIND[b.mechanism],  # type: ignore[index]
            share=b.share,
        )
        for b in rows
    )


def actions_for(
    actor: object, certification: Certification, *, today: date | None = None
) -> tuple[str, ...]:
    """The events ``actor`` may fire on the application now (for the buttons)."""
    out = []
    today = today or timezone.localdate()
    for event in allowed_events(certification.status):
        if WHO[event] == "system":
            continue
        if (
            event == "object"
            and certification.notice_ends_on
            and today >= certification.notice_ends_on
        ):
            continue
        try:
            _may(actor, event, certification.product)
        except (PermissionDenied, NotFound):
            continue
        out.append(event)
    return tuple(out)


def _may_see(actor: User, certification: Certification) -> bool:
    if actor.is_superuser:
        return True
    if certification.product.seller.operators.filter(pk=actor.pk).exists():
        return True
    return has_role(actor, REVIEWERS) and scope_of(actor).covers(
        certification.product.origin_id
    )


def _review(actor: User, certification: Certification) -> Review:
    return Review(
        certification=certification,
        product=certification.product,
        title=certification.product.t("title"),
        benefits=_benefits(certification.product.seller_id),
        steps=tuple(certification.steps.select_related("by").order_by("at", "id")),
        actions=actions_for(actor, certification),
    )


def certification_queue(actor: User) -> list[Review]:
    """What waits for the reviewer: a township officer sees submitted applications in
    scope; a county administrator the township-approved ones and those in notice."""
    if not has_role(actor, REVIEWERS):
        raise PermissionDenied(
            _("Only township officers and county administrators review.")
        )
    if actor.is_superuser:
        statuses: tuple[str, ...] = OPEN
    elif actor.role == Role.TOWNSHIP_OFFICER:
        statuses = (S.SUBMITTED,)
    else:
        statuses = (S.TOWNSHIP_APPROVED, S.NOTICE)
    rows = (
        Certification.objects.filter(status__in=statuses)
        .filter(scope_of(actor).q("product__origin__code"))
        .select_related("product__seller", "product__origin", "applied_by")
        .order_by("applied_at", "id")
    )
    return [_review(actor, c) for c in rows]


def certification_get(actor: User, certification_id: int) -> Review:
    certification = (
        Certification.objects.select_related(
            "product__seller", "product__origin", "applied_by"
        )
        .filter(pk=certification_id)
        .first()
    )
    if certification is None or not _may_see(actor, certification):
        raise NotFound(_("No such certification application."))
    return _review(actor, certification)


@dataclass(frozen=True)
class ProductCertifications:
    product: Product
    current: Certification | None
    applications: tuple[Review, ...]
    may_apply: bool
    has_benefits: bool
    open_application: Certification | None


def product_certifications(actor: User, product_id: int) -> ProductCertifications:
    """A product's applications, newest first; for its operators and reviewers."""
    product = (
        Product.objects.select_related("seller", "origin").filter(pk=product_id).first()
    )
    if product is None:
        raise NotFound(_("No such product."))
    operator = product.seller.operators.filter(pk=actor.pk).exists()
    reviewer = has_role(actor, REVIEWERS) and scope_of(actor).covers(product.origin_id)
    if not (operator or reviewer or actor.is_superuser):
        raise NotFound(_("No such product."))
    applications = tuple(
        _review(actor, c)
        for c in product.certifications.select_related("applied_by").order_by(
            "-applied_at", "-id"
        )
    )
    open_application = next(
        (a.certification for a in applications if a.certification.status in OPEN), None
    )
    return ProductCertifications(
        product=product,
        current=product_certified(product),
        applications=applications,
        may_apply=(operator or actor.is_superuser) and open_application is None,
        has_benefits=Benefit.objects.filter(
            seller_id=product.seller_id, active=True
        ).exists(),
        open_application=open_application,
    )
