"""How the survey pages present the selectors' rows (pure functions, no database)."""

from __future__ import annotations

import math
from decimal import Decimal

from django.utils import translation

from propoor.surveys import display
from propoor.surveys.selectors import CoverageRow, DiffRow
from propoor.web.tests.conftest import _no_language_left_behind

__all__ = ["_no_language_left_behind"]

LAT, LON = Decimal("25.040000"), Decimal("102.710000")
# One metre in degrees at this latitude, north and east.
M_LAT = 1 / display.M_PER_DEG_LAT
M_LON = 1 / (display.M_PER_DEG_LON * math.cos(math.radians(25.04)))


def _row(field: str, label: str, current: str, proposed: str) -> DiffRow:
    return DiffRow(field, label, current, proposed, changed=current != proposed)


# --- the map --------------------------------------------------------------------------


def test_a_lone_gps_point_is_drawn_in_the_middle() -> None:
    drawn = display.point_map([], latitude=LAT, longitude=LON)

    assert drawn is not None
    assert drawn.here == display.MapDot(x=160.0, y=100.0)
    assert (drawn.dots, drawn.home, drawn.households) == ((), None, 0)
    # 200 m at least fill the height (200 - 2 x 18 px): a 50 m bar is 41 px
    assert (drawn.scale_label, drawn.scale_px) == ("50 m", 41.0)


def test_north_is_up_and_a_metre_is_as_long_across_as_up() -> None:
    north = (1, LAT + Decimal(str(round(300 * M_LAT, 6))), LON)
    east = (2, LAT, LON + Decimal(str(round(300 * M_LON, 6))))

    drawn = display.point_map(
        [north, east], latitude=LAT, longitude=LON, household_id=2
    )

    assert drawn is not None
    here, (up, right) = drawn.here, drawn.dots
    assert here is not None
    assert up.y < here.y
    assert abs(up.x - here.x) < 0.2
    assert right.x > here.x
    assert abs(right.y - here.y) < 0.2
    assert abs((here.y - up.y) - (right.x - here.x)) < 0.5
    assert drawn.home == right
    assert drawn.households == 2
    assert drawn.scale_label == "100 m"
    # every point inside the frame
    for dot in (*drawn.dots, here):
        assert display.MAP_PAD - 0.1 <= dot.x <= display.MAP_WIDTH - display.MAP_PAD
        assert display.MAP_PAD - 0.1 <= dot.y <= display.MAP_HEIGHT - display.MAP_PAD


def test_a_wide_village_gets_a_kilometre_scale() -> None:
    far = (1, LAT, LON + Decimal(str(round(12_000 * M_LON, 6))))

    drawn = display.point_map([far], latitude=LAT, longitude=LON)

    assert drawn is not None
    assert drawn.scale_label == "2 km"


def test_nothing_to_draw_gives_no_map() -> None:
    assert display.point_map([], latitude=None, longitude=LON) is None


# --- the diff -------------------------------------------------------------------------


def test_diff_rows_follow_the_questionnaire_with_members_last() -> None:
    rows = [
        _row(
            "members[1]",
            "Member 1: 王五 (new)",
            "",
            "王五 · 5301**********1234 · "
            "head · full · healthy · primary · in school · 种植",
        ),
        _row("has_tv", "Has tv", "yes", "no"),
        _row("income_wages", "Income wages", "2000.00", "5200.00"),
        _row("causes", "Causes of poverty", "illness", "illness, lack_skills"),
        _row("skills", "Skills", "", "planting, livestock"),
        _row("village_code", "Village", "", "530102001001"),
        _row("surveyed_on", "Surveyed on", "", "2024-11-15"),
        _row(
            "member:7",
            "张三 (kept)",
            "张三 · 5301**********0030 · head",
            "张三 · 5301**********0030 · head",
        ),
        _row("mystery", "Mystery", "a", "b"),
    ]

    with translation.override("en"):
        lines = display.diff_lines(rows, village="Village A1")

    assert [line.field for line in lines] == [
        "village_code",
        "causes",
        "surveyed_on",
        "income_wages",
        "has_tv",
        "skills",
        "mystery",
        "members[1]",
        "member:7",
    ]
    by_field = {line.field: line for line in lines}
    assert by_field["village_code"].proposed == "Village A1 · 530102001001"
    assert by_field["income_wages"].label == "Wages"
    assert (by_field["income_wages"].current, by_field["income_wages"].proposed) == (
        "¥2,000.00",
        "¥5,200.00",
    )
    assert (by_field["has_tv"].label, by_field["has_tv"].proposed) == (
        "Television",
        "No",
    )
    assert by_field["causes"].proposed == "Illness (因病), Lack of skills (缺技术)"
    assert by_field["skills"].current == "—"
    assert by_field["skills"].proposed == "Planting, Livestock"
    assert by_field["mystery"].section == "other"
    new = by_field["members[1]"]
    assert (new.label, new.new, new.member, new.section) == (
        "Member 1: 王五",
        True,
        True,
        "members",
    )
    assert new.proposed_lines == (
        "王五 · Head",
        "5301**********1234",
        "Full labour · Healthy · Primary school · in school · 种植",
    )
    assert new.current_lines == ("—",)
    kept = by_field["member:7"]
    assert (kept.label, kept.changed) == ("张三 (kept: not in this survey)", False)


def test_diff_rows_speak_chinese() -> None:
    rows = [
        _row("income_wages", "Income wages", "2000.00", "5200.00"),
        _row("surveyed_on", "Surveyed on", "2020-11-15", "2024-11-15"),
        _row("causes", "Causes of poverty", "illness", "illness, lack_skills"),
        _row("wishes", "Wishes", "", "training-ecommerce, unknown-code"),
        _row("electricity", "Electricity", "yes", "yes"),
    ]

    with translation.override("zh-hans"):
        lines = {line.field: line for line in display.diff_lines(rows)}
        sections = {line.field: line.section_label for line in lines.values()}

    assert lines["income_wages"].label == "工资性收入"
    assert lines["surveyed_on"].proposed == "2024年11月15日"
    assert lines["causes"].proposed == "因病、缺技术"
    assert lines["wishes"].proposed == "电商技能培训、unknown-code"
    assert lines["electricity"].current == "是"
    assert sections["income_wages"] == "收入与支出"


# --- coverage -------------------------------------------------------------------------


def test_coverage_lines_have_percentages_and_a_total() -> None:
    rows = [
        CoverageRow("530102001001", "一村", households=3, surveyed=1, due=2),
        CoverageRow("530102001002", "二村", households=2, surveyed=2, due=0),
        CoverageRow("530102002001", "三村", households=0, surveyed=0, due=0),
    ]

    with translation.override("en"):
        lines, total = display.coverage_lines(rows, {"530102001001": "Village A1"})

    assert [(line.name, line.percent, line.bar, line.complete) for line in lines] == [
        ("Village A1", Decimal("33.3"), 33, False),
        ("二村", Decimal("100.0"), 100, True),
        ("三村", None, 0, False),
    ]
    assert (total.households, total.surveyed, total.due) == (5, 3, 2)
    assert total.percent == Decimal("60.0")
    assert total.name == "Total"


# --- uploads and submissions ----------------------------------------------------------


def test_sheet_errors_and_problems_take_rows_or_strings() -> None:
    assert display.sheet_errors(
        [{"sheet": "survey", "row": 4, "message": "Unknown type"}, "loose"]
    ) == [
        display.SheetError("survey", "4", "Unknown type"),
        display.SheetError("", "", "loose"),
    ]
    assert display.sheet_errors(None) == []
    assert display.problems(
        [{"field": "members[3].age", "message": "Too old", "code": "x"}, "plain"]
    ) == [
        display.Problem("members[3].age", "Too old"),
        display.Problem("", "plain"),
    ]
    assert display.problems("one") == [display.Problem("", "one")]
    assert display.problems([]) == []


def test_raw_values_are_grouped_and_numbered() -> None:
    xml = (
        '<?xml version="1.0"?><data xmlns="http://opendatakit.org/x" id="f">'
        "<identification><head_name>王五</head_name></identification>"
        "<members><name>A</name></members><members><name>B</name></members>"
        "<house><location>25.0412345 102.7123456 1890.0 4.5</location></house>"
        "<meta><instanceID>uuid:1</instanceID></meta></data>"
    )

    values = display.raw_values(xml)

    assert [(v.group, v.name, v.value) for v in values] == [
        ("identification", "head_name", "王五"),
        ("members[1]", "name", "A"),
        ("members[2]", "name", "B"),
        ("house", "location", "25.0412345 102.7123456 1890.0 4.5"),
        ("meta", "instanceID", "uuid:1"),
    ]
    assert display.raw_point(values) == (Decimal("25.041234"), Decimal("102.712346"))
    assert display.raw_values("<not xml") == []
    assert display.raw_values('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>') == []


def test_only_a_geopoint_is_taken_for_a_gps_point() -> None:
    values = [
        display.RawValue("a/skills", "1 2"),
        display.RawValue("a/year", "2024"),
        display.RawValue("a/far", "95.1 10.2"),
    ]

    assert display.raw_point(values) is None
