"""Reviewing change requests: approve (applied, audited), reject, conflicts, scope."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propoor.accounts.models import Role
from propoor.core.errors import (
    Conflict,
    DuplicatePerson,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from propoor.core.models import AuditEntry
from propoor.households import idnumbers
from propoor.households.models import Household, Member, Snapshot
from propoor.households.services import snapshot_record
from propoor.households.tests.factories import (
    COUNTY,
    VILLAGE_A1,
    VILLAGE_A2,
    make_area_tree,
    make_household,
    make_user,
)
from propoor.surveys.models import ChangeRequest, ChangeStatus, SubmissionStatus
from propoor.surveys.services import change_approve, change_reject, submission_receive
from propoor.surveys.tests.factories import (
    household_submission,
    member_answers,
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


def _update(cadre, household, members=(), **answers) -> ChangeRequest:
    xml = household_submission(
        members=list(members),
        new_household="no",
        household_number=household.number,
        size="2",
        school_age_children="0",
        members_ill_or_disabled="0",
        **answers,
    )
    return submission_receive(user=cadre, xml=xml).submission.change


def test_two_surveys_of_one_household_conflict_once_one_is_approved(cadre, admin):
    # given a household and two pending surveys of it, with different wages
    household = make_household(cadre, VILLAGE_A1, members=2, year=2024)
    first = _update(cadre, household, income_wages="5000")
    second = _update(cadre, household, income_wages="6000")
    assert (first.status, second.status) == (ChangeStatus.PENDING,) * 2

    # when the first is approved
    change_approve(admin, change=first)

    # then the second is in conflict, and approving it is refused unchanged
    second.refresh_from_db()
    assert second.status == ChangeStatus.CONFLICT
    with pytest.raises(Conflict) as caught:
        change_approve(admin, change=second)
    assert caught.value.extra == {"change": second.pk, "conflict": True}
    snapshot = Snapshot.objects.get(household=household, year=2024)
    assert snapshot.income_wages == Decimal("5000.00")
    second.refresh_from_db()
    assert second.status == ChangeStatus.CONFLICT


def test_a_conflict_can_be_approved_on_purpose(cadre, admin):
    household = make_household(cadre, VILLAGE_A1, members=2, year=2024)
    first = _update(cadre, household, income_wages="5000")
    second = _update(cadre, household, income_wages="6000")
    change_approve(admin, change=first)

    approved = change_approve(admin, change=second, force=True)

    assert approved.status == ChangeStatus.APPROVED
    snapshot = Snapshot.objects.get(household=household, year=2024)
    assert snapshot.income_wages == Decimal("6000.00")
    entry = AuditEntry.objects.filter(action="change.approve").order_by("-seq").first()
    assert entry.data["forced"] is True


def test_a_registry_edit_after_the_survey_puts_it_in_conflict(cadre, admin):
    # given a pending survey of a household
    household = make_household(cadre, VILLAGE_A1, members=2, year=2024)
    change = _update(cadre, household, income_wages="5000")

    # when someone edits the household's 2024 snapshot directly
    snapshot_record(actor=admin, household=household, year=2024, costs=Decimal("1"))

    # then approving the survey is refused, and the change is marked in conflict
    with pytest.raises(Conflict):
        change_approve(admin, change=change)
    change.refresh_from_db()
    assert change.status == ChangeStatus.CONFLICT
    assert Snapshot.objects.get(household=household).income_wages == Decimal("2000.00")


def test_rejecting_needs_a_reason_and_applies_nothing(cadre, admin):
    change = submission_receive(
        user=cadre, xml=household_submission()
    ).submission.change

    with pytest.raises(ValidationFailed):
        change_reject(admin, change=change, reason="  ")
    rejected = change_reject(admin, change=change, reason="Duplicate of last week's")

    assert (rejected.status, rejected.reason, rejected.reviewer) == (
        ChangeStatus.REJECTED,
        "Duplicate of last week's",
        admin,
    )
    assert rejected.submission.status == SubmissionStatus.REJECTED
    assert Household.objects.count() == 0
    entry = AuditEntry.objects.get(action="change.reject")
    assert entry.data["reason"] == "Duplicate of last week's"


def test_a_closed_change_cannot_be_reviewed_again(cadre, admin):
    change = submission_receive(
        user=cadre, xml=household_submission()
    ).submission.change
    change_approve(admin, change=change)

    with pytest.raises(Conflict):
        change_approve(admin, change=change)
    with pytest.raises(Conflict):
        change_reject(admin, change=change, reason="late")

    assert Household.objects.count() == 1


def test_a_reviewer_outside_the_village_does_not_find_the_change(cadre):
    change = submission_receive(
        user=cadre, xml=household_submission()
    ).submission.change
    other = make_user(Role.VILLAGE_CADRE, [VILLAGE_A2])

    with pytest.raises(NotFound):
        change_approve(other, change=change)
    with pytest.raises(NotFound):
        change_reject(other, change=change, reason="no")

    change.refresh_from_db()
    assert change.status == ChangeStatus.PENDING
    assert Household.objects.count() == 0


def test_an_auditor_may_not_approve(cadre):
    change = submission_receive(
        user=cadre, xml=household_submission()
    ).submission.change
    auditor = make_user(Role.AUDITOR, [COUNTY])

    with pytest.raises(PermissionDenied):
        change_approve(auditor, change=change)

    assert Household.objects.count() == 0


def test_the_village_cadre_may_approve_in_the_own_village(cadre):
    change = submission_receive(
        user=cadre, xml=household_submission()
    ).submission.change

    approved = change_approve(cadre, change=change)

    assert approved.status == ChangeStatus.APPROVED
    assert Household.objects.get().village_id == VILLAGE_A1


def test_when_the_registry_refuses_nothing_is_applied(cadre, admin):
    # given a pending new-household survey, and one of its members registered
    # elsewhere after it arrived
    members = three_members()
    change = submission_receive(
        user=cadre, xml=household_submission(members=members)
    ).submission.change
    from propoor.households.services import MemberInput, household_register

    household_register(
        actor=None,
        village_code=VILLAGE_A2,
        head_name="赵一",
        members=[MemberInput(name="王小七", id_number=members[2]["id_number"])],
    )

    # when the survey is approved
    with pytest.raises(DuplicatePerson):
        change_approve(admin, change=change)

    # then no household was registered, no snapshot written, the change still pending
    assert list(Household.objects.values_list("head_name", flat=True)) == ["赵一"]
    assert Member.objects.count() == 1
    assert Snapshot.objects.count() == 0
    change.refresh_from_db()
    assert change.status == ChangeStatus.PENDING
    assert not AuditEntry.objects.filter(action="change.approve").exists()


def test_a_yearly_survey_corrects_an_existing_members_health(cadre, admin):
    # given a household whose spouse is registered as healthy
    household = make_household(cadre, VILLAGE_A1, members=2, year=2024)
    spouse = household.members.get(relation="spouse")
    number = idnumbers.decrypt(spouse.id_cipher)  # the cadre reads it off the card

    # when the survey lists the spouse, now seriously ill, and is approved
    change = _update(
        cadre,
        household,
        members=[
            member_answers(
                name=spouse.name,
                id_number=number,
                age=None,
                relation="spouse",
                labour="partial",
                health="serious",
            )
        ],
    )
    change_approve(admin, change=change)

    # then the member is updated in place (no second row), and the update audited
    spouse.refresh_from_db()
    assert (spouse.health, spouse.active) == ("serious", True)
    assert household.members.count() == 2
    entry = AuditEntry.objects.filter(action="member.update").get()
    assert entry.data["changed"] == ["health"]
    approval = AuditEntry.objects.get(action="change.approve")
    assert approval.data["applied"]["members_updated"] == [spouse.id_masked]


def test_approving_one_village_survey_puts_the_others_in_conflict(cadre, admin):
    from propoor.areas.models import VillageProfile
    from propoor.surveys.tests.factories import village_submission

    first = submission_receive(
        user=cadre, xml=village_submission(VILLAGE_A1, population="800")
    ).submission.change
    second = submission_receive(
        user=cadre, xml=village_submission(VILLAGE_A1, population="900")
    ).submission.change

    change_approve(admin, change=first)

    second.refresh_from_db()
    assert second.status == ChangeStatus.CONFLICT
    with pytest.raises(Conflict):
        change_approve(admin, change=second)
    assert VillageProfile.objects.get(village_id=VILLAGE_A1).population == 800
