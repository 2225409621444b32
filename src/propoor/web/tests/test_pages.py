from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from propoor.households.models import Member, PlanItem
from propoor.households.tests.factories import (
    COUNTY,
    TEST_PASSWORD,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
)
from propoor.web.templatetags.propoor import cny
from propoor.web.tests.data import County, build_county

pytestmark = pytest.mark.django_db

# An 18-character resident ID number in clear: 17 digits and a check character.
CLEAR_ID = re.compile(r"(?<![0-9*])[1-9][0-9]{16}[0-9Xx](?![0-9*])")
MASKED_ID = re.compile(r"\b[0-9]{4}\*{10}[0-9]{3}[0-9X]\b")


@pytest.fixture
def county() -> County:
    return build_county()


def _client(user, language: str = "en") -> Client:  # type: ignore[no-untyped-def]
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _pages(county: County) -> list[str]:
    return [
        reverse("web:dashboard"),
        reverse("web:household_list"),
        reverse("web:household_detail", args=[county.poor.pk]),
        reverse("web:household_detail", args=[county.deprived.pk]),
        reverse("web:village_list"),
        reverse("web:village_detail", args=[VILLAGE_A1]),
    ]


# --- access ---------------------------------------------------------------------------


def test_every_page_renders_for_a_county_admin(county: County) -> None:
    client = _client(county.admin)

    for url in _pages(county):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"county-admin" in response.content


def test_anonymous_users_are_sent_to_the_login_page(county: County) -> None:
    client = Client()

    for url in _pages(county):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{reverse('web:login')}?next={url}"


def test_the_login_page_logs_in_and_goes_to_the_dashboard(county: County) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.get(reverse("web:login")).status_code == 200

    response = client.post(
        reverse("web:login"),
        {"username": "county-admin", "password": TEST_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("web:dashboard")
    assert client.get(reverse("web:dashboard")).status_code == 200


def test_a_wrong_password_is_refused_with_a_message(county: County) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")

    response = client.post(
        reverse("web:login"), {"username": "county-admin", "password": "wrong"}
    )

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_takes_a_post_and_ends_the_session(county: County) -> None:
    client = _client(county.admin)

    response = client.post(reverse("web:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("web:login")
    assert client.get(reverse("web:dashboard")).status_code == 302


def test_a_village_cadre_gets_404_for_another_villages_household(
    county: County,
) -> None:
    client = _client(county.cadre_a1)
    elsewhere = next(h for h in county.others if h.village_id == VILLAGE_B1)

    response = client.get(reverse("web:household_detail", args=[elsewhere.pk]))

    assert response.status_code == 404
    assert elsewhere.head_name.encode() not in response.content


def test_a_village_cadre_sees_their_own_villages_household(county: County) -> None:
    client = _client(county.cadre_a1)

    response = client.get(reverse("web:household_detail", args=[county.poor.pk]))

    assert response.status_code == 200
    assert "张三" in response.content.decode()


def test_a_village_cadre_gets_404_for_another_village(county: County) -> None:
    client = _client(county.cadre_a1)

    other = client.get(reverse("web:village_detail", args=[VILLAGE_B1]))
    own = client.get(reverse("web:village_detail", args=[VILLAGE_A1]))

    assert other.status_code == 404
    assert own.status_code == 200


def test_a_village_cadre_cannot_open_the_dashboard_of_another_area(
    county: County,
) -> None:
    client = _client(county.cadre_a1)

    response = client.get(reverse("web:dashboard"), {"area": VILLAGE_B1})

    assert response.status_code == 404


def test_a_buyer_may_not_read_the_registry(county: County) -> None:
    from propoor.households.tests.factories import make_user

    buyer = make_user("buyer", [COUNTY], username="a-buyer")
    client = _client(buyer)

    assert client.get(reverse("web:dashboard")).status_code == 403
    assert client.get(reverse("web:household_list")).status_code == 403
    assert client.get(reverse("web:village_list")).status_code == 403
    assert client.get(reverse("web:village_detail", args=[VILLAGE_A1])).status_code == (
        403
    )


def test_a_households_own_login_lands_on_its_own_page(county: County) -> None:
    from propoor.households.tests.factories import make_user

    own = make_user("household", [VILLAGE_A1], "zhang-san", household=county.poor)
    client = _client(own)

    response = client.get(reverse("web:dashboard"))

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "web:household_detail", args=[county.poor.pk]
    )
    assert client.get(response["Location"]).status_code == 200
    other = reverse("web:household_detail", args=[county.deprived.pk])
    assert client.get(other).status_code == 404


def test_an_unknown_household_is_404(county: County) -> None:
    client = _client(county.admin)

    assert client.get(reverse("web:household_detail", args=[999999])).status_code == 404


# --- the dashboard --------------------------------------------------------------------


def _charts(response) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    match = re.search(
        r'<script id="dashboard-charts" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match is not None
    return json.loads(match.group(1))


def test_the_dashboard_shows_headline_numbers_and_charts(county: County) -> None:
    client = _client(county.admin)

    response = client.get(reverse("web:dashboard"))

    board = response.context["board"]
    assert board.year == 2020
    assert board.standard == "cn-national"
    assert board.mpi_standard == "global-mpi"
    # 张三, 李四, 赵六 (unsafe house), 周九 are poor; 王五, 钱七, 孙八 are not.
    assert (board.headline.households, board.headline.assessed) == (7, 7)
    assert board.headline.poor == 4
    assert board.headline.exited == 1
    html = response.content.decode()
    assert 'data-stat="incidence">57.1%<' in html
    charts = _charts(response)
    assert set(charts) == {
        "townships",
        "villages",
        "causes",
        "contributions",
        "statuses",
        "plan",
    }
    townships = charts["townships"]["option"]
    assert townships["yAxis"]["data"] == ["Huguo", "Daguan"]
    # Huguo: 张三, 李四, 赵六 poor of 5; Daguan: 周九 of 2.
    incidence = townships["series"][0]["data"]
    assert [(d["value"], d["label"]["formatter"]) for d in incidence] == [
        (60.0, "60.0%"),
        (50.0, "50.0%"),
    ]
    m0 = townships["series"][1]["data"]
    assert [d["label"]["formatter"] for d in m0] == ["0.122", "0.306"]
    villages = charts["villages"]["option"]
    assert villages["yAxis"]["data"] == ["Village A1", "Village A2", "Village B1"]
    assert villages["codes"] == [VILLAGE_A1, VILLAGE_A2, VILLAGE_B1]
    plan = charts["plan"]["option"]["series"][0]["data"]
    assert [(d["name"], d["value"]) for d in plan] == [
        ("Planned", 3),
        ("In progress", 1),
        ("Done", 1),
    ]


def test_the_dashboard_drills_down_to_a_township(county: County) -> None:
    client = _client(county.admin)

    response = client.get(reverse("web:dashboard"), {"area": "530102002000"})

    board = response.context["board"]
    assert board.area.name_en == "Daguan"
    assert [v.code for v in board.villages] == [VILLAGE_B1]
    assert board.headline.households == 2


def test_the_dashboard_ignores_a_malformed_area(county: County) -> None:
    client = _client(county.admin)

    response = client.get(reverse("web:dashboard"), {"area": "53'; drop", "year": "x"})

    assert response.status_code == 200
    assert response.context["board"].headline.households == 7


# --- the household list ---------------------------------------------------------------


def _numbers(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.number for h in response.context["search"].page.object_list]


def test_the_household_list_filters_by_village(county: County) -> None:
    client = _client(county.admin)

    response = client.get(reverse("web:household_list"), {"village": VILLAGE_A2})

    assert response.status_code == 200
    assert {h.village_id for h in response.context["search"].page} == {VILLAGE_A2}
    assert response.context["search"].total == 2


def test_the_household_list_filters_by_status_category_cause_and_poverty(
    county: County,
) -> None:
    client = _client(county.admin)
    url = reverse("web:household_list")

    assert _numbers(client.get(url, {"status": "exited"})) == [
        county.comfortable.number
    ]
    assert client.get(url, {"category": "dibao"}).context["search"].total == 0
    assert client.get(url, {"cause": "lack_land"}).context["search"].total == 1
    # lack_skills is 李四's main cause and every default household's second cause.
    assert client.get(url, {"cause": "disability"}).context["search"].total == 1
    # The official standard's verdict (the global MPI disagrees for 张三, 赵六).
    poor = client.get(url, {"poor": "yes"}).context["search"]
    assert sorted(h.head_name for h in poor.page) == ["周九", "张三", "李四", "赵六"]
    not_poor = client.get(url, {"poor": "no"}).context["search"]
    assert sorted(h.head_name for h in not_poor.page) == ["孙八", "王五", "钱七"]


def test_the_household_list_searches_names_and_numbers(county: County) -> None:
    client = _client(county.admin)
    url = reverse("web:household_list")

    assert _numbers(client.get(url, {"q": "李四"})) == [county.deprived.number]
    assert _numbers(client.get(url, {"q": county.poor.number})) == [county.poor.number]


def test_an_invalid_filter_is_reported_and_dropped(county: County) -> None:
    client = _client(county.admin)

    response = client.get(reverse("web:household_list"), {"status": "rich"})

    assert response.status_code == 200
    assert response.context["search"].total == 7
    assert b"Select a valid choice" in response.content


def test_the_household_list_paginates(county: County) -> None:
    client = _client(county.admin)
    url = reverse("web:household_list")

    first = client.get(url, {"page": "1"}).context["search"]

    assert first.total == 7
    assert first.page.paginator.num_pages == 1
    assert client.get(url, {"page": "99"}).status_code == 200


def test_htmx_requests_get_only_the_results(county: County) -> None:
    client = _client(county.admin)

    response = client.get(
        reverse("web:household_list"),
        {"village": VILLAGE_A1},
        HTTP_HX_REQUEST="true",
        HTTP_HX_REQUEST_TYPE="partial",
    )

    html = response.content.decode()
    assert "<html" not in html
    assert 'id="filters"' not in html
    assert "张三" in html
    assert "赵六" not in html
    assert "HX-Request" in response["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(county: County) -> None:
    client = _client(county.admin)

    response = client.get(
        reverse("web:household_list"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )

    assert "<html" in response.content.decode()


def test_a_village_cadre_lists_only_their_village(county: County) -> None:
    client = _client(county.cadre_a1)

    search = client.get(reverse("web:household_list")).context["search"]

    assert {h.village_id for h in search.page} == {VILLAGE_A1}
    assert [g.villages[0].code for g in search.village_groups] == [VILLAGE_A1]


# --- the household page ---------------------------------------------------------------


def test_the_household_page_explains_the_result_indicator_by_indicator(
    county: County,
) -> None:
    client = _client(county.admin)

    response = client.get(reverse("web:household_detail", args=[county.deprived.pk]))

    html = response.content.decode()
    official, mpi = response.context["report"].explanations
    assert official.standard_name == "cn-national"
    assert official.poor is True
    assert official.agrees is True
    # (2000 + 1500 + 1200 - 800) / 4 = 975 < 4000
    assert official.income.per_capita_income == 975
    assert "¥975.00 against a line of ¥4,000.00" in html
    failed = {g.name for g in official.guarantees if not g.ok}
    assert failed == {"education", "housing", "water"}
    assert official.failed_conditions == (
        "income",
        "education",
        "housing",
        "water",
    )
    assert 'data-condition="housing">Safe housing guaranteed<' in html
    assert mpi.standard_name == "global-mpi"
    assert mpi.mpi is not None
    lines = {line.name: line for line in mpi.mpi.indicators}
    assert len(lines) == 10
    assert lines["years_of_schooling"].value == 3
    assert lines["years_of_schooling"].cut_off == "< 6"
    assert lines["years_of_schooling"].deprived is True
    assert str(lines["years_of_schooling"].weight) == "1/6"
    assert lines["nutrition"].deprived is False
    # schooling 1/6 + attendance 1/6 + 5 living standards x 1/18 (not electricity)
    assert str(mpi.mpi.score) == "11/18"
    assert lines["electricity"].deprived is False
    assert 'data-indicator="years_of_schooling" data-deprived="yes"' in html
    assert "No member has six years of schooling" in html


def test_the_household_page_shows_members_plan_snapshots_and_history(
    county: County,
) -> None:
    client = _client(county.admin)

    response = client.get(reverse("web:household_detail", args=[county.poor.pk]))

    html = response.content.decode()
    assert len(MASKED_ID.findall(html)) == 2
    items = PlanItem.objects.filter(plan__household=county.poor).select_related(
        "intervention"
    )
    assert items.count() == 5
    for item in items:
        assert item.intervention.name_en in html
        assert cny(item.budget) in html
    assert "Plan for 2020 · approved 20" in html
    assert "2020-11-15" in html  # surveyed on, ISO-ish in English
    assert "¥3,900.00" in html  # net income 2000 + 1500 + 1200 - 800
    assert "Registered" in html
    assert "In a support plan" in html


def test_a_household_never_identified_says_so(county: County) -> None:
    from propoor.households.tests.factories import make_household

    fresh = make_household(village_code=VILLAGE_A2, year=None, head_name="新户")
    client = _client(county.admin)

    response = client.get(reverse("web:household_detail", args=[fresh.pk]))

    assert response.status_code == 200
    assert b"This household has not been identified yet." in response.content


# --- villages -------------------------------------------------------------------------


def test_the_village_page_shows_profile_resources_and_households(
    county: County,
) -> None:
    client = _client(county.admin)

    response = client.get(reverse("web:village_detail", args=[VILLAGE_A1]))

    html = response.content.decode()
    report = response.context["report"]
    assert report.households == 3
    assert [(s.status, s.households) for s in report.by_status] == [
        ("identified", 1),
        ("in_plan", 1),
        ("exited", 1),
    ]
    assert (report.poverty.assessed, report.poverty.poor) == (3, 2)
    assert 'data-stat="incidence">66.7%<' in html
    assert "exits below 3.0%" in html  # Yunnan is western
    assert "柑橘、核桃" in html
    assert "Mountain" in html
    assert "38.5 km" in html


def test_the_village_list_counts_households(county: County) -> None:
    client = _client(county.admin)

    overview = client.get(reverse("web:village_list")).context["overview"]

    assert [(v.village.code, v.households, v.poor) for v in overview] == [
        (VILLAGE_A1, 3, 2),
        (VILLAGE_A2, 2, 1),
        (VILLAGE_B1, 2, 1),
    ]


# --- language and formats -------------------------------------------------------------


def test_pages_are_in_chinese_by_default(county: County, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LANGUAGE_CODE = "zh-hans"  # the test settings use English
    client = Client()
    client.force_login(county.admin)

    html = client.get(reverse("web:dashboard")).content.decode()

    assert '<html lang="zh-CN">' in html
    assert "贫困发生率" in html
    assert "县级管理员" in html


def test_the_language_switch_changes_the_language(county: County) -> None:
    client = _client(county.admin, language="zh-hans")
    url = reverse("web:household_detail", args=[county.poor.pk])

    response = client.post(reverse("set_language"), {"language": "en", "next": url})

    assert response.status_code == 302
    assert response["Location"] == url
    html = client.get(url).content.decode()
    assert '<html lang="en">' in html
    assert "Latest identification" in html
    client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    html = client.get(url).content.decode()
    assert "最近一次识别" in html
    assert "2020年11月15日" in html


def test_choice_labels_are_translated(county: County) -> None:
    client = _client(county.admin, language="zh-hans")

    html = client.get(
        reverse("web:household_detail", args=[county.deprived.pk])
    ).content.decode()

    assert "户主" in html  # Relation.HEAD
    assert "缺技术" in html  # Cause.LACK_SKILLS
    assert "已识别为贫困户" in html  # Status.IDENTIFIED
    assert "Lack of skills" not in html


def test_no_page_shows_an_id_number_in_clear(county: County) -> None:
    numbers = {m.id_masked for m in Member.objects.all()}
    assert all(MASKED_ID.fullmatch(n) for n in numbers)

    for language in ("en", "zh-hans"):
        client = _client(county.admin, language=language)
        for url in [*_pages(county), f"{reverse('web:household_list')}?q=1"]:
            html = client.get(url).content.decode()
            assert CLEAR_ID.findall(html) == [], url


def test_money_dates_and_percentages_are_formatted_for_china() -> None:
    from datetime import date
    from decimal import Decimal
    from fractions import Fraction

    from django.utils import translation

    from propoor.web.templatetags import propoor as f

    assert f.cny(Decimal("12345.6")) == "¥12,345.60"
    assert f.cny(None) == "—"
    assert f.pct(Fraction(4, 7)) == "57.1%"
    assert f.pct(Fraction(1, 3)) == "33.3%"
    assert f.pct(None) == "—"
    assert f.dec(Fraction(1, 3), 3) == "0.333"
    assert f.num(12345) == "12,345"
    with translation.override("zh-hans"):
        assert f.localdate(date(2026, 11, 29)) == "2026年11月29日"
    with translation.override("en"):
        assert f.localdate(date(2026, 11, 29)) == "2026-11-29"
