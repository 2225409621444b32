"""Reading OpenRosa submissions: the envelope, the mapped values, and their checks.

An instance document as ODK Collect, KoboCollect or Enketo send it::

    <propoor_household id="propoor_household" version="2025.1">
      <identification><village_code>530102001001</village_code>...</identification>
      <members><name>张三</name><id_number>...</id_number>...</members>
      <members>...</members>
      ...
      <meta><instanceID>uuid:...</instanceID></meta>
    </propoor_household>

Namespaces are ignored (clients differ in how they qualify ``meta``). The values are
read through the form version's mapping (see :mod:`propoor.surveys.xlsforms`) and
checked here, without the database: the registry checks (scope, known households,
people already registered) are the service's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet
from defusedxml import DefusedXmlException, ElementTree
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from propoor.areas.models import VillageProfile
from propoor.core.money import MoneyField
from propoor.households import idnumbers
from propoor.households.models import (
    Category,
    Cause,
    Health,
    Labour,
    Relation,
    Schooling,
    Snapshot,
)
from propoor.kernel import idcard
from propoor.surveys.xlsforms import (
    LOCATION,
    MEMBERS,
    PROFILE_TARGETS,
    SNAPSHOT_TARGETS,
)

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

FIRST_YEAR = 2010
MAX_AGE = 120
SNAPSHOT_FIELDS: dict[str, models.Field] = {  # type: ignore[type-arg]
    name: Snapshot._meta.get_field(name)  # type: ignore[misc]
    for name in sorted(SNAPSHOT_TARGETS)
}
PROFILE_FIELDS: dict[str, models.Field] = {  # type: ignore[type-arg]
    name: VillageProfile._meta.get_field(name)  # type: ignore[misc]
    for name in sorted(PROFILE_TARGETS)
}
# A village profile is created with these (the others have defaults).
PROFILE_REQUIRED = frozenset(
    name
    for name, f in PROFILE_FIELDS.items()
    if not f.has_default() and not f.blank and not f.null
)
SNAPSHOT_REQUIRED = frozenset(
    name
    for name, f in SNAPSHOT_FIELDS.items()
    if not f.has_default() and not f.blank and name != "surveyed_on"
)
_LIST_FIELDS = frozenset({"skills", "wishes"})
_TRUE = frozenset({"yes", "true", "1", "y"})
_FALSE = frozenset({"no", "false", "0", "n"})
# Anything that looks like a resident ID number (or a mistyped one).
_ID_LIKE = re.compile(r"(?<![0-9])[0-9]{14,17}[0-9Xx](?![0-9A-Za-z])")


class MalformedXML(ValueError):
    """The document cannot be read as a submission at all."""


# --- the raw document at rest -----------------------------------------------


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def seal(raw: bytes) -> str:
    """Encrypt the raw submission (it holds clear ID numbers) for storage."""
    return _fernet(settings.ID_ENCRYPTION_KEY).encrypt(raw).decode("ascii")


def unseal(token: str) -> bytes:
    return _fernet(settings.ID_ENCRYPTION_KEY).decrypt(token.encode("ascii"))


def redact(text: str) -> str:
    """The document with every ID-number-like run of digits masked."""
    return _ID_LIKE.sub(lambda m: idnumbers.rough_mask(m.group(0)), text)


# --- the envelope -------------------------------------------------------------


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass(frozen=True)
class Envelope:
    """What identifies a submission: its form, version and instance ID."""

    form_id: str
    version: str
    instance_id: str
    deprecated_id: str
    root: Element = field(repr=False)
    text: str = field(repr=False)


def read_envelope(xml: bytes) -> Envelope:
    """Parse the instance document; MalformedXML when it is not one."""
    if not xml.strip():
        raise MalformedXML(_("The submission is empty."))
    try:
        text = xml.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedXML(_("A submission must be UTF-8 encoded XML.")) from None
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise MalformedXML(
            _("The submission is not well-formed XML: %(error)s.") % {"error": exc}
        ) from None
    except DefusedXmlException:
        raise MalformedXML(
            _("The submission declares a DTD or entities, which are refused.")
        ) from None
    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise MalformedXML(
            _("The root element <%(tag)s> has no id attribute naming the form.")
            % {"tag": local(root.tag)}
        )
    meta = next((c for c in root if local(c.tag) == "meta"), None)
    found: dict[str, str] = {}
    if meta is not None:
        for child in meta:
            found[local(child.tag)] = (child.text or "").strip()
    instance_id = found.get("instanceID", "")
    if not instance_id:
        raise MalformedXML(_("The submission has no meta/instanceID."))
    if len(instance_id) > 64:
        raise MalformedXML(_("The meta/instanceID is longer than 64 characters."))
    return Envelope(
        form_id=form_id[:80],
        version=(root.get("version") or "").strip()[:40],
        instance_id=instance_id,
        deprecated_id=found.get("deprecatedID", ""),
        root=root,
        text=text,
    )


# --- values through the mapping -------------------------------------------


@dataclass(frozen=True)
class Extracted:
    """Mapped answers as text: top-level ones, and one dict per member."""

    top: dict[str, str]
    members: list[dict[str, str]]


def extract(root: Element, mapping: Mapping[str, str]) -> Extracted:
    top: dict[str, str] = {}
    members: list[dict[str, str]] = []

    def leaves(element: Element, prefix: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for child in element:
            path = f"{prefix}{local(child.tag)}"
            if len(child):
                out.extend(leaves(child, f"{path}/"))
            else:
                out.append((path, (child.text or "").strip()))
        return out

    def visit(element: Element, prefix: str) -> None:
        for child in element:
            path = f"{prefix}{local(child.tag)}"
            target = mapping.get(path)
            if target == MEMBERS:
                member: dict[str, str] = {}
                for sub_path, value in leaves(child, f"{path}/"):
                    sub_target = mapping.get(sub_path, "")
                    if sub_target.startswith(f"{MEMBERS}."):
                        member[sub_target.split(".", 1)[1]] = value
                members.append(member)
            elif len(child):
                visit(child, f"{path}/")
            elif target is not None:
                top[target] = (child.text or "").strip()

    visit(root, "")
    return Extracted(top=top, members=members)


# --- checks ---------------------------------------------------------------


@dataclass
class Problems:
    """Field problems: ``{"field", "message"[, "code"]}``, in the order found.

    ``code`` names the kind of refusal when it is not a bad value (the service's
    SubmissionError codes: ``outside_scope``, ``attachment_too_large`` …).
    """

    items: list[dict[str, str]] = field(default_factory=list)

    def add(self, name: str, message: str, code: str | None = None) -> None:
        item = {"field": name, "message": message}
        if code is not None:
            item["code"] = code
        self.items.append(item)

    def __bool__(self) -> bool:
        return bool(self.items)

    def names(self) -> set[str]:
        return {item["field"] for item in self.items}


def parse_bool(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def _int(text: str, name: str, problems: Problems) -> int | None:
    try:
        value = int(text)
    except ValueError:
        try:
            number = Decimal(text)
        except InvalidOperation:
            problems.add(
                name, _("Not a whole number: %(text)s.") % {"text": repr(text)}
            )
            return None
        if number != number.to_integral_value():
            problems.add(
                name, _("Not a whole number: %(text)s.") % {"text": repr(text)}
            )
            return None
        value = int(number)
    return value


def _decimal(text: str, name: str, problems: Problems) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        problems.add(name, _("Not a number: %(text)s.") % {"text": repr(text)})
        return None
    if not value.is_finite():
        problems.add(name, _("Not a number: %(text)s.") % {"text": repr(text)})
        return None
    return value


def _date(text: str, name: str, problems: Problems) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        problems.add(
            name, _("Not a date (YYYY-MM-DD): %(text)s.") % {"text": repr(text)}
        )
        return None


def _choice(
    text: str, name: str, choices: Sequence[str], problems: Problems
) -> str | None:
    if text not in choices:
        problems.add(
            name,
            _("%(text)s is not a valid choice; choose one of %(choices)s.")
            % {"text": repr(text), "choices": ", ".join(choices)},
        )
        return None
    return text


def convert_field(
    f: models.Field,  # type: ignore[type-arg]
    text: str,
    name: str,
    problems: Problems,
) -> object:
    """One answer as the registry field's Python value (None when it is bad)."""
    before = len(problems.items)
    value: object
    if f.choices:
        value = _choice(text, name, [str(c[0]) for c in f.choices], problems)
    elif f.name in _LIST_FIELDS:
        value = text.split()
    elif isinstance(f, models.DecimalField):
        amount = _decimal(text, name, problems)
        value = amount
        if amount is not None:
            places = 2 if isinstance(f, MoneyField) else f.decimal_places
            if amount < 0:
                problems.add(
                    name, _("Cannot be negative: %(value)s.") % {"value": text}
                )
            elif amount != amount.quantize(Decimal(1).scaleb(-places)):
                problems.add(
                    name,
                    _("At most %(places)s decimal places: %(value)s.")
                    % {"places": places, "value": text},
                )
            else:
                value = amount.quantize(Decimal(1).scaleb(-places))
    elif isinstance(f, models.BooleanField):
        value = parse_bool(text)
        if value is None:
            problems.add(
                name, _("Answer yes or no, not %(text)s.") % {"text": repr(text)}
            )
    elif isinstance(f, models.IntegerField):
        number = _int(text, name, problems)
        value = number
        if number is not None and number < 0:
            problems.add(name, _("Cannot be negative: %(value)s.") % {"value": number})
    elif isinstance(f, models.DateField):
        value = _date(text, name, problems)
    else:
        value = text
        max_length = getattr(f, "max_length", None)
        if max_length is not None and len(text) > max_length:
            problems.add(
                name, _("At most %(count)s characters.") % {"count": max_length}
            )
    if len(problems.items) == before and value is not None and not f.choices:
        try:
            f.run_validators(value)
        except ValidationError as exc:
            for message in exc.messages:
                problems.add(name, message)
    return value if len(problems.items) == before else None


@dataclass(frozen=True)
class Point:
    latitude: Decimal
    longitude: Decimal


def parse_geopoint(text: str, problems: Problems, name: str = LOCATION) -> Point | None:
    """``"lat lon [altitude accuracy]"`` as ODK sends a geopoint."""
    parts = text.split()
    if len(parts) < 2:
        problems.add(name, _("Not a geopoint: %(text)s.") % {"text": repr(text)})
        return None
    lat = _decimal(parts[0], name, problems)
    lon = _decimal(parts[1], name, problems)
    if lat is None or lon is None:
        return None
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        problems.add(name, _("Not a place on Earth: %(text)s.") % {"text": repr(text)})
        return None
    q = Decimal("0.000001")
    return Point(latitude=lat.quantize(q), longitude=lon.quantize(q))


@dataclass(frozen=True)
class MemberValues:
    """One member as submitted; ``id_number`` is clear and never leaves the service."""

    index: int  # 1-based, as the client shows the repeat
    name: str
    id_number: str = field(repr=False)
    id_masked: str
    id_hash: str
    birth_date: date
    sex: str
    relation: str
    labour: str
    health: str
    schooling: str
    in_school: bool
    skills: str
    age: int | None

    def payload(self) -> dict[str, object]:
        return {
            "index": self.index,
            "name": self.name,
            "id_masked": self.id_masked,
            "id_hash": self.id_hash,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
            "relation": self.relation,
            "labour": self.labour,
            "health": self.health,
            "schooling": self.schooling,
            "in_school": self.in_school,
            "skills": self.skills,
            "age": self.age,
        }


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def member_values(
    raw: Mapping[str, str], index: int, *, on: date, today: date, problems: Problems
) -> MemberValues | None:
    prefix = f"{MEMBERS}[{index}]."
    before = len(problems.items)
    name = raw.get("name", "").strip()
    if not name:
        problems.add(f"{prefix}name", _("Give the member's name."))
    elif len(name) > 60:
        problems.add(f"{prefix}name", _("A name has at most 60 characters."))
    number = ""
    born: date | None = None
    raw_id = raw.get("id_number", "").strip().upper()
    if not raw_id:
        problems.add(f"{prefix}id_number", _("Give the ID number."))
    else:
        try:
            number = idcard.validate(raw_id)
        except ValueError as exc:
            message = str(exc).replace(raw_id, idnumbers.rough_mask(raw_id))
            problems.add(
                f"{prefix}id_number",
                _("ID number %(id_number)s is not valid: %(reason)s.")
                % {"id_number": idnumbers.rough_mask(raw_id), "reason": message},
            )
        else:
            born = idcard.birth_date(number)
            if not idnumbers.EARLIEST_BIRTH <= born <= today:
                problems.add(
                    f"{prefix}id_number",
                    _(
                        "ID number %(id_number)s is not valid: its birth date "
                        "%(birth_date)s is impossible."
                    )
                    % {
                        "id_number": idcard.mask(number),
                        "birth_date": born.isoformat(),
                    },
                )
                born = None
    age: int | None = None
    if raw.get("age", ""):
        age = _int(raw["age"], f"{prefix}age", problems)
        if age is not None and not 0 <= age <= MAX_AGE:
            problems.add(
                f"{prefix}age",
                _("An age of %(age)s is impossible (0 to %(max)s).")
                % {"age": age, "max": MAX_AGE},
            )
        elif age is not None and born is not None:
            actual = _age_on(born, on)
            if abs(actual - age) > 1:
                problems.add(
                    f"{prefix}age",
                    _(
                        "An age of %(age)s does not match the ID number's birth date "
                        "%(birth_date)s (%(actual)s on %(day)s)."
                    )
                    % {
                        "age": age,
                        "birth_date": born.isoformat(),
                        "actual": actual,
                        "day": on.isoformat(),
                    },
                )
    values: dict[str, str] = {}
    for key, choices, default in (
        ("relation", Relation.values, Relation.OTHER),
        ("labour", Labour.values, Labour.FULL),
        ("health", Health.values, Health.HEALTHY),
        ("schooling", Schooling.values, Schooling.PRIMARY),
    ):
        text = raw.get(key, "") or str(default)
        values[key] = _choice(text, f"{prefix}{key}", choices, problems) or ""
    in_school = False
    if raw.get("in_school", ""):
        parsed = parse_bool(raw["in_school"])
        if parsed is None:
            problems.add(f"{prefix}in_school", _("Answer yes or no."))
        in_school = bool(parsed)
    skills = raw.get("skills", "").strip()
    if len(skills) > 200:
        problems.add(
            f"{prefix}skills", _("At most %(count)s characters.") % {"count": 200}
        )
    if len(problems.items) != before or born is None:
        return None
    return MemberValues(
        index=index,
        name=name,
        id_number=number,
        id_masked=idcard.mask(number),
        id_hash=idnumbers.id_hash(number),
        birth_date=born,
        sex=idcard.sex(number),
        relation=values["relation"],
        labour=values["labour"],
        health=values["health"],
        schooling=values["schooling"],
        in_school=in_school,
        skills=skills,
        age=age,
    )


@dataclass(frozen=True)
class HouseholdValues:
    """A household survey, checked: what the change request will carry."""

    village_code: str
    new: bool
    household_number: str
    head_name: str
    address: str
    phone: str
    category: str
    main_cause: str
    secondary_causes: list[str]
    year: int
    snapshot: dict[str, object]
    members: list[MemberValues]
    location: Point | None

    def payload(self) -> dict[str, object]:
        return {
            "village_code": self.village_code,
            "new_household": self.new,
            "household_number": self.household_number,
            "household": {
                "head_name": self.head_name,
                "address": self.address,
                "phone": self.phone,
                "category": self.category,
                "main_cause": self.main_cause,
                "secondary_causes": list(self.secondary_causes),
            },
            "year": self.year,
            "snapshot": snapshot_to_json(self.snapshot),
            "members": [m.payload() for m in self.members],
            "location": _point_json(self.location),
        }


def _point_json(point: Point | None) -> dict[str, str] | None:
    if point is None:
        return None
    return {"latitude": str(point.latitude), "longitude": str(point.longitude)}


def snapshot_to_json(values: Mapping[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in sorted(values):
        value = values[name]
        out[name] = str(value) if isinstance(value, Decimal | date) else value
    return out


def snapshot_from_json(values: Mapping[str, object]) -> dict[str, object]:
    """The payload's snapshot as the values ``snapshot_record`` takes."""
    out: dict[str, object] = {}
    for name, value in values.items():
        f = SNAPSHOT_FIELDS[name]
        if isinstance(f, models.DecimalField) and value is not None:
            out[name] = Decimal(str(value))
        elif isinstance(f, models.DateField) and isinstance(value, str):
            out[name] = date.fromisoformat(value)
        else:
            out[name] = value
    return out


def _snapshot_rules(values: Mapping[str, object], problems: Problems) -> None:
    """The registry's rules across fields (checked again when applied)."""
    bad = problems.names()

    def get(name: str, default: object = 0) -> object:
        return values.get(name, default)

    def rule(names: tuple[str, ...], ok: bool, target: str, message: str) -> None:
        if not ok and not bad.intersection(names):
            problems.add(target, message)

    size = get("size", 0)
    if not isinstance(size, int):
        return
    rule(("size",), size >= 1, "size", _("A household has at least one person."))
    for name in ("school_age_children", "members_ill_or_disabled"):
        count = get(name)
        rule(
            (name, "size"),
            isinstance(count, int) and count <= size,
            name,
            _("Cannot exceed the household size (%(size)s).") % {"size": size},
        )
    school, out = get("school_age_children"), get("children_out_of_school")
    rule(
        ("children_out_of_school", "school_age_children"),
        isinstance(school, int) and isinstance(out, int) and out <= school,
        "children_out_of_school",
        _("Cannot exceed the number of school-age children (%(count)s).")
        % {"count": school},
    )
    full, partial = get("labourers_full"), get("labourers_partial")
    rule(
        ("labourers_full", "labourers_partial", "size"),
        isinstance(full, int) and isinstance(partial, int) and full + partial <= size,
        "labourers_partial",
        _(
            "Full and partial labourers together cannot exceed the household size "
            "(%(size)s)."
        )
        % {"size": size},
    )
    rule(
        ("head_elderly", "head_child"),
        not (get("head_elderly", False) and get("head_child", False)),
        "head_child",
        _("The head cannot be both a child and elderly."),
    )
    online, business = get("income_ecommerce"), get("income_business")
    if isinstance(online, Decimal) and isinstance(business, Decimal):
        rule(
            ("income_ecommerce", "income_business"),
            online <= business,
            "income_ecommerce",
            _(
                "E-commerce income is part of business income and cannot exceed it "
                "(%(business)s)."
            )
            % {"business": business},
        )


def _causes(top: Mapping[str, str], problems: Problems) -> tuple[str, list[str]]:
    main = top.get("main_cause", "")
    secondary = top.get("secondary_causes", "").split()
    if main:
        _choice(main, "main_cause", Cause.values, problems)
    elif secondary:
        problems.add("main_cause", _("Name the main cause before secondary causes."))
    if len(secondary) > 2:
        problems.add("secondary_causes", _("At most two secondary causes."))
    for cause in secondary:
        _choice(cause, "secondary_causes", Cause.values, problems)
    everything = [main, *secondary] if main else secondary
    if len(set(everything)) != len(everything):
        problems.add("secondary_causes", _("The causes must be distinct."))
    return main, secondary


def household_values(
    extracted: Extracted, *, today: date
) -> tuple[HouseholdValues | None, Problems]:
    """Check a household survey; (values, no problems) or (None, problems)."""
    top = extracted.top
    problems = Problems()
    village_code = top.get("village_code", "")
    if not re.fullmatch(r"[0-9]{12}", village_code):
        problems.add(
            "village_code",
            _("A village code has 12 digits, not %(code)s.")
            % {"code": repr(village_code)},
        )
    number = top.get("household_number", "")
    new_text = top.get("new_household", "")
    new = parse_bool(new_text) if new_text else not number
    if new is None:
        problems.add(
            "new_household",
            _("Answer yes or no, not %(text)s.") % {"text": repr(new_text)},
        )
        new = False
    head_name = top.get("head_name", "").strip()
    if new:
        number = ""
        if not head_name:
            problems.add("head_name", _("A new household needs its head's name."))
        if not extracted.members:
            problems.add(MEMBERS, _("A new household lists its members."))
    elif not number:
        problems.add("household_number", _("Give the household number."))
    category = top.get("category", "") or Category.ORDINARY
    _choice(category, "category", Category.values, problems)
    main, secondary = _causes(top, problems)
    year: int | None = None
    if not top.get("year", ""):
        problems.add("year", _("Give the survey year."))
    else:
        year = _int(top["year"], "year", problems)
        if year is not None and not FIRST_YEAR <= year <= today.year:
            problems.add(
                "year",
                _("The year must lie between %(first)s and %(last)s.")
                % {"first": FIRST_YEAR, "last": today.year},
            )
            year = None
    snapshot: dict[str, object] = {}
    for name, f in SNAPSHOT_FIELDS.items():
        text = top.get(name, "")
        if text == "":
            if name in SNAPSHOT_REQUIRED:
                problems.add(name, _("This field is required."))
            continue
        value = convert_field(f, text, name, problems)
        if value is not None:
            snapshot[name] = value
    surveyed_on = snapshot.get("surveyed_on")
    if isinstance(surveyed_on, date):
        if surveyed_on > today:
            problems.add("surveyed_on", _("The survey date cannot be in the future."))
        elif year is not None and surveyed_on.year < year:
            problems.add(
                "surveyed_on",
                _("A survey of %(year)s cannot be dated before %(year)s.")
                % {"year": year},
            )
    else:
        snapshot.setdefault("surveyed_on", today)
    _snapshot_rules(snapshot, problems)
    on = surveyed_on if isinstance(surveyed_on, date) else today
    members: list[MemberValues] = []
    for index, raw in enumerate(extracted.members, start=1):
        member = member_values(raw, index, on=on, today=today, problems=problems)
        if member is not None:
            members.append(member)
    if sum(1 for m in members if m.relation == Relation.HEAD) > 1:
        problems.add(MEMBERS, _("A household has one head."))
    seen: set[str] = set()
    for member in members:
        if member.id_hash in seen:
            problems.add(
                f"{MEMBERS}[{member.index}].id_number",
                _("ID number %(id_number)s is given twice.")
                % {"id_number": member.id_masked},
            )
        seen.add(member.id_hash)
    location = None
    if top.get(LOCATION, ""):
        location = parse_geopoint(top[LOCATION], problems)
    if problems or year is None:
        return None, problems
    return (
        HouseholdValues(
            village_code=village_code,
            new=bool(new),
            household_number=number,
            head_name=head_name,
            address=top.get("address", "").strip(),
            phone=top.get("phone", "").strip(),
            category=category,
            main_cause=main,
            secondary_causes=secondary,
            year=year,
            snapshot=snapshot,
            members=members,
            location=location,
        ),
        problems,
    )


@dataclass(frozen=True)
class VillageValues:
    village_code: str
    profile: dict[str, object]
    location: Point | None

    def payload(self) -> dict[str, object]:
        return {
            "village_code": self.village_code,
            "profile": snapshot_to_json(self.profile),
            "location": _point_json(self.location),
        }


def village_values(extracted: Extracted) -> tuple[VillageValues | None, Problems]:
    top = extracted.top
    problems = Problems()
    village_code = top.get("village_code", "")
    if not re.fullmatch(r"[0-9]{12}", village_code):
        problems.add(
            "village_code",
            _("A village code has 12 digits, not %(code)s.")
            % {"code": repr(village_code)},
        )
    profile: dict[str, object] = {}
    for name, f in PROFILE_FIELDS.items():
        text = top.get(name, "")
        if text == "":
            continue
        value = convert_field(f, text, name, problems)
        if value is not None:
            profile[name] = value
    location = None
    if top.get(LOCATION, ""):
        location = parse_geopoint(top[LOCATION], problems)
    if problems:
        return None, problems
    return VillageValues(village_code, profile, location), problems
