"""Receiving submissions: stored raw first, idempotent, checked, queued for review."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from propoor.accounts.models import Role
from propoor.core.models import AuditEntry
from propoor.households import idnumbers
from propoor.households.models import Household, Member, Snapshot
from propoor.households.tests.factories import (
    COUNTY,
    VILLAGE_A1,
    VILLAGE_B1,
    make_area_tree,
    make_household,
    make_id_number,
    make_user,
)
from propoor.kernel.idcard import check_character
from propoor.surveys.models import (
    Attachment,
    ChangeKind,
    ChangeRequest,
    ChangeStatus,
    Submission,
    SubmissionStatus,
)
from propoor.surveys.services import (
    AttachmentTooLarge,
    IncomingAttachment,
    InvalidValues,
    MalformedSubmission,
    OutsideScope,
    UnknownForm,
    UnsupportedMediaType,
    change_approve,
    submission_receive,
)
from propoor.surveys.services import receive as receive_module
from propoor.surveys.submissions import unseal
from propoor.surveys.tests.factories import (
    EXPECTED_SNAPSHOT,
    JPEG,
    PNG,
    household_submission,
    member_answers,
    shipped_versions,
    three_members,
)
from propoor.surveys.xlsforms import SNAPSHOT_TARGETS

pytestmark = pytest.mark.django_db

INSTANCE = "uuid:6b9c2e1a-0f3d-4c55-9a57-1d2f3e4a5b6c"


@pytest.fixture
def cadre():
    make_area_tree()
    shipped_versions()
    return make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="cadre-a1")


@pytest.fixture
def admin(cadre):
    return make_user(Role.COUNTY_ADMIN, [COUNTY], username="admin")


def _photo(name: str = "house.jpg", data: bytes = JPEG, kind: str = "image/jpeg"):
    return IncomingAttachment(name=name, content_type=kind, data=data)


def _nothing_applied(households_before: int = 0) -> None:
    assert Household.objects.count() == households_before
    assert ChangeRequest.objects.count() == 0
    assert not AuditEntry.objects.filter(action__startswith="change.").exists()


# --- the round trip -----------------------------------------------------------


def test_a_new_household_survey_becomes_exactly_the_expected_registry(cadre, admin):
    # given a filled household survey with three members and a photo of the house
    members = three_members()
    xml = household_submission(members=members, instance_id=INSTANCE)

    # when it is received and a county administrator approves its change request
    received = submission_receive(user=cadre, xml=xml, attachments=[_photo()])
    change = change_approve(admin, change=received.submission.change)

    # then the registry holds exactly the surveyed household
    assert received.duplicate is False
    assert change.status == ChangeStatus.APPROVED
    assert change.kind == ChangeKind.NEW_HOUSEHOLD
    household = Household.objects.get()
    assert (
        household.number,
        household.village_id,
        household.head_name,
        household.address,
        household.phone,
        household.category,
        household.main_cause,
        household.second_cause,
        household.third_cause,
        household.latitude,
        household.longitude,
    ) == (
        f"{VILLAGE_A1}-0001",
        VILLAGE_A1,
        "王五",
        "一村3组12号",
        "13800000000",
        "dibao",
        "illness",
        "lack_skills",
        "lack_capital",
        Decimal("25.04123"),
        Decimal("102.71235"),
    )
    snapshot = Snapshot.objects.get(household=household)
    assert snapshot.year == 2024
    assert set(EXPECTED_SNAPSHOT) == set(SNAPSHOT_TARGETS)
    assert {name: getattr(snapshot, name) for name in SNAPSHOT_TARGETS} == (
        EXPECTED_SNAPSHOT
    )
    # members: masked, encrypted, hashed; sex and birth date from the ID number
    rows = list(household.members.order_by("id"))
    assert [
        (
            m.name,
            m.id_masked,
            m.relation,
            m.sex,
            m.birth_date,
            m.labour,
            m.health,
            m.schooling,
            m.in_school,
            m.skills,
        )
        for m in rows
    ] == [
        (
            "王五",
            _masked(members[0]["id_number"]),
            "head",
            "male",
            date(1970, 3, 1),
            "full",
            "healthy",
            "primary",
            False,
            "种植",
        ),
        (
            "李六",
            _masked(members[1]["id_number"]),
            "spouse",
            "female",
            date(1972, 6, 1),
            "partial",
            "chronic",
            "primary",
            False,
            "",
        ),
        (
            "王小七",
            _masked(members[2]["id_number"]),
            "child",
            "male",
            date(2012, 9, 1),
            "student",
            "healthy",
            "primary",
            True,
            "",
        ),
    ]
    for member, answers in zip(rows, members, strict=True):
        assert answers["id_number"] not in member.id_cipher
        assert idnumbers.decrypt(member.id_cipher) == answers["id_number"]
        assert member.id_hash == idnumbers.id_hash(answers["id_number"])
    # the submission keeps the photo and the GPS, and points at the household
    submission = Submission.objects.get()
    assert (submission.status, submission.household, submission.year) == (
        SubmissionStatus.APPROVED,
        household,
        2024,
    )
    assert (submission.latitude, submission.longitude) == (
        Decimal("25.041234"),
        Decimal("102.712346"),
    )
    photo = Attachment.objects.get()
    assert (photo.name, photo.content_type, photo.size, bytes(photo.data)) == (
        "house.jpg",
        "image/jpeg",
        len(JPEG),
        JPEG,
    )
    assert change.payload["photos"] == ["house.jpg"]
    entry = AuditEntry.objects.get(action="change.approve")
    assert entry.actor == "admin"
    assert entry.data["household"] == household.number


def test_no_clear_id_number_is_stored_outside_the_encrypted_raw_submission(cadre):
    # given a survey with three members
    members = three_members()
    xml = household_submission(members=members)

    # when it is received
    submission = submission_receive(user=cadre, xml=xml).submission

    # then the shown XML, the change request and the audit log hold masked numbers
    # only, while the encrypted raw document is exactly what was received
    change = ChangeRequest.objects.get()
    texts = [
        submission.xml,
        repr(change.payload),
        repr(list(AuditEntry.objects.values())),
    ]
    for member in members:
        number = member["id_number"].upper()
        for text in texts:
            assert number not in text
            assert number[:17] not in text
        assert number[:4] + "*" * 10 + number[14:] in submission.xml
    assert unseal(submission.xml_encrypted) == xml


def test_a_yearly_survey_updates_the_snapshot_and_adds_new_members(cadre, admin):
    # given a registered household of two with a 2024 snapshot
    household = make_household(cadre, VILLAGE_A1, members=2, year=2024)
    head = household.members.get(relation="head")
    newborn = make_id_number(born=date(2024, 3, 1), male=False)

    # when its 2024 survey lists a new member and new incomes, and is approved
    xml = household_submission(
        members=[
            member_answers(
                name="王小八",
                id_number=newborn,
                age=0,
                relation="grandchild",
                labour="none",
                schooling="none",
            )
        ],
        new_household="no",
        household_number=household.number,
        head_name="",
        size="3",
        school_age_children="0",
        members_ill_or_disabled="0",
    )
    received = submission_receive(user=cadre, xml=xml)
    change = received.submission.change
    approved = change_approve(admin, change=change)

    # then the snapshot is replaced field by field and the member added; the head
    # and the household's own fields are unchanged
    assert (change.kind, change.household) == (ChangeKind.UPDATE, household)
    assert approved.status == ChangeStatus.APPROVED
    snapshot = Snapshot.objects.get(household=household, year=2024)
    expected = {
        **EXPECTED_SNAPSHOT,
        "size": 3,
        "school_age_children": 0,
        "members_ill_or_disabled": 0,
    }
    assert {name: getattr(snapshot, name) for name in SNAPSHOT_TARGETS} == expected
    assert list(household.members.order_by("id").values_list("name", "relation")) == [
        (head.name, "head"),
        ("张1", "spouse"),
        ("王小八", "grandchild"),
    ]
    household.refresh_from_db()
    assert (household.head_name, household.category) == ("张三", "ordinary")
    assert (household.main_cause, household.second_cause, household.third_cause) == (
        "illness",
        "lack_skills",
        "lack_capital",
    )


def test_a_village_survey_sets_the_village_profile(cadre, admin):
    from propoor.areas.models import VillageProfile
    from propoor.surveys.tests.factories import village_submission

    # given a village survey of village A1
    xml = village_submission(VILLAGE_A1)

    # when it is received and approved
    change = submission_receive(user=cadre, xml=xml).submission.change
    change_approve(admin, change=change)

    # then the profile holds the surveyed values
    profile = VillageProfile.objects.get(village_id=VILLAGE_A1)
    assert change.kind == ChangeKind.VILLAGE
    assert (
        profile.terrain,
        profile.population,
        profile.km_to_county_seat,
        profile.km_to_paved_road,
        profile.broadband,
        profile.mobile_4g,
        profile.has_service_station,
        profile.has_logistics_point,
        profile.has_cold_storage,
        profile.landscape,
        profile.folk_culture,
        profile.orchards,
        profile.vegetable_gardens,
        profile.fish_ponds,
        profile.specialty_products,
        profile.latitude,
        profile.longitude,
    ) == (
        "mountain",
        812,
        Decimal("38.5"),
        Decimal("2.0"),
        "partial",
        "full",
        True,
        False,
        False,
        True,
        True,
        True,
        False,
        False,
        "核桃、花椒",
        Decimal("25.05000"),
        Decimal("102.70000"),
    )


# --- idempotency ------------------------------------------------------------


def test_the_same_instance_twice_is_one_submission(cadre):
    # given a survey received once
    xml = household_submission(instance_id=INSTANCE)
    first = submission_receive(user=cadre, xml=xml, attachments=[_photo()])

    # when the client sends it again (it never saw the first answer)
    again = submission_receive(user=cadre, xml=xml, attachments=[_photo()])

    # then the server answers with the stored submission and adds nothing
    assert (again.duplicate, again.submission.pk) == (True, first.submission.pk)
    assert Submission.objects.count() == 1
    assert ChangeRequest.objects.count() == 1
    assert Attachment.objects.count() == 1


def test_a_resend_carrying_the_rest_of_the_photos_keeps_them(cadre):
    # given a survey whose first post carried one photo (ODK splits large sends)
    xml = household_submission(instance_id=INSTANCE)
    submission_receive(user=cadre, xml=xml, attachments=[_photo("a.jpg")])

    # when the second post carries the same XML and another photo
    again = submission_receive(
        user=cadre, xml=xml, attachments=[_photo("b.png", PNG, "image/png")]
    )

    # then both photos are kept with the one submission
    assert again.duplicate is True
    assert list(Attachment.objects.order_by("name").values_list("name", flat=True)) == [
        "a.jpg",
        "b.png",
    ]


def test_a_copy_arriving_while_the_first_is_stored_is_a_duplicate(cadre, monkeypatch):
    # given a stored submission, and a second copy that checked before it was stored
    xml = household_submission(instance_id=INSTANCE)
    first = submission_receive(user=cadre, xml=xml)
    real = receive_module._stored
    calls = []

    def racing(instance_id):
        calls.append(instance_id)
        return None if len(calls) == 1 else real(instance_id)

    monkeypatch.setattr(receive_module, "_stored", racing)

    # when the second copy inserts: the unique constraint refuses it
    again = submission_receive(user=cadre, xml=xml)

    # then it answers with the stored submission; still one row
    assert (again.duplicate, again.submission.pk) == (True, first.submission.pk)
    assert calls == [INSTANCE, INSTANCE]
    assert Submission.objects.count() == 1
    assert ChangeRequest.objects.count() == 1


# --- bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    "xml",
    [
        b"<propoor_household id='propoor_household'><unclosed></propoor_household>",
        b"",
        b"not xml at all",
        b"<data><meta><instanceID>uuid:1</instanceID></meta></data>",  # no form id
        b"<data id='propoor_household' version='2025.1'><meta/></data>",  # no instance
        b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY e 'x'>]>"
        b"<d id='f'><meta><instanceID>uuid:2</instanceID></meta>&e;</d>",
    ],
)
def test_malformed_xml_is_refused_and_nothing_is_kept(cadre, xml):
    with pytest.raises(MalformedSubmission) as caught:
        submission_receive(user=cadre, xml=xml)

    assert caught.value.status == 400
    assert Submission.objects.count() == 0
    _nothing_applied()


def test_an_unknown_form_is_refused_and_the_raw_submission_kept(cadre):
    xml = household_submission(instance_id=INSTANCE).replace(
        b'id="propoor_household"', b'id="someone_elses_form"'
    )

    with pytest.raises(UnknownForm) as caught:
        submission_receive(user=cadre, xml=xml)

    assert caught.value.status == 404
    assert caught.value.message == "The server does not know form someone_elses_form."
    submission = Submission.objects.get()
    assert (submission.status, submission.form_version, submission.form_id_raw) == (
        SubmissionStatus.INVALID,
        None,
        "someone_elses_form",
    )
    assert submission.errors == [
        {
            "field": "form",
            "message": "The server does not know form someone_elses_form.",
            "code": "unknown_form",
        }
    ]
    _nothing_applied()


def test_an_unknown_version_is_refused_and_the_raw_submission_kept(cadre):
    xml = household_submission(instance_id=INSTANCE).replace(
        b'version="2025.1"', b'version="1999.9"'
    )

    with pytest.raises(UnknownForm) as caught:
        submission_receive(user=cadre, xml=xml)

    assert caught.value.message == (
        "The server does not know version 1999.9 of form propoor_household; "
        "download the current form."
    )
    assert Submission.objects.get().status == SubmissionStatus.INVALID
    _nothing_applied()


def test_a_village_outside_the_area_is_refused_and_kept(cadre):
    xml = household_submission(instance_id=INSTANCE, village_code=VILLAGE_B1)

    with pytest.raises(OutsideScope) as caught:
        submission_receive(user=cadre, xml=xml)

    assert caught.value.status == 403
    assert caught.value.message == f"Village {VILLAGE_B1} is not in your area."
    submission = Submission.objects.get()
    assert (submission.status, submission.village) == (SubmissionStatus.INVALID, None)
    _nothing_applied()


def test_a_household_outside_the_area_is_refused_and_kept(cadre):
    # given a household of village B1, outside the cadre's village A1
    other = make_household(None, VILLAGE_B1, members=1)
    snapshot_before = Snapshot.objects.get(household=other).updated_at

    # when the cadre submits a survey of it
    xml = household_submission(
        members=[], new_household="no", household_number=other.number
    )
    with pytest.raises(OutsideScope) as caught:
        submission_receive(user=cadre, xml=xml)

    # then it is refused as outside the area, kept, and the household untouched
    assert caught.value.message == f"Household {other.number} is not in your area."
    assert Submission.objects.get().status == SubmissionStatus.INVALID
    assert Snapshot.objects.get(household=other).updated_at == snapshot_before
    _nothing_applied(households_before=1)


def test_an_unknown_household_of_the_own_village_is_a_bad_value(cadre):
    xml = household_submission(
        members=[], new_household="no", household_number=f"{VILLAGE_A1}-0042"
    )

    with pytest.raises(InvalidValues) as caught:
        submission_receive(user=cadre, xml=xml)

    assert caught.value.extra["errors"] == [
        {
            "field": "household_number",
            "message": f"There is no household {VILLAGE_A1}-0042.",
            "code": "invalid_values",
        }
    ]
    _nothing_applied()


def test_an_attachment_over_the_limit_is_refused_and_not_kept(cadre, settings):
    settings.PROPOOR_SURVEY_MAX_ATTACHMENT = 50

    with pytest.raises(AttachmentTooLarge) as caught:
        submission_receive(
            user=cadre,
            xml=household_submission(instance_id=INSTANCE),
            attachments=[_photo()],
        )

    assert caught.value.status == 413
    assert caught.value.message == (
        f"The attachment house.jpg has {len(JPEG)} bytes; the limit is 50."
    )
    assert caught.value.extra["instance_id"] == INSTANCE
    assert Submission.objects.get().status == SubmissionStatus.INVALID
    assert Attachment.objects.count() == 0
    _nothing_applied()


@pytest.mark.parametrize(
    ("attachment", "message"),
    [
        (
            IncomingAttachment("house.pdf", "application/pdf", b"%PDF-1.4"),
            "The attachment house.pdf is application/pdf; send a photo as "
            "image/jpeg, image/png, image/webp.",
        ),
        (
            IncomingAttachment("house.jpg", "image/jpeg", PNG),
            "The attachment house.jpg is not the image/jpeg it claims to be.",
        ),
    ],
)
def test_an_attachment_of_the_wrong_type_is_refused(cadre, attachment, message):
    with pytest.raises(UnsupportedMediaType) as caught:
        submission_receive(
            user=cadre, xml=household_submission(), attachments=[attachment]
        )

    assert caught.value.status == 415
    assert caught.value.message == message
    assert Attachment.objects.count() == 0
    assert Submission.objects.get().status == SubmissionStatus.INVALID
    _nothing_applied()


def _with_member(cadre, **member) -> InvalidValues:
    members = three_members()
    members[1] = {**members[1], **member}
    with pytest.raises(InvalidValues) as caught:
        submission_receive(user=cadre, xml=household_submission(members=members))
    return caught.value


def test_an_invalid_id_number_is_refused_without_showing_it(cadre):
    # given an ID number whose check character is wrong
    good = make_id_number(born=date(1972, 6, 1), male=False)
    bad = good[:17] + ("0" if good[17] != "0" else "1")

    # when it is submitted
    error = _with_member(cadre, id_number=bad)

    # then the error names the field with the number masked; the number is nowhere
    masked = bad[:4] + "*" * 10 + bad[14:]
    assert error.status == 422
    assert error.extra["errors"] == [
        {
            "field": "members[2].id_number",
            "message": f"ID number {masked} is not valid: the check character is "
            f"{bad[17]} but the first 17 digits give {good[17]}.",
            "code": "invalid_values",
        }
    ]
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.INVALID
    assert bad not in submission.xml
    assert bad not in repr(submission.errors)
    _nothing_applied()


def test_a_birth_date_in_1824_is_impossible(cadre):
    body = "530102" + "18240101" + "003"
    error = _with_member(cadre, id_number=body + check_character(body), age="")

    assert error.extra["errors"] == [
        {
            "field": "members[2].id_number",
            "message": "ID number 5301**********"
            + (body + check_character(body))[14:]
            + " is not valid: its birth date 1824-01-01 is impossible.",
            "code": "invalid_values",
        }
    ]


def test_an_age_of_200_is_impossible(cadre):
    error = _with_member(cadre, age="200")

    assert error.extra["errors"] == [
        {
            "field": "members[2].age",
            "message": "An age of 200 is impossible (0 to 120).",
            "code": "invalid_values",
        }
    ]
    _nothing_applied()


def test_an_age_that_contradicts_the_id_number_is_refused(cadre):
    error = _with_member(cadre, age="30")

    assert error.extra["errors"] == [
        {
            "field": "members[2].age",
            "message": "An age of 30 does not match the ID number's birth date "
            "1972-06-01 (52 on 2024-11-15).",
            "code": "invalid_values",
        }
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"income_wages": "-1"}, "income_wages", "Cannot be negative: -1."),
        ({"costs": "12.345"}, "costs", "At most 2 decimal places: 12.345."),
        (
            {"housing_grade": "E"},
            "housing_grade",
            "'E' is not a valid choice; choose one of A, B, C, D.",
        ),
        ({"food_secure": "maybe"}, "food_secure", "Answer yes or no, not 'maybe'."),
        ({"size": "0"}, "size", "Ensure this value is greater than or equal to 1."),
        (
            {"water_quality": "7"},
            "water_quality",
            "Ensure this value is less than or equal to 5.",
        ),
        ({"smartphones": "two"}, "smartphones", "Not a whole number: 'two'."),
        ({"year": "2009"}, "year", None),
        ({"location": "95 200"}, "location", "Not a place on Earth: '95 200'."),
        (
            {"income_ecommerce": "2400.01"},
            "income_ecommerce",
            "E-commerce income is part of business income and cannot exceed it "
            "(2400.00).",
        ),
        ({"cooking_fuel": ""}, "cooking_fuel", "This field is required."),
    ],
)
def test_impossible_values_are_refused_field_by_field(cadre, overrides, field, message):
    with pytest.raises(InvalidValues) as caught:
        submission_receive(user=cadre, xml=household_submission(**overrides))

    errors = caught.value.extra["errors"]
    assert [e["field"] for e in errors] == [field]
    if message is not None:
        assert errors[0]["message"] == message
    assert Submission.objects.get().errors == errors
    _nothing_applied()


def test_every_problem_is_listed_at_once(cadre):
    members = three_members()
    members[0] = {**members[0], "age": "200", "relation": "boss"}

    with pytest.raises(InvalidValues) as caught:
        submission_receive(
            user=cadre,
            xml=household_submission(
                members=members, income_wages="-5", income_property="-1"
            ),
        )

    assert [e["field"] for e in caught.value.extra["errors"]] == [
        "income_property",
        "income_wages",
        "members[1].age",
        "members[1].relation",
    ]
    assert caught.value.message == "Cannot be negative: -1. (3 more problems.)"


def test_a_person_registered_in_another_household_is_refused(cadre):
    # given a person registered in a household of village A1
    make_household(cadre, VILLAGE_A1, members=1)
    registered = Member.objects.get()
    members = three_members()

    # when a new household's survey lists... (the clear number of that person)
    number = idnumbers.decrypt(registered.id_cipher)
    members[2] = {**members[2], "id_number": number, "age": ""}
    with pytest.raises(InvalidValues) as caught:
        submission_receive(user=cadre, xml=household_submission(members=members))

    assert caught.value.extra["errors"] == [
        {
            "field": "members[3].id_number",
            "message": f"ID number {registered.id_masked} is already registered in "
            f"household {registered.household.number}.",
            "code": "invalid_values",
        }
    ]
    assert Household.objects.count() == 1


def test_a_role_that_may_not_survey_is_refused_and_nothing_kept(cadre):
    buyer = make_user(Role.BUYER, [VILLAGE_A1])

    with pytest.raises(OutsideScope):
        submission_receive(user=buyer, xml=household_submission())

    assert Submission.objects.count() == 0


def test_a_refused_submission_sent_again_after_a_fix_is_accepted(cadre, settings):
    # given a submission refused for its photo, kept as invalid
    settings.PROPOOR_SURVEY_MAX_ATTACHMENT = 50
    xml = household_submission(instance_id=INSTANCE)
    with pytest.raises(AttachmentTooLarge):
        submission_receive(user=cadre, xml=xml, attachments=[_photo()])

    # when the limit allows it and the client sends it again
    settings.PROPOOR_SURVEY_MAX_ATTACHMENT = 10 * 1024 * 1024
    again = submission_receive(user=cadre, xml=xml, attachments=[_photo()])

    # then the same submission is read afresh and queued
    assert again.duplicate is False
    assert Submission.objects.count() == 1
    assert again.submission.status == SubmissionStatus.PENDING
    assert again.submission.errors == []
    assert ChangeRequest.objects.get().status == ChangeStatus.PENDING
    assert Attachment.objects.count() == 1


def _masked(id_number: str) -> str:
    """As the registry shows an ID number: the check character an upper-case X even
    when the form sent it in lower case."""
    return id_number[:4] + "*" * 10 + id_number[14:].upper()
