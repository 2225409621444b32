"""Edge validation of what pages receive (query strings and the login form)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from propoor.households.models import Category, Cause, Status

DIVISION_CODE = r"^[0-9]{12}$"


class LoginForm(AuthenticationForm):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "autocapitalize": "none"}
        )
        self.fields["password"].widget.attrs.update(
            {"autocomplete": "current-password"}
        )


def _with_all(choices: list[tuple[str, str]]) -> list[tuple[str, object]]:
    return [("", _("All")), *choices]


class DashboardForm(forms.Form):
    area = forms.RegexField(regex=DIVISION_CODE, required=False)
    year = forms.IntegerField(min_value=2010, max_value=2100, required=False)


class HouseholdFilterForm(forms.Form):
    """The household list's filters; an invalid value is dropped and reported."""

    POOR_CHOICES = (("", _("All")), ("yes", _("Poor")), ("no", _("Not poor")))

    q = forms.CharField(max_length=60, required=False, strip=True)
    village = forms.RegexField(regex=DIVISION_CODE, required=False)
    status = forms.ChoiceField(choices=_with_all(Status.choices), required=False)
    category = forms.ChoiceField(choices=_with_all(Category.choices), required=False)
    cause = forms.ChoiceField(choices=_with_all(Cause.choices), required=False)
    poor = forms.ChoiceField(choices=POOR_CHOICES, required=False)
    page = forms.IntegerField(min_value=1, required=False)

    def filters(self) -> dict[str, object]:
        """The valid, non-empty filters as keyword arguments of ``household_list``."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        found: dict[str, object] = {}
        for name in ("q", "village", "status", "category", "cause"):
            value = data.get(name)
            if value:
                found[name] = value
        poor = data.get("poor")
        if poor:
            found["poor"] = poor == "yes"
        return found

    def page_number(self) -> int:
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("page") or 1
