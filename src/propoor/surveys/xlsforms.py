"""XLSForm -> XForm with pyxform, and the mapping of form fields onto the registry.

The mapping rule (see ``surveys/README.md``): a question named like a registry field
fills that field; a ``registry`` column on the survey sheet overrides the name (``-``
leaves a question unmapped). Groups do not matter; the repeat named (or mapped to)
``members`` holds the household's members. The mapping is kept with each form version
as ``{"<path below the root>": "<target>"}``, e.g. ``"income/income_wages":
"income_wages"``, ``"members": "members"``, ``"members/id_number":
"members.id_number"``.

Pure functions of the workbook; nothing here touches the database.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from defusedxml import ElementTree
from django.utils.translation import gettext as _
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from propoor.areas.services import PROFILE_FIELDS
from propoor.households.models import Snapshot

# --- registry targets -------------------------------------------------------

SNAPSHOT_TARGETS = frozenset(
    f.name
    for f in Snapshot._meta.get_fields()
    if f.concrete
    and f.name not in {"id", "household", "year", "surveyed_by", "updated_at"}
)
# What identifies (or registers) the household the survey is about.
IDENTITY_TARGETS = frozenset(
    {
        "village_code",
        "new_household",
        "household_number",
        "head_name",
        "address",
        "phone",
        "category",
        "main_cause",
        "secondary_causes",
        "year",
    }
)
MEMBERS = "members"
MEMBER_TARGETS = frozenset(
    {
        "name",
        "id_number",
        "age",
        "relation",
        "labour",
        "health",
        "schooling",
        "in_school",
        "skills",
    }
)
LOCATION = "location"  # a geopoint: the house, or the village office
HOUSEHOLD_TARGETS = IDENTITY_TARGETS | SNAPSHOT_TARGETS | {LOCATION}
PROFILE_TARGETS = frozenset(PROFILE_FIELDS - {"latitude", "longitude"})
# The survey date is recorded with a village survey but changes nothing.
VILLAGE_TARGETS = PROFILE_TARGETS | {"village_code", LOCATION, "surveyed_on"}
# Targets only a household form has (a village form has none of them).
_HOUSEHOLD_ONLY = (HOUSEHOLD_TARGETS - VILLAGE_TARGETS) | {MEMBERS}
IGNORE = "-"

FORM_ID_RE = re.compile(r"^[-a-zA-Z0-9_]{1,80}$")
_ROW_RE = re.compile(r"\[row\s*:\s*(\d+)\]")
_QUOTED_RE = re.compile(r"'([^']+)'")
_SHEET_RES = (
    re.compile(r"On the '([\w-]+)' sheet"),
    re.compile(r"sheet:? '([\w-]+)'", re.IGNORECASE),
    re.compile(r"'([\w-]+)' sheet"),
    re.compile(r"\b(survey|choices|settings|external_choices|entities) sheet\b"),
)


@dataclass(frozen=True)
class FormProblem:
    """One problem of an uploaded XLSForm, located as precisely as known."""

    sheet: str | None
    row: int | None
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"sheet": self.sheet, "row": self.row, "message": self.message}


class XLSFormInvalid(Exception):
    def __init__(self, problems: Sequence[FormProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class ConvertedForm:
    form_id: str
    version: str
    title: str
    kind: str  # "household" | "village"
    xform: str
    mapping: dict[str, str]
    warnings: list[str] = field(default_factory=list)


def problem_from_pyxform(message: str) -> FormProblem:
    """Locate a pyxform error: ``[row : 5] On the 'choices' sheet, ...``."""
    text = " ".join(str(message).split())
    row_match = _ROW_RE.search(text)
    sheet = None
    for pattern in _SHEET_RES:
        found = pattern.search(text)
        if found is not None:
            sheet = found.group(1).lower()
            break
    row = int(row_match.group(1)) if row_match else None
    if sheet is None and row is not None:
        sheet = "survey"  # pyxform's row-numbered errors without a sheet are survey's
    return FormProblem(sheet=sheet, row=row, message=text)


def convert_xlsform(data: bytes, filename: str = "form.xlsx") -> ConvertedForm:
    """Convert and check an XLSForm; raise XLSFormInvalid listing its problems."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in {".xlsx", ".xls"}:
        raise XLSFormInvalid(
            [
                FormProblem(
                    None, None, _("Upload an XLSForm as an .xlsx (or .xls) file.")
                )
            ]
        )
    warnings: list[str] = []
    try:
        result = convert(xlsform=data, warnings=warnings, file_type=suffix)
    except PyXFormError as exc:
        problem = problem_from_pyxform(str(exc))
        if problem.row is None:
            problem = _locate(problem, _survey_cells(data, suffix))
        raise XLSFormInvalid([problem]) from exc
    except Exception as exc:  # a corrupt workbook breaks pyxform's readers
        raise XLSFormInvalid(
            [
                FormProblem(
                    None,
                    None,
                    _("The file is not a readable XLSForm: %(error)s") % {"error": exc},
                )
            ]
        ) from exc
    try:
        ElementTree.fromstring(result.xform.encode("utf-8"))
    except ElementTree.ParseError as exc:  # pragma: no cover  (pyxform writes XML)
        raise XLSFormInvalid(
            [FormProblem(None, None, _("Bad XForm: %(error)s") % {"error": exc})]
        ) from exc
    survey: dict[str, Any] = result._pyxform
    rows = _survey_rows(data, suffix)
    problems: list[FormProblem] = []
    form_id = str(survey.get("id_string") or "")
    version = str(survey.get("version") or "")
    if not FORM_ID_RE.match(form_id):
        problems.append(
            FormProblem(
                "settings",
                2,
                _("The form_id %(form_id)s must be 1-80 letters, digits, - or _.")
                % {"form_id": repr(form_id)},
            )
        )
    if not version:
        problems.append(
            FormProblem(
                "settings", 2, _("Give the form a version on the settings sheet.")
            )
        )
    elif len(version) > 40:
        problems.append(
            FormProblem("settings", 2, _("A version has at most 40 characters."))
        )
    mapping, mapping_problems = derive_mapping(survey.get("children", []), rows)
    problems.extend(mapping_problems)
    kind = form_kind(mapping)
    if kind is None:
        problems.append(
            FormProblem(
                "survey",
                None,
                _(
                    "The form fills no registry field: name questions after registry "
                    "fields (or add a 'registry' column); see surveys/README.md."
                ),
            )
        )
    else:
        problems.extend(_required_targets(kind, mapping))
    if problems:
        raise XLSFormInvalid(problems)
    assert kind is not None  # noqa: S101  (problems were raised above otherwise)
    title = str(survey.get("title") or form_id)[:200]
    return ConvertedForm(
        form_id=form_id,
        version=version,
        title=title,
        kind=kind,
        xform=result.xform,
        mapping=mapping,
        warnings=list(warnings),
    )


def _locate(problem: FormProblem, cells: Mapping[str, int]) -> FormProblem:
    """A row for a pyxform message that quotes a value of the survey sheet.

    pyxform names some problems without their row (``Unknown question type
    'txt'.``); the first survey row holding the quoted value is that row.
    """
    for quoted in _QUOTED_RE.findall(problem.message):
        row = cells.get(quoted)
        if row is not None:
            return FormProblem("survey", row, problem.message)
    return problem


def _survey_cells(data: bytes, suffix: str) -> dict[str, int]:
    """Each value of the survey sheet (and each word of a type) -> its first row."""
    cells: dict[str, int] = {}
    for number, values in _survey_sheet(data, suffix):
        for value in values:
            if value is None:
                continue
            text = str(value).strip()
            for key in (text, *text.split()):
                cells.setdefault(key, number)
    return cells


def _survey_sheet(data: bytes, suffix: str) -> list[tuple[int, tuple[object, ...]]]:
    """The survey sheet's rows (1-based numbers as the spreadsheet shows them)."""
    if suffix != ".xlsx":
        return []
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a workbook pyxform could not read either
        return []
    try:
        sheet = next((ws for ws in book.worksheets if ws.title == "survey"), None)
        if sheet is None:
            return []
        return [
            (number, tuple(values))
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1)
        ]
    finally:
        book.close()


def _survey_rows(data: bytes, suffix: str) -> dict[str, int]:
    """Row number (1-based, as the spreadsheet shows it) of each question name."""
    rows: dict[str, int] = {}
    name_col: int | None = None
    for number, values in _survey_sheet(data, suffix):
        if name_col is None:
            header = [str(v).strip().lower() if v else "" for v in values]
            if "name" in header:
                name_col = header.index("name")
            continue
        if name_col < len(values) and values[name_col]:
            rows.setdefault(str(values[name_col]).strip(), number)
    return rows


def _walk(
    children: Sequence[Mapping[str, Any]], prefix: str = ""
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for child in children:
        yield f"{prefix}{child['name']}", child


def derive_mapping(
    children: Sequence[Mapping[str, Any]], rows: Mapping[str, int]
) -> tuple[dict[str, str], list[FormProblem]]:
    """``{path: target}`` for every mapped question, and the mapping's problems."""
    mapping: dict[str, str] = {}
    problems: list[FormProblem] = []
    used: dict[str, str] = {}

    def note(name: str, message: str) -> None:
        problems.append(FormProblem("survey", rows.get(name), message))

    def claim(path: str, target: str, name: str) -> None:
        if target in used:
            note(
                name,
                _(
                    "'%(name)s' and '%(other)s' both fill the registry field "
                    "'%(target)s'."
                )
                % {
                    "name": name,
                    "other": used[target].rsplit("/", 1)[-1],
                    "target": target,
                },
            )
            return
        used[target] = path
        mapping[path] = target

    def visit(items: Sequence[Mapping[str, Any]], prefix: str, in_repeat: bool) -> None:
        for path, item in _walk(items, prefix):
            name = str(item["name"])
            kind = str(item.get("type", ""))
            explicit = str(item.get("registry") or "").strip()
            if explicit == IGNORE:
                continue
            if kind == "group":
                if name == "meta":
                    continue
                visit(item.get("children", []), f"{path}/", in_repeat)
                continue
            if kind == "repeat":
                target = explicit or name
                if in_repeat or target != MEMBERS:
                    if explicit:
                        note(
                            name,
                            _("A repeat can only fill '%(members)s'.")
                            % {"members": MEMBERS},
                        )
                    continue
                claim(path, MEMBERS, name)
                visit(item.get("children", []), f"{path}/", True)
                continue
            target = explicit or name
            known = MEMBER_TARGETS if in_repeat else HOUSEHOLD_TARGETS | VILLAGE_TARGETS
            if target not in known:
                if explicit:
                    note(
                        name,
                        _("'%(target)s' is not a registry field.")
                        % {"target": explicit},
                    )
                continue
            if target == LOCATION and kind != "geopoint":
                note(
                    name,
                    _("'%(name)s' fills the location and must be a geopoint.")
                    % {"name": name},
                )
                continue
            claim(path, f"{MEMBERS}.{target}" if in_repeat else target, name)

    visit(children, "", False)
    return mapping, problems


def form_kind(mapping: Mapping[str, str]) -> str | None:
    targets = set(mapping.values())
    if targets & _HOUSEHOLD_ONLY:
        return "household"
    if targets & PROFILE_TARGETS:
        return "village"
    return None


def _required_targets(kind: str, mapping: Mapping[str, str]) -> list[FormProblem]:
    targets = set(mapping.values())
    needed = ["village_code"]
    if kind == "household":
        needed.append("year")
        if not targets & {"household_number", "new_household"}:
            needed.append("household_number")
        stray = sorted(targets & (PROFILE_TARGETS - HOUSEHOLD_TARGETS))
    else:
        stray = sorted(targets & _HOUSEHOLD_ONLY)
    if kind == "household":
        needs = _("A household form needs a question '%(name)s'.")
        cannot = _("A household form cannot also fill %(fields)s.")
    else:
        needs = _("A village form needs a question '%(name)s'.")
        cannot = _("A village form cannot also fill %(fields)s.")
    problems = [
        FormProblem("survey", None, needs % {"name": name})
        for name in needed
        if name not in targets
    ]
    if stray:
        problems.append(
            FormProblem("survey", None, cannot % {"fields": ", ".join(stray)})
        )
    return problems
