"""Edge validation of what the survey pages receive: uploads, filters, review."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext_lazy as _

from propoor.surveys.models import ChangeStatus
from propoor.surveys.services.forms import MAX_XLSFORM_BYTES

DIVISION_CODE = r"^[0-9]{12}$"
XLSX_MAGIC = b"PK\x03\x04"


class FormUploadForm(forms.Form):
    xlsform = forms.FileField(
        label=_("XLSForm (.xlsx)"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument"
                ".spreadsheetml.sheet"
            }
        ),
    )
    area = forms.RegexField(
        regex=DIVISION_CODE,
        required=False,
        label=_("Used in (division code, optional)"),
        error_messages={"invalid": _("A division code has 12 digits.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 12}),
    )

    def clean_xlsform(self) -> object:
        upload = self.cleaned_data["xlsform"]
        if not upload.name.lower().endswith(".xlsx"):
            raise forms.ValidationError(_("Upload an XLSForm saved as .xlsx."))
        if upload.size > MAX_XLSFORM_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        head = upload.read(4)
        upload.seek(0)
        if head != XLSX_MAGIC:
            raise forms.ValidationError(_("This file is not an .xlsx workbook."))
        return upload


def _with_all(choices: Sequence[tuple[str, object]]) -> list[tuple[str, object]]:
    return [("", _("All")), *choices]


class ReviewFilterForm(forms.Form):
    """The review queue's filters; an invalid value is dropped and reported."""

    status = forms.ChoiceField(
        choices=_with_all(ChangeStatus.choices), required=False, label=_("Status")
    )
    village = forms.RegexField(regex=DIVISION_CODE, required=False, label=_("Village"))
    page = forms.IntegerField(min_value=1, required=False)

    def filters(self) -> dict[str, str]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data[name] for name in ("status", "village") if data.get(name)}

    def page_number(self) -> int:
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("page") or 1


class ApproveForm(forms.Form):
    force = forms.BooleanField(required=False, label=_("Approve despite the conflict"))


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=400,
        strip=True,
        label=_("Reason"),
        error_messages={"required": _("Give a reason for rejecting.")},
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 400}),
    )


class CoverageForm(forms.Form):
    FIRST_YEAR = 2010
    LAST_YEAR = 2100

    year = forms.IntegerField(min_value=FIRST_YEAR, max_value=LAST_YEAR, required=False)
