from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

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
from propoor.households.models import Household, Member, Snapshot, StatusChange
from propoor.households.services import (
    MemberInput,
    household_register,
    household_set_causes,
    household_set_status,
    household_update,
    member_add,
    member_id_reveal,
    member_remove,
    member_update,
    snapshot_record,
)
from propoor.households.tests.factories import (
    SNAPSHOT_DEFAULTS,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_area_tree,
    make_household,
    make_id_number,
    make_user,
)

pytestmark = pytest.mark.django_db

VALID_ID = "11010519491231002X"
BAD_CHECK_ID = "110105194912310021"


@pytest.fixture
def tree():
    return make_area_tree()


@pytest.fixture
def cadre(tree):
    return make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="cadre_a1")


# --- registration and ID numbers -------------------------------------------------


def test_register_numbers_the_household_and_protects_the_id(cadre) -> None:
    household = household_register(
        actor=cadre,
        village_code=VILLAGE_A1,
        head_name="王芳",
        members=[MemberInput(name="王芳", id_number=VALID_ID, relation="head")],
        main_cause="illness",
        secondary_causes=["lack_skills"],
    )

    member = Member.objects.get(household=household)
    assert household.number == "530102001001-0001"
    assert household.status == "registered"
    assert (household.main_cause, household.second_cause, household.third_cause) == (
        "illness",
        "lack_skills",
        "",
    )
    assert member.id_masked == "1101**********002X"
    assert member.id_hash == idnumbers.id_hash(VALID_ID)
    assert VALID_ID not in member.id_cipher
    assert idnumbers.decrypt(member.id_cipher) == VALID_ID
    assert (member.sex, member.birth_date) == ("female", date(1949, 12, 31))
    assert str(member) == "王芳 (1101**********002X)"


def test_a_lowercase_x_is_stored_as_the_same_person(cadre) -> None:
    household_register(
        actor=cadre,
        village_code=VILLAGE_A1,
        head_name="王芳",
        members=[MemberInput(name="王芳", id_number=VALID_ID.lower())],
    )

    with pytest.raises(DuplicatePerson):
        household_register(
            actor=cadre,
            village_code=VILLAGE_A1,
            head_name="王芳",
            members=[MemberInput(name="王芳", id_number=VALID_ID)],
        )
    assert Member.objects.get().id_masked == "1101**********002X"


def test_a_bad_check_character_is_refused_with_a_masked_message(cadre) -> None:
    with pytest.raises(ValidationFailed) as caught:
        household_register(
            actor=cadre,
            village_code=VILLAGE_A1,
            head_name="王芳",
            members=[MemberInput(name="王芳", id_number=BAD_CHECK_ID)],
        )

    assert caught.value.message == (
        "ID number 1101**********0021 is not valid: the check character is 1 but "
        "the first 17 digits give X"
    )
    assert caught.value.extra == {
        "fields": {"id_number": [caught.value.message]},
    }
    assert BAD_CHECK_ID not in str(caught.value.as_dict())
    assert Household.objects.count() == 0
    assert Member.objects.count() == 0


def test_an_id_of_the_wrong_length_is_refused_without_echoing_it(cadre) -> None:
    with pytest.raises(ValidationFailed) as caught:
        household_register(
            actor=cadre,
            village_code=VILLAGE_A1,
            head_name="王芳",
            members=[
                MemberInput(name="王芳", id_number=make_id_number()),
                MemberInput(name="王二", id_number="1101051949123100"),
            ],
        )

    assert caught.value.message == (
        "ID number 1101********3100 is not valid: an ID number has 18 characters, "
        "this one has 16"
    )
    assert list(caught.value.extra["fields"]) == ["members.1.id_number"]
    assert Household.objects.count() == 0


def test_a_birth_date_in_the_future_is_refused(cadre) -> None:
    future = make_id_number(born=date(2090, 1, 1))

    with pytest.raises(ValidationFailed, match="birth date 2090-01-01 is impossible"):
        household_register(
            actor=cadre,
            village_code=VILLAGE_A1,
            head_name="王芳",
            members=[MemberInput(name="王芳", id_number=future)],
        )
    assert Household.objects.count() == 0


def test_a_person_registered_in_another_village_is_a_duplicate(tree) -> None:
    admin = make_user(Role.COUNTY_ADMIN, ["530102000000"])
    first = household_register(
        actor=admin,
        village_code=VILLAGE_B1,
        head_name="李四",
        members=[MemberInput(name="李四", id_number=VALID_ID, relation="head")],
    )
    audit_before = AuditEntry.objects.count()

    with pytest.raises(DuplicatePerson) as caught:
        household_register(
            actor=admin,
            village_code=VILLAGE_A1,
            head_name="张三",
            members=[
                MemberInput(name="张三", id_number=make_id_number(), relation="head"),
                MemberInput(name="李四", id_number=VALID_ID),
            ],
        )

    assert caught.value.status == 409
    assert caught.value.message == (
        "ID number 1101**********002X is already registered in household "
        f"{first.number}."
    )
    assert caught.value.extra == {
        "id_number": "1101**********002X",
        "household": "530102002001-0001",
    }
    assert Household.objects.count() == 1
    assert Member.objects.count() == 1
    assert AuditEntry.objects.count() == audit_before


def test_a_duplicate_outside_the_actors_area_does_not_name_the_household(
    cadre,
) -> None:
    make_household(village_code=VILLAGE_B1, members=0, year=None)
    b1 = Household.objects.get()
    member_add(
        actor=None, household=b1, member=MemberInput(name="李四", id_number=VALID_ID)
    )

    with pytest.raises(DuplicatePerson) as caught:
        household_register(
            actor=cadre,
            village_code=VILLAGE_A1,
            head_name="李四",
            members=[MemberInput(name="李四", id_number=VALID_ID)],
        )

    assert caught.value.message == (
        "ID number 1101**********002X is already registered in a household outside "
        "your area; ask the county office."
    )
    assert caught.value.extra == {"id_number": "1101**********002X"}
    assert Household.objects.filter(village_id=VILLAGE_A1).count() == 0


def test_the_same_person_twice_in_one_registration_is_a_duplicate(cadre) -> None:
    with pytest.raises(DuplicatePerson, match=r"1101\*{10}002X is given twice"):
        household_register(
            actor=cadre,
            village_code=VILLAGE_A1,
            head_name="王芳",
            members=[
                MemberInput(name="王芳", id_number=VALID_ID),
                MemberInput(name="王芳", id_number=VALID_ID),
            ],
        )
    assert Household.objects.count() == 0


def test_register_outside_the_scope_is_not_found(cadre) -> None:
    with pytest.raises(NotFound, match="No village 530102002001"):
        household_register(actor=cadre, village_code=VILLAGE_B1, head_name="李四")
    assert Household.objects.count() == 0


def test_register_by_a_reader_is_denied(tree) -> None:
    auditor = make_user(Role.AUDITOR, ["530102000000"])

    with pytest.raises(PermissionDenied):
        household_register(actor=auditor, village_code=VILLAGE_A1, head_name="李四")
    assert Household.objects.count() == 0


def test_register_refuses_bad_fields_naming_each(cadre) -> None:
    with pytest.raises(ValidationFailed) as caught:
        household_register(
            actor=cadre,
            village_code=VILLAGE_A1,
            head_name=" ",
            category="rich",
            main_cause="laziness",
            secondary_causes=["illness", "illness", "other"],
            members=[
                MemberInput(name="甲", id_number=make_id_number(), relation="head"),
                MemberInput(name="乙", id_number=make_id_number(), relation="head"),
            ],
        )

    assert sorted(caught.value.extra["fields"]) == [
        "category",
        "head_name",
        "main_cause",
        "relation",
        "secondary_causes",
    ]
    assert caught.value.extra["fields"]["secondary_causes"] == [
        "At most two secondary causes.",
        "The causes must be distinct.",
    ]
    assert Household.objects.count() == 0


def test_register_writes_an_audit_entry_without_the_clear_id(cadre) -> None:
    household = household_register(
        actor=cadre,
        village_code=VILLAGE_A1,
        head_name="王芳",
        members=[MemberInput(name="王芳", id_number=VALID_ID, relation="head")],
    )

    entry = AuditEntry.objects.get(action="household.register")
    assert entry.actor == "cadre_a1"
    assert entry.object_id == str(household.pk)
    assert entry.data["members"] == [
        {
            "member": household.members.get().pk,
            "name": "王芳",
            "id_masked": "1101**********002X",
            "relation": "head",
        }
    ]
    assert VALID_ID not in str(entry.data)


# --- members ---------------------------------------------------------------------


def test_member_add_update_and_remove(cadre) -> None:
    household = make_household(actor=cadre, members=1, year=None)

    child = member_add(
        actor=cadre,
        household=household,
        member=MemberInput(name="小明", id_number=VALID_ID, relation="child"),
    )
    member_update(actor=cadre, member=child, name="小明明", schooling="junior")
    member_remove(actor=cadre, member=child, reason="married out")

    child.refresh_from_db()
    assert (child.name, child.schooling, child.active, child.removed_reason) == (
        "小明明",
        "junior",
        False,
        "married out",
    )
    assert list(
        AuditEntry.objects.filter(
            object_type="household", object_id=str(household.pk)
        ).values_list("action", flat=True)
    ) == ["household.register", "member.add", "member.update", "member.remove"]


def test_member_update_rehashes_a_corrected_id(cadre) -> None:
    household = make_household(actor=cadre, members=1, year=None)
    member = household.members.get()

    member_update(actor=cadre, member=member, id_number=VALID_ID)

    member.refresh_from_db()
    assert member.id_masked == "1101**********002X"
    assert member.id_hash == idnumbers.id_hash(VALID_ID)
    assert (member.sex, member.birth_date) == ("female", date(1949, 12, 31))


def test_member_update_to_a_registered_id_is_a_duplicate(cadre) -> None:
    household = make_household(actor=cadre, members=2, year=None)
    head, spouse = household.members.order_by("id")
    hash_before = spouse.id_hash

    with pytest.raises(DuplicatePerson):
        member_update(
            actor=cadre, member=spouse, id_number=idnumbers.decrypt(head.id_cipher)
        )

    spouse.refresh_from_db()
    assert spouse.id_hash == hash_before


def test_the_head_cannot_be_removed(cadre) -> None:
    household = make_household(actor=cadre, members=2, year=None)
    head = household.members.get(relation="head")

    with pytest.raises(Conflict, match="The head cannot be removed"):
        member_remove(actor=cadre, member=head, reason="moved")

    head.refresh_from_db()
    assert head.active is True


def test_a_second_head_is_refused(cadre) -> None:
    household = make_household(actor=cadre, members=1, year=None)

    with pytest.raises(ValidationFailed, match="The member is not valid"):
        member_add(
            actor=cadre,
            household=household,
            member=MemberInput(name="甲", id_number=VALID_ID, relation="head"),
        )
    assert household.members.count() == 1


def test_a_removed_person_still_counts_as_registered(cadre) -> None:
    household = make_household(actor=cadre, members=1, year=None)
    child = member_add(
        actor=cadre,
        household=household,
        member=MemberInput(name="小明", id_number=VALID_ID, relation="child"),
    )
    member_remove(actor=cadre, member=child, reason="moved away")

    with pytest.raises(DuplicatePerson, match="as a removed member"):
        member_add(
            actor=cadre,
            household=household,
            member=MemberInput(name="小明", id_number=VALID_ID, relation="child"),
        )
    assert household.members.count() == 2


def test_member_id_reveal_is_for_county_admins_and_audited(cadre) -> None:
    household = make_household(actor=cadre, members=0, year=None)
    member = member_add(
        actor=cadre,
        household=household,
        member=MemberInput(name="甲", id_number=VALID_ID),
    )
    admin = make_user(Role.COUNTY_ADMIN, ["530102000000"], username="admin")

    with pytest.raises(PermissionDenied):
        member_id_reveal(actor=cadre, member=member, reason="check")
    clear = member_id_reveal(actor=admin, member=member, reason="bank account check")

    assert clear == VALID_ID
    entry = AuditEntry.objects.get(action="member.reveal_id")
    assert entry.actor == "admin"
    assert entry.data == {
        "member": member.pk,
        "id_masked": "1101**********002X",
        "reason": "bank account check",
    }


# --- household fields and causes -------------------------------------------------


def test_household_update_changes_only_the_given_fields(cadre) -> None:
    household = make_household(actor=cadre, year=None)

    household_update(actor=cadre, household=household, phone="13800000000")

    household.refresh_from_db()
    assert (household.phone, household.head_name) == ("13800000000", "张三")


def test_household_update_refuses_the_status(cadre) -> None:
    household = make_household(actor=cadre, year=None)

    with pytest.raises(ValidationFailed) as caught:
        household_update(actor=cadre, household=household, status="exited")

    assert caught.value.extra == {
        "fields": {"status": ["This field cannot be changed here."]}
    }
    household.refresh_from_db()
    assert household.status == "registered"


def test_causes_are_one_main_and_up_to_two_distinct_secondary(cadre) -> None:
    household = make_household(actor=cadre, year=None)

    household_set_causes(
        actor=cadre, household=household, main="disaster", secondary=["lack_water"]
    )
    with pytest.raises(ValidationFailed):
        household_set_causes(
            actor=cadre,
            household=household,
            main="disaster",
            secondary=["disaster", "lack_water"],
        )

    household.refresh_from_db()
    assert (household.main_cause, household.second_cause, household.third_cause) == (
        "disaster",
        "lack_water",
        "",
    )


# --- status ----------------------------------------------------------------------


def test_legal_status_changes_are_recorded_in_order(cadre) -> None:
    household = make_household(actor=cadre, year=None)

    for status in ("identified", "in_plan", "exited", "monitored", "returned"):
        household_set_status(
            actor=cadre, household=household, new_status=status, reason=f"to {status}"
        )

    household.refresh_from_db()
    assert household.status == "returned"
    assert list(
        StatusChange.objects.filter(household=household).values_list(
            "old_status", "new_status", "reason", "by__username"
        )
    ) == [
        ("registered", "identified", "to identified", "cadre_a1"),
        ("identified", "in_plan", "to in_plan", "cadre_a1"),
        ("in_plan", "exited", "to exited", "cadre_a1"),
        ("exited", "monitored", "to monitored", "cadre_a1"),
        ("monitored", "returned", "to returned", "cadre_a1"),
    ]


def test_an_illegal_status_change_is_refused_and_not_recorded(cadre) -> None:
    household = make_household(actor=cadre, year=None)

    with pytest.raises(Conflict) as caught:
        household_set_status(
            actor=cadre, household=household, new_status="exited", reason="income up"
        )

    assert caught.value.message == (
        "Household 530102001001-0001 cannot go from registered to exited; from "
        "registered it can go to identified, not_poor."
    )
    assert caught.value.extra == {
        "from": "registered",
        "to": "exited",
        "allowed": ["identified", "not_poor"],
    }
    household.refresh_from_db()
    assert household.status == "registered"
    assert StatusChange.objects.count() == 0


def test_the_transition_is_checked_against_the_stored_status(cadre) -> None:
    household = make_household(actor=cadre, year=None)
    stale = Household.objects.get(pk=household.pk)
    household_set_status(
        actor=cadre, household=household, new_status="not_poor", reason="survey"
    )

    with pytest.raises(Conflict, match="cannot go from not_poor to not_poor"):
        household_set_status(
            actor=cadre, household=stale, new_status="not_poor", reason="again"
        )
    assert StatusChange.objects.count() == 1


def test_a_status_change_needs_a_known_status_and_a_reason(cadre) -> None:
    household = make_household(actor=cadre, year=None)

    with pytest.raises(ValidationFailed, match="Unknown status 'rich'"):
        household_set_status(
            actor=cadre, household=household, new_status="rich", reason="x"
        )
    with pytest.raises(ValidationFailed, match="Give a reason"):
        household_set_status(
            actor=cadre, household=household, new_status="identified", reason=" "
        )
    assert StatusChange.objects.count() == 0


# --- snapshots -------------------------------------------------------------------


def test_snapshot_record_creates_then_updates(cadre) -> None:
    household = make_household(actor=cadre, members=2, year=2024)

    snapshot_record(
        actor=cadre, household=household, year=2024, income_wages=Decimal("2600")
    )

    snapshot = Snapshot.objects.get(household=household, year=2024)
    assert snapshot.income_wages == Decimal("2600.00")
    assert snapshot.net_income == Decimal("4500.00")
    assert snapshot.surveyed_by == cadre
    assert list(
        AuditEntry.objects.filter(action__startswith="snapshot").values_list(
            "action", "data__year"
        )
    ) == [("snapshot.create", 2024), ("snapshot.update", 2024)]


def test_snapshot_errors_name_each_bad_field_and_write_nothing(cadre) -> None:
    household = make_household(actor=cadre, members=2, year=None)
    fields = {
        **SNAPSHOT_DEFAULTS,
        "income_wages": Decimal("-1.00"),
        "costs": Decimal("10.005"),
        "size": 0,
        "school_age_children": 1,
        "children_out_of_school": 2,
        "cooking_fuel": "uranium",
        "water_quality": 9,
        "food_secure": "yes",
        "colour": "red",
    }

    with pytest.raises(ValidationFailed) as caught:
        snapshot_record(actor=cadre, household=household, year=2024, **fields)

    assert caught.value.extra == {
        "fields": {
            "children_out_of_school": [
                "Cannot exceed the number of school-age children (1)."
            ],
            "colour": ["Unknown field."],
            "cooking_fuel": [
                "'uranium' is not a valid choice; choose one of electricity, gas, "
                "coal, wood, dung."
            ],
            "costs": ["An amount has at most two decimal places."],
            "food_secure": ["Give true or false."],
            "income_wages": ["Cannot be negative."],
            "labourers_full": [
                "Full and partial labourers together cannot exceed "
                "the household size (0)."
            ],
            "school_age_children": ["Cannot exceed the household size (0)."],
            "size": ["A household has at least one person."],
        }
    }
    assert caught.value.message == (
        "The 2024 snapshot of household 530102001001-0001 is not valid: check "
        "children_out_of_school, colour, cooking_fuel, costs, food_secure, "
        "income_wages, labourers_full, school_age_children, size."
    )
    assert Snapshot.objects.count() == 0
    assert not AuditEntry.objects.filter(action__startswith="snapshot").exists()


def test_snapshot_field_validators_run_when_the_rules_pass(cadre) -> None:
    household = make_household(actor=cadre, members=2, year=None)

    with pytest.raises(ValidationFailed) as caught:
        snapshot_record(
            actor=cadre,
            household=household,
            year=2024,
            **{**SNAPSHOT_DEFAULTS, "water_quality": 9},
        )

    assert caught.value.extra == {
        "fields": {"water_quality": ["Ensure this value is less than or equal to 5."]}
    }
    assert Snapshot.objects.count() == 0


def test_a_new_snapshot_needs_its_required_fields(cadre) -> None:
    household = make_household(actor=cadre, members=2, year=None)

    with pytest.raises(ValidationFailed) as caught:
        snapshot_record(actor=cadre, household=household, year=2024, size=2)

    assert sorted(caught.value.extra["fields"]) == [
        "clothing_secure",
        "cooking_fuel",
        "ecommerce_experience",
        "electricity",
        "food_secure",
        "housing_grade",
        "housing_structure",
        "internet",
        "medical_care_access",
        "medical_insured",
        "safe_water",
        "sanitation",
        "wall_quality",
        "water_quality",
    ]
    assert Snapshot.objects.count() == 0


@pytest.mark.parametrize(
    ("year", "surveyed_on", "field", "message"),
    [
        (
            2009,
            date(2010, 1, 5),
            "year",
            f"The year must lie between 2010 and {timezone.localdate().year}.",
        ),
        (
            2024,
            date(2023, 12, 1),
            "surveyed_on",
            "A survey of 2024 cannot be dated before 2024.",
        ),
        (
            2024,
            date(2999, 1, 1),
            "surveyed_on",
            "The survey date cannot be in the future.",
        ),
    ],
)
def test_snapshot_years_must_be_sane(cadre, year, surveyed_on, field, message) -> None:
    household = make_household(actor=cadre, members=2, year=None)

    with pytest.raises(ValidationFailed) as caught:
        snapshot_record(
            actor=cadre,
            household=household,
            year=year,
            **{**SNAPSHOT_DEFAULTS, "surveyed_on": surveyed_on},
        )

    assert caught.value.extra == {"fields": {field: [message]}}
    assert Snapshot.objects.count() == 0


def test_ecommerce_income_is_part_of_business_income(cadre) -> None:
    household = make_household(actor=cadre, members=2, year=None)

    with pytest.raises(ValidationFailed) as caught:
        snapshot_record(
            actor=cadre,
            household=household,
            year=2024,
            **{**SNAPSHOT_DEFAULTS, "income_ecommerce": Decimal("1600.00")},
        )

    assert caught.value.extra == {
        "fields": {
            "income_ecommerce": [
                "E-commerce income is part of business income and cannot exceed it "
                "(1500.00)."
            ]
        }
    }


def test_a_float_amount_is_refused(cadre) -> None:
    household = make_household(actor=cadre, members=2, year=2024)

    with pytest.raises(ValidationFailed) as caught:
        snapshot_record(actor=cadre, household=household, year=2024, costs=12.5)

    assert caught.value.extra == {
        "fields": {"costs": ["Give an amount as a string or a Decimal, not a float."]}
    }
    assert Snapshot.objects.get().costs == Decimal("800.00")


def test_snapshot_write_by_a_cadre_of_another_village_is_not_found(tree) -> None:
    household = make_household(village_code=VILLAGE_A2, year=None)
    cadre = make_user(Role.VILLAGE_CADRE, [VILLAGE_A1])

    with pytest.raises(NotFound):
        snapshot_record(
            actor=cadre, household=household, year=2024, **SNAPSHOT_DEFAULTS
        )
    assert Snapshot.objects.count() == 0
