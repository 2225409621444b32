"""Installing the shipped forms and uploading XLSForms (versions, errors, roles)."""

from __future__ import annotations

import pytest

from propoor.accounts.models import Role
from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.core.models import AuditEntry
from propoor.households.tests.factories import (
    COUNTY,
    VILLAGE_A1,
    make_area_tree,
    make_user,
)
from propoor.surveys.forms import HOUSEHOLD_XLSX, build
from propoor.surveys.models import Form, FormVersion
from propoor.surveys.services import form_upload, forms_install_shipped

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    make_area_tree()
    return make_user(Role.COUNTY_ADMIN, [COUNTY])


def _household_xlsx(version: str, rows=None) -> bytes:
    return build.workbook(
        build.HOUSEHOLD if rows is None else rows,
        form_id="propoor_household",
        version=version,
        title_zh="农户年度调查",
        title_en="Household survey",
        lists=list(build.CHOICES),
    )


def test_installing_the_shipped_forms_twice_installs_them_once():
    # given nothing installed
    # when the shipped forms are installed twice
    first = forms_install_shipped()
    second = forms_install_shipped()

    # then there are two forms with one version each, the same rows both times
    assert [(v.form.form_id, v.form.kind, v.version) for v in first] == [
        ("propoor_household", "household", "2025.1"),
        ("propoor_village", "village", "2025.1"),
    ]
    assert [v.pk for v in second] == [v.pk for v in first]
    assert FormVersion.objects.count() == 2
    assert Form.objects.filter(area__isnull=True, active=True).count() == 2
    assert all(v.is_current for v in first)
    assert first[0].xlsform_name == "household.xlsx"
    assert bytes(first[0].xlsform) == HOUSEHOLD_XLSX.read_bytes()


def test_an_upload_adds_a_version_and_makes_it_current(admin):
    # given the shipped forms
    (old, _) = forms_install_shipped()

    # when a county administrator uploads version 2025.2 of the household form
    new = form_upload(admin, xlsform=_household_xlsx("2025.2"), filename="hh.xlsx")

    # then the form has two versions, the new one current, and the upload audited
    assert new.form_id == old.form_id
    assert list(
        FormVersion.objects.filter(form=old.form)
        .order_by("version")
        .values_list("version", "is_current")
    ) == [("2025.1", False), ("2025.2", True)]
    assert new.created_by == admin
    assert new.mapping == old.mapping
    assert 'version="2025.2"' in new.xform
    entry = AuditEntry.objects.filter(action="form.upload").order_by("-seq").first()
    assert entry.actor == admin.username
    assert entry.data["version"] == "2025.2"


def test_uploading_a_version_again_is_a_conflict(admin):
    forms_install_shipped()
    before = FormVersion.objects.count()

    with pytest.raises(Conflict) as caught:
        form_upload(admin, xlsform=_household_xlsx("2025.1"), filename="hh.xlsx")

    assert caught.value.status == 409
    assert caught.value.extra == {"form_id": "propoor_household", "version": "2025.1"}
    assert FormVersion.objects.count() == before


def test_a_broken_xlsform_names_the_sheet_and_row(admin):
    # given a form whose fourth row has a question type that does not exist
    rows = [
        build.q("text", "village_code", "村", "Village"),
        build.q("integer", "year", "年", "Year"),
        build.q("txt", "household_number", "户", "Household"),
    ]

    # when it is uploaded
    with pytest.raises(ValidationFailed) as caught:
        form_upload(admin, xlsform=_household_xlsx("9", rows), filename="bad.xlsx")

    # then the error names the survey sheet and row 4; nothing is stored
    errors = caught.value.extra["errors"]
    assert len(errors) == 1
    assert (errors[0]["sheet"], errors[0]["row"]) == ("survey", 4)
    assert "txt" in errors[0]["message"]
    assert caught.value.message.startswith(
        "The XLSForm is not valid (sheet survey, row 4): "
    )
    assert Form.objects.count() == 0


def test_a_select_from_a_missing_choice_list_names_its_row(admin):
    rows = [
        build.q("text", "village_code", "村", "Village"),
        build.q("integer", "year", "年", "Year"),
        build.q("text", "household_number", "户", "Household"),
        build.q("select_one nowhere", "food_secure", "吃", "Food"),
    ]

    with pytest.raises(ValidationFailed) as caught:
        form_upload(admin, xlsform=_household_xlsx("9", rows), filename="bad.xlsx")

    (error,) = caught.value.extra["errors"]
    assert error["row"] == 5
    assert "nowhere" in error["message"]
    assert Form.objects.count() == 0


def test_a_form_that_fills_no_registry_field_is_refused(admin):
    rows = [build.q("text", "favourite_colour", "颜色", "Colour")]

    with pytest.raises(ValidationFailed) as caught:
        form_upload(admin, xlsform=_household_xlsx("9", rows), filename="x.xlsx")

    assert caught.value.extra["errors"] == [
        {
            "sheet": "survey",
            "row": None,
            "message": "The form fills no registry field: name questions after "
            "registry fields (or add a 'registry' column); see surveys/README.md.",
        }
    ]


def test_a_household_form_without_the_year_is_refused(admin):
    rows = [
        build.q("text", "village_code", "村", "Village"),
        build.q("text", "household_number", "户", "Household"),
    ]

    with pytest.raises(ValidationFailed) as caught:
        form_upload(admin, xlsform=_household_xlsx("9", rows), filename="x.xlsx")

    assert caught.value.extra["errors"] == [
        {
            "sheet": "survey",
            "row": None,
            "message": "A household form needs a question 'year'.",
        }
    ]


def test_a_file_that_is_not_a_workbook_is_refused(admin):
    with pytest.raises(ValidationFailed) as caught:
        form_upload(admin, xlsform=b"not a workbook", filename="form.xlsx")

    (error,) = caught.value.extra["errors"]
    assert (error["sheet"], error["row"]) == (None, None)
    assert Form.objects.count() == 0


def test_a_file_that_is_not_an_xlsform_by_name_is_refused(admin):
    with pytest.raises(ValidationFailed) as caught:
        form_upload(admin, xlsform=b"a,b", filename="form.csv")

    assert caught.value.extra["errors"] == [
        {
            "sheet": None,
            "row": None,
            "message": "Upload an XLSForm as an .xlsx (or .xls) file.",
        }
    ]


def test_a_village_cadre_may_not_upload_forms():
    make_area_tree()
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])

    with pytest.raises(PermissionDenied):
        form_upload(cadre, xlsform=_household_xlsx("9"), filename="hh.xlsx")

    assert Form.objects.count() == 0


def test_a_township_officer_uploads_a_form_for_the_township():
    # given a township officer of township A
    make_area_tree()
    officer = make_user(Role.TOWNSHIP_OFFICER, ["530102001000"])
    rows = [row for row in build.HOUSEHOLD]

    # when they upload a new form without naming an area
    version = form_upload(
        officer,
        xlsform=build.workbook(
            rows,
            form_id="township_a_household",
            version="1",
            title_zh="乡镇调查",
            title_en="Township survey",
            lists=list(build.CHOICES),
        ),
        filename="t.xlsx",
    )

    # then the form is used in their township
    assert version.form.area_id == "530102001000"
    assert version.form.kind == "household"


def test_a_township_officer_may_not_replace_a_form_used_everywhere():
    make_area_tree()
    forms_install_shipped()
    officer = make_user(Role.TOWNSHIP_OFFICER, ["530102001000"])

    with pytest.raises(NotFound):
        form_upload(officer, xlsform=_household_xlsx("2025.2"), filename="hh.xlsx")

    assert FormVersion.objects.count() == 2


def test_an_upload_for_an_area_outside_the_scope_is_not_found(admin):
    with pytest.raises(NotFound):
        form_upload(
            admin,
            xlsform=_household_xlsx("1"),
            filename="hh.xlsx",
            area_code="110000000000",
        )

    assert Form.objects.count() == 0
