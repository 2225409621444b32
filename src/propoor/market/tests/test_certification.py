"""Poverty-alleviation product certification: the workflow, its refusals, the badge,
and the pages (queue, application, history)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from propoor.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from propoor.core.models import AuditEntry
from propoor.households.tests.factories import (
    COUNTY,
    TOWNSHIP_A,
    TOWNSHIP_B,
    VILLAGE_A1,
    make_household,
    make_user,
)
from propoor.market import services
from propoor.market.models import Certification, CertificationStep, Product
from propoor.market.services.certification import (
    TRANSITIONS,
    add_years,
    certification_apply,
    certification_object,
    certification_revoke,
    certifications_finalise,
    certified_products,
    county_review,
    product_certified,
    township_review,
)
from propoor.market.tests.factories import (
    county_admin,
    make_lot,
    make_product,
    make_seller,
)

pytestmark = pytest.mark.django_db
EVIDENCE = "合作社收购一村3户建档立卡户的苹果，按收购协议每斤高于市价0.2元。"


@dataclass
class World:
    product: Product
    operator: object
    township: object
    county: object
    household: object


def _world(*, benefit: bool = True) -> World:
    admin = county_admin()
    seller = make_seller(name="一村苹果合作社")
    product = make_product(seller, title="高山苹果")
    household = make_household(head_name="李四光", village_code=VILLAGE_A1)
    if benefit:
        services.benefit_declare(
            admin, seller, household=household, mechanism="purchase", share="0.4000"
        )
    return World(
        product=product,
        operator=seller.operators.first(),
        township=make_user("township_officer", [TOWNSHIP_A]),
        county=admin,
        household=household,
    )


def _state(certification: Certification) -> tuple[object, ...]:
    certification.refresh_from_db()
    return (
        certification.status,
        certification.reason,
        certification.steps.count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def world(area_tree) -> World:  # type: ignore[no-untyped-def]
    return _world()


# ----------------------------------------------------------------------------- the path


def test_the_full_path_to_a_certificate(world: World) -> None:
    today = timezone.localdate()

    # when the operator applies, the township and the county approve
    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    assert (cert.status, cert.evidence, cert.applied_by) == (
        "submitted",
        EVIDENCE,
        world.operator,
    )
    cert = township_review(world.township, cert, True, "核实属实")
    assert cert.status == "township_approved"
    cert = county_review(world.county, cert, True, today=today)

    # then the application is in public notice for seven days
    assert (cert.status, cert.notice_ends_on) == ("notice", today + timedelta(days=7))
    assert product_certified(world.product) is None

    # and the daily job certifies it only once the notice has ended
    assert certifications_finalise(today=today + timedelta(days=6)) == 0
    assert certifications_finalise(today=today + timedelta(days=7)) == 1
    assert certifications_finalise(today=today + timedelta(days=8)) == 0
    cert.refresh_from_db()
    ended = today + timedelta(days=7)
    assert (cert.status, cert.certified_on, cert.valid_until) == (
        "certified",
        ended,
        add_years(ended, 1),
    )

    # and each step is recorded with who took it, and audited
    assert list(
        CertificationStep.objects.filter(certification=cert).values_list(
            "from_status", "to_status", "by", "note"
        )
    ) == [
        ("", "submitted", world.operator.pk, ""),
        ("submitted", "township_approved", world.township.pk, "核实属实"),
        ("township_approved", "notice", world.county.pk, ""),
        ("notice", "certified", None, "public notice ended"),
    ]
    assert list(
        AuditEntry.objects.filter(object_type="market.certification").values_list(
            "action", "actor_id", "object_id"
        )
    ) == [
        ("market.certification.apply", world.operator.pk, str(cert.pk)),
        ("market.certification.township_approve", world.township.pk, str(cert.pk)),
        ("market.certification.county_approve", world.county.pk, str(cert.pk)),
        ("market.certification.finalise", None, str(cert.pk)),
    ]
    applied = AuditEntry.objects.get(action="market.certification.apply")
    assert applied.data["benefits"] == [
        {"household": world.household.pk, "mechanism": "purchase", "share": "0.4000"}
    ]


def test_the_badge_lasts_until_the_certificate_expires(world: World) -> None:
    # given a product certified on 10 March 2025 (notice ended that day)
    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    township_review(world.township, cert, True)
    county_review(world.county, cert, True, today=date(2025, 3, 3))
    assert certifications_finalise(today=date(2025, 3, 10)) == 1
    cert.refresh_from_db()
    assert (cert.certified_on, cert.valid_until) == (
        date(2025, 3, 10),
        date(2026, 3, 10),
    )
    other = make_product(world.product.seller, title="核桃")
    products = Product.objects.filter(pk__in=[world.product.pk, other.pk])

    # then it is certified from that day until the last day of validity, not after
    assert product_certified(world.product, on=date(2025, 3, 9)) is None
    assert product_certified(world.product, on=date(2025, 3, 10)) == cert
    assert product_certified(world.product, on=date(2026, 3, 10)) == cert
    assert product_certified(world.product, on=date(2026, 3, 11)) is None
    assert list(certified_products(products, on=date(2026, 3, 10))) == [world.product]
    assert list(certified_products(products, on=date(2026, 3, 11))) == []


def test_a_leap_day_certificate_ends_on_28_february() -> None:
    assert add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert add_years(date(2025, 3, 10), 1) == date(2026, 3, 10)


def test_the_transition_table() -> None:
    assert TRANSITIONS == {
        ("", "apply"): "submitted",
        ("submitted", "township_approve"): "township_approved",
        ("submitted", "township_reject"): "rejected",
        ("township_approved", "county_approve"): "notice",
        ("township_approved", "county_reject"): "rejected",
        ("notice", "object"): "rejected",
        ("notice", "finalise"): "certified",
        ("certified", "revoke"): "revoked",
    }


# ----------------------------------------------------------------------------- refusals


def test_an_application_needs_evidence_and_a_declared_benefit(area_tree) -> None:
    bare = _world(benefit=False)
    with pytest.raises(ValidationFailed) as caught:
        certification_apply(bare.operator, bare.product, evidence=EVIDENCE)
    assert caught.value.message == (
        "The seller has declared no poor household it benefits; an officer must "
        "declare at least one before the product can be certified."
    )
    full = _world()
    with pytest.raises(ValidationFailed) as caught:
        certification_apply(full.operator, full.product, evidence="   ")
    assert caught.value.message == (
        "Describe the evidence: how the product benefits poor households."
    )
    with pytest.raises(PermissionDenied):
        certification_apply(full.township, full.product, evidence=EVIDENCE)
    assert Certification.objects.count() == 0
    assert not AuditEntry.objects.filter(object_type="market.certification").exists()


def test_a_second_open_application_is_a_conflict(world: World) -> None:
    first = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    for move in (
        lambda: None,
        lambda: township_review(world.township, first, True),
        lambda: county_review(world.county, first, True),
    ):
        move()
        with pytest.raises(Conflict) as caught:
            certification_apply(world.operator, world.product, evidence=EVIDENCE)
        first.refresh_from_db()
        assert caught.value.message == (
            f"The product already has an open application ({first.status})."
        )
    assert Certification.objects.count() == 1
    # a rejected application may be followed by a new one
    certification_object(world.county, first, "群众举报：实际未收购贫困户产品")
    second = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    assert second.status == "submitted"


def test_reviews_need_the_right_role_and_scope(world: World) -> None:
    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    other_township = make_user("township_officer", [TOWNSHIP_B])
    cadre = make_user("village_cadre", [VILLAGE_A1])
    before = _state(cert)

    with pytest.raises(PermissionDenied):
        township_review(world.operator, cert, True)  # the seller's own operator
    with pytest.raises(PermissionDenied):
        township_review(cadre, cert, True)
    with pytest.raises(PermissionDenied):
        township_review(world.county, cert, True)  # the county reviews second
    with pytest.raises(NotFound):
        township_review(other_township, cert, True)  # not in their township
    with pytest.raises(PermissionDenied):
        county_review(world.township, cert, True)
    with pytest.raises(Conflict) as caught:
        county_review(world.county, cert, True)  # the township has not reviewed
    assert caught.value.message == (
        "An application that is submitted cannot take county approve; it can take: "
        "township_approve, township_reject."
    )
    with pytest.raises(PermissionDenied):
        certification_revoke(world.township, cert, "不实")
    assert _state(cert) == before


def test_a_rejection_needs_a_reason(world: World) -> None:
    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    before = _state(cert)
    with pytest.raises(ValidationFailed) as caught:
        township_review(world.township, cert, False, "  ")
    assert caught.value.message == "Give the reason."
    with pytest.raises(ValidationFailed):
        township_review(world.township, cert, False, "很" * 301)
    assert _state(cert) == before

    # with a reason, the application is rejected and says why
    township_review(world.township, cert, False, "证明材料不足：缺少收购协议")
    cert.refresh_from_db()
    assert (cert.status, cert.reason) == ("rejected", "证明材料不足：缺少收购协议")
    with pytest.raises(Conflict):
        township_review(world.township, cert, True)


def test_the_county_may_reject_with_a_reason(world: World) -> None:
    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    township_review(world.township, cert, True)
    with pytest.raises(ValidationFailed):
        county_review(world.county, cert, False)
    county_review(world.county, cert, False, "收购价格未达到协议")
    cert.refresh_from_db()
    assert (cert.status, cert.reason) == ("rejected", "收购价格未达到协议")
    assert (
        AuditEntry.objects.filter(action="market.certification.county_reject").count()
        == 1
    )


def test_an_objection_during_the_notice_rejects(world: World) -> None:
    today = timezone.localdate()
    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    township_review(world.township, cert, True)
    county_review(world.county, cert, True, today=today)
    before = _state(cert)
    with pytest.raises(ValidationFailed):
        certification_object(world.county, cert, "", today=today)
    with pytest.raises(PermissionDenied):
        certification_object(world.township, cert, "有人举报", today=today)
    with pytest.raises(Conflict) as caught:
        certification_object(
            world.county, cert, "有人举报", today=today + timedelta(days=7)
        )
    assert caught.value.message == (
        f"The public notice ended on {today + timedelta(days=7):%Y-%m-%d}; "
        "objections are closed."
    )
    assert _state(cert) == before

    certification_object(
        world.county, cert, "群众举报：实际未收购贫困户产品", today=today
    )
    cert.refresh_from_db()
    assert (cert.status, cert.reason) == ("rejected", "群众举报：实际未收购贫困户产品")
    assert certifications_finalise(today=today + timedelta(days=8)) == 0
    assert product_certified(world.product, on=today + timedelta(days=8)) is None


def test_revocation(world: World) -> None:
    today = timezone.localdate()
    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    township_review(world.township, cert, True)
    county_review(world.county, cert, True, today=today - timedelta(days=7))
    certifications_finalise(today=today)
    assert product_certified(world.product) is not None
    elsewhere = make_user("county_admin", [TOWNSHIP_B])
    before = _state(cert)

    with pytest.raises(ValidationFailed):
        certification_revoke(world.county, cert, "")
    with pytest.raises(PermissionDenied):
        certification_revoke(world.operator, cert, "自愿撤回")
    with pytest.raises(NotFound):
        certification_revoke(elsewhere, cert, "不在辖区")
    assert _state(cert) == before

    certification_revoke(world.county, cert, "抽查发现以次充好")
    cert.refresh_from_db()
    assert (cert.status, cert.reason) == ("revoked", "抽查发现以次充好")
    assert product_certified(world.product) is None
    assert list(cert.steps.values_list("to_status", flat=True)) == [
        "submitted",
        "township_approved",
        "notice",
        "certified",
        "revoked",
    ]
    assert (
        AuditEntry.objects.filter(action="market.certification.revoke")
        .get()
        .data["note"]
        == "抽查发现以次充好"
    )


def test_the_lot_page_shows_the_badge(world: World) -> None:
    from propoor.market.services.traceability import lot_digital_link, lot_public

    today = timezone.localdate()
    lot = make_lot(world.product, code="CERT1")
    path = urlsplit(lot_digital_link(lot)).path
    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    township_review(world.township, cert, True)
    county_review(world.county, cert, True, today=today - timedelta(days=7))

    # in notice: the page says so
    notice = lot_public(lot).certification
    assert notice is not None
    assert (notice.status, notice.notice_ends_on) == ("notice", today)
    assert 'data-certification="notice"' in Client().get(path).content.decode()

    # certified: the badge, with its validity
    certifications_finalise(today=today)
    badge = lot_public(lot).certification
    assert badge is not None
    assert (badge.certified, badge.certified_on, badge.valid_until) == (
        True,
        today,
        add_years(today, 1),
    )
    html = Client().get(path).content.decode()
    assert 'data-certification="certified"' in html


# ----------------------------------------------------------------------------- pages


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_the_township_queue_shows_evidence_and_masked_benefits(world: World) -> None:
    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    response = _client(world.township).get(reverse("market:cert_queue"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-certification="{cert.pk}"' in html
    assert EVIDENCE in html
    assert world.household.number in html
    assert "李*光" in html
    assert "李四光" not in html
    assert "40.0%" in html
    assert 'data-action="township_approve"' in html
    assert 'data-action="township_reject"' in html
    # the county sees nothing yet; another township sees nothing; a buyer may not look
    assert (
        f'data-certification="{cert.pk}"'
        not in _client(world.county).get(reverse("market:cert_queue")).content.decode()
    )
    other = _client(make_user("township_officer", [TOWNSHIP_B]))
    assert (
        f'data-certification="{cert.pk}"'
        not in other.get(reverse("market:cert_queue")).content.decode()
    )
    assert other.get(reverse("market:cert_detail", args=[cert.pk])).status_code == 404
    assert (
        _client(make_user("buyer")).get(reverse("market:cert_queue")).status_code == 403
    )


def test_deciding_through_the_pages(world: World) -> None:
    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    decide = reverse("market:cert_decide", args=[cert.pk])
    township = _client(world.township)

    # a rejection without a reason: 422, the error on the page, nothing changed
    before = _state(cert)
    refused = township.post(decide, {"action": "township_reject", "note": ""})
    assert refused.status_code == 422
    assert "Give the reason." in refused.content.decode()
    assert _state(cert) == before
    # a step of another role: 403; an unknown action: 400
    assert township.post(decide, {"action": "county_approve"}).status_code == 403
    assert township.post(decide, {"action": "certify"}).status_code == 400
    assert _state(cert) == before

    # approval: back to the queue, with a message
    done = township.post(
        decide,
        {
            "action": "township_approve",
            "note": "",
            "next": reverse("market:cert_queue"),
        },
    )
    assert (done.status_code, done["Location"]) == (302, reverse("market:cert_queue"))
    county = _client(world.county)
    assert county.post(decide, {"action": "county_approve"}).status_code == 302
    cert.refresh_from_db()
    assert cert.status == "notice"
    page = county.get(reverse("market:cert_detail", args=[cert.pk])).content.decode()
    assert 'data-action="object"' in page
    # an open redirect is not followed
    assert county.post(
        decide, {"action": "object", "note": "举报", "next": "https://evil.example/"}
    )["Location"] == reverse("market:cert_detail", args=[cert.pk])


def test_forms_need_csrf(world: World) -> None:
    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.township)
    response = client.post(
        reverse("market:cert_decide", args=[cert.pk]), {"action": "township_approve"}
    )
    assert response.status_code == 403
    cert.refresh_from_db()
    assert cert.status == "submitted"


def test_applying_through_the_history_page(world: World) -> None:
    operator = _client(world.operator)
    history = reverse("market:cert_product", args=[world.product.pk])
    apply = reverse("market:cert_apply", args=[world.product.pk])
    page = operator.get(history)
    assert page.status_code == 200
    assert 'action="' + apply + '"' in page.content.decode()

    refused = operator.post(apply, {"evidence": ""})
    assert refused.status_code == 422
    assert "Describe the evidence" in refused.content.decode()
    assert Certification.objects.count() == 0

    sent = operator.post(apply, {"evidence": EVIDENCE})
    assert (sent.status_code, sent["Location"]) == (302, history)
    again = operator.post(apply, {"evidence": EVIDENCE})
    assert again.status_code == 409
    assert Certification.objects.count() == 1
    page = operator.get(history).content.decode()
    assert 'id="open-application"' in page
    assert EVIDENCE in page

    # reviewers in scope see the history; others do not know the product
    assert _client(world.township).get(history).status_code == 200
    assert (
        _client(make_user("township_officer", [TOWNSHIP_B])).get(history).status_code
        == 404
    )
    assert _client(make_user("buyer")).get(history).status_code == 404
    # a reviewer may not apply
    assert _client(world.county).post(apply, {"evidence": EVIDENCE}).status_code == 403
    assert (
        _client(make_user("county_admin", [COUNTY]))
        .get(reverse("market:cert_product", args=[999_999]))
        .status_code
        == 404
    )


def test_only_the_job_finalises_and_only_people_review(world: World) -> None:
    from propoor.market.services.certification import _transition, actions_for

    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    with pytest.raises(PermissionDenied):
        township_review(None, cert, True)
    township_review(world.township, cert, True)
    county_review(world.county, cert, True, today=date(2025, 3, 3))
    with pytest.raises(PermissionDenied):
        _transition(cert, "finalise", world.county)
    # the objection button goes once the notice has ended
    cert.refresh_from_db()
    assert actions_for(world.county, cert, today=date(2025, 3, 9)) == ("object",)
    assert actions_for(world.county, cert, today=date(2025, 3, 10)) == ()
    assert actions_for(world.township, cert, today=date(2025, 3, 9)) == ()


def test_the_operator_and_a_superuser_see_the_application(world: World) -> None:
    from propoor.accounts.models import User

    cert = certification_apply(world.operator, world.product, evidence=EVIDENCE)
    detail = reverse("market:cert_detail", args=[cert.pk])
    page = _client(world.operator).get(detail)
    assert page.status_code == 200
    assert 'data-action="' not in page.content.decode()  # nothing for the seller to do
    root = User.objects.create_superuser("root", "root@example.cn", "x")
    queue = _client(root).get(reverse("market:cert_queue")).content.decode()
    assert f'data-certification="{cert.pk}"' in queue
    assert _client(root).get(detail).status_code == 200


def test_an_overlong_application_is_refused(world: World) -> None:
    apply = reverse("market:cert_apply", args=[world.product.pk])
    response = _client(world.operator).post(apply, {"evidence": "证" * 5001})
    assert response.status_code == 400
    assert Certification.objects.count() == 0
    with pytest.raises(ValidationFailed):
        certification_apply(world.operator, world.product, evidence="证" * 5001)
