"""How the survey pages show what the selectors return.

Pure presentation, no database access: the change request's diff rows with labels
and values in the page's language (grouped in the questionnaire's order), coverage
lines with percentages, a submission's raw values and problems, and the small SVG
map of a GPS point among the village's households.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from propoor.web import labels
from propoor.web.templatetags.propoor import cny, localdate

if TYPE_CHECKING:
    from propoor.surveys.selectors import CoverageRow, DiffRow

DASH = "—"


def _chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


# --- the diff -------------------------------------------------------------------------

SECTIONS = {
    "household": gettext_lazy("Household"),
    "income": gettext_lazy("Income and spending"),
    "guarantees": gettext_lazy("Two no-worries and three guarantees"),
    "living": gettext_lazy("Living conditions"),
    "assets": gettext_lazy("Assets"),
    "land": gettext_lazy("Land and labour"),
    "selling": gettext_lazy("Ability to sell"),
    "wishes": gettext_lazy("Wishes"),
    "members": gettext_lazy("Members"),
    "village": gettext_lazy("Village profile"),
    "other": gettext_lazy("Other"),
}

# field -> (section, label), in the order of the questionnaire.
FIELDS: dict[str, tuple[str, object]] = {
    "village_code": ("household", gettext_lazy("Village")),
    "head_name": ("household", gettext_lazy("Head of household")),
    "address": ("household", gettext_lazy("Address")),
    "phone": ("household", gettext_lazy("Phone")),
    "category": ("household", gettext_lazy("Category")),
    "causes": ("household", gettext_lazy("Causes of poverty")),
    "location": ("household", gettext_lazy("Location")),
    "year": ("household", gettext_lazy("Survey year")),
    "surveyed_on": ("household", gettext_lazy("Surveyed on")),
    "size": ("household", gettext_lazy("Household size")),
    "income_wages": ("income", gettext_lazy("Wages")),
    "income_business": ("income", gettext_lazy("Business income")),
    "income_ecommerce": ("income", gettext_lazy("of which online")),
    "income_property": ("income", gettext_lazy("Property income")),
    "income_transfers": ("income", gettext_lazy("Transfers")),
    "costs": ("income", gettext_lazy("Costs")),
    "spending_medical": ("income", gettext_lazy("Medical spending")),
    "spending_disaster": ("income", gettext_lazy("Disaster losses")),
    "food_secure": ("guarantees", labels.COLUMNS["food_secure"]),
    "clothing_secure": ("guarantees", labels.COLUMNS["clothing_secure"]),
    "school_age_children": ("guarantees", labels.COLUMNS["school_age_children"]),
    "children_out_of_school": (
        "guarantees",
        labels.COLUMNS["children_out_of_school"],
    ),
    "medical_insured": ("guarantees", labels.COLUMNS["medical_insured"]),
    "medical_care_access": ("guarantees", labels.COLUMNS["medical_care_access"]),
    "housing_structure": ("guarantees", labels.COLUMNS["housing_structure"]),
    "housing_grade": ("guarantees", labels.COLUMNS["housing_grade"]),
    "safe_water": ("guarantees", labels.COLUMNS["safe_water"]),
    "water_quality": ("guarantees", labels.COLUMNS["water_quality"]),
    "wall_quality": ("living", labels.COLUMNS["wall_quality"]),
    "electricity": ("living", labels.COLUMNS["electricity"]),
    "cooking_fuel": ("living", labels.COLUMNS["cooking_fuel"]),
    "sanitation": ("living", labels.COLUMNS["sanitation"]),
    "undernourished_member": ("living", labels.COLUMNS["undernourished_member"]),
    "child_death_5y": ("living", labels.COLUMNS["child_death_5y"]),
    "max_schooling_years": ("living", labels.COLUMNS["max_schooling_years"]),
    "has_radio": ("assets", gettext_lazy("Radio")),
    "has_tv": ("assets", gettext_lazy("Television")),
    "has_telephone": ("assets", gettext_lazy("Telephone")),
    "has_computer": ("assets", gettext_lazy("Computer")),
    "has_bicycle": ("assets", gettext_lazy("Bicycle")),
    "has_motorbike": ("assets", gettext_lazy("Motorbike")),
    "has_refrigerator": ("assets", gettext_lazy("Refrigerator")),
    "has_car": ("assets", gettext_lazy("Car")),
    "land_cultivated": ("land", gettext_lazy("Cultivated land (mu)")),
    "land_forest": ("land", gettext_lazy("Forest land (mu)")),
    "land_orchard": ("land", gettext_lazy("Orchard (mu)")),
    "land_pond": ("land", gettext_lazy("Fish pond (mu)")),
    "labourers_full": ("land", gettext_lazy("Full labourers")),
    "labourers_partial": ("land", gettext_lazy("Partial labourers")),
    "members_ill_or_disabled": ("land", gettext_lazy("Members ill or disabled")),
    "head_female": ("land", labels.COLUMNS["head_female"]),
    "head_elderly": ("land", labels.COLUMNS["head_elderly"]),
    "head_child": ("land", labels.COLUMNS["head_child"]),
    "skills": ("land", gettext_lazy("Skills")),
    "smartphones": ("selling", labels.COLUMNS["smartphones"]),
    "internet": ("selling", labels.COLUMNS["internet"]),
    "km_to_road": ("selling", gettext_lazy("To a road (km)")),
    "km_to_market": ("selling", gettext_lazy("To a market (km)")),
    "ecommerce_experience": ("selling", gettext_lazy("E-commerce")),
    "wishes": ("wishes", gettext_lazy("Wishes")),
    "wishes_note": ("wishes", gettext_lazy("In their own words")),
    # The village questionnaire.
    "terrain": ("village", gettext_lazy("Terrain")),
    "population": ("village", gettext_lazy("Population")),
    "km_to_county_seat": ("village", gettext_lazy("To the county seat (km)")),
    "km_to_paved_road": ("village", gettext_lazy("To a paved road (km)")),
    "broadband": ("village", gettext_lazy("Broadband")),
    "mobile_4g": ("village", gettext_lazy("4G mobile coverage")),
    "has_service_station": ("village", gettext_lazy("E-commerce service station")),
    "has_logistics_point": ("village", gettext_lazy("Logistics point")),
    "has_cold_storage": ("village", gettext_lazy("Cold storage")),
    "landscape": ("village", gettext_lazy("Landscape")),
    "folk_culture": ("village", gettext_lazy("Folk culture")),
    "orchards": ("village", gettext_lazy("Orchards")),
    "vegetable_gardens": ("village", gettext_lazy("Vegetable gardens")),
    "fish_ponds": ("village", gettext_lazy("Fish ponds")),
    "specialty_products": ("village", gettext_lazy("Specialty products")),
}
ORDER = {name: n for n, name in enumerate(FIELDS)}
MONEY = frozenset(
    {
        "income_wages",
        "income_business",
        "income_ecommerce",
        "income_property",
        "income_transfers",
        "costs",
        "spending_medical",
        "spending_disaster",
    }
)
MEMBER_FIELD = re.compile(r"^members?[\[:]")
MEMBER_LABEL = re.compile(r"^Member (?P<n>\d+): (?P<name>.*?)(?P<new> \(new\))?$")
KEPT_LABEL = re.compile(r"^(?P<name>.*) \(kept\)$")
# The parts of a member's text after the name and the masked ID number.
MEMBER_PARTS = ("relation", "labour", "health", "schooling")


@dataclass(frozen=True)
class DiffLine:
    field: str
    section: str
    section_label: str
    label: str
    current: str
    proposed: str
    changed: bool
    new: bool = False  # a member the registry does not hold yet
    member: bool = False
    # A member's values as lines: name and relation, masked ID, the rest.
    current_lines: tuple[str, ...] = ()
    proposed_lines: tuple[str, ...] = ()


def _yes_no(text: str) -> str | None:
    if text == "yes":
        return str(_("Yes"))
    if text == "no":
        return str(_("No"))
    return None


def _form_choices(list_name: str) -> dict[str, str]:
    """Labels of a choice list of the shipped forms, in the page's language."""
    from propoor.surveys.forms.build import CHOICES

    column = 1 if _chinese() else 2
    return {row[0]: row[column] for row in CHOICES.get(list_name, ())}


def _codes(text: str, list_name: str) -> str:
    """``planting, livestock`` as the shipped form's labels (unknown codes kept)."""
    labels_ = _form_choices(list_name)
    codes = [c.strip() for c in text.split(",") if c.strip()]
    return ("、" if _chinese() else ", ").join(labels_.get(c, c) for c in codes)


def _value(field: str, text: str, village: str = "") -> str:
    """A diff value in the page's language (the selector gives codes and English)."""
    if text == "":
        return DASH
    shown = _yes_no(text)
    if shown is not None:
        return shown
    if field == "village_code" and village:
        return f"{village} · {text}"
    if field == "skills":
        return _codes(text, "skill")
    if field == "wishes":
        return _codes(text, "wish")
    if field in MONEY:
        try:
            return cny(Decimal(text))
        except (InvalidOperation, ValueError):
            return text
    if field == "surveyed_on":
        try:
            return localdate(date.fromisoformat(text))
        except ValueError:
            return text
    if field == "causes":
        separator = "、" if _chinese() else ", "
        return separator.join(
            labels.choice_label("cause", c.strip()) for c in text.split(",") if c
        )
    return text


def _member_lines(text: str) -> tuple[str, ...]:
    """``name · ID · relation · labour · health · schooling [· in school] [· skills]``
    as three lines, ``name · relation``, ``ID``, ``labour · health · …``, with the
    codes shown as labels."""
    if text == "":
        return (DASH,)
    parts = text.split(" · ")
    name, id_masked = [*parts, "", ""][:2]
    shown = []
    for index, part in enumerate(parts[2:]):
        if index < len(MEMBER_PARTS):
            shown.append(labels.choice_label(MEMBER_PARTS[index], part))
        elif part == "in school":
            shown.append(str(_("in school")))
        else:
            shown.append(part)
    head = " · ".join(p for p in (name, shown[0] if shown else "") if p)
    rest = " · ".join(p for p in shown[1:] if p)
    return tuple(line for line in (head, id_masked, rest) if line)


def _member_label(label: str) -> tuple[str, bool]:
    found = MEMBER_LABEL.match(label)
    if found is not None:
        text = _("Member %(n)s: %(name)s") % {
            "n": found.group("n"),
            "name": found.group("name"),
        }
        return text, found.group("new") is not None
    kept = KEPT_LABEL.match(label)
    if kept is not None:
        return _("%(name)s (kept: not in this survey)") % {
            "name": kept.group("name")
        }, False
    return label, False


def diff_lines(rows: Iterable[DiffRow], *, village: str = "") -> list[DiffLine]:
    """The selector's rows in the questionnaire's order, members last.

    ``village`` is the village's name, shown beside its code.
    """
    lines = []
    for position, row in enumerate(rows):
        if MEMBER_FIELD.match(row.field):
            label, new = _member_label(row.label)
            current, proposed = _member_lines(row.current), _member_lines(row.proposed)
            lines.append(
                (
                    (len(ORDER) + 1, position),
                    DiffLine(
                        field=row.field,
                        section="members",
                        section_label=str(SECTIONS["members"]),
                        label=label,
                        current=" · ".join(current),
                        proposed=" · ".join(proposed),
                        changed=row.changed,
                        new=new,
                        member=True,
                        current_lines=current,
                        proposed_lines=proposed,
                    ),
                )
            )
            continue
        section, field_label = FIELDS.get(row.field, ("other", row.label))
        lines.append(
            (
                (ORDER.get(row.field, len(ORDER)), position),
                DiffLine(
                    field=row.field,
                    section=section,
                    section_label=str(SECTIONS[section]),
                    label=str(field_label),
                    current=_value(row.field, row.current, village),
                    proposed=_value(row.field, row.proposed, village),
                    changed=row.changed,
                ),
            )
        )
    lines.sort(key=lambda pair: pair[0])
    return [line for _order, line in lines]


# --- coverage -------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageLine:
    code: str
    name: str
    households: int
    surveyed: int
    due: int  # still to survey this year
    percent: Decimal | None  # surveyed / households, None without households

    @property
    def bar(self) -> int:
        """The bar's width in percent (0 to 100)."""
        if self.percent is None:
            return 0
        return max(0, min(100, int(self.percent)))

    @property
    def complete(self) -> bool:
        return self.households > 0 and self.due == 0


def _percent(surveyed: int, households: int) -> Decimal | None:
    if households <= 0:
        return None
    return (Decimal(surveyed * 100) / Decimal(households)).quantize(Decimal("0.1"))


def coverage_lines(
    rows: Iterable[CoverageRow], names_en: Mapping[str, str] | None = None
) -> tuple[list[CoverageLine], CoverageLine]:
    """One line per village (names in the page's language) and the total line."""
    english = not _chinese()
    lines = []
    for row in rows:
        name = row.village_name
        if english and names_en and names_en.get(row.village_code):
            name = names_en[row.village_code]
        lines.append(
            CoverageLine(
                code=row.village_code,
                name=name,
                households=row.households,
                surveyed=row.surveyed,
                due=row.due,
                percent=_percent(row.surveyed, row.households),
            )
        )
    households = sum(line.households for line in lines)
    surveyed = sum(line.surveyed for line in lines)
    total = CoverageLine(
        code="",
        name=str(_("Total")),
        households=households,
        surveyed=surveyed,
        due=sum(line.due for line in lines),
        percent=_percent(surveyed, households),
    )
    return lines, total


# --- uploads and submissions ----------------------------------------------------------


@dataclass(frozen=True)
class SheetError:
    sheet: str
    row: str
    message: str


def sheet_errors(rows: object) -> list[SheetError]:
    """pyxform's problems as rows of sheet, row and message."""
    if not isinstance(rows, list | tuple):
        return []
    found = []
    for row in rows:
        if isinstance(row, Mapping):
            found.append(
                SheetError(
                    sheet=str(row.get("sheet") or ""),
                    row=str(row.get("row") or ""),
                    message=str(row.get("message") or ""),
                )
            )
        else:
            found.append(SheetError(sheet="", row="", message=str(row)))
    return found


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def problems(errors: object) -> list[Problem]:
    """A submission's errors, whether stored as strings or as field/message rows."""
    if not isinstance(errors, list | tuple):
        return [] if not errors else [Problem(field="", message=str(errors))]
    found = []
    for error in errors:
        if isinstance(error, Mapping):
            field = error.get("field") or error.get("path") or error.get("name") or ""
            message = error.get("message") or error.get("error") or str(error)
            found.append(Problem(field=str(field), message=str(message)))
        else:
            found.append(Problem(field="", message=str(error)))
    return found


@dataclass(frozen=True)
class RawValue:
    path: str
    value: str

    @property
    def group(self) -> str:
        """``members[2]`` of ``members[2]/name``; empty at the top level."""
        return self.path.rpartition("/")[0]

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]


# An ODK geopoint: "latitude longitude altitude accuracy", decimals always written.
GEOPOINT = re.compile(r"^(-?\d{1,2}\.\d+) (-?\d{1,3}\.\d+)(?: -?\d+(?:\.\d+)?){0,2}$")


def raw_point(values: Iterable[RawValue]) -> tuple[Decimal, Decimal] | None:
    """The first geopoint answer (``lat lon [alt acc]``) of a submission, if any."""
    for value in values:
        found = GEOPOINT.match(value.value)
        if found is None:
            continue
        lat, lon = Decimal(found.group(1)), Decimal(found.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            places = Decimal("0.000001")
            return lat.quantize(places), lon.quantize(places)
    return None


MAX_RAW_VALUES = 1000


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def raw_values(xml: str) -> list[RawValue]:
    """Every answer of the (masked) instance XML as ``group/field`` = value.

    Repeats are numbered (``members[2]/name``). An unreadable XML gives no rows.
    """
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(xml.encode())
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return []
    found: list[RawValue] = []

    def walk(node: object, prefix: str) -> None:
        children = list(node)  # type: ignore[call-overload]
        counts: dict[str, int] = {}
        for child in children:
            name = _local(child.tag)
            counts[name] = counts.get(name, 0) + 1
        seen: dict[str, int] = {}
        for child in children:
            name = _local(child.tag)
            seen[name] = seen.get(name, 0) + 1
            label = f"{name}[{seen[name]}]" if counts[name] > 1 else name
            path = f"{prefix}/{label}" if prefix else label
            if len(child):
                walk(child, path)
            elif len(found) < MAX_RAW_VALUES:
                found.append(RawValue(path=path, value=(child.text or "").strip()))

    walk(root, "")
    return found


@dataclass(frozen=True)
class Photo:
    name: str
    content_type: str
    size: int
    submission_id: int
    inline: bool


# Attachment types shown in the page; anything else is offered as a download.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


def photos(attachments: Iterable[object]) -> list[Photo]:
    return [
        Photo(
            name=a.name,  # type: ignore[attr-defined]
            content_type=a.content_type,  # type: ignore[attr-defined]
            size=a.size,  # type: ignore[attr-defined]
            submission_id=a.submission_id,  # type: ignore[attr-defined]
            inline=a.content_type in INLINE_TYPES,  # type: ignore[attr-defined]
        )
        for a in attachments
    ]


# --- the map point --------------------------------------------------------------------

MAP_WIDTH = 320
MAP_HEIGHT = 200
MAP_PAD = 18
# Metres per degree (a local equirectangular projection is plenty for a village).
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0
MIN_SPAN_M = 200.0
NICE_METRES = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000)


@dataclass(frozen=True)
class MapDot:
    x: float
    y: float


@dataclass(frozen=True)
class PointMap:
    """A small SVG map: the village's household points and the submission's GPS."""

    width: int
    height: int
    dots: tuple[MapDot, ...]
    here: MapDot | None  # the submission's GPS
    home: MapDot | None  # where the registry puts this household
    latitude: Decimal | None
    longitude: Decimal | None
    scale_px: float
    scale_label: str
    households: int


def point_map(
    points: Sequence[tuple[int, Decimal | None, Decimal | None]],
    *,
    latitude: Decimal | None,
    longitude: Decimal | None,
    household_id: int | None = None,
) -> PointMap | None:
    """Project ``points`` (household id, latitude, longitude) and the GPS point.

    None when there is nothing to draw. North is up; one pixel is the same distance
    across and up (a local equirectangular projection).
    """
    here = (
        (float(latitude), float(longitude))
        if latitude is not None and longitude is not None
        else None
    )
    located = [
        (pk, float(lat), float(lon))
        for pk, lat, lon in points
        if lat is not None and lon is not None
    ]
    if here is None and not located:
        return None
    houses = [(lat, lon) for _pk, lat, lon in located]
    home_at = next(((lat, lon) for pk, lat, lon in located if pk == household_id), None)
    everything = [*houses, *([here] if here else [])]
    lat0 = sum(p[0] for p in everything) / len(everything)
    kx = M_PER_DEG_LON * math.cos(math.radians(lat0))

    def metres(p: tuple[float, float]) -> tuple[float, float]:
        return (p[1] * kx, p[0] * M_PER_DEG_LAT)

    xy = [metres(p) for p in everything]
    min_x, max_x = min(x for x, _y in xy), max(x for x, _y in xy)
    min_y, max_y = min(y for _x, y in xy), max(y for _x, y in xy)
    span_x = max(max_x - min_x, MIN_SPAN_M)
    span_y = max(max_y - min_y, MIN_SPAN_M)
    inner_w, inner_h = MAP_WIDTH - 2 * MAP_PAD, MAP_HEIGHT - 2 * MAP_PAD
    scale = min(inner_w / span_x, inner_h / span_y)  # px per metre
    mid_x, mid_y = (min_x + max_x) / 2, (min_y + max_y) / 2

    def dot(p: tuple[float, float]) -> MapDot:
        x, y = metres(p)
        return MapDot(
            x=round(MAP_WIDTH / 2 + (x - mid_x) * scale, 1),
            y=round(MAP_HEIGHT / 2 - (y - mid_y) * scale, 1),
        )

    metres_for_bar = (MAP_WIDTH / 4) / scale
    bar = max((m for m in NICE_METRES if m <= metres_for_bar), default=NICE_METRES[0])
    label = f"{bar // 1000} km" if bar >= 1000 else f"{bar} m"
    return PointMap(
        width=MAP_WIDTH,
        height=MAP_HEIGHT,
        dots=tuple(dot(p) for p in houses),
        here=dot(here) if here else None,
        home=dot(home_at) if home_at else None,
        latitude=latitude,
        longitude=longitude,
        scale_px=round(bar * scale, 1),
        scale_label=label,
        households=len(houses),
    )
