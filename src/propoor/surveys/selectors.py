"""Reads of the surveys domain, scoped by the user's area.

Registry readers (county administrators, township officers, village cadres,
auditors) see forms used in their area and the submissions and change requests of
their villages; anything else is NotFound. Member ID numbers only ever appear masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from propoor.accounts.roles import REGISTRY_READERS, require_role
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division, Level, VillageProfile
from propoor.areas.selectors import ancestor_codes
from propoor.core.errors import NotFound
from propoor.households.models import Household, Member, Snapshot
from propoor.surveys.models import (
    Attachment,
    ChangeKind,
    ChangeRequest,
    ChangeStatus,
    Form,
    FormVersion,
    Submission,
)
from propoor.surveys.submissions import PROFILE_FIELDS, SNAPSHOT_FIELDS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from django.db import models

    from propoor.accounts.models import User


@dataclass(frozen=True)
class DiffRow:
    field: str
    label: str
    current: str
    proposed: str
    changed: bool


@dataclass(frozen=True)
class ChangeDetail:
    change: ChangeRequest
    submission: Submission
    diff: list[DiffRow]
    attachments: list[Attachment] = field(default_factory=list)
    latitude: Decimal | None = None
    longitude: Decimal | None = None


@dataclass(frozen=True)
class CoverageRow:
    village_code: str
    village_name: str
    households: int
    surveyed: int
    due: int  # households not surveyed yet this year


# --- forms -------------------------------------------------------------------


def _visible_forms(user: User | None) -> QuerySet[Form]:
    """Forms used everywhere, inside the user's scope, or above it."""
    require_role(user, REGISTRY_READERS)
    scope = scope_of(user)
    forms = Form.objects.all()
    if scope.everything:
        return forms
    above = sorted({c for p in scope.prefixes for c in ancestor_codes(p)})
    return forms.filter(
        Q(area__isnull=True) | scope.q("area__code") | Q(area__code__in=above)
    )


def form_list(user: User | None) -> QuerySet[Form]:
    """Active forms used in the user's area; ``form.current_version`` prefetched.

    The versions come without their XForm, XLSForm and mapping (a list shows the
    version, hash and date; a download reads the one version it sends).
    """
    return (
        _visible_forms(user)
        .filter(active=True)
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=FormVersion.objects.filter(is_current=True).defer(
                    "xform", "xlsform", "mapping"
                ),
                to_attr="current_versions",
            )
        )
        .order_by("form_id")
    )


def form_version_get(
    user: User | None, form_id: str, version: str | None = None
) -> FormVersion:
    """One version of a visible form (the current one when ``version`` is None)."""
    versions = FormVersion.objects.select_related("form").filter(
        form__in=_visible_forms(user), form__form_id=form_id
    )
    if version is None:
        versions = versions.filter(is_current=True)
    else:
        versions = versions.filter(version=version)
    found = versions.first()
    if found is None:
        if version is None:
            raise NotFound(_("No form %(form)s.") % {"form": form_id})
        raise NotFound(
            _("No form %(form)s in version %(version)s.")
            % {"form": form_id, "version": version}
        )
    return found


def form_versions(user: User | None, form_id: str) -> QuerySet[FormVersion]:
    """Every version of a visible form, newest first (the XForm deferred)."""
    form = _visible_forms(user).filter(form_id=form_id).first()
    if form is None:
        raise NotFound(_("No form %(form)s.") % {"form": form_id})
    return (
        FormVersion.objects.filter(form=form)
        .select_related("form", "created_by")
        .defer("xform", "xlsform")
        .order_by("-created_at", "-id")
    )


# --- submissions and change requests ----------------------------------------


def _visible_submissions_q(user: User | None) -> Q:
    require_role(user, REGISTRY_READERS)
    scope = scope_of(user)
    if scope.everything:
        return Q()
    # A refused submission may name no village (unknown form, bad code): its
    # submitter sees it, and so does whoever oversees the submitter's area.
    return (
        scope.q("village__code")
        | Q(submitted_by=user)
        | (Q(village__isnull=True) & scope.q("submitted_by__scopes__code"))
    )


def submission_list(
    user: User | None, *, status: str | None = None, village: str | None = None
) -> QuerySet[Submission]:
    """Submissions the user may see, newest first (the raw XML deferred)."""
    submissions = Submission.objects.filter(_visible_submissions_q(user))
    if status is not None:
        submissions = submissions.filter(status=status)
    if village is not None:
        submissions = submissions.filter(village_id=village)
    return (
        submissions.distinct()
        .select_related("form_version__form", "submitted_by", "village", "household")
        .defer("xml", "xml_encrypted", "form_version__xform", "form_version__xlsform")
        .order_by("-received_at", "-id")
    )


def submission_detail(user: User | None, submission_id: int) -> Submission:
    """One visible submission with its attachments (their data deferred)."""
    found = (
        Submission.objects.filter(_visible_submissions_q(user))
        .filter(pk=submission_id)
        .select_related("form_version__form", "submitted_by", "village", "household")
        .defer("xml_encrypted", "form_version__xform", "form_version__xlsform")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.defer("data"))
        )
        .first()
    )
    if found is None:
        raise NotFound(_("No submission %(id)s.") % {"id": submission_id})
    return found


def attachment_get(user: User | None, submission_id: int, name: str) -> Attachment:
    """One attachment (with its data) of a visible submission."""
    submission = submission_detail(user, submission_id)
    found = Attachment.objects.filter(submission=submission, name=name).first()
    if found is None:
        raise NotFound(_("No attachment %(name)s.") % {"name": name})
    return found


def _changes(user: User | None) -> QuerySet[ChangeRequest]:
    require_role(user, REGISTRY_READERS)
    return ChangeRequest.objects.filter(scope_of(user).q("village__code"))


def review_queue(
    user: User | None, *, status: str | None = None, village: str | None = None
) -> QuerySet[ChangeRequest]:
    """Change requests of the user's villages, oldest first.

    ``status`` None gives the open ones (pending and in conflict); a status value
    gives only those.
    """
    changes = _changes(user)
    if status is None:
        changes = changes.filter(
            status__in=[ChangeStatus.PENDING, ChangeStatus.CONFLICT]
        )
    else:
        changes = changes.filter(status=status)
    if village is not None:
        changes = changes.filter(village_id=village)
    return (
        changes.select_related(
            "submission", "submission__submitted_by", "village", "household", "reviewer"
        )
        .defer("submission__xml", "submission__xml_encrypted")
        .order_by("created_at", "id")
    )


def _show(f: models.Field | None, value: object) -> str:  # type: ignore[type-arg]
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if f is not None and f.choices:
        return str(dict(f.flatchoices).get(value, value))
    return str(value)


def _label(f: models.Field) -> str:  # type: ignore[type-arg]
    text = str(f.verbose_name)
    return text[:1].upper() + text[1:]


def _row(name: str, label: str, current: str, proposed: str) -> DiffRow:
    return DiffRow(name, label, current, proposed, changed=current != proposed)


def _normal(f: models.Field, value: object) -> object:  # type: ignore[type-arg]
    """Payload values (strings for decimals and dates) as the field's values."""
    if value is None or value == "":
        return value
    internal = f.get_internal_type()
    if internal == "DecimalField" or isinstance(value, Decimal):
        places = getattr(f, "decimal_places", 2)
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    if internal == "DateField" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def _field_rows(
    fields: Mapping[str, models.Field],  # type: ignore[type-arg]
    current: object | None,
    proposed: Mapping[str, object],
) -> list[DiffRow]:
    rows = []
    for name, f in fields.items():
        if name not in proposed:
            continue
        now = getattr(current, name) if current is not None else None
        new = _normal(f, proposed[name])
        if now is not None:
            now = _normal(f, now)
        rows.append(_row(name, _label(f), _show(f, now), _show(f, new)))
    return rows


def _member_text(values: Mapping[str, object]) -> str:
    parts = [
        str(values.get("name", "")),
        str(values.get("id_masked", "")),
        str(values.get("relation", "")),
        str(values.get("labour", "")),
        str(values.get("health", "")),
        str(values.get("schooling", "")),
    ]
    if values.get("in_school"):
        parts.append("in school")
    if values.get("skills"):
        parts.append(str(values["skills"]))
    return " · ".join(parts)


def _of_member(member: Member) -> dict[str, object]:
    return {
        "name": member.name,
        "id_masked": member.id_masked,
        "relation": member.relation,
        "labour": member.labour,
        "health": member.health,
        "schooling": member.schooling,
        "in_school": member.in_school,
        "skills": member.skills,
    }


def _household_diff(change: ChangeRequest) -> list[DiffRow]:
    payload = change.payload
    household = change.household if change.kind == ChangeKind.UPDATE else None
    head = payload.get("household", {})
    rows: list[DiffRow] = []
    h_fields = {f.name: f for f in Household._meta.get_fields() if f.concrete}
    if household is None:
        rows.append(_row("village_code", "Village", "", change.village_id))
        for name in ("head_name", "address", "phone", "category"):
            rows.append(
                _row(
                    name, _label(h_fields[name]), "", _show(h_fields[name], head[name])
                )
            )
    main = head.get("main_cause", "")
    if main or household is None:
        now = (
            [household.main_cause, household.second_cause, household.third_cause]
            if household is not None
            else []
        )
        proposed = [main, *head.get("secondary_causes", [])]
        rows.append(
            _row(
                "causes",
                "Causes of poverty",
                ", ".join(c for c in now if c),
                ", ".join(c for c in proposed if c),
            )
        )
    location = payload.get("location")
    if isinstance(location, dict):
        now_text = (
            f"{household.latitude} {household.longitude}"
            if household is not None and household.latitude is not None
            else ""
        )
        places = Decimal("0.00001")
        rows.append(
            _row(
                "location",
                "Location",
                now_text,
                f"{Decimal(location['latitude']).quantize(places)} "
                f"{Decimal(location['longitude']).quantize(places)}",
            )
        )
    snapshot = None
    if household is not None:
        snapshot = (
            Snapshot.objects.filter(household=household, year__lte=change.year)
            .order_by("-year")
            .first()
        )
    rows.append(
        _row(
            "year",
            "Survey year",
            str(snapshot.year) if snapshot is not None else "",
            str(payload.get("year", "")),
        )
    )
    rows.extend(_field_rows(SNAPSHOT_FIELDS, snapshot, payload.get("snapshot", {})))
    existing: dict[str, Member] = {}
    if household is not None:
        existing = {m.id_hash: m for m in household.members.filter(active=True)}
    seen: set[str] = set()
    for member in payload.get("members", []):
        found = existing.get(str(member.get("id_hash", "")))
        if found is not None:
            seen.add(found.id_hash)
        label = f"Member {member['index']}: {member['name']}" + (
            "" if found is not None else " (new)"
        )
        rows.append(
            _row(
                f"members[{member['index']}]",
                label,
                _member_text(_of_member(found)) if found is not None else "",
                _member_text(member),
            )
        )
    for hash_, member in existing.items():
        if hash_ not in seen:
            text = _member_text(_of_member(member))
            rows.append(
                _row(f"member:{member.pk}", f"{member.name} (kept)", text, text)
            )
    return rows


def _village_diff(change: ChangeRequest) -> list[DiffRow]:
    profile = VillageProfile.objects.filter(village_id=change.village_id).first()
    payload = change.payload
    rows = _field_rows(PROFILE_FIELDS, profile, payload.get("profile", {}))
    location = payload.get("location")
    if isinstance(location, dict):
        places = Decimal("0.00001")
        now = (
            f"{profile.latitude} {profile.longitude}"
            if profile is not None and profile.latitude is not None
            else ""
        )
        rows.append(
            _row(
                "location",
                "Location",
                now,
                f"{Decimal(location['latitude']).quantize(places)} "
                f"{Decimal(location['longitude']).quantize(places)}",
            )
        )
    return rows


def change_detail(user: User | None, change_id: int) -> ChangeDetail:
    """A change request beside the registry's current values, row by row."""
    change = (
        _changes(user)
        .filter(pk=change_id)
        .select_related(
            "submission",
            "submission__submitted_by",
            "submission__form_version__form",
            "village",
            "household",
            "reviewer",
        )
        .defer("submission__xml_encrypted")
        .first()
    )
    if change is None:
        raise NotFound(_("No change request %(id)s.") % {"id": change_id})
    diff = (
        _village_diff(change)
        if change.kind == ChangeKind.VILLAGE
        else _household_diff(change)
    )
    submission = change.submission
    return ChangeDetail(
        change=change,
        submission=submission,
        diff=diff,
        attachments=list(
            Attachment.objects.filter(submission=submission).defer("data")
        ),
        latitude=submission.latitude,
        longitude=submission.longitude,
    )


# --- coverage ----------------------------------------------------------------


def coverage_by_village(user: User | None, *, year: int) -> list[CoverageRow]:
    """Per village of the user's scope: households, surveyed this year, still due.

    A household counts as surveyed when it has a snapshot of ``year`` or an
    approved survey change of ``year``.
    """
    require_role(user, REGISTRY_READERS)
    scope = scope_of(user)
    villages = list(
        Division.objects.filter(scope.q("code"), level=Level.VILLAGE)
        .order_by("code")
        .values_list("code", "name")
    )
    households = Household.objects.filter(scope.q("village__code"))
    totals = dict(
        households.values_list("village_id").annotate(n=Count("id")).order_by()
    )
    surveyed_q = Exists(
        Snapshot.objects.filter(household=OuterRef("pk"), year=year)
    ) | Exists(
        ChangeRequest.objects.filter(
            household=OuterRef("pk"), year=year, status=ChangeStatus.APPROVED
        )
    )
    surveyed = dict(
        households.filter(surveyed_q)
        .values_list("village_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = []
    for code, name in villages:
        total = totals.get(code, 0)
        done = surveyed.get(code, 0)
        rows.append(
            CoverageRow(
                village_code=code,
                village_name=name,
                households=total,
                surveyed=done,
                due=total - done,
            )
        )
    return rows
