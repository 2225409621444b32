"""The survey pages through Django's test client: access, scope, review, uploads."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from propoor.accounts.models import Role
from propoor.core.models import AuditEntry
from propoor.households.models import Household, Member, Snapshot
from propoor.households.tests.factories import (
    COUNTY,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    make_user,
)
from propoor.surveys.forms import HOUSEHOLD_XLSX, build
from propoor.surveys.models import (
    ChangeRequest,
    ChangeStatus,
    FormVersion,
    SubmissionStatus,
)
from propoor.surveys.tests.views_data import (
    GPS,
    SurveyCounty,
    build_survey_county,
    house_png,
    update_of,
)
from propoor.web.tests.conftest import _no_language_left_behind

__all__ = ["_no_language_left_behind"]  # requests activate a language: reset it

pytestmark = pytest.mark.django_db

CLEAR_ID = re.compile(r"(?<![0-9*])[1-9][0-9]{16}[0-9Xx](?![0-9*])")


@pytest.fixture
def data() -> SurveyCounty:
    return build_survey_county()


def _client(user, language: str = "en") -> Client:  # type: ignore[no-untyped-def]
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _pages(data: SurveyCounty) -> list[str]:
    return [
        reverse("surveys:form_list"),
        reverse("surveys:form_detail", args=["propoor_household"]),
        reverse("surveys:review_queue"),
        reverse("surveys:change_detail", args=[data.new_household.pk]),
        reverse("surveys:change_detail", args=[data.update.pk]),
        reverse("surveys:change_detail", args=[data.elsewhere.pk]),
        reverse("surveys:coverage"),
        reverse("surveys:submission_detail", args=[data.new_household.submission_id]),
        reverse("surveys:submission_detail", args=[data.invalid.pk]),
    ]


def _approve(client: Client, change: ChangeRequest, **data: str):  # type: ignore[no-untyped-def]
    return client.post(reverse("surveys:change_approve", args=[change.pk]), data)


def _reject(client: Client, change: ChangeRequest, reason: str | None):  # type: ignore[no-untyped-def]
    payload = {} if reason is None else {"reason": reason}
    return client.post(reverse("surveys:change_reject", args=[change.pk]), payload)


# --- access ---------------------------------------------------------------------------


def test_every_page_renders_for_a_county_admin_in_both_languages(
    data: SurveyCounty,
) -> None:
    for language in ("en", "zh-hans"):
        client = _client(data.county.admin, language)
        for url in _pages(data):
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            assert "county-admin" in html
            assert CLEAR_ID.findall(html) == [], url


def test_anonymous_users_are_sent_to_the_login_page(data: SurveyCounty) -> None:
    client = Client()

    for url in _pages(data):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{reverse('web:login')}?next={url}"


def test_a_cadre_gets_404_for_another_villages_change_request(
    data: SurveyCounty,
) -> None:
    client = _client(data.county.cadre_a1)
    elsewhere = data.elsewhere

    detail = client.get(reverse("surveys:change_detail", args=[elsewhere.pk]))
    submission = client.get(
        reverse("surveys:submission_detail", args=[elsewhere.submission_id])
    )
    approve = _approve(client, elsewhere)
    reject = _reject(client, elsewhere, "not ours")

    assert [detail.status_code, submission.status_code] == [404, 404]
    assert [approve.status_code, reject.status_code] == [404, 404]
    assert "郑十" not in detail.content.decode()
    elsewhere.refresh_from_db()
    assert elsewhere.status == ChangeStatus.PENDING
    assert elsewhere.reviewer is None


def test_a_cadre_sees_only_their_villages_in_the_queue(data: SurveyCounty) -> None:
    client = _client(data.county.cadre_a1)

    response = client.get(reverse("surveys:review_queue"))

    changes = list(response.context["page_obj"])
    assert {c.pk for c in changes} == {data.new_household.pk, data.update.pk}
    assert [v.code for v in response.context["villages"]] == [VILLAGE_A1]


def test_a_buyer_may_not_open_the_survey_pages(data: SurveyCounty) -> None:
    buyer = make_user(Role.BUYER, [COUNTY], username="a-buyer")
    client = _client(buyer)

    for url in (
        reverse("surveys:form_list"),
        reverse("surveys:review_queue"),
        reverse("surveys:coverage"),
        reverse("surveys:change_detail", args=[data.update.pk]),
    ):
        assert client.get(url).status_code == 403, url


def test_approving_and_rejecting_take_a_post(data: SurveyCounty) -> None:
    client = _client(data.county.admin)

    approve = client.get(reverse("surveys:change_approve", args=[data.update.pk]))
    reject = client.get(reverse("surveys:change_reject", args=[data.update.pk]))

    assert (approve.status_code, reject.status_code) == (405, 405)
    data.update.refresh_from_db()
    assert data.update.status == ChangeStatus.PENDING


def test_the_review_forms_need_a_csrf_token(data: SurveyCounty) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(data.county.admin)

    response = _approve(client, data.update)

    assert response.status_code == 403
    data.update.refresh_from_db()
    assert data.update.status == ChangeStatus.PENDING


# --- the review queue -----------------------------------------------------------------


def test_the_queue_lists_open_changes_and_filters_by_status_and_village(
    data: SurveyCounty,
) -> None:
    client = _client(data.county.admin)
    url = reverse("surveys:review_queue")
    _reject(client, data.update, "wrong household")

    open_ = client.get(url).context["page_obj"]
    rejected = client.get(url, {"status": "rejected"}).context["page_obj"]
    in_b1 = client.get(url, {"village": VILLAGE_B1}).context["page_obj"]
    in_a2 = client.get(url, {"village": VILLAGE_A2}).context["page_obj"]

    assert [c.pk for c in open_] == [data.new_household.pk, data.elsewhere.pk]
    assert [c.pk for c in rejected] == [data.update.pk]
    assert [c.pk for c in in_b1] == [data.elsewhere.pk]
    assert list(in_a2) == []
    html = client.get(url).content.decode()
    assert reverse("surveys:change_detail", args=[data.new_household.pk]) in html
    assert "王五" in html


def test_an_invalid_queue_filter_is_reported_and_dropped(data: SurveyCounty) -> None:
    client = _client(data.county.admin)

    response = client.get(
        reverse("surveys:review_queue"), {"status": "done", "village": "53'"}
    )

    assert response.status_code == 200
    assert response.context["total"] == 3
    assert b"Select a valid choice" in response.content


# --- one change request ---------------------------------------------------------------


def test_the_change_page_shows_the_diff_side_by_side(data: SurveyCounty) -> None:
    client = _client(data.county.admin)

    response = client.get(reverse("surveys:change_detail", args=[data.update.pk]))

    html = response.content.decode()
    lines = {line.field: line for line in response.context["lines"]}
    wages = lines["income_wages"]
    assert (wages.label, wages.current, wages.proposed) == (
        "Wages",
        "¥2,000.00",
        "¥5,200.00",
    )
    assert wages.changed is True
    assert 'data-field="income_wages" class="changed"' in html
    assert lines["size"].changed is False
    assert lines["has_tv"].current == "Yes"
    assert lines["has_tv"].proposed == "No"
    assert lines["causes"].proposed == (
        "Illness (因病), Lack of skills (缺技术), Lack of capital (缺资金)"
    )
    # members are rows of their own, after the household's fields, IDs masked
    members = [line for line in response.context["lines"] if line.member]
    assert [m.label for m in members] == [
        "张三 (kept: not in this survey)",
        "张1 (kept: not in this survey)",
    ]
    assert response.context["lines"][-1].member is True
    assert CLEAR_ID.findall(html) == []
    assert "**********" in members[0].current


def test_a_new_household_shows_its_members_photo_and_map_point(
    data: SurveyCounty,
) -> None:
    client = _client(data.county.admin)

    response = client.get(
        reverse("surveys:change_detail", args=[data.new_household.pk])
    )

    html = response.content.decode()
    members = [line for line in response.context["lines"] if line.member]
    assert [(m.label, m.new) for m in members] == [
        ("Member 1: 王五", True),
        ("Member 2: 李六", True),
        ("Member 3: 王小七", True),
    ]
    assert all(m.current == "—" and m.changed for m in members)
    assert " · Head · " in members[0].proposed
    photo = reverse(
        "surveys:attachment", args=[data.new_household.submission_id, "house.png"]
    )
    assert f'src="{photo}"' in html
    point = response.context["map"]
    assert (point.latitude, point.longitude) == GPS
    assert point.households == 3  # A1's households with a location
    assert point.here is not None
    assert "data-here" in html
    assert "25.041234, 102.712346" in html


def test_a_photo_is_served_only_to_those_who_see_the_submission(
    data: SurveyCounty,
) -> None:
    submission_id = data.new_household.submission_id
    url = reverse("surveys:attachment", args=[submission_id, "house.png"])
    outsider = make_user(Role.VILLAGE_CADRE, [VILLAGE_B1], username="cadre-b1")

    response = _client(data.county.cadre_a1).get(url)
    other = _client(outsider).get(url)
    missing = _client(data.county.admin).get(
        reverse("surveys:attachment", args=[submission_id, "nothing.jpg"])
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == house_png()
    assert other.status_code == 404
    assert missing.status_code == 404


def test_approving_applies_the_change_and_links_the_household(
    data: SurveyCounty,
) -> None:
    client = _client(data.county.cadre_a1)
    change = data.new_household

    response = _approve(client, change)

    assert response.status_code == 302
    assert response["Location"] == reverse("surveys:change_detail", args=[change.pk])
    change.refresh_from_db()
    assert change.status == ChangeStatus.APPROVED
    assert change.reviewer == data.county.cadre_a1
    household = Household.objects.get(pk=change.household_id)
    assert household.head_name == "王五"
    assert Member.objects.filter(household=household).count() == 3
    snapshot = Snapshot.objects.get(household=household, year=2024)
    assert snapshot.income_wages == Decimal("3600.50")
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Approved: the registry now holds these values." in html
    assert 'data-outcome="approved"' in html
    assert reverse("web:household_detail", args=[household.pk]) in html
    assert 'id="decision"' not in html


def test_a_reject_without_a_reason_is_refused_and_changes_nothing(
    data: SurveyCounty,
) -> None:
    client = _client(data.county.cadre_a1)
    change = data.update
    audit = AuditEntry.objects.count()

    response = _reject(client, change, "   ")

    assert response.status_code == 400
    html = response.content.decode()
    assert "Not rejected: give a reason." in html
    assert "Give a reason for rejecting." in html
    assert 'aria-invalid="true"' in html
    change.refresh_from_db()
    assert change.status == ChangeStatus.PENDING
    assert (change.reviewer, change.reason) == (None, "")
    assert change.submission.status == SubmissionStatus.PENDING
    assert AuditEntry.objects.count() == audit
    assert not Snapshot.objects.filter(household=data.county.poor, year=2024).exists()


def test_rejecting_with_a_reason_closes_the_change(data: SurveyCounty) -> None:
    client = _client(data.county.cadre_a1)
    change = data.update

    response = _reject(client, change, "Wrong household number")

    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == ChangeStatus.REJECTED
    assert change.reason == "Wrong household number"
    assert not Snapshot.objects.filter(household=data.county.poor, year=2024).exists()
    html = client.get(response["Location"]).content.decode()
    assert "Rejected. The registry was not changed." in html
    assert "Reason: Wrong household number" in html
    # a second decision is refused with a message
    again = _approve(client, change)
    html = client.get(again["Location"]).content.decode()
    assert "This change request was already reviewed (Rejected)." in html
    change.refresh_from_db()
    assert change.status == ChangeStatus.REJECTED


def test_a_conflict_is_shown_and_approved_only_on_purpose(data: SurveyCounty) -> None:
    client = _client(data.county.cadre_a1)
    second = update_of(data.county.cadre_a1, data.county.poor, income_wages="6100")
    _approve(client, data.update)

    refused = _approve(client, second)

    html = client.get(refused["Location"]).content.decode()
    second.refresh_from_db()
    assert second.status == ChangeStatus.CONFLICT
    assert "Not approved: the registry changed since this survey was received." in html
    assert "data-conflict" in html
    assert 'name="force"' in html
    snapshot = Snapshot.objects.get(household=data.county.poor, year=2024)
    assert snapshot.income_wages == Decimal("5200.00")

    _approve(client, second, force="on")

    second.refresh_from_db()
    assert second.status == ChangeStatus.APPROVED
    snapshot.refresh_from_db()
    assert snapshot.income_wages == Decimal("6100.00")


def test_an_auditor_reads_a_change_but_is_offered_no_decision(
    data: SurveyCounty,
) -> None:
    auditor = make_user(Role.AUDITOR, [COUNTY], username="an-auditor")
    client = _client(auditor)

    response = client.get(reverse("surveys:change_detail", args=[data.update.pk]))

    assert response.status_code == 200
    assert 'id="decision"' not in response.content.decode()
    assert _approve(client, data.update).status_code == 403
    data.update.refresh_from_db()
    assert data.update.status == ChangeStatus.PENDING


# --- submissions ----------------------------------------------------------------------


def test_a_refused_submission_shows_its_errors_and_raw_values(
    data: SurveyCounty,
) -> None:
    client = _client(data.county.admin)

    response = client.get(reverse("surveys:submission_detail", args=[data.invalid.pk]))

    html = response.content.decode()
    assert 'data-status="invalid"' in html
    errors = response.context["errors"]
    assert [(e.field, e.message) for e in errors] == [
        ("members[3].age", "An age of 200 is impossible (0 to 120).")
    ]
    assert "An age of 200 is impossible (0 to 120)." in html
    values = {v.path: v.value for v in response.context["values"]}
    assert values["identification/head_name"] == "王五"
    assert values["members[1]/id_number"].startswith("5301**********")
    # refused, so no point is kept: the map shows the one the phone sent
    assert data.invalid.latitude is None
    assert response.context["raw_gps"] is True
    assert response.context["map"].latitude == GPS[0]
    assert values["members[3]/age"] == "200"
    assert CLEAR_ID.findall(html) == []


# --- forms ----------------------------------------------------------------------------


def _household_xlsx(version: str, rows=None) -> bytes:  # type: ignore[no-untyped-def]
    return build.workbook(
        build.HOUSEHOLD if rows is None else rows,
        form_id="propoor_household",
        version=version,
        title_zh="农户年度调查",
        title_en="Household survey",
        lists=list(build.CHOICES),
    )


def _upload(client: Client, content: bytes, name: str = "household.xlsx"):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(reverse("surveys:form_list"), {"xlsform": upload})


def test_the_forms_page_lists_each_form_with_its_current_version(
    data: SurveyCounty,
) -> None:
    client = _client(data.county.admin)

    response = client.get(reverse("surveys:form_list"))

    html = response.content.decode()
    household = FormVersion.objects.get(form__form_id="propoor_household")
    assert [f.form_id for f in response.context["forms"]] == [
        "propoor_household",
        "propoor_village",
    ]
    assert household.md5[:12] in html
    assert (
        reverse("surveys:form_xlsform", args=["propoor_household", household.version])
        in html
    )
    assert 'id="upload"' in html
    assert '<code class="mono" data-server-url>http://testserver/openrosa/<' in html


def test_an_xlsform_upload_makes_a_new_current_version(data: SurveyCounty) -> None:
    client = _client(data.county.admin)

    response = _upload(client, _household_xlsx("2099.1"))

    assert response.status_code == 302
    current = FormVersion.objects.get(
        form__form_id="propoor_household", is_current=True
    )
    assert current.version == "2099.1"
    assert current.xlsform_name == "household.xlsx"
    html = client.get(response["Location"]).content.decode()
    assert "Uploaded propoor_household, version 2099.1." in html
    versions = client.get(
        reverse("surveys:form_detail", args=["propoor_household"])
    ).context["versions"]
    assert [(v.version, v.is_current) for v in versions] == [
        ("2099.1", True),
        ("2025.1", False),
    ]


def test_a_broken_xlsform_is_shown_with_its_sheet_and_row(data: SurveyCounty) -> None:
    client = _client(data.county.admin)
    rows = [
        build.q("text", "village_code", "村", "Village"),
        build.q("integer", "year", "年", "Year"),
        build.q("txt", "household_number", "户", "Household"),
    ]
    before = FormVersion.objects.count()

    response = _upload(client, _household_xlsx("9", rows), "bad.xlsx")

    assert response.status_code == 422
    errors = response.context["upload_errors"]
    assert [(e.sheet, e.row) for e in errors] == [("survey", "4")]
    html = response.content.decode()
    assert 'data-sheet="survey" data-row="4"' in html
    assert "txt" in errors[0].message
    assert FormVersion.objects.count() == before


def test_a_file_that_is_not_a_workbook_is_refused_at_the_door(
    data: SurveyCounty,
) -> None:
    client = _client(data.county.admin)
    before = FormVersion.objects.count()

    response = _upload(client, b"<html>not a workbook</html>", "form.xlsx")
    renamed = _upload(client, HOUSEHOLD_XLSX.read_bytes(), "form.pdf")

    assert response.status_code == 422
    assert b"This file is not an .xlsx workbook." in response.content
    assert renamed.status_code == 422
    assert b"Upload an XLSForm saved as .xlsx." in renamed.content
    assert FormVersion.objects.count() == before


def test_uploading_a_version_again_says_so(data: SurveyCounty) -> None:
    client = _client(data.county.admin)

    response = _upload(client, HOUSEHOLD_XLSX.read_bytes())

    assert response.status_code == 422
    assert b"was already uploaded" in response.content


def test_a_cadre_is_offered_no_upload_and_may_not_post_one(data: SurveyCounty) -> None:
    client = _client(data.county.cadre_a1)

    page = client.get(reverse("surveys:form_list"))
    response = _upload(client, _household_xlsx("2099.2"))

    assert page.status_code == 200
    assert 'id="upload"' not in page.content.decode()
    assert response.status_code == 403
    assert not FormVersion.objects.filter(version="2099.2").exists()


def test_the_xlsform_and_the_xform_download_with_their_names(
    data: SurveyCounty,
) -> None:
    client = _client(data.county.cadre_a1)
    version = FormVersion.objects.get(form__form_id="propoor_household")

    xlsx = client.get(
        reverse("surveys:form_xlsform", args=["propoor_household", version.version])
    )
    xml = client.get(
        reverse("surveys:form_xform", args=["propoor_household", version.version])
    )
    unknown = client.get(reverse("surveys:form_xform", args=["propoor_household", "0"]))

    assert xlsx.status_code == 200
    assert xlsx.content == bytes(version.xlsform)
    assert xlsx["Content-Disposition"] == 'attachment; filename="household.xlsx"'
    assert xml.content.decode() == version.xform
    assert xml["Content-Type"] == "text/xml; charset=utf-8"
    assert xml["Content-Disposition"] == (
        f'attachment; filename="propoor_household-{version.version}.xml"'
    )
    assert unknown.status_code == 404


# --- coverage -------------------------------------------------------------------------


def test_coverage_counts_surveyed_households_by_village(data: SurveyCounty) -> None:
    client = _client(data.county.admin)
    url = reverse("surveys:coverage")

    surveyed_2020 = client.get(url, {"year": "2020"})
    before = client.get(url, {"year": "2024"}).context
    _approve(client, data.update)
    after = client.get(url, {"year": "2024"})

    assert [
        (r.code, r.households, r.surveyed, r.percent)
        for r in surveyed_2020.context["rows"]
    ] == [
        (VILLAGE_A1, 3, 3, Decimal("100.0")),
        (VILLAGE_A2, 2, 2, Decimal("100.0")),
        (VILLAGE_B1, 2, 2, Decimal("100.0")),
    ]
    assert before["total"].surveyed == 0
    rows = after.context["rows"]
    assert (rows[0].name, rows[0].surveyed, rows[0].due) == ("Village A1", 1, 2)
    assert rows[0].percent == Decimal("33.3")
    total = after.context["total"]
    assert (total.households, total.surveyed, total.due) == (7, 1, 6)
    html = after.content.decode()
    assert 'data-stat="coverage">14.3%<' in html
    assert 'style="width: 33%"' in html


def test_coverage_shows_the_current_year_by_default_and_ignores_a_bad_one(
    data: SurveyCounty,
) -> None:
    from django.utils import timezone

    client = _client(data.county.admin)

    plain = client.get(reverse("surveys:coverage"))
    bad = client.get(reverse("surveys:coverage"), {"year": "1900"})

    assert plain.context["year"] == timezone.localdate().year
    assert bad.status_code == 200
    assert bad.context["year"] == timezone.localdate().year


def test_a_cadre_sees_the_coverage_of_their_village_only(data: SurveyCounty) -> None:
    client = _client(data.county.cadre_a1)

    rows = client.get(reverse("surveys:coverage"), {"year": "2020"}).context["rows"]

    assert [r.code for r in rows] == [VILLAGE_A1]


# --- language -------------------------------------------------------------------------


def test_the_pages_speak_chinese(data: SurveyCounty) -> None:
    client = _client(data.county.admin, "zh-hans")

    queue = client.get(reverse("surveys:review_queue")).content.decode()
    change = client.get(
        reverse("surveys:change_detail", args=[data.update.pk])
    ).content.decode()
    coverage = client.get(reverse("surveys:coverage"), {"year": "2020"})

    assert "审核队列" in queue
    assert ">调查<" in queue  # the main navigation
    assert "工资性收入" in change
    assert "批准" in change
    assert "驳回理由" in change
    assert "一村" in coverage.content.decode()
    assert coverage.context["rows"][0].name == "一村"
