"""Labels shown on pages for codes that the models and the kernel store.

Model choices carry their own (translatable) labels; this module adds those of
identification: the two no-worries and three guarantees, exit conditions, MPI
dimensions, and the choice list behind each snapshot column an indicator may read.
"""

from __future__ import annotations

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from propoor.accounts.models import Role
from propoor.areas.models import Coverage, Level, Terrain
from propoor.households.models import (
    Category,
    Cause,
    CookingFuel,
    Experience,
    Health,
    HousingGrade,
    HousingStructure,
    Internet,
    ItemStatus,
    Labour,
    PlanStatus,
    Relation,
    Sanitation,
    Schooling,
    Sex,
    Status,
)

CHOICES: dict[str, type[TextChoices]] = {
    "role": Role,
    "level": Level,
    "terrain": Terrain,
    "coverage": Coverage,
    "broadband": Coverage,
    "mobile_4g": Coverage,
    "category": Category,
    "cause": Cause,
    "main_cause": Cause,
    "status": Status,
    "relation": Relation,
    "sex": Sex,
    "labour": Labour,
    "health": Health,
    "schooling": Schooling,
    "housing_structure": HousingStructure,
    "housing_grade": HousingGrade,
    "cooking_fuel": CookingFuel,
    "sanitation": Sanitation,
    "internet": Internet,
    "ecommerce_experience": Experience,
    "plan_status": PlanStatus,
    "item_status": ItemStatus,
}

GUARANTEES = {
    "food": _("No worries about food"),
    "clothing": _("No worries about clothing"),
    "education": _("Compulsory education guaranteed"),
    "medical": _("Basic medical care guaranteed"),
    "housing": _("Safe housing guaranteed"),
    "water": _("Safe drinking water guaranteed"),
}

CONDITIONS = {
    "income": _("Net income per person above the poverty line"),
    **GUARANTEES,
    "mpi": _("Not multidimensionally poor"),
    "pmt": _("Not eligible by the proxy means test"),
}

STANDARDS = {
    "cn-national": _(
        "National standard (income line, two no-worries and three guarantees)"
    ),
    "global-mpi": _("Global Multidimensional Poverty Index"),
}

# Snapshot columns (and the kernel's derived ones) an indicator or test may read.
COLUMNS = {
    "undernourished_member": _("Undernourished member"),
    "child_death_5y": _("Child death in five years"),
    "max_schooling_years": _("Most years of schooling"),
    "children_out_of_school": _("Children out of school"),
    "school_age_children": _("School-age children"),
    "cooking_fuel": _("Cooking fuel"),
    "cooking_solid_fuel": _("Solid cooking fuel"),
    "sanitation": _("Toilet"),
    "sanitation_unimproved": _("Unimproved toilet"),
    "safe_water": _("Safe drinking water"),
    "water_quality": _("Water quality (1–5)"),
    "wall_quality": _("Wall quality (1–5)"),
    "electricity": _("Has electricity"),
    "housing_grade": _("Housing safety grade"),
    "housing_structure": _("Housing structure"),
    "housing_inadequate": _("Inadequate housing"),
    "housing_unsafe": _("Unsafe housing"),
    "assets_deprived": _("Few assets"),
    "small_assets": _("Small assets owned"),
    "food_secure": _("Enough food"),
    "clothing_secure": _("Enough clothing"),
    "medical_insured": _("Medical insurance"),
    "medical_care_access": _("Access to basic care"),
    "size": _("Household size"),
    "labourers": _("Labourers"),
    "land_total": _("Land (mu)"),
    "smartphones": _("Smartphones"),
    "internet": _("Internet"),
    "head_female": _("Female head"),
    "head_elderly": _("Elderly head"),
    "head_child": _("Child head"),
}

DIMENSIONS = {
    "income": _("Income"),
    "health": _("Health"),
    "education": _("Education"),
    "living_standards": _("Living standards"),
    "living standards": _("Living standards"),
    "living_standard": _("Living standards"),
    "living": _("Living standards"),
    "assets": _("Assets"),
    "housing": _("Housing"),
    "employment": _("Employment"),
    "ecommerce": _("E-commerce"),
}


def choice_label(field: str, value: object) -> str:
    """The display label of ``value`` in the choice list of ``field``."""
    choices = CHOICES.get(field)
    text = "" if value is None else str(value)
    if choices is None or not text:
        return text or "—"
    try:
        return str(choices(text).label)
    except ValueError:
        return text
