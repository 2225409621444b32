"""Forms: the shipped XLSForms and uploaded ones, converted by pyxform, versioned.

A form is identified by the ``form_id`` of its settings sheet; each upload with a new
``version`` becomes that form's current version (earlier versions stay, so that
submissions made with them can still be read). Uploading a version again is a 409.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from propoor.accounts.roles import Role, require_role
from propoor.accounts.scope import scope_of
from propoor.areas.models import Division
from propoor.core.audit import audit_append
from propoor.core.errors import Conflict, NotFound, ValidationFailed
from propoor.surveys.forms import SHIPPED
from propoor.surveys.models import Form, FormKind, FormVersion
from propoor.surveys.xlsforms import ConvertedForm, XLSFormInvalid, convert_xlsform

if TYPE_CHECKING:
    from propoor.accounts.models import User

logger = logging.getLogger(__name__)

FORM_MANAGERS = frozenset({Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER})
MAX_XLSFORM_BYTES = 5 * 1024 * 1024


def _convert(xlsform: bytes, filename: str) -> ConvertedForm:
    if len(xlsform) > MAX_XLSFORM_BYTES:
        raise ValidationFailed(
            _("The XLSForm is larger than 5 MiB."),
            extra={
                "errors": [
                    {
                        "sheet": None,
                        "row": None,
                        "message": _("The file is too large."),
                    }
                ]
            },
        )
    try:
        return convert_xlsform(xlsform, filename)
    except XLSFormInvalid as exc:
        first = exc.problems[0]
        if first.sheet is None:
            message = _("The XLSForm is not valid: %(problem)s")
        elif first.row is None:
            message = _("The XLSForm is not valid (sheet %(sheet)s): %(problem)s")
        else:
            message = _(
                "The XLSForm is not valid (sheet %(sheet)s, row %(row)s): %(problem)s"
            )
        raise ValidationFailed(
            message
            % {"sheet": first.sheet, "row": first.row, "problem": first.message},
            extra={"errors": [p.as_dict() for p in exc.problems]},
        ) from exc


def _save_version(
    actor: User | None,
    converted: ConvertedForm,
    *,
    xlsform: bytes,
    filename: str,
    area: Division | None,
) -> FormVersion:
    """Create the form if new, add the version and make it current (atomic)."""
    with transaction.atomic():
        form, created = Form.objects.select_for_update().get_or_create(
            form_id=converted.form_id,
            defaults={
                "title": converted.title,
                "kind": converted.kind,
                "area": area,
            },
        )
        if not created and form.kind != converted.kind:
            if form.kind == FormKind.HOUSEHOLD:
                message = _(
                    "Form %(form)s is a household form; this XLSForm fills village "
                    "fields."
                )
            else:
                message = _(
                    "Form %(form)s is a village form; this XLSForm fills household "
                    "fields."
                )
            raise Conflict(
                message % {"form": form.form_id},
                extra={"form_id": form.form_id},
            )
        if FormVersion.objects.filter(form=form, version=converted.version).exists():
            raise Conflict(
                _(
                    "Version %(version)s of form %(form)s was already uploaded; raise "
                    "the version on the settings sheet."
                )
                % {"version": converted.version, "form": form.form_id},
                extra={"form_id": form.form_id, "version": converted.version},
            )
        FormVersion.objects.filter(form=form, is_current=True).update(is_current=False)
        version = FormVersion(
            form=form,
            version=converted.version,
            xlsform=xlsform,
            xlsform_name=filename[:200],
            xform=converted.xform,
            md5=hashlib.md5(
                converted.xform.encode("utf-8"), usedforsecurity=False
            ).hexdigest(),
            mapping=converted.mapping,
            created_by=actor,
            is_current=True,
        )
        version.full_clean(exclude=["form", "created_by", "xlsform"])
        try:
            with transaction.atomic():
                version.save()
        except IntegrityError:  # a concurrent upload of the same version
            raise Conflict(
                _("Version %(version)s of form %(form)s was already uploaded.")
                % {"version": converted.version, "form": form.form_id},
                extra={"form_id": form.form_id, "version": converted.version},
            ) from None
        changed = []
        if form.title != converted.title:
            form.title = converted.title
            changed.append("title")
        if not form.active:
            form.active = True
            changed.append("active")
        if changed:
            form.save(update_fields=changed)
        audit_append(
            action="form.upload",
            actor=actor,
            object_type="form",
            object_id=form.form_id,
            data={
                "version": version.version,
                "file": version.xlsform_name,
                "md5": version.md5,
                "kind": form.kind,
                "area": form.area_id,
            },
        )
    logger.info("form %s version %s installed", form.form_id, version.version)
    return version


def _may_manage(actor: User, form: Form) -> bool:
    """A form used everywhere is a county administrator's; others their area's."""
    scope = scope_of(actor)
    if form.area_id is None:
        return scope.everything or actor.role == Role.COUNTY_ADMIN
    return scope.covers(form.area_id)


def form_upload(
    actor: User | None,
    *,
    xlsform: bytes,
    filename: str,
    area_code: str | None = None,
) -> FormVersion:
    """Convert an XLSForm with pyxform and keep it as a new version of its form.

    ``area_code`` limits where a new form is used (default: everywhere). Raises
    ValidationFailed with ``extra["errors"]`` = ``[{"sheet", "row", "message"}]``
    when pyxform or the registry mapping refuses the workbook, Conflict when this
    version exists.
    """
    if actor is not None:
        require_role(actor, FORM_MANAGERS)
    area = None
    if area_code:
        area = Division.objects.filter(code=area_code).first()
        if area is None or (
            actor is not None and not scope_of(actor).covers(area.code)
        ):
            raise NotFound(_("No division %(code)s.") % {"code": area_code})
    elif actor is not None and not scope_of(actor).everything:
        # Without an area, a form is used everywhere: only someone who sees
        # everything may publish one; others publish for their own area.
        prefixes = scope_of(actor).prefixes
        if len(prefixes) != 1:
            raise ValidationFailed(
                _("Choose the area the form is for."),
                extra={"fields": {"area_code": ["Required."]}},
            )
        area = Division.objects.filter(prefix=prefixes[0]).first()
    converted = _convert(xlsform, filename)
    existing = Form.objects.filter(form_id=converted.form_id).first()
    if existing is not None and actor is not None and not _may_manage(actor, existing):
        raise NotFound(_("No form %(form)s.") % {"form": converted.form_id})
    return _save_version(
        actor, converted, xlsform=xlsform, filename=filename, area=area
    )


def forms_install_shipped(actor: User | None = None) -> list[FormVersion]:
    """Install the household and village questionnaires (idempotent).

    Returns each shipped form's version as stored: a version already installed is
    returned as it is, not uploaded again.
    """
    if actor is not None:
        require_role(actor, FORM_MANAGERS)
    installed: list[FormVersion] = []
    for path in SHIPPED:
        data = path.read_bytes()
        converted = _convert(data, path.name)
        found = FormVersion.objects.filter(
            form__form_id=converted.form_id, version=converted.version
        ).first()
        if found is None:
            try:
                found = _save_version(
                    actor, converted, xlsform=data, filename=path.name, area=None
                )
            except Conflict:  # installed concurrently
                found = FormVersion.objects.get(
                    form__form_id=converted.form_id, version=converted.version
                )
        installed.append(found)
    return installed
