"""The trainer's, the cadre's and the county's training pages.

- ``trainer_dashboard``: the cohorts the user trains or oversees, as cards; a form to
  create a cohort and, on each card, one to add a session;
- ``cohort_detail``: a cohort's sessions, members and quiz results by question, and a
  form to add a household of the area already enrolled in the course;
- ``session_detail``: the check-in QR code (an SVG made here with ``segno``, big enough
  for a projector), who checked in, and the trainer's roll call;
- ``coverage``: plan-targeted households trained, by village, and who still needs which
  course (``?area=`` narrows that list);
- ``outcomes``: households that completed a course, their income before and after.

Each view validates its input, calls the selectors (reads, scoped there) or, for a POST,
one service, and renders the result. Outside the user's scope is 404 and a role that may
not is 403 (both through ``web.views.page``). A refusal of a service (422, 409) is shown
next to the form that asked, with its status; nothing is written then. Bad input is 400.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import segno
from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from propoor.accounts.models import Role
from propoor.accounts.roles import has_role
from propoor.core.errors import ApplicationError, PermissionDenied
from propoor.training import services
from propoor.training.selectors import staff as selectors
from propoor.training.services.cohorts import CHECKIN_WINDOW
from propoor.web.templatetags.propoor import areaname
from propoor.web.views import page

if TYPE_CHECKING:
    from propoor.accounts.models import User
    from propoor.areas.models import Division
    from propoor.training.models import Cohort, Course

# The services' refusals come translated; these two are worded for the page instead
# (keyed by the services' English message, so they apply to English pages only).
REFUSALS = {
    "A session ends after it starts.": gettext_lazy(
        "The session must end after it starts."
    ),
    "The enrolment is for another course.": gettext_lazy(
        "This household is enrolled in another course."
    ),
}
SESSION_START = time(9, 0)
SESSION_END = time(11, 0)
MAX_CAPACITY = 500
QR_ERROR = "m"  # 15% of the code may be covered or smudged and it still reads
PAGE_SIZE = 100  # rows of the "still needed" and outcome lists per page


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


def _refusal(exc: ApplicationError) -> str:
    return str(REFUSALS.get(exc.message, exc.message))


def _chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def _may_organise(user: User, cohort: Cohort) -> bool:
    """Whether the services let the user schedule, fill and call the roll of the cohort.

    The same rule as the services (a trainer: their own cohorts; the county and the
    township: cohorts of their scope, which are the only ones they see).
    """
    if not has_role(user, selectors.ORGANISERS):
        return False
    if user.is_superuser or user.role != Role.TRAINER:
        return True
    return cohort.trainer_id == user.pk


def _refuse_unless(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("Your role may not change training cohorts."))


# --- forms ----------------------------------------------------------------------------

if TYPE_CHECKING:  # generic in django-stubs only, not at run time
    _CourseField = forms.ModelChoiceField[Course]
    _AreaField = forms.ModelChoiceField[Division]
    _UserField = forms.ModelChoiceField[User]
else:
    _CourseField = _AreaField = _UserField = forms.ModelChoiceField


class _CourseChoice(_CourseField):
    def label_from_instance(self, obj: Course) -> str:
        return obj.t("title")


class _AreaChoice(_AreaField):
    def label_from_instance(self, obj: Division) -> str:
        if obj.level == "township":
            return _("%(name)s (township)") % {"name": areaname(obj)}
        return areaname(obj)


class _TrainerChoice(_UserField):
    def label_from_instance(self, obj: User) -> str:
        name = obj.get_full_name()
        return f"{name} ({obj.username})" if name else obj.username


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class CohortForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Cohort name"), max_length=120)
    course = _CourseChoice(label=gettext_lazy("Course"), queryset=None, empty_label="—")
    area = _AreaChoice(
        label=gettext_lazy("Village or township"), queryset=None, empty_label="—"
    )
    venue = forms.CharField(label=gettext_lazy("Venue"), max_length=200)
    trainer = _TrainerChoice(
        label=gettext_lazy("Trainer"), queryset=None, empty_label="—"
    )
    capacity = forms.IntegerField(
        label=gettext_lazy("Seats"), min_value=1, max_value=MAX_CAPACITY, initial=30
    )
    starts_on = forms.DateField(label=gettext_lazy("Starts on"), widget=_DateInput())
    ends_on = forms.DateField(label=gettext_lazy("Ends on"), widget=_DateInput())

    def __init__(
        self, *args: Any, options: selectors.CohortOptions, user: User, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        fields = self.fields
        fields["course"].queryset = options.courses  # type: ignore[attr-defined]
        fields["area"].queryset = options.areas  # type: ignore[attr-defined]
        fields["trainer"].queryset = options.trainers  # type: ignore[attr-defined]
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.setdefault("starts_on", today)
            self.initial.setdefault("ends_on", today + timedelta(days=14))
            if user.role == Role.TRAINER:
                self.initial.setdefault("trainer", user.pk)
        fields["name"].widget.attrs["placeholder"] = _("e.g. Village A1 spring class")


class SessionForm(forms.Form):
    day = forms.DateField(label=gettext_lazy("Date"), widget=_DateInput())
    starts = forms.TimeField(
        label=gettext_lazy("Start time"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    ends = forms.TimeField(
        label=gettext_lazy("End time"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    topic = forms.CharField(label=gettext_lazy("Topic"), max_length=200, required=False)

    def __init__(self, data: Any = None, *, cohort: Cohort) -> None:
        super().__init__(data, prefix=f"session-{cohort.pk}")
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.update(
                day=min(max(today, cohort.starts_on), cohort.ends_on),
                starts=SESSION_START,
                ends=SESSION_END,
            )

    def moments(self) -> tuple[datetime, datetime]:
        """Start and end, in China's time zone (the page's)."""
        data = self.cleaned_data
        starts = timezone.make_aware(datetime.combine(data["day"], data["starts"]))
        ends = timezone.make_aware(datetime.combine(data["day"], data["ends"]))
        return starts, ends


# The service's name of a field → the form's.
FIELD_NAMES = {"starts_at": "starts", "ends_at": "ends"}


def _apply_refusal(form: forms.Form, exc: ApplicationError) -> int:
    """Show a service's refusal next to its field (or the form); the page's status."""
    if exc.status == 403:
        raise exc
    field = exc.extra.get("field")
    field = FIELD_NAMES.get(str(field), field)
    form.add_error(
        field if isinstance(field, str) and field in form.fields else None,
        _refusal(exc),
    )
    return exc.status


# --- the trainer's dashboard ----------------------------------------------------------


@page
@require_http_methods(["GET", "POST"])
def trainer_dashboard(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = selectors.trainer_cohorts(user)
    options = selectors.cohort_options(user)
    may_create = has_role(user, selectors.ORGANISERS)
    cohort_form = CohortForm(options=options, user=user)
    session_forms: dict[int, SessionForm] = {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "cohort":
            _refuse_unless(may_create)
            cohort_form = CohortForm(request.POST, options=options, user=user)
            status = 400
            if cohort_form.is_valid():
                try:
                    cohort = services.cohort_create(user, **cohort_form.cleaned_data)
                except ApplicationError as exc:
                    status = _apply_refusal(cohort_form, exc)
                else:
                    messages.success(
                        request,
                        _("Cohort “%(name)s” created: add its sessions below.")
                        % {"name": cohort.name},
                    )
                    return redirect(f"{reverse('training:trainer')}#cohort-{cohort.pk}")
        elif action == "session":
            row = _row(rows, request.POST.get("cohort", ""))
            _refuse_unless(_may_organise(user, row.cohort))
            form = SessionForm(request.POST, cohort=row.cohort)
            session_forms[row.cohort.pk] = form
            status = 400
            if form.is_valid():
                starts_at, ends_at = form.moments()
                try:
                    session = services.session_create(
                        user,
                        row.cohort,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        topic=form.cleaned_data["topic"],
                    )
                except ApplicationError as exc:
                    status = _apply_refusal(form, exc)
                else:
                    messages.success(request, _("Session added."))
                    return redirect("training:session", session_id=session.pk)
        else:
            return HttpResponse(_("Unknown action."), status=400)
    cards = [
        {
            "row": row,
            "may_organise": _may_organise(user, row.cohort),
            "session_form": session_forms.get(row.cohort.pk)
            or SessionForm(cohort=row.cohort),
        }
        for row in rows
    ]
    return render(
        request,
        "training/staff/trainer.html",
        {
            "cards": cards,
            "may_create": may_create and options.courses.exists(),
            "cohort_form": cohort_form,
            "failed_cohort": request.method == "POST" and cohort_form.is_bound,
        },
        status=status,
    )


def _row(rows: list[selectors.CohortRow], raw: str) -> selectors.CohortRow:
    if raw.isdigit():
        for row in rows:
            if row.cohort.pk == int(raw):
                return row
    raise Http404(_("No such cohort."))


# --- a cohort -------------------------------------------------------------------------


@page
@require_http_methods(["GET", "POST"])
def cohort_detail(request: HttpRequest, cohort_id: int) -> HttpResponse:
    user = _user(request)
    report = selectors.cohort_report(user, cohort_id)
    may_organise = _may_organise(user, report.cohort)
    add_error = ""
    status = 200
    if request.method == "POST":
        _refuse_unless(may_organise)
        raw = request.POST.get("enrolment", "")
        chosen = next(
            (
                c
                for c in report.candidates
                if raw.isdigit() and c.enrolment_id == int(raw)
            ),
            None,
        )
        if chosen is None:
            add_error = _("Choose a household from the list.")
            status = 400
        else:
            try:
                services.cohort_add(user, report.cohort, chosen.enrolment)
            except ApplicationError as exc:
                if exc.status == 403:
                    raise
                add_error, status = _refusal(exc), exc.status
            else:
                messages.success(
                    request,
                    _("Household %(number)s joined the cohort.")
                    % {"number": chosen.number},
                )
                return redirect("training:cohort", cohort_id=cohort_id)
    return render(
        request,
        "training/staff/cohort.html",
        {
            "report": report,
            "cohort": report.cohort,
            "row": report.row,
            "may_organise": may_organise,
            "add_error": add_error,
            "posted": request.POST.get("enrolment", ""),
        },
        status=status,
    )


# --- a session ------------------------------------------------------------------------


def checkin_qr(url: str) -> str:
    """The check-in address as an inline SVG QR code (scales with CSS, no size set)."""
    code = segno.make(url, error=QR_ERROR)
    svg: str = code.svg_inline(
        scale=1,
        border=4,
        omitsize=True,
        light="#fff",
        svgclass="qr",
        lineclass="qr-line",
        title=_("Check-in QR code"),
    )
    return svg


@page
@require_http_methods(["GET", "POST"])
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    user = _user(request)
    report = selectors.session_report(user, session_id)
    may_organise = _may_organise(user, report.cohort)
    roll_error = ""
    status = 200
    if request.method == "POST":
        _refuse_unless(may_organise)
        raw = request.POST.getlist("present")
        if not all(value.isdigit() for value in raw):
            roll_error, status = _("The roll call was not understood."), 400
        else:
            try:
                counts = services.roll_call(
                    user, report.session, {int(value) for value in raw}
                )
            except ApplicationError as exc:
                if exc.status == 403:
                    raise
                roll_error, status = _refusal(exc), exc.status
            else:
                messages.success(
                    request,
                    _(
                        "Roll call saved: %(present)d marked present, %(added)d "
                        "added, %(removed)d removed."
                    )
                    % counts,
                )
                return redirect("training:session", session_id=session_id)
    url = request.build_absolute_uri(
        reverse("training:checkin", args=[report.session.checkin_token])
    )
    return render(
        request,
        "training/staff/session.html",
        {
            "report": report,
            "session": report.session,
            "cohort": report.cohort,
            "qr": checkin_qr(url),
            "checkin_url": url,
            "may_organise": may_organise,
            "roll_error": roll_error,
            "window_opens": report.session.starts_at - CHECKIN_WINDOW,
            "window_closes": report.session.ends_at + CHECKIN_WINDOW,
        },
        status=status,
    )


# --- coverage and outcomes ------------------------------------------------------------

BAR_ENROLLED = "#e0a526"
BAR_TRAINED = "#3b7d4f"


def _percent(value: object) -> float | None:
    if not isinstance(value, Fraction):
        return None
    return round(float(value) * 100, 1)


def coverage_chart(result: selectors.TrainingCoverage) -> dict[str, object]:
    """ECharts options (drawn by ``propoor/charts.js``): enrolled and trained, in %."""
    rows = [r for r in result.rows if r.targeted]
    if not rows:
        return {}
    zh = _chinese()
    names = [r.name if zh or not r.name_en else r.name_en for r in rows]

    def series(name: str, values: list[float | None], color: str) -> dict[str, object]:
        return {
            "name": name,
            "type": "bar",
            "data": [
                None if v is None else {"value": v, "label": {"formatter": f"{v:.1f}%"}}
                for v in values
            ],
            "itemStyle": {"color": color},
            "label": {"show": True, "position": "right"},
            "barMaxWidth": 16,
            "unit": "%",
            "decimals": 1,
        }

    option = {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0, "left": "center"},
        "grid": {"left": 8, "right": 56, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "value",
            "max": 100,
            "axisLabel": {"formatter": "{value}%"},
            "interval": 25,
            "splitLine": {"lineStyle": {"type": "dashed"}},
        },
        "yAxis": {
            "type": "category",
            "data": names,
            "inverse": True,
            "axisLabel": {"overflow": "break"},
        },
        "series": [
            series(
                _("Enrolled"),
                [_percent(r.share_enrolled) for r in rows],
                BAR_ENROLLED,
            ),
            series(
                _("Trained"), [_percent(r.share_trained) for r in rows], BAR_TRAINED
            ),
        ],
        "codes": [r.code for r in rows],
    }
    return {"coverage": {"option": option, "height": 64 + 44 * len(rows)}}


@page
@require_GET
def coverage(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    area_code = request.GET.get("area") or None
    result = selectors.coverage(user)
    needed = selectors.still_needed(user, area_code)
    areas = selectors.cohort_options(user).areas
    return render(
        request,
        "training/staff/coverage.html",
        {
            "coverage": result,
            "needed": Paginator(needed, PAGE_SIZE).get_page(request.GET.get("page")),
            "needed_households": len({r.household_id for r in needed}),
            "areas": areas,
            "area": area_code or "",
            "charts": coverage_chart(result),
        },
    )


@page
@require_GET
def outcomes(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    area_code = request.GET.get("area") or None
    rows = selectors.outcomes(user, area_code)
    return render(
        request,
        "training/staff/outcomes.html",
        {
            "rows": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
            "total": len(rows),
            "areas": selectors.cohort_options(user).areas,
            "area": area_code or "",
        },
    )
