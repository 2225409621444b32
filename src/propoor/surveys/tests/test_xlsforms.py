"""The shipped XLSForms, as pyxform turns them into XForms, and the field mapping."""

from __future__ import annotations

import json
from pathlib import Path

from defusedxml import ElementTree

from propoor.areas.models import Coverage, Terrain
from propoor.households import models as household_models
from propoor.households.models import (
    Category,
    Cause,
    CookingFuel,
    Experience,
    Health,
    HousingGrade,
    HousingStructure,
    Internet,
    Labour,
    Relation,
    Sanitation,
    Schooling,
)
from propoor.surveys.forms import HOUSEHOLD_XLSX, VILLAGE_XLSX, build
from propoor.surveys.xlsforms import (
    MEMBER_TARGETS,
    PROFILE_TARGETS,
    SNAPSHOT_TARGETS,
    FormProblem,
    XLSFormInvalid,
    convert_xlsform,
    problem_from_pyxform,
)

XF = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"
JR = "{http://openrosa.org/javarosa}"


def _xform(path):
    converted = convert_xlsform(path.read_bytes(), path.name)
    return converted, ElementTree.fromstring(converted.xform.encode("utf-8"))


def _instance(doc):
    model = doc.find(f"{H}head/{XF}model")
    primary = next(i for i in model.findall(f"{XF}instance") if i.get("id") is None)
    return model, next(iter(primary))


def _binds(model) -> dict[str, str]:
    return {b.get("nodeset"): b.get("type") for b in model.findall(f"{XF}bind")}


def test_the_household_xform_has_the_instance_odk_collect_fills():
    # given the shipped household questionnaire
    converted, doc = _xform(HOUSEHOLD_XLSX)

    # when pyxform has turned it into an XForm
    model, root = _instance(doc)
    binds = _binds(model)

    # then the primary instance names the form and version, and holds the meta
    # instanceID, the members repeat, the geopoint and the photo
    assert (converted.form_id, converted.version, converted.kind) == (
        "propoor_household",
        "2025.1",
        "household",
    )
    assert root.tag == f"{XF}propoor_household"
    assert (root.get("id"), root.get("version")) == ("propoor_household", "2025.1")
    assert root.find(f"{XF}meta/{XF}instanceID") is not None
    assert binds["/propoor_household/meta/instanceID"] == "string"
    repeats = doc.findall(f".//{XF}repeat")
    assert [r.get("nodeset") for r in repeats] == ["/propoor_household/members"]
    template = root.find(f"{XF}members")
    assert template.get(f"{JR}template") == ""
    assert [c.tag.removeprefix(XF) for c in template] == [
        "name",
        "id_number",
        "age",
        "relation",
        "labour",
        "health",
        "schooling",
        "in_school",
        "skills",
    ]
    assert binds["/propoor_household/house/location"] == "geopoint"
    assert binds["/propoor_household/house/house_photo"] == "binary"
    upload = doc.find(f".//{XF}upload[@ref='/propoor_household/house/house_photo']")
    assert upload.get("mediatype") == "image/*"
    assert binds["/propoor_household/income/income_wages"] == "decimal"
    assert binds["/propoor_household/labour_group/size"] == "int"


def test_the_household_xform_speaks_chinese_and_english():
    # given the shipped household questionnaire as an XForm
    _, doc = _xform(HOUSEHOLD_XLSX)

    # when its translations are read
    model = doc.find(f"{H}head/{XF}model")
    translations = model.findall(f"{XF}itext/{XF}translation")

    # then both languages label every question, Chinese by default
    assert [(t.get("lang"), t.get("default")) for t in translations] == [
        ("简体中文 (zh)", "true()"),
        ("English (en)", None),
    ]
    labels = {
        t.get("lang"): {
            text.get("id"): text.findtext(f"{XF}value")
            for text in t.findall(f"{XF}text")
        }
        for t in translations
    }
    key = "/propoor_household/income/income_wages:label"
    assert labels["简体中文 (zh)"][key] == "工资性收入"
    assert labels["English (en)"][key] == "Wages"
    assert set(labels["简体中文 (zh)"]) == set(labels["English (en)"])


def test_the_village_xform_has_meta_geopoint_and_photo():
    # given the shipped village questionnaire
    converted, doc = _xform(VILLAGE_XLSX)

    # when pyxform has turned it into an XForm
    model, root = _instance(doc)
    binds = _binds(model)

    # then it is a village form with the instance ID, the office's GPS and a photo
    assert (converted.form_id, converted.version, converted.kind) == (
        "propoor_village",
        "2025.1",
        "village",
    )
    assert (root.get("id"), root.get("version")) == ("propoor_village", "2025.1")
    assert root.find(f"{XF}meta/{XF}instanceID") is not None
    assert binds["/propoor_village/location"] == "geopoint"
    assert binds["/propoor_village/village_photo"] == "binary"
    assert doc.findall(f".//{XF}repeat") == []


def test_the_household_form_fills_every_snapshot_indicator_and_member_field():
    # given the household form's mapping
    converted = convert_xlsform(HOUSEHOLD_XLSX.read_bytes(), HOUSEHOLD_XLSX.name)
    targets = set(converted.mapping.values())

    # then every snapshot field, every member field and the identification are mapped
    assert SNAPSHOT_TARGETS - targets == set()
    assert {f"members.{t}" for t in MEMBER_TARGETS} - targets == set()
    assert {
        "village_code",
        "new_household",
        "household_number",
        "head_name",
        "category",
        "main_cause",
        "secondary_causes",
        "year",
        "location",
        "members",
    } - targets == set()
    assert converted.mapping["income/income_wages"] == "income_wages"
    assert converted.mapping["members"] == "members"
    assert converted.mapping["members/id_number"] == "members.id_number"


def test_the_village_form_fills_every_profile_field():
    converted = convert_xlsform(VILLAGE_XLSX.read_bytes(), VILLAGE_XLSX.name)

    assert PROFILE_TARGETS - set(converted.mapping.values()) == set()
    assert converted.mapping["location"] == "location"


def test_the_forms_choices_are_the_registrys_choices():
    # given the choice lists of the shipped forms and the registry's choices
    registry = {
        "category": Category,
        "cause": Cause,
        "relation": Relation,
        "labour": Labour,
        "health": Health,
        "schooling": Schooling,
        "housing_structure": HousingStructure,
        "housing_grade": HousingGrade,
        "cooking_fuel": CookingFuel,
        "sanitation": Sanitation,
        "internet": Internet,
        "experience": Experience,
        "terrain": Terrain,
        "coverage": Coverage,
    }

    # then each list offers exactly the registry's values
    for list_name, choices in registry.items():
        offered = [name for name, _, _ in build.CHOICES[list_name]]
        assert offered == list(choices.values), list_name


def test_the_wishes_are_the_intervention_catalogue():
    catalogue = json.loads(
        (
            Path(household_models.__file__).parent / "data" / "interventions.json"
        ).read_text(encoding="utf-8")
    )

    assert [name for name, _, _ in build.CHOICES["wish"]] == [
        item["code"] for item in catalogue
    ]


def test_the_committed_workbooks_are_what_build_writes(tmp_path):
    # given the definitions in build.py
    # when they are built again
    written = build.main(tmp_path)

    # then the bytes equal the committed .xlsx files
    assert [p.read_bytes() for p in written] == [
        HOUSEHOLD_XLSX.read_bytes(),
        VILLAGE_XLSX.read_bytes(),
    ]


def test_pyxform_errors_are_located_by_sheet_and_row():
    assert problem_from_pyxform(
        "[row : 5] On the 'choices' sheet, the 'label' value is invalid."
    ) == FormProblem(
        "choices", 5, "[row : 5] On the 'choices' sheet, the 'label' value is invalid."
    )
    assert problem_from_pyxform("[row : 3] Unknown question type 'txt'.") == (
        FormProblem("survey", 3, "[row : 3] Unknown question type 'txt'.")
    )
    assert problem_from_pyxform(
        "Invalid headers provided for sheet: 'settings'."
    ) == FormProblem(
        "settings", None, "Invalid headers provided for sheet: 'settings'."
    )
    assert problem_from_pyxform("Something else.") == FormProblem(
        None, None, "Something else."
    )


def _workbook(rows, **settings) -> bytes:
    return build.workbook(
        rows,
        form_id=settings.get("form_id", "custom_household"),
        version=settings.get("version", "1"),
        title_zh="自定义",
        title_en="Custom",
        lists=settings.get("lists", ["yes_no"]),
    )


def test_a_registry_column_maps_a_question_with_another_name():
    # given a form whose questions carry other names, mapped by a registry column
    rows = [
        build.q("text", "vc", "村", "Village", registry="village_code"),
        build.q("text", "hh", "户", "Household", registry="household_number"),
        build.q("integer", "survey_year", "年", "Year", registry="year"),
        build.q("decimal", "wages", "工资", "Wages", registry="income_wages"),
        build.q("decimal", "income_business", "经营", "Business", registry="-"),
        build.q("note", "hello", "你好", "Hello"),
    ]

    # when it is converted
    converted = convert_xlsform(_workbook(rows), "custom.xlsx")

    # then the mapping follows the column; "-" and unknown names stay unmapped
    assert converted.mapping == {
        "vc": "village_code",
        "hh": "household_number",
        "survey_year": "year",
        "wages": "income_wages",
    }
    assert converted.kind == "household"


def test_a_registry_column_naming_no_registry_field_is_refused_with_its_row():
    rows = [
        build.q("text", "village_code", "村", "Village"),
        build.q("integer", "year", "年", "Year"),
        build.q("text", "household_number", "户", "Household"),
        build.q("decimal", "wage", "工资", "Wages", registry="salary"),
    ]

    try:
        convert_xlsform(_workbook(rows), "custom.xlsx")
    except XLSFormInvalid as exc:
        problems = exc.problems
    else:  # pragma: no cover
        raise AssertionError("not refused")

    assert problems == [FormProblem("survey", 5, "'salary' is not a registry field.")]
