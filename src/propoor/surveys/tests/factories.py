"""Submissions built the way ODK Collect builds them (reused by other tests and bench).

ODK Collect fills the primary instance of the form's XForm and sends it back: the
root element keeps the form's ``id`` and ``version`` attributes, every group and
question appears as an element (empty when not answered), a repeat appears once per
instance (the ``jr:template`` copy is dropped), and ``meta/instanceID`` holds
``uuid:<uuid4>``. :func:`fill_instance` does exactly that with the XForm pyxform made
from the shipped XLSForm.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree

from propoor.households.tests.factories import make_id_number
from propoor.surveys.models import FormVersion
from propoor.surveys.services import forms_install_shipped

JR = "http://openrosa.org/javarosa"
XF = "http://www.w3.org/2002/xforms"

# The smallest well-formed JPEG / PNG headers are enough for the type checks.
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + (b"\x00" * 64)
    + b"\xff\xd9"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# Every answer of the household questionnaire (ODK's text forms of the values).
HOUSEHOLD_ANSWERS: dict[str, str] = {
    "start": "2024-11-15T09:00:00.000+08:00",
    "end": "2024-11-15T09:40:00.000+08:00",
    "surveyed_on": "2024-11-15",
    "new_household": "yes",
    "household_number": "",
    "head_name": "王五",
    "address": "一村3组12号",
    "phone": "13800000000",
    "category": "dibao",
    "main_cause": "illness",
    "secondary_causes": "lack_skills lack_capital",
    "year": "2024",
    "income_wages": "3600.50",
    "income_business": "2400",
    "income_ecommerce": "800.25",
    "income_property": "120",
    "income_transfers": "1500",
    "costs": "900.75",
    "spending_medical": "2300",
    "spending_disaster": "0",
    "food_secure": "yes",
    "clothing_secure": "yes",
    "school_age_children": "1",
    "children_out_of_school": "0",
    "medical_insured": "yes",
    "medical_care_access": "no",
    "housing_structure": "earth_wood",
    "housing_grade": "C",
    "safe_water": "no",
    "water_quality": "2",
    "wall_quality": "2",
    "electricity": "yes",
    "cooking_fuel": "wood",
    "sanitation": "unimproved",
    "undernourished_member": "no",
    "child_death_5y": "no",
    "max_schooling_years": "9",
    "has_radio": "no",
    "has_tv": "yes",
    "has_telephone": "yes",
    "has_computer": "no",
    "has_bicycle": "yes",
    "has_motorbike": "no",
    "has_refrigerator": "no",
    "has_car": "no",
    "land_cultivated": "4.5",
    "land_forest": "10",
    "land_orchard": "1.25",
    "land_pond": "0",
    "size": "3",
    "labourers_full": "1",
    "labourers_partial": "1",
    "members_ill_or_disabled": "1",
    "head_female": "no",
    "head_elderly": "no",
    "head_child": "no",
    "skills": "planting livestock",
    "smartphones": "1",
    "internet": "mobile",
    "km_to_road": "1.5",
    "km_to_market": "14",
    "ecommerce_experience": "bought",
    "wishes": "training-ecommerce ecommerce-cooperative",
    "wishes_note": "想学电商卖核桃",
    "location": "25.0412345 102.7123456 1890.0 4.5",
    "house_photo": "house.jpg",
}

# What the registry should hold after the answers above are approved (year 2024).
EXPECTED_SNAPSHOT: dict[str, object] = {
    "surveyed_on": date(2024, 11, 15),
    "size": 3,
    "income_wages": Decimal("3600.50"),
    "income_business": Decimal("2400.00"),
    "income_property": Decimal("120.00"),
    "income_transfers": Decimal("1500.00"),
    "income_ecommerce": Decimal("800.25"),
    "costs": Decimal("900.75"),
    "spending_medical": Decimal("2300.00"),
    "spending_disaster": Decimal("0.00"),
    "food_secure": True,
    "clothing_secure": True,
    "school_age_children": 1,
    "children_out_of_school": 0,
    "medical_insured": True,
    "medical_care_access": False,
    "housing_structure": "earth_wood",
    "housing_grade": "C",
    "safe_water": False,
    "water_quality": 2,
    "wall_quality": 2,
    "electricity": True,
    "cooking_fuel": "wood",
    "sanitation": "unimproved",
    "undernourished_member": False,
    "child_death_5y": False,
    "max_schooling_years": 9,
    "has_radio": False,
    "has_tv": True,
    "has_telephone": True,
    "has_computer": False,
    "has_bicycle": True,
    "has_motorbike": False,
    "has_refrigerator": False,
    "has_car": False,
    "land_cultivated": Decimal("4.50"),
    "land_forest": Decimal("10.00"),
    "land_orchard": Decimal("1.25"),
    "land_pond": Decimal("0.00"),
    "labourers_full": 1,
    "labourers_partial": 1,
    "members_ill_or_disabled": 1,
    "head_female": False,
    "head_elderly": False,
    "head_child": False,
    "skills": ["planting", "livestock"],
    "smartphones": 1,
    "internet": "mobile",
    "km_to_road": Decimal("1.5"),
    "km_to_market": Decimal("14.0"),
    "ecommerce_experience": "bought",
    "wishes": ["training-ecommerce", "ecommerce-cooperative"],
    "wishes_note": "想学电商卖核桃",
}

VILLAGE_ANSWERS: dict[str, str] = {
    "start": "2024-11-16T09:00:00.000+08:00",
    "end": "2024-11-16T09:20:00.000+08:00",
    "surveyed_on": "2024-11-16",
    "terrain": "mountain",
    "population": "812",
    "km_to_county_seat": "38.5",
    "km_to_paved_road": "2",
    "broadband": "partial",
    "mobile_4g": "full",
    "has_service_station": "yes",
    "has_logistics_point": "no",
    "has_cold_storage": "no",
    "landscape": "yes",
    "folk_culture": "yes",
    "orchards": "yes",
    "vegetable_gardens": "no",
    "fish_ponds": "no",
    "specialty_products": "核桃、花椒",
    "location": "25.05 102.70 1900 5",
    "village_photo": "",
}


def member_answers(
    *,
    name: str,
    id_number: str,
    age: int | None,
    relation: str = "head",
    labour: str = "full",
    health: str = "healthy",
    schooling: str = "primary",
    in_school: str = "no",
    skills: str = "",
) -> dict[str, str]:
    return {
        "name": name,
        "id_number": id_number,
        "age": "" if age is None else str(age),
        "relation": relation,
        "labour": labour,
        "health": health,
        "schooling": schooling,
        "in_school": in_school,
        "skills": skills,
    }


def three_members() -> list[dict[str, str]]:
    """Head (born 1970), spouse (1972, chronic illness), child (2012, in school)."""
    return [
        member_answers(
            name="王五",
            id_number=make_id_number(born=date(1970, 3, 1)),
            age=54,
            skills="种植",
        ),
        member_answers(
            name="李六",
            id_number=make_id_number(born=date(1972, 6, 1), male=False).lower(),
            age=52,
            relation="spouse",
            labour="partial",
            health="chronic",
        ),
        member_answers(
            name="王小七",
            id_number=make_id_number(born=date(2012, 9, 1)),
            age=12,
            relation="child",
            labour="student",
            schooling="primary",
            in_school="yes",
        ),
    ]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def primary_instance(xform: str) -> Element:
    """The form's primary instance root (``<propoor_household id=... version=...>``)."""
    root = ElementTree.fromstring(xform.encode("utf-8"))
    model = root.find(f".//{{{XF}}}model")
    assert model is not None
    instance = next(c for c in model if _local(c.tag) == "instance" and not c.get("id"))
    return next(iter(instance))


def _strip(element: Element) -> Element:
    """A copy without namespaces and without the repeats' ``jr:template`` copies."""
    out = Element(
        _local(element.tag),
        {k: v for k, v in element.attrib.items() if not k.startswith("{")},
    )
    out.text = element.text
    for child in element:
        if f"{{{JR}}}template" not in child.attrib:
            out.append(_strip(child))
    return out


def fill_instance(
    xform: str,
    answers: Mapping[str, str],
    members: Sequence[Mapping[str, str]] = (),
    *,
    instance_id: str | None = None,
    repeat: str = "members",
) -> bytes:
    """The submission ODK Collect would send for these answers.

    ``answers`` are by question name (outside the repeat), ``members`` one dict
    per repeat instance. Questions not answered are sent empty.
    """
    template = _strip(primary_instance(xform))
    root = Element(template.tag, dict(template.attrib))
    root.set("xmlns:jr", JR)
    root.set("xmlns:orx", "http://openrosa.org/xforms")

    def fill(source: Element, target: Element, values: Mapping[str, str]) -> None:
        for child in source:
            name = child.tag
            if name == repeat and target is root:
                for member in members:
                    copy_ = SubElement(target, name)
                    fill(child, copy_, member)
                continue
            if name == "meta":
                meta = SubElement(target, "meta")
                SubElement(meta, "instanceID").text = (
                    instance_id or f"uuid:{uuid.uuid4()}"
                )
                continue
            element = SubElement(target, name)
            if len(child):
                fill(child, element, values)
            else:
                value = values.get(name)
                element.text = value if value else None

    fill(template, root, answers)
    return b"<?xml version='1.0' encoding='UTF-8' ?>" + tostring(
        root, encoding="unicode"
    ).encode("utf-8")


def shipped_versions() -> dict[str, FormVersion]:
    """Install the shipped forms; ``{"household": ..., "village": ...}``."""
    versions = forms_install_shipped()
    return {v.form.kind: v for v in versions}


def household_submission(
    *,
    answers: Mapping[str, str] | None = None,
    members: Sequence[Mapping[str, str]] | None = None,
    instance_id: str | None = None,
    **overrides: str,
) -> bytes:
    """A household survey of village A1 (new household unless overridden)."""
    from propoor.areas.tests.factories import VILLAGE_A1

    version = FormVersion.objects.get(
        form__form_id="propoor_household", is_current=True
    )
    values = {
        **HOUSEHOLD_ANSWERS,
        "village_code": VILLAGE_A1,
        **(answers or {}),
        **overrides,
    }
    return fill_instance(
        version.xform,
        values,
        three_members() if members is None else members,
        instance_id=instance_id,
    )


def village_submission(
    village_code: str, *, instance_id: str | None = None, **overrides: str
) -> bytes:
    version = FormVersion.objects.get(form__form_id="propoor_village", is_current=True)
    values = {**VILLAGE_ANSWERS, "village_code": village_code, **overrides}
    return fill_instance(version.xform, values, (), instance_id=instance_id)
