"""Only access tokens are access tokens, and none lives forever: typ, ID tokens and lifetimes, in every mode."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings

from .support import Mint, Signer, access_claims, bearer, signed

INVALID = 'Bearer error="invalid_token"'
ABSENT = object()  # the token has no typ at all
# RFC 9068 types, and what Entra ID, Keycloak and Cognito still send; media types ignore case.
ACCESS_TYPES = [ABSENT, "JWT", "jwt", "application/jwt", "at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt"]
OTHER_TYPES = [
    "dpop+jwt",
    "logout+jwt",
    "secevent+jwt",
    "id_token+jwt",
    "token-introspection+jwt",
    "JOSE",
    "",
    "at+jwt ",
    "application/application/at+jwt",
    None,
    1,
    ["at+jwt"],
]


# A route that needs a valid token and nothing else (in login bakes /me also needs a user).
PROTECTED = "/hello?name=x"


def typed(settings: Settings, signer: Signer, typ: object, **claims: Any) -> str:
    header = {} if typ is ABSENT else {"typ": typ}
    return signed(signer, access_claims(settings, **claims), **header)


def status(settings: Settings, *tokens: str) -> list[int]:
    """The status of a protected route for each token, from a service built with ``settings``."""
    with TestClient(create_app(settings)) as client:
        return [client.get(PROTECTED, headers=bearer(token)).status_code for token in tokens]


@pytest.mark.parametrize("typ", ACCESS_TYPES, ids=repr)
def test_access_token_types_and_untyped_tokens_are_accepted(
    client: TestClient, settings: Settings, signer: Signer, typ: object
) -> None:
    assert client.get(PROTECTED, headers=bearer(typed(settings, signer, typ))).status_code == 200


@pytest.mark.parametrize("typ", OTHER_TYPES, ids=repr)
def test_tokens_typed_as_anything_else_are_refused(
    client: TestClient, settings: Settings, signer: Signer, typ: object
) -> None:
    response = client.get(PROTECTED, headers=bearer(typed(settings, signer, typ)))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == INVALID


def test_require_at_jwt_accepts_only_at_jwt(settings: Settings, signer: Signer) -> None:
    strict = settings.model_copy(update={"require_at_jwt": True})
    at_jwt = [typed(settings, signer, typ) for typ in ("at+jwt", "application/at+jwt", "AT+JWT")]
    untyped = [typed(settings, signer, typ) for typ in (ABSENT, "JWT", "application/jwt")]
    assert status(strict, *at_jwt, *untyped) == [200] * len(at_jwt) + [401] * len(untyped)


def test_id_tokens_are_refused_even_without_an_audience_check(settings: Settings, signer: Signer) -> None:
    assert settings.id_token_claims, "at_hash and c_hash always mark an ID token"
    assert {"at_hash", "c_hash"} <= set(settings.id_token_claims)
    for audience in (settings.audience, None):
        lax = settings.model_copy(update={"audience": audience})
        id_tokens = [typed(lax, signer, "JWT", **{claim: "x"}) for claim in lax.id_token_claims]
        assert status(lax, *id_tokens) == [401] * len(id_tokens), audience
    # Without its marker the same token passes with the audience check off: the marker made the refusal.
    assert status(lax, typed(lax, signer, "JWT", audience=None)) == [200]


def test_claims_outside_the_id_token_list_are_ordinary(settings: Settings, signer: Signer) -> None:
    markers = {"at_hash": "x", "c_hash": "x", "nonce": "n-0S6_WzA2Mj"}
    lenient = settings.model_copy(update={"id_token_claims": ()})
    assert status(lenient, typed(lenient, signer, "JWT", **markers)) == [200]
    for claim, value in markers.items():
        expected = 401 if claim in settings.id_token_claims else 200
        assert status(settings, typed(settings, signer, "JWT", **{claim: value})) == [expected], claim


# Claims around the lifetime limit, from (now, limit, leeway), and the status each must get.
LIFETIMES: dict[str, tuple[Callable[[int, int, int], dict[str, Any]], int]] = {
    "exactly the limit": (lambda now, limit, leeway: {"iat": now, "exp": now + limit}, 200),
    "exp within limit plus leeway, no iat": (
        lambda now, limit, leeway: {"iat": None, "exp": now + limit + leeway - 5},
        200,
    ),
    "exp past limit plus leeway, no iat": (
        lambda now, limit, leeway: {"iat": None, "exp": now + limit + leeway + 60},
        401,
    ),
    "exp past limit plus leeway, iat now": (
        lambda now, limit, leeway: {"iat": now, "exp": now + limit + leeway + 60},
        401,
    ),
    "exp - iat over the limit, exp near": (lambda now, limit, leeway: {"iat": now - limit, "exp": now + 60}, 401),
    "iat at the epoch": (lambda now, limit, leeway: {"iat": 0, "exp": now + 60}, 401),
    "exp in ten thousand years": (lambda now, limit, leeway: {"exp": now + 10_000 * 365 * 86400}, 401),
    "exp in 2038": (lambda now, limit, leeway: {"exp": 2**31}, 401),
}


@pytest.mark.parametrize(("claims", "expected"), LIFETIMES.values(), ids=LIFETIMES)
def test_no_token_lives_longer_than_the_maximum_lifetime(
    client: TestClient,
    mint: Mint,
    settings: Settings,
    claims: Callable[[int, int, int], dict[str, Any]],
    expected: int,
) -> None:
    limit, leeway = int(settings.max_token_lifetime), int(settings.leeway_seconds)
    response = client.get(PROTECTED, headers=bearer(mint(**claims(int(time.time()), limit, leeway))))
    assert response.status_code == expected
    if expected == 401:
        assert response.headers["WWW-Authenticate"] == INVALID


def test_maximum_lifetime_is_a_setting(settings: Settings, signer: Signer) -> None:
    short = settings.model_copy(update={"max_token_lifetime": 600.0})
    now = int(time.time())
    tokens = [typed(short, signer, "JWT", iat=now, exp=now + ttl) for ttl in (600, 601, 3600)]
    assert status(short, *tokens) == [200, 401, 401]


def test_claims_spelling_a_lone_surrogate_are_refused(settings: Settings, signer: Signer) -> None:
    # JSON can escape half of a UTF-16 pair; no response could carry that string back (it is not Unicode text).
    lone = signed(signer, access_claims(settings, name="\ud800"))
    reversed_pair = signed(signer, access_claims(settings, name="\ude00\ud83d"))
    pair = signed(signer, access_claims(settings, name="\U0001f600"))  # escaped as "\ud83d\ude00": one character
    assert b"\\ud800" in base64.urlsafe_b64decode(lone.split(".")[1] + "==")  # the escape itself is sent
    assert status(settings, lone, reversed_pair, pair) == [401, 401, 200]


def test_where_access_tokens_name_their_client_a_token_naming_none_is_an_id_token(
    settings: Settings, signer: Signer
) -> None:
    # Entra ID's ID tokens from the token endpoint carry no nonce; its access tokens carry azp (v2) or appid (v1).
    marked = settings.model_copy(update={"access_token_claims": ("azp", "appid")})
    v2 = signed(signer, access_claims(marked))
    v1 = signed(signer, access_claims(marked, azp=None, appid="a-client"))
    id_token = signed(signer, access_claims(marked, azp=None))
    assert status(marked, v2, v1, id_token) == [200, 200, 401]
    assert status(settings.model_copy(update={"access_token_claims": ()}), id_token) == [200]  # empty: no rule
