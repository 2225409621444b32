"""HTTP Digest (RFC 7616) and Basic authentication of the OpenRosa endpoints."""

from __future__ import annotations

import base64
import http.client
import time

import pytest
from django.test import Client

from propoor.accounts.models import Role
from propoor.accounts.services import user_set_password
from propoor.households.tests.factories import (
    TEST_PASSWORD,
    VILLAGE_A1,
    make_area_tree,
    make_user,
)
from propoor.surveys.auth import nonce_check, nonce_make, opaque, parse_auth_params
from propoor.surveys.tests.odk import (
    OdkClient,
    basic_authorization,
    challenges,
    digest_authorization,
)

pytestmark = pytest.mark.django_db

PREFLIGHT = "/openrosa/submission"


@pytest.fixture
def cadre():
    make_area_tree()
    return make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="cadre-a1")


def _challenge(client: Client, path: str = PREFLIGHT) -> dict[str, str]:
    return challenges(client.head(path))["digest"]


def test_no_credentials_get_a_digest_and_a_basic_challenge(cadre):
    # given a client that sends no credentials
    client = Client()

    # when it asks for the form list
    response = client.get("/openrosa/formList")

    # then it is asked for Digest (MD5, qop=auth) and Basic credentials, separately
    assert response.status_code == 401
    offered = [v for k, v in response.items() if k.lower() == "www-authenticate"]
    assert len(offered) == 2
    assert offered[0].startswith("Digest ")
    assert offered[1].startswith("Basic ")
    found = challenges(response)
    assert found["digest"]["realm"] == "ProPoor"
    assert found["digest"]["qop"] == "auth"
    assert found["digest"]["algorithm"] == "MD5"
    assert found["digest"]["opaque"] == opaque()
    assert "stale" not in found["digest"]
    assert found["basic"]["realm"] == "ProPoor"
    assert response["X-OpenRosa-Version"] == "1.0"
    assert response["Date"].endswith(" GMT")
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert b'<message nature="error">' in response.content


def test_digest_round_trip_computed_from_the_rfc(cadre):
    # given the server's challenge
    client = Client()
    challenge = _challenge(client)

    # when the client answers it with HA1, HA2 and the response over nc/cnonce/qop
    header = digest_authorization(
        challenge,
        username="cadre-a1",
        password=TEST_PASSWORD,
        method="HEAD",
        uri=PREFLIGHT,
        nc=1,
        cnonce="0a4f113b",
    )
    response = client.head(PREFLIGHT, headers={"Authorization": header})

    # then the pre-flight passes
    assert response.status_code == 204
    assert response["X-OpenRosa-Version"] == "1.0"
    assert int(response["X-OpenRosa-Accept-Content-Length"]) >= 10 * 1024 * 1024


def test_digest_nonce_serves_the_next_requests_with_a_higher_nc(cadre):
    client = Client()
    challenge = _challenge(client)

    statuses = [
        client.head(
            PREFLIGHT,
            headers={
                "Authorization": digest_authorization(
                    challenge,
                    username="cadre-a1",
                    password=TEST_PASSWORD,
                    method="HEAD",
                    uri=PREFLIGHT,
                    nc=nc,
                )
            },
        ).status_code
        for nc in (1, 2, 3)
    ]

    assert statuses == [204, 204, 204]


def test_digest_with_a_wrong_password_is_refused(cadre):
    client = Client()
    challenge = _challenge(client)
    header = digest_authorization(
        challenge,
        username="cadre-a1",
        password="not-the-password",
        method="HEAD",
        uri=PREFLIGHT,
    )

    response = client.head(PREFLIGHT, headers={"Authorization": header})

    assert response.status_code == 401
    assert "stale" not in challenges(response)["digest"]


def test_digest_of_an_unknown_user_is_refused(cadre):
    client = Client()
    header = digest_authorization(
        _challenge(client),
        username="nobody",
        password=TEST_PASSWORD,
        method="HEAD",
        uri=PREFLIGHT,
    )

    assert client.head(PREFLIGHT, headers={"Authorization": header}).status_code == 401


def test_digest_of_an_inactive_user_is_refused(cadre):
    cadre.is_active = False
    cadre.save(update_fields=["is_active"])
    client = Client()
    header = digest_authorization(
        _challenge(client),
        username="cadre-a1",
        password=TEST_PASSWORD,
        method="HEAD",
        uri=PREFLIGHT,
    )

    assert client.head(PREFLIGHT, headers={"Authorization": header}).status_code == 401


def test_digest_follows_a_password_change(cadre):
    # given the password was changed
    user_set_password(actor=cadre, user=cadre, password="a-new-long-password")
    client = Client()
    challenge = _challenge(client)

    def head(password: str) -> int:
        header = digest_authorization(
            challenge,
            username="cadre-a1",
            password=password,
            method="HEAD",
            uri=PREFLIGHT,
        )
        return client.head(PREFLIGHT, headers={"Authorization": header}).status_code

    # then the new one works and the old one does not
    assert head("a-new-long-password") == 204
    assert head(TEST_PASSWORD) == 401


def test_digest_with_an_expired_nonce_is_answered_stale(cadre):
    # given a nonce this server issued an hour ago
    client = Client()
    old = {**_challenge(client), "nonce": nonce_make(now=time.time() - 3600)}
    header = digest_authorization(
        old, username="cadre-a1", password=TEST_PASSWORD, method="HEAD", uri=PREFLIGHT
    )

    # when the client answers with it (and the right password)
    response = client.head(PREFLIGHT, headers={"Authorization": header})

    # then it is told the nonce is stale, with a fresh one to retry with
    assert response.status_code == 401
    fresh = challenges(response)["digest"]
    assert fresh["stale"] == "true"
    assert fresh["nonce"] != old["nonce"]
    retry = digest_authorization(
        fresh,
        username="cadre-a1",
        password=TEST_PASSWORD,
        method="HEAD",
        uri=PREFLIGHT,
    )
    assert client.head(PREFLIGHT, headers={"Authorization": retry}).status_code == 204


def test_an_expired_nonce_with_a_wrong_password_is_not_stale(cadre):
    client = Client()
    old = {**_challenge(client), "nonce": nonce_make(now=time.time() - 3600)}
    header = digest_authorization(
        old,
        username="cadre-a1",
        password="wrong-password",
        method="HEAD",
        uri=PREFLIGHT,
    )

    response = client.head(PREFLIGHT, headers={"Authorization": header})

    assert response.status_code == 401
    assert "stale" not in challenges(response)["digest"]


def test_a_nonce_the_server_never_issued_is_refused(cadre):
    client = Client()
    challenge = _challenge(client)
    stamp, salt, mac = challenge["nonce"].split("-")
    forged = {**challenge, "nonce": f"{stamp}-{'0' * len(salt)}-{mac}"}
    header = digest_authorization(
        forged,
        username="cadre-a1",
        password=TEST_PASSWORD,
        method="HEAD",
        uri=PREFLIGHT,
    )

    response = client.head(PREFLIGHT, headers={"Authorization": header})

    assert response.status_code == 401
    assert "stale" not in challenges(response)["digest"]


def test_a_digest_made_for_another_uri_or_method_is_refused(cadre):
    client = Client()
    challenge = _challenge(client)
    for method, uri in (("HEAD", "/openrosa/formList"), ("GET", PREFLIGHT)):
        header = digest_authorization(
            challenge,
            username="cadre-a1",
            password=TEST_PASSWORD,
            method=method,
            uri=uri,
        )
        response = client.head(PREFLIGHT, headers={"Authorization": header})
        assert response.status_code == 401, (method, uri)


def test_digest_without_qop_or_with_another_realm_is_refused(cadre):
    client = Client()
    challenge = _challenge(client)
    good = digest_authorization(
        challenge,
        username="cadre-a1",
        password=TEST_PASSWORD,
        method="HEAD",
        uri=PREFLIGHT,
    )
    no_qop = good.replace("qop=auth, ", "")
    other_realm = digest_authorization(
        {**challenge, "realm": "Elsewhere"},
        username="cadre-a1",
        password=TEST_PASSWORD,
        method="HEAD",
        uri=PREFLIGHT,
    )
    sess = good.replace("algorithm=MD5", "algorithm=MD5-sess")

    for header in (no_qop, other_realm, sess, "Digest garbage", "Digest "):
        response = client.head(PREFLIGHT, headers={"Authorization": header})
        assert response.status_code == 401, header


def test_digest_of_a_user_with_a_chinese_name(cadre):
    # given a user whose name is not ASCII (sent in UTF-8 by the client)
    make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="张三")
    client = OdkClient("张三", TEST_PASSWORD)

    response = client.head(PREFLIGHT)

    assert response.status_code == 204


def test_basic_with_the_users_own_password(cadre):
    client = Client()

    ok = client.head(
        PREFLIGHT,
        headers={"Authorization": basic_authorization("cadre-a1", TEST_PASSWORD)},
    )
    wrong = client.head(
        PREFLIGHT,
        headers={"Authorization": basic_authorization("cadre-a1", "wrong-password")},
    )
    garbled = client.head(PREFLIGHT, headers={"Authorization": "Basic %%%"})
    no_colon = client.head(PREFLIGHT, headers={"Authorization": "Basic Y2FkcmU="})

    assert ok.status_code == 204
    assert wrong.status_code == 401
    assert garbled.status_code == 401
    assert no_colon.status_code == 401


def test_another_scheme_or_the_session_is_not_enough(cadre):
    # given a browser session of the user, or a bearer token
    client = Client()
    client.force_login(cadre)

    session = client.head(PREFLIGHT)
    bearer = client.head(PREFLIGHT, headers={"Authorization": "Bearer abc"})

    # then the OpenRosa endpoints still ask for Digest or Basic credentials
    assert session.status_code == 401
    assert bearer.status_code == 401


def test_posts_need_no_csrf_token(cadre):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cadre)
    header = basic_authorization("cadre-a1", TEST_PASSWORD)

    response = client.post(
        PREFLIGHT,
        data=b"x",
        content_type="text/plain",
        headers={"Authorization": header},
    )

    # refused for its content type (415), not for a missing CSRF token (403)
    assert response.status_code == 415


def test_digest_with_the_rfc_7616_extended_username(cadre):
    # given a user whose name is sent as username*=UTF-8''<percent-encoded>
    make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="张三")
    client = Client()
    header = digest_authorization(
        _challenge(client),
        username="张三",
        password=TEST_PASSWORD,
        method="HEAD",
        uri=PREFLIGHT,
    ).replace('username="张三"', "username*=UTF-8''%E5%BC%A0%E4%B8%89")
    latin = header.replace("UTF-8''", "ISO-8859-1''")

    assert client.head(PREFLIGHT, headers={"Authorization": header}).status_code == 204
    assert client.head(PREFLIGHT, headers={"Authorization": latin}).status_code == 401


def test_digest_refuses_userhash_a_foreign_opaque_or_a_bad_nc(cadre):
    client = Client()
    good = digest_authorization(
        _challenge(client),
        username="cadre-a1",
        password=TEST_PASSWORD,
        method="HEAD",
        uri=PREFLIGHT,
        nc=1,
    )
    opaque_value = opaque()

    assert client.head(PREFLIGHT, headers={"Authorization": good}).status_code == 204
    for header in (
        good + ", userhash=true",
        good.replace(opaque_value, "0" * len(opaque_value)),
        good.replace("nc=00000001", "nc=1"),
    ):
        response = client.head(PREFLIGHT, headers={"Authorization": header})
        assert response.status_code == 401, header


def test_nonces_are_checked_for_their_mac_and_their_age():
    now = time.time()
    fresh = nonce_make(now=now)
    stamp, salt, mac = fresh.split("-")

    assert nonce_check(fresh, now=now + 10) == "ok"
    assert nonce_check(fresh, now=now + 3600) == "stale"
    assert nonce_check(nonce_make(now=now + 3600), now=now) == "invalid"  # future
    assert nonce_check(f"{stamp}-{salt}-{'0' * len(mac)}", now=now) == "invalid"
    assert nonce_check(f"{stamp}-{salt}", now=now) == "invalid"
    assert nonce_check(f"zz-{salt}-{mac}", now=now) == "invalid"


def test_basic_with_a_latin_1_encoded_name(cadre):
    # some clients send Basic credentials in ISO-8859-1 rather than UTF-8
    make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="café")
    token = base64.b64encode(f"café:{TEST_PASSWORD}".encode("latin-1")).decode()

    response = Client().head(PREFLIGHT, headers={"Authorization": f"Basic {token}"})

    assert response.status_code == 204


def test_auth_params_parse_quoted_strings_and_tokens():
    assert parse_auth_params('a="x, \\"y\\"", b=token ,c="" ') == {
        "a": 'x, "y"',
        "b": "token",
        "c": "",
    }
    assert parse_auth_params("a") is None
    assert parse_auth_params('a="unterminated') is None
    assert parse_auth_params("") == {}


@pytest.mark.django_db(transaction=True)
def test_over_a_real_socket_both_challenges_arrive_and_digest_works(live_server):
    # given a real HTTP server (not the test client) and a user
    make_area_tree()
    make_user(Role.VILLAGE_CADRE, [VILLAGE_A1], username="cadre-a1")
    host, port = live_server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)

    # when a client asks without credentials
    conn.request("HEAD", PREFLIGHT, headers={"X-OpenRosa-Version": "1.0"})
    first = conn.getresponse()
    first.read()

    # then the wire carries two WWW-Authenticate header lines, Digest and Basic
    offered = first.headers.get_all("WWW-Authenticate")
    assert first.status == 401
    assert [v.split(" ", 1)[0] for v in offered] == ["Digest", "Basic"]
    assert first.headers["X-OpenRosa-Version"] == "1.0"
    digest = challenges(_Headers(offered))["digest"]

    # and the Digest answer is accepted
    header = digest_authorization(
        digest,
        username="cadre-a1",
        password=TEST_PASSWORD,
        method="HEAD",
        uri=PREFLIGHT,
    )
    conn.request("HEAD", PREFLIGHT, headers={"Authorization": header})
    second = conn.getresponse()
    second.read()
    conn.close()
    assert second.status == 204
    assert int(second.headers["X-OpenRosa-Accept-Content-Length"]) > 0


class _Headers:
    """Header lines in the shape :func:`challenges` reads (``items()``)."""

    def __init__(self, values: list[str]) -> None:
        self.values = values

    def items(self) -> list[tuple[str, str]]:
        return [("WWW-Authenticate", v) for v in self.values]
