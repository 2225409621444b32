"""The OpenRosa endpoints, spoken to as ODK Collect speaks (Digest auth, multipart)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring
from django.test import RequestFactory

from propoor.accounts.models import Role
from propoor.core.errors import ValidationFailed
from propoor.households.tests.factories import (
    TEST_PASSWORD,
    TOWNSHIP_B,
    VILLAGE_A1,
    VILLAGE_B1,
    make_area_tree,
    make_id_number,
    make_user,
)
from propoor.surveys import openrosa
from propoor.surveys.forms.build import VILLAGE, _lists, workbook
from propoor.surveys.models import Attachment, ChangeRequest, Submission
from propoor.surveys.openrosa import describe_error
from propoor.surveys.services import form_upload
from propoor.surveys.tests.factories import (
    household_submission,
    member_answers,
    shipped_versions,
)
from propoor.surveys.tests.odk import (
    JPEG,
    OdkClient,
    basic_authorization,
    multipart,
)

pytestmark = pytest.mark.django_db

RESPONSE = "{http://openrosa.org/http/response}"
XFORMS_LIST = "{http://openrosa.org/xforms/xformsList}"
MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"
MIB = 1024 * 1024


@pytest.fixture
def household_form():
    make_area_tree()
    return shipped_versions()["household"]


@pytest.fixture
def cadre(household_form):
    make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="cadre-a1")
    return OdkClient("cadre-a1", TEST_PASSWORD)


def _instance_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def _household_xml(form, instance_id: str, village: str = VILLAGE_A1, **answers):
    """A new household of ``village`` (the shipped form, three members)."""
    return household_submission(
        instance_id=instance_id, village_code=village, **answers
    )


def _message(response) -> Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    root = fromstring(response.content)
    assert root.tag == f"{RESPONSE}OpenRosaResponse"
    (message,) = list(root)
    assert message.tag == f"{RESPONSE}message"
    return message


def _assert_openrosa_headers(response) -> None:
    assert response["X-OpenRosa-Version"] == "1.0"
    assert response["Date"].endswith(" GMT")


def _form_list(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    _assert_openrosa_headers(response)
    root = fromstring(response.content)
    assert root.tag == f"{XFORMS_LIST}xforms"
    return [
        {child.tag.removeprefix(XFORMS_LIST): child.text or "" for child in xform}
        for xform in root
    ]


def _path(url: str) -> str:
    assert url.startswith("http://testserver/")
    return url.removeprefix("http://testserver")


# --- forms --------------------------------------------------------------------


def test_form_list_announces_the_shipped_forms(cadre, household_form):
    # when ODK Collect asks for the form list
    forms = _form_list(cadre.get("/openrosa/formList"))

    # then it learns each form's id, name, version, hash and where to get it
    assert [f["formID"] for f in forms] == ["propoor_household", "propoor_village"]
    household = forms[0]
    assert household == {
        "formID": "propoor_household",
        "name": household_form.form.title,
        "version": "2025.1",
        "hash": f"md5:{household_form.md5}",
        "downloadUrl": "http://testserver/openrosa/forms/propoor_household/2025.1"
        "/form.xml",
        "manifestUrl": "http://testserver/openrosa/forms/propoor_household/2025.1"
        "/manifest",
    }


def test_form_list_filters_by_form_id(cadre):
    forms = _form_list(cadre.get("/openrosa/formList?formID=propoor_village"))
    none = _form_list(cadre.get("/openrosa/formList?formID=nothing"))

    assert [f["formID"] for f in forms] == ["propoor_village"]
    assert none == []


def test_the_downloaded_xform_has_the_announced_hash(cadre):
    # given the form list
    (household,) = _form_list(cadre.get("/openrosa/formList?formID=propoor_household"))

    # when the XForm is downloaded from the announced address
    response = cadre.get(_path(household["downloadUrl"]))

    # then its bytes hash to the announced md5, as clients check
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    _assert_openrosa_headers(response)
    digest = hashlib.md5(response.content, usedforsecurity=False).hexdigest()
    assert household["hash"] == f"md5:{digest}"
    assert b'id="propoor_household"' in response.content


def test_the_manifest_of_a_form_without_media_is_empty(cadre):
    (household,) = _form_list(cadre.get("/openrosa/formList?formID=propoor_household"))

    response = cadre.get(_path(household["manifestUrl"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    _assert_openrosa_headers(response)
    root = fromstring(response.content)
    assert root.tag == f"{MANIFEST}manifest"
    assert list(root) == []


def test_an_unknown_form_version_or_media_file_is_a_404(cadre):
    base = "/openrosa/forms/propoor_household"
    for path in (
        f"{base}/1999.9/form.xml",
        f"{base}/1999.9/manifest",
        "/openrosa/forms/nothing/1/form.xml",
        f"{base}/2025.1/media/logo.png",
    ):
        response = cadre.get(path)
        assert response.status_code == 404, path
        _assert_openrosa_headers(response)
        assert _message(response).get("nature") == "error"


def test_a_form_of_another_area_is_neither_listed_nor_served(cadre, household_form):
    # given a village form published for township B only
    xlsform = workbook(
        VILLAGE,
        form_id="township_b_villages",
        version="1",
        title_zh="乙镇村情",
        title_en="Township B villages",
        lists=_lists(VILLAGE),
    )
    form_upload(None, xlsform=xlsform, filename="b.xlsx", area_code=TOWNSHIP_B)
    make_user(Role.VILLAGE_CADRE, [VILLAGE_B1], username="cadre-b1")
    other = OdkClient("cadre-b1", TEST_PASSWORD)

    # then a cadre of township A neither sees nor downloads it; one of B does
    mine = [f["formID"] for f in _form_list(cadre.get("/openrosa/formList"))]
    theirs = [f["formID"] for f in _form_list(other.get("/openrosa/formList"))]
    download = "/openrosa/forms/township_b_villages/1/form.xml"
    assert "township_b_villages" not in mine
    assert "township_b_villages" in theirs
    assert cadre.get(download).status_code == 404
    assert other.get(download).status_code == 200


def test_a_role_without_registry_access_gets_no_forms(household_form):
    make_user(Role.BUYER, username="buyer")
    buyer = OdkClient("buyer", TEST_PASSWORD)

    response = buyer.get("/openrosa/formList")

    assert response.status_code == 403
    assert _message(response).get("nature") == "error"


# --- the pre-flight -----------------------------------------------------------


def test_head_preflight_answers_204_with_the_accepted_length(cadre, settings):
    settings.PROPOOR_SURVEY_MAX_ATTACHMENT = 10 * MIB

    response = cadre.head("/openrosa/submission")

    assert response.status_code == 204
    assert response["X-OpenRosa-Accept-Content-Length"] == str(11 * MIB)
    _assert_openrosa_headers(response)
    assert cadre.unauthorized == 1  # the challenge, then the nonce was used


def test_submission_refuses_get(cadre):
    response = cadre.get("/openrosa/submission")

    assert response.status_code == 405
    assert response["Allow"] == "HEAD, POST"
    assert _message(response).get("nature") == "error"


# --- a submission as ODK Collect sends it -------------------------------------


def test_a_household_survey_with_a_photo_is_received(cadre, household_form):
    # given a filled household questionnaire and the photo of the house
    instance_id = _instance_id()
    xml = _household_xml(household_form, instance_id)

    # when the phone posts it
    response = cadre.submit(xml, [("house.jpg", "image/jpeg", JPEG)])

    # then it is received and waits for review
    assert response.status_code == 201, response.content
    _assert_openrosa_headers(response)
    message = _message(response)
    assert message.get("nature") == "submit_success"
    assert message.text
    submission = Submission.objects.get()
    assert submission.instance_id == instance_id
    assert submission.status == "pending"
    assert submission.village_id == VILLAGE_A1
    assert submission.submitted_by.username == "cadre-a1"
    (photo,) = Attachment.objects.filter(submission=submission)
    assert (photo.name, photo.content_type, bytes(photo.data)) == (
        "house.jpg",
        "image/jpeg",
        JPEG,
    )
    change = ChangeRequest.objects.get()
    assert (change.submission_id, change.kind, change.status) == (
        submission.pk,
        "new_household",
        "pending",
    )


def test_a_resubmission_succeeds_without_a_second_row(cadre, household_form):
    # given a survey the server received, whose answer the phone never saw
    instance_id = _instance_id()
    xml = _household_xml(household_form, instance_id)
    first = cadre.submit(xml, [("house.jpg", "image/jpeg", JPEG)])

    # when the phone sends it again
    again = cadre.submit(xml, [("house.jpg", "image/jpeg", JPEG)])

    # then it is told of success, and the server keeps one of everything
    assert first.status_code == 201
    assert again.status_code == 202
    assert _message(again).get("nature") == "submit_success"
    assert Submission.objects.count() == 1
    assert Attachment.objects.count() == 1
    assert ChangeRequest.objects.count() == 1


def test_a_submission_split_over_two_posts_keeps_every_attachment(
    cadre, household_form
):
    # given a submission too large for one POST: ODK Collect sends the XML with
    # the first files and *isIncomplete*=yes, then the XML again with the rest
    instance_id = _instance_id()
    xml = _household_xml(household_form, instance_id)

    first = cadre.submit(
        xml, [("house.jpg", "image/jpeg", JPEG)], fields=[("*isIncomplete*", "yes")]
    )
    second = cadre.submit(xml, [("yard.jpg", "image/jpeg", JPEG)])

    assert first.status_code == 201
    assert second.status_code in (201, 202)
    assert _message(second).get("nature") == "submit_success"
    assert Submission.objects.count() == 1
    assert sorted(Attachment.objects.values_list("name", flat=True)) == [
        "house.jpg",
        "yard.jpg",
    ]


# --- refusals: the status, an OpenRosa error, nothing applied -------------------


def _refused(response, status: int) -> str:
    assert response.status_code == status, response.content
    _assert_openrosa_headers(response)
    message = _message(response)
    assert message.get("nature") == "error"
    assert message.text
    assert ChangeRequest.objects.count() == 0
    return message.text


def test_malformed_xml_is_a_400_and_nothing_is_kept(cadre):
    response = cadre.submit(b"<propoor_household id='propoor_household'><unclosed>")

    text = _refused(response, 400)
    assert "well-formed" in text
    assert Submission.objects.count() == 0


def test_an_unknown_form_is_a_404(cadre, household_form):
    xml = _household_xml(household_form, _instance_id()).replace(
        b'version="2025.1"', b'version="1999.9"'
    )

    text = _refused(cadre.submit(xml), 404)

    assert "1999.9" in text
    assert Submission.objects.get().status == "invalid"  # kept for review


def test_a_household_outside_the_users_area_is_a_403(cadre, household_form):
    xml = _household_xml(household_form, _instance_id(), village=VILLAGE_B1)

    text = _refused(cadre.submit(xml), 403)

    assert VILLAGE_B1 in text
    assert Submission.objects.get().status == "invalid"


def test_a_role_that_may_not_survey_is_a_403(household_form):
    make_user(Role.AUDITOR, [VILLAGE_A1], username="auditor")
    client = OdkClient("auditor", TEST_PASSWORD)

    _refused(client.submit(_household_xml(household_form, _instance_id())), 403)

    assert Submission.objects.count() == 0


def test_an_attachment_over_the_limit_is_a_413(cadre, household_form, settings):
    settings.PROPOOR_SURVEY_MAX_ATTACHMENT = 100
    xml = _household_xml(household_form, _instance_id())

    text = _refused(cadre.submit(xml, [("house.jpg", "image/jpeg", JPEG)]), 413)

    assert "house.jpg" in text
    assert Attachment.objects.count() == 0


def test_a_request_over_the_accepted_length_is_a_413(cadre, household_form, settings):
    # given a POST larger than the pre-flight allowed
    settings.PROPOOR_SURVEY_MAX_ATTACHMENT = 0
    big = JPEG + b"\0" * (1024 * 1024)
    xml = _household_xml(household_form, _instance_id())

    text = _refused(cadre.submit(xml, [("house.jpg", "image/jpeg", big)]), 413)

    assert "MiB" in text
    assert Submission.objects.count() == 0


def test_an_attachment_of_the_wrong_type_is_a_415(cadre, household_form):
    xml = _household_xml(household_form, _instance_id())

    _refused(cadre.submit(xml, [("notes.txt", "text/plain", b"hello")]), 415)

    assert Attachment.objects.count() == 0


def test_a_post_that_is_not_multipart_is_a_415(cadre, household_form):
    xml = _household_xml(household_form, _instance_id())

    response = cadre.request(
        "POST", "/openrosa/submission", body=xml, content_type="text/xml"
    )

    text = _refused(response, 415)
    assert "multipart/form-data" in text
    assert Submission.objects.count() == 0


def test_a_post_without_the_xml_part_is_a_400(cadre):
    body, content_type = multipart(b"", [])
    body = body.replace(b'name="xml_submission_file"', b'name="something_else"')

    response = cadre.request(
        "POST", "/openrosa/submission", body=body, content_type=content_type
    )

    text = _refused(response, 400)
    assert "xml_submission_file" in text
    assert Submission.objects.count() == 0


def test_a_post_with_a_meaningless_content_length_is_a_400(cadre):
    # WSGI servers refuse these; should one pass, the body is read as empty
    body, content_type = multipart(b"<x/>")
    request = RequestFactory().generic(
        "POST",
        "/openrosa/submission",
        data=body,
        content_type=content_type,
        headers={"Authorization": basic_authorization("cadre-a1", TEST_PASSWORD)},
    )
    request.META["CONTENT_LENGTH"] = "many"

    response = openrosa.submission(request)

    _refused(response, 400)
    assert Submission.objects.count() == 0


def test_a_garbled_multipart_body_is_a_400(cadre):
    response = cadre.request(
        "POST",
        "/openrosa/submission",
        body=b"--x\r\nnot a part",
        content_type="multipart/form-data",  # no boundary
    )

    _refused(response, 400)
    assert Submission.objects.count() == 0


def _head(**changes: object) -> list[dict[str, str]]:
    head = {
        "name": "王五",
        "id_number": make_id_number(born=date(1970, 3, 1)),
        "age": 54,
        **changes,
    }
    return [member_answers(**head)]


@pytest.mark.parametrize(
    ("answers", "members", "field"),
    [
        ({"income_wages": "-100.00"}, {}, "income_wages"),
        ({}, {"age": 200}, "age"),
        ({}, {"id_number": "530102197003010012"}, "id_number"),  # bad check digit
    ],
    ids=["negative-income", "age-200", "invalid-id-number"],
)
def test_impossible_values_are_a_422(cadre, household_form, answers, members, field):
    # given a survey with one impossible answer
    xml = household_submission(
        instance_id=_instance_id(), members=_head(**members), size="1", **answers
    )

    # when it is posted, it is refused with the answer named, and kept for review
    text = _refused(cadre.submit(xml), 422)

    assert field in text
    submission = Submission.objects.get()
    assert submission.status == "invalid"
    assert any(field in e["field"] for e in submission.errors)


def test_an_error_message_carries_every_problem(cadre, household_form):
    xml = household_submission(
        instance_id=_instance_id(), income_wages="-1.00", income_business="-2.00"
    )

    text = _refused(cadre.submit(xml), 422)

    assert "income_wages" in text
    assert "income_business" in text


def test_a_request_with_oversized_form_fields_is_a_413(cadre, household_form, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    xml = _household_xml(household_form, _instance_id())

    response = cadre.submit(xml, fields=[("note", "x" * 1000)])

    _refused(response, 413)
    assert Submission.objects.count() == 0


def test_errors_given_by_field_are_all_shown():
    error = ValidationFailed(
        "The form is not valid.",
        extra={"errors": {"income": ["Cannot be negative."], "age": "Too old"}},
    )
    listed = ValidationFailed("Refused.", extra={"errors": ["One.", "Two"]})
    bare = ValidationFailed("Just this.")

    assert describe_error(error) == "income: Cannot be negative. age: Too old."
    assert describe_error(listed) == "One. Two."
    assert describe_error(bare) == "Just this."


def test_the_xform_hash_matches_the_md5_of_its_bytes(household_form):
    # what formList announces is what a download gives (checked over HTTP below)
    digest = hashlib.md5(household_form.xform.encode(), usedforsecurity=False)
    assert household_form.md5 == digest.hexdigest()
