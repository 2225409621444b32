from __future__ import annotations

import json
from decimal import Decimal

import pytest

from propoor.accounts.models import Role
from propoor.households.identification import standard_install_builtins
from propoor.households.models import (
    IdentificationRun,
    IdentificationStandard,
    PlanItem,
    SupportPlan,
)
from propoor.households.plans import intervention_install_catalogue
from propoor.households.tests.factories import (
    COUNTY,
    TOWNSHIP_B,
    VILLAGE_A1,
    VILLAGE_B1,
    api_client,
    make_household,
    make_user,
)

pytestmark = pytest.mark.django_db

YEAR = 2017


@pytest.fixture
def county() -> dict[str, int]:
    standard_install_builtins()
    intervention_install_catalogue()
    poor = make_household(village_code=VILLAGE_A1, year=YEAR)
    rich = make_household(
        village_code=VILLAGE_B1, year=YEAR, income_wages=Decimal("30000.00")
    )
    return {"poor": poor.pk, "rich": rich.pk}


def _post(client, url: str, body: dict[str, object]):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_an_admin_runs_identification_through_the_api(county) -> None:
    client = api_client(make_user(Role.COUNTY_ADMIN, [COUNTY]))

    response = _post(
        client, "/api/v1/identification/runs", {"area": COUNTY, "year": YEAR}
    )

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("standard", "area", "year", "households", "poor")} == {
        "standard": "cn-national",
        "area": COUNTY,
        "year": YEAR,
        "households": 2,
        "poor": 1,
    }
    assert body["summary"]["county"][COUNTY]["incidence"] == "1/2"
    listed = client.get("/api/v1/identification/runs").json()
    assert [r["id"] for r in listed["items"]] == [body["id"]]
    top = client.get(f"/api/v1/identification/runs/{body['id']}/top?n=1&by=income")
    assert top.json() == [county["poor"]]


def test_bad_run_requests_are_refused_and_nothing_runs(county) -> None:
    admin = api_client(make_user(Role.COUNTY_ADMIN, [COUNTY]))
    officer = api_client(make_user(Role.TOWNSHIP_OFFICER, [TOWNSHIP_B]))
    cadre = api_client(make_user(Role.VILLAGE_CADRE, [VILLAGE_A1]))

    bad_code = _post(admin, "/api/v1/identification/runs", {"area": "53", "year": YEAR})
    no_line = _post(
        admin, "/api/v1/identification/runs", {"area": COUNTY, "year": 2012}
    )
    outside = _post(
        officer, "/api/v1/identification/runs", {"area": VILLAGE_A1, "year": YEAR}
    )
    role = _post(
        cadre, "/api/v1/identification/runs", {"area": VILLAGE_A1, "year": YEAR}
    )

    assert bad_code.status_code == 422
    assert no_line.status_code == 422
    assert no_line.json()["code"] == "validation_failed"
    assert outside.status_code == 404
    assert role.status_code == 403
    assert role.json()["code"] == "permission_denied"
    assert IdentificationRun.objects.count() == 0


def test_a_runs_outside_the_scope_are_invisible(county) -> None:
    admin = api_client(make_user(Role.COUNTY_ADMIN, [COUNTY]))
    run_id = _post(
        admin, "/api/v1/identification/runs", {"area": COUNTY, "year": YEAR}
    ).json()["id"]
    officer = api_client(make_user(Role.TOWNSHIP_OFFICER, [TOWNSHIP_B]))

    assert officer.get(f"/api/v1/identification/runs/{run_id}").status_code == 404
    assert officer.get("/api/v1/identification/runs").json()["items"] == []


def test_a_county_admin_revises_a_standard_and_others_may_not(county) -> None:
    definition = IdentificationStandard.objects.get(name="cn-national").definition
    admin = api_client(make_user(Role.COUNTY_ADMIN, [COUNTY]))
    officer = api_client(make_user(Role.TOWNSHIP_OFFICER, [TOWNSHIP_B]))

    ok = _post(
        admin,
        "/api/v1/identification/standards/cn-national",
        {"definition": definition, "note": "provincial line"},
    )
    refused = _post(
        officer,
        "/api/v1/identification/standards/cn-national",
        {"definition": definition},
    )
    broken = _post(
        admin,
        "/api/v1/identification/standards/cn-national",
        {"definition": {"rule": "any"}},
    )

    assert (ok.status_code, ok.json()["version"]) == (201, 2)
    assert refused.status_code == 403
    assert broken.status_code == 422
    assert IdentificationStandard.objects.filter(name="cn-national").count() == 2


def test_a_cadre_proposes_approves_and_tracks_a_plan(county) -> None:
    cadre = api_client(make_user(Role.VILLAGE_CADRE, [VILLAGE_A1]))

    proposed = _post(
        cadre, f"/api/v1/plans/households/{county['poor']}", {"year": YEAR}
    )
    plan = proposed.json()
    approved = _post(cadre, f"/api/v1/plans/{plan['id']}/approve", {})
    item_id = PlanItem.objects.filter(plan_id=plan["id"]).order_by("rank")[0].pk
    moved = cadre.patch(
        f"/api/v1/plans/items/{item_id}",
        data=json.dumps({"status": "in_progress"}),
        content_type="application/json",
    )
    illegal = cadre.patch(
        f"/api/v1/plans/items/{item_id}",
        data=json.dumps({"status": "planned"}),
        content_type="application/json",
    )

    assert proposed.status_code == 201
    assert [i["rank"] for i in plan["items"]] == [1, 2, 3, 4]
    assert plan["items"][0]["intervention"] == "training-ecommerce"
    assert approved.json()["status"] == "approved"
    assert moved.json()["status"] == "in_progress"
    assert illegal.status_code == 422
    assert PlanItem.objects.get(pk=item_id).status == "in_progress"


def test_a_cadre_cannot_plan_for_another_village(county) -> None:
    cadre = api_client(make_user(Role.VILLAGE_CADRE, [VILLAGE_A1]))

    response = _post(
        cadre, f"/api/v1/plans/households/{county['rich']}", {"year": YEAR}
    )

    assert response.status_code == 404
    assert SupportPlan.objects.count() == 0


def test_the_catalogue_is_listed(county) -> None:
    client = api_client(make_user(Role.VILLAGE_CADRE, [VILLAGE_A1]))

    body = client.get("/api/v1/plans/interventions").json()

    assert len(body) == 15
    own_shop = next(i for i in body if i["code"] == "ecommerce-own-shop")
    assert (own_shop["channel"], own_shop["typical_cost"]) == ("own_shop", "1500.00")
