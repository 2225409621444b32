"""Reads: forms by area, the review queue, the side-by-side diff, coverage."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propoor.accounts.models import Role
from propoor.core.errors import NotFound, PermissionDenied
from propoor.households.tests.factories import (
    COUNTY,
    TOWNSHIP_B,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_area_tree,
    make_household,
    make_user,
)
from propoor.surveys.forms import build
from propoor.surveys.selectors import (
    CoverageRow,
    DiffRow,
    change_detail,
    coverage_by_village,
    form_list,
    form_version_get,
    form_versions,
    review_queue,
    submission_detail,
    submission_list,
)
from propoor.surveys.services import (
    IncomingAttachment,
    InvalidValues,
    change_approve,
    form_upload,
    submission_receive,
)
from propoor.surveys.tests.factories import (
    JPEG,
    household_submission,
    shipped_versions,
    three_members,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cadre():
    make_area_tree()
    shipped_versions()
    return make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="cadre-a1")


@pytest.fixture
def admin(cadre):
    return make_user(Role.COUNTY_ADMIN, [COUNTY], username="admin")


def _township_b_form(admin):
    return form_upload(
        admin,
        xlsform=build.workbook(
            build.HOUSEHOLD,
            form_id="daguan_household",
            version="1",
            title_zh="大观",
            title_en="Daguan",
            lists=list(build.CHOICES),
        ),
        filename="daguan.xlsx",
        area_code=TOWNSHIP_B,
    )


def test_a_cadre_lists_the_forms_used_in_the_village(cadre, admin):
    # given the shipped forms (used everywhere) and a form of township B
    _township_b_form(admin)

    # when the cadre of village A1 and the county administrator list forms
    mine = list(form_list(cadre))
    everything = list(form_list(admin))

    # then the cadre sees the shipped forms only, each with its current version
    assert [f.form_id for f in mine] == ["propoor_household", "propoor_village"]
    assert [f.current_version.version for f in mine] == ["2025.1", "2025.1"]
    assert [f.form_id for f in everything] == [
        "daguan_household",
        "propoor_household",
        "propoor_village",
    ]
    officer_b = make_user(Role.TOWNSHIP_OFFICER, [TOWNSHIP_B])
    assert [f.form_id for f in form_list(officer_b)] == [
        "daguan_household",
        "propoor_household",
        "propoor_village",
    ]


def test_a_form_version_outside_the_area_is_not_found(cadre, admin):
    _township_b_form(admin)

    with pytest.raises(NotFound):
        form_version_get(cadre, "daguan_household")
    with pytest.raises(NotFound):
        form_version_get(cadre, "propoor_household", "1999.1")
    with pytest.raises(NotFound):
        form_versions(cadre, "daguan_household")

    assert form_version_get(cadre, "propoor_household").version == "2025.1"
    assert form_version_get(admin, "daguan_household", "1").form.area_id == TOWNSHIP_B
    assert [v.version for v in form_versions(cadre, "propoor_village")] == ["2025.1"]


def test_a_buyer_sees_no_forms():
    make_area_tree()
    buyer = make_user(Role.BUYER, [COUNTY])

    with pytest.raises(PermissionDenied):
        form_list(buyer)


def test_the_review_queue_holds_the_open_changes_of_the_users_villages(cadre, admin):
    # given surveys of village A1 (one approved) and of village A2
    first = submission_receive(user=cadre, xml=household_submission()).submission
    second = submission_receive(
        user=cadre, xml=household_submission(members=three_members())
    ).submission
    cadre_a2 = make_user(Role.VILLAGE_CADRE, [VILLAGE_A2])
    third = submission_receive(
        user=cadre_a2,
        xml=household_submission(members=three_members(), village_code=VILLAGE_A2),
    ).submission
    change_approve(admin, change=first.change)

    # then each sees the open changes of their own villages, oldest first
    assert [c.pk for c in review_queue(cadre)] == [second.change.pk]
    assert [c.pk for c in review_queue(admin)] == [second.change.pk, third.change.pk]
    assert [c.pk for c in review_queue(admin, village=VILLAGE_A2)] == [third.change.pk]
    assert [c.pk for c in review_queue(admin, status="approved")] == [first.change.pk]


def test_the_diff_shows_current_and_proposed_values_with_masked_ids(cadre, admin):
    # given a household of two whose survey changes the wages and adds a member
    household = make_household(cadre, VILLAGE_A1, members=2, year=2024)
    members = three_members()[2:]
    xml = household_submission(
        members=members,
        new_household="no",
        household_number=household.number,
        size="3",
        members_ill_or_disabled="0",
        location="",
    )
    change = submission_receive(
        user=cadre,
        xml=xml,
        attachments=[IncomingAttachment("house.jpg", "image/jpeg", JPEG)],
    ).submission.change

    # when the reviewer opens it
    detail = change_detail(admin, change.pk)
    rows = {row.field: row for row in detail.diff}

    # then each field shows the registry's value beside the survey's
    assert rows["income_wages"] == DiffRow(
        "income_wages", "Income wages", "2000.00", "3600.50", True
    )
    assert rows["electricity"] == DiffRow(
        "electricity", "Electricity", "yes", "yes", False
    )
    assert rows["housing_structure"] == DiffRow(
        "housing_structure",
        "Housing structure",
        "Brick and wood",
        "Earth and wood",
        True,
    )
    assert rows["skills"].proposed == "planting, livestock"
    masked = members[0]["id_number"][:4] + "*" * 10 + members[0]["id_number"][14:]
    assert rows["members[1]"] == DiffRow(
        "members[1]",
        "Member 1: 王小七 (new)",
        "",
        f"王小七 · {masked} · child · student · healthy · primary · in school",
        True,
    )
    kept = [row for row in detail.diff if row.label.endswith("(kept)")]
    assert [row.changed for row in kept] == [False, False]
    assert [a.name for a in detail.attachments] == ["house.jpg"]
    assert (detail.latitude, detail.longitude) == (None, None)
    text = repr(detail.diff)
    assert members[0]["id_number"] not in text


def test_a_change_outside_the_scope_is_not_found(cadre):
    change = submission_receive(
        user=cadre, xml=household_submission()
    ).submission.change
    other = make_user(Role.VILLAGE_CADRE, [VILLAGE_B1])

    with pytest.raises(NotFound):
        change_detail(other, change.pk)
    with pytest.raises(NotFound):
        submission_detail(other, change.submission_id)


def test_a_refused_submission_is_seen_by_its_submitter_and_their_overseers(
    cadre, admin
):
    with pytest.raises(InvalidValues):
        submission_receive(
            user=cadre, xml=household_submission(village_code="999999999999")
        )
    from propoor.surveys.models import Submission

    submission = Submission.objects.get()
    other = make_user(Role.VILLAGE_CADRE, [VILLAGE_B1])

    assert submission_detail(cadre, submission.pk) == submission
    assert submission_detail(admin, submission.pk) == submission
    with pytest.raises(NotFound):
        submission_detail(other, submission.pk)


def test_coverage_counts_households_surveyed_this_year(cadre, admin):
    # given village A1 with two households surveyed in 2024 and one not; village
    # A2 with one household surveyed in 2023 only
    make_household(cadre, VILLAGE_A1, members=1, year=2024)
    make_household(cadre, VILLAGE_A1, members=1, year=2024)
    make_household(cadre, VILLAGE_A1, members=1, year=None)
    make_household(admin, VILLAGE_A2, members=1, year=2023)

    # when coverage of 2024 is read
    rows = coverage_by_village(admin, year=2024)

    # then each village of the county shows households, surveyed and still due
    assert rows == [
        CoverageRow(VILLAGE_A1, "一村", 3, 2, 1),
        CoverageRow(VILLAGE_A2, "二村", 1, 0, 1),
        CoverageRow(VILLAGE_B1, "三村", 0, 0, 0),
    ]
    assert coverage_by_village(cadre, year=2024) == [rows[0]]


def test_the_diff_of_a_first_village_survey_has_no_current_values(cadre, admin):
    from propoor.surveys.tests.factories import village_submission

    change = submission_receive(
        user=cadre, xml=village_submission(VILLAGE_A1)
    ).submission.change

    detail = change_detail(admin, change.pk)
    rows = {row.field: row for row in detail.diff}

    assert rows["terrain"] == DiffRow("terrain", "Terrain", "", "Mountain", True)
    assert rows["km_to_county_seat"] == DiffRow(
        "km_to_county_seat", "Km to county seat", "", "38.5", True
    )
    assert rows["has_service_station"] == DiffRow(
        "has_service_station", "Has service station", "", "yes", True
    )
    assert rows["location"] == DiffRow(
        "location", "Location", "", "25.05000 102.70000", True
    )
    assert (detail.latitude, detail.longitude) == (
        Decimal("25.050000"),
        Decimal("102.700000"),
    )


def test_submissions_are_listed_by_the_users_villages(cadre, admin):
    kept = submission_receive(user=cadre, xml=household_submission()).submission
    with pytest.raises(InvalidValues):
        submission_receive(user=cadre, xml=household_submission(income_wages="-1"))
    other = make_user(Role.VILLAGE_CADRE, [VILLAGE_B1])

    assert [s.status for s in submission_list(admin)] == ["invalid", "pending"]
    assert [s.pk for s in submission_list(cadre, status="pending")] == [kept.pk]
    assert list(submission_list(other)) == []
