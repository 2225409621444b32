"""Survey pages: forms, the review queue, a change request, coverage, a submission.

Each view validates its input, calls one selector (or, for a POST, one service) and
renders the result; scope and role checks happen there. Outside the user's scope is
404, a role that may not do something is 403 (both through ``web.views.page``).
Some pages read a second, scoped list for what they draw around the main object:
the review queue's village filter and the coverage page's English village names
(``areas.selectors.village_list``), and the map of the village's households
(``households.selectors.household_list``). How things are shown (labels, values in
the page's language, the map's projection) is in :mod:`propoor.surveys.display`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from propoor.accounts.roles import has_role
from propoor.areas.selectors import village_list
from propoor.core.errors import ApplicationError
from propoor.households.selectors import household_list
from propoor.surveys import display, selectors, services
from propoor.surveys.forms_web import (
    ApproveForm,
    CoverageForm,
    FormUploadForm,
    RejectForm,
    ReviewFilterForm,
)
from propoor.surveys.models import ChangeStatus
from propoor.surveys.services.forms import FORM_MANAGERS
from propoor.surveys.services.review import REVIEWERS
from propoor.web.templatetags.propoor import areaname
from propoor.web.views import page

if TYPE_CHECKING:
    from decimal import Decimal

    from propoor.accounts.models import User

QUEUE_PAGE_SIZE = 25
# Household points drawn around a submission's GPS (a village has a few hundred).
MAP_POINTS = 2000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


def _download(response: HttpResponse, filename: str, *, inline: bool = False) -> None:
    # None only for an inline response without a file name, which never happens.
    disposition = content_disposition_header(not inline, filename) or "inline"
    response.headers["Content-Disposition"] = disposition
    response.headers["X-Content-Type-Options"] = "nosniff"


def _refusal(exc: ApplicationError) -> str:
    """A service's refusal in the page's language where we know it, else as said."""
    if exc.extra.get("conflict"):
        return _(
            "Not approved: the registry changed since this survey was received. "
            "Compare the values, then approve anyway or reject."
        )
    status = exc.extra.get("status")
    if status in ChangeStatus.values:
        return _("This change request was already reviewed (%(status)s).") % {
            "status": ChangeStatus(status).label
        }
    return exc.message


# --- forms ----------------------------------------------------------------------------


@page
@require_http_methods(["GET", "POST"])
def form_list(request: HttpRequest) -> HttpResponse:
    """The forms with their current version; POST uploads an XLSForm."""
    user = _user(request)
    upload = FormUploadForm()
    upload_errors: list[display.SheetError] = []
    status = 200
    if request.method == "POST":
        upload = FormUploadForm(request.POST, request.FILES)
        if upload.is_valid():
            xlsform = upload.cleaned_data["xlsform"]
            try:
                version = services.form_upload(
                    user,
                    xlsform=xlsform.read(),
                    filename=xlsform.name,
                    area_code=upload.cleaned_data["area"] or None,
                )
            except ApplicationError as exc:
                if exc.status == 403:
                    raise
                # An invalid workbook (422), a version uploaded before (409), an
                # area outside the user's scope (404): all said on the form.
                upload_errors = display.sheet_errors(exc.extra.get("errors"))
                upload.add_error(None, _upload_refusal(exc, upload_errors))
            else:
                messages.success(
                    request,
                    _("Uploaded %(form)s, version %(version)s.")
                    % {"form": version.form.form_id, "version": version.version},
                )
                return redirect("surveys:form_list")
        status = 422
    return render(
        request,
        "surveys/forms.html",
        {
            "forms": selectors.form_list(user),
            "upload": upload,
            "upload_errors": upload_errors,
            "may_upload": has_role(user, FORM_MANAGERS),
            "server_url": _openrosa_url(request),
        },
        status=status,
    )


def _upload_refusal(exc: ApplicationError, rows: list[display.SheetError]) -> str:
    if rows and exc.status == 422:
        return ngettext(
            "The XLSForm is not valid: %(n)d problem, listed below.",
            "The XLSForm is not valid: %(n)d problems, listed below.",
            len(rows),
        ) % {"n": len(rows)}
    if exc.status == 409 and "version" in exc.extra:
        return _(
            "Version %(version)s of %(form)s was already uploaded: raise the "
            "version on the settings sheet."
        ) % {"version": exc.extra["version"], "form": exc.extra.get("form_id", "")}
    return exc.message


def _openrosa_url(request: HttpRequest) -> str | None:
    """The server URL to give ODK Collect (None while OpenRosa is not mounted)."""
    try:
        form_list_path = reverse("openrosa:form_list")
    except NoReverseMatch:
        return None
    return request.build_absolute_uri(form_list_path.removesuffix("formList"))


@page
@require_GET
def form_detail(request: HttpRequest, form_id: str) -> HttpResponse:
    """Every version of one form, newest first, each downloadable."""
    versions = list(selectors.form_versions(_user(request), form_id))
    if not versions:
        raise Http404(form_id)
    return render(
        request,
        "surveys/form_detail.html",
        {"form": versions[0].form, "versions": versions},
    )


@page
@require_GET
def form_download(
    request: HttpRequest, form_id: str, version: str, kind: str
) -> HttpResponse:
    """The XLSForm as uploaded, or the XForm pyxform made of it."""
    found = selectors.form_version_get(_user(request), form_id, version)
    if kind == "xlsx":
        response = HttpResponse(bytes(found.xlsform), content_type=XLSX_TYPE)
        _download(response, found.xlsform_name or f"{found.form.form_id}.xlsx")
    else:
        response = HttpResponse(found.xform, content_type="text/xml; charset=utf-8")
        _download(response, f"{found.form.form_id}-{found.version}.xml")
    return response


# --- the review queue -----------------------------------------------------------------


@page
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ReviewFilterForm(request.GET)
    filters = form.filters()
    queue = selectors.review_queue(
        user, status=filters.get("status"), village=filters.get("village")
    )
    paginator = Paginator(queue, QUEUE_PAGE_SIZE)
    return render(
        request,
        "surveys/review_queue.html",
        {
            "form": form,
            "filters": filters,
            "page_obj": paginator.get_page(form.page_number()),
            "total": paginator.count,
            "villages": village_list(user),
            "statuses": ChangeStatus.choices,
        },
    )


# --- one change request ---------------------------------------------------------------


@page
@require_GET
def change_detail(request: HttpRequest, change_id: int) -> HttpResponse:
    return _change_page(request, change_id)


def _change_page(
    request: HttpRequest,
    change_id: int,
    *,
    reject: RejectForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    detail = selectors.change_detail(user, change_id)
    change = detail.change
    lines = display.diff_lines(detail.diff, village=areaname(change.village))
    return render(
        request,
        "surveys/change_detail.html",
        {
            "detail": detail,
            "change": change,
            "submission": detail.submission,
            "lines": lines,
            "changed": sum(1 for line in lines if line.changed),
            "photos": display.photos(detail.attachments),
            "map": _map(
                user,
                village_code=change.village_id,
                latitude=detail.latitude,
                longitude=detail.longitude,
                household_id=change.household_id,
            ),
            "open": change.status in (ChangeStatus.PENDING, ChangeStatus.CONFLICT),
            "may_review": has_role(user, REVIEWERS),
            "approve": ApproveForm(),
            "reject": reject or RejectForm(),
        },
        status=status,
    )


@page
@require_POST
def change_approve(request: HttpRequest, change_id: int) -> HttpResponse:
    user = _user(request)
    detail = selectors.change_detail(user, change_id)
    form = ApproveForm(request.POST)
    force = bool(form.is_valid() and form.cleaned_data["force"])
    try:
        services.change_approve(user, change=detail.change, force=force)
    except ApplicationError as exc:
        if exc.status == 403:
            raise
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, _("Approved: the registry now holds these values."))
    return redirect("surveys:change_detail", change_id=change_id)


@page
@require_POST
def change_reject(request: HttpRequest, change_id: int) -> HttpResponse:
    user = _user(request)
    detail = selectors.change_detail(user, change_id)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Not rejected: give a reason."))
        return _change_page(request, change_id, reject=form, status=400)
    try:
        services.change_reject(
            user, change=detail.change, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        if exc.status == 403:
            raise
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, _("Rejected. The registry was not changed."))
    return redirect("surveys:change_detail", change_id=change_id)


# --- submissions ----------------------------------------------------------------------


@page
@require_GET
def submission_detail(request: HttpRequest, submission_id: int) -> HttpResponse:
    user = _user(request)
    submission = selectors.submission_detail(user, submission_id)
    values = display.raw_values(submission.xml)
    latitude, longitude = submission.latitude, submission.longitude
    raw_gps = False
    if latitude is None or longitude is None:
        # A refused submission keeps no point: show the one the phone sent.
        point = display.raw_point(values)
        if point is not None:
            (latitude, longitude), raw_gps = point, True
    return render(
        request,
        "surveys/submission_detail.html",
        {
            "submission": submission,
            "change": getattr(submission, "change", None),
            "errors": display.problems(submission.errors),
            "values": values,
            "photos": display.photos(submission.attachments.all()),
            "raw_gps": raw_gps,
            "map": _map(
                user,
                village_code=submission.village_id,
                latitude=latitude,
                longitude=longitude,
                household_id=submission.household_id,
            ),
        },
    )


@page
@require_GET
def attachment(request: HttpRequest, submission_id: int, name: str) -> HttpResponse:
    """A submission's photo, for those who may see the submission only."""
    found = selectors.attachment_get(_user(request), submission_id, name)
    inline = found.content_type in display.INLINE_TYPES
    response = HttpResponse(
        bytes(found.data),
        content_type=found.content_type if inline else "application/octet-stream",
    )
    _download(response, found.name, inline=inline)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _map(
    user: User,
    *,
    village_code: str | None,
    latitude: Decimal | None,
    longitude: Decimal | None,
    household_id: int | None,
) -> display.PointMap | None:
    """The GPS point among the village's households the user may see."""
    points: list[tuple[int, Decimal | None, Decimal | None]] = []
    if village_code is not None:
        points = list(
            household_list(user, village=village_code)
            .exclude(latitude=None)
            .exclude(longitude=None)
            .values_list("pk", "latitude", "longitude")[:MAP_POINTS]
        )
    return display.point_map(
        points, latitude=latitude, longitude=longitude, household_id=household_id
    )


# --- coverage -------------------------------------------------------------------------


@page
@require_GET
def coverage(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = CoverageForm(request.GET)
    form.is_valid()
    year = getattr(form, "cleaned_data", {}).get("year") or timezone.localdate().year
    rows = selectors.coverage_by_village(user, year=year)
    names_en: dict[str, str] = {}
    if not (get_language() or "").lower().startswith("zh"):
        # The coverage rows carry the Chinese name only.
        names_en = {v.code: v.name_en for v in village_list(user) if v.name_en}
    lines, total = display.coverage_lines(rows, names_en)
    return render(
        request,
        "surveys/coverage.html",
        {
            "form": form,
            "year": year,
            "rows": lines,
            "total": total,
            "previous": year - 1 if year > CoverageForm.FIRST_YEAR else None,
            "next": year + 1 if year < CoverageForm.LAST_YEAR else None,
            "url": reverse("surveys:coverage"),
        },
    )
