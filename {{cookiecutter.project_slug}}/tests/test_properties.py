"""Property tests: whatever arrives as a bearer token, the answer is a clean 401, never an exception or a 500.

Hypothesis throws random ``Authorization`` headers, random token-shaped strings,
tokens of random JSON and mutations of a valid token at the app in process; only
a correctly signed token with good claims may get 200. The test client re-raises
any exception from the app, so "never an exception" is checked with the status.
"""

from __future__ import annotations

import base64
import json
import string
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.errors import InvalidTokenError

from .fixtures import SIGNATURES_CHECKED
from .support import Mint

# One client serves every example of a test: it holds no state that an example could leak to the next.
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
REFUSALS = {"Bearer", 'Bearer error="invalid_token"'}
BASE64URL = string.ascii_letters + string.digits + "-_"
# Printable ASCII and look-alikes of what a token is made of: NBSP, one-dot leader, fullwidth stop,
# Cyrillic "e", zero-width space, BOM, right-to-left override. An explicit alphabet keeps Hypothesis fast.
TRICKY = string.printable + "\u00a0\u2024\uff0e\u0435\u200b\ufeff\u202e\u00e9"

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(alphabet=TRICKY, max_size=12)
json_values = (
    scalars | st.lists(scalars, max_size=3) | st.dictionaries(st.text(TRICKY, max_size=6), scalars, max_size=3)
)
registered_claims = st.dictionaries(
    st.sampled_from(["sub", "iss", "aud", "exp", "nbf", "iat", "scope", "kid", "alg", "crit"]),
    json_values,
    max_size=6,
)


# Member names that collide, and some whose JSON spelling holds an escaped quote before a colon.
member_names = st.sampled_from(["sub", "exp", "a", 'q":', '\\":', "x y"])
member_values = st.integers() | st.text(alphabet=TRICKY, max_size=8) | st.dictionaries(member_names, st.integers())
json_space = st.sampled_from(["", " ", "\t", "\n", "\r\n"])
members = st.lists(st.tuples(member_names, json_space, json_space, member_values), max_size=6)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def assert_refused(client: TestClient, authorization: bytes) -> None:
    response = client.get("/me", headers={b"Authorization": authorization})
    assert response.status_code == 401, (authorization, response.status_code, response.text)
    assert response.headers["WWW-Authenticate"] in REFUSALS


@PROPERTY
@given(value=st.binary(max_size=300) | st.binary(max_size=300).map(lambda tail: b"Bearer " + tail))
def test_any_authorization_header_value_is_refused(client: TestClient, value: bytes) -> None:
    assert_refused(client, value)


@PROPERTY
@given(
    token=st.text(alphabet=BASE64URL + ".=+/ \t", max_size=400)
    | st.lists(st.text(alphabet=BASE64URL, min_size=1, max_size=120), min_size=3, max_size=3).map(".".join)
    | st.text(alphabet=TRICKY, max_size=200)
)
def test_any_token_string_is_refused(client: TestClient, token: str) -> None:
    assert_refused(client, f"Bearer {token}".encode())


@PROPERTY
@given(header=registered_claims, claims=registered_claims, signature=st.binary(max_size=80))
def test_tokens_of_random_json_are_refused(
    client: TestClient, header: dict[str, Any], claims: dict[str, Any], signature: bytes
) -> None:
    parts = (json.dumps(header).encode(), json.dumps(claims).encode(), signature)
    assert_refused(client, b"Bearer " + ".".join(b64(part) for part in parts).encode())


@PROPERTY
@given(claims=registered_claims)
def test_signed_tokens_with_random_claim_values_never_raise(
    client: TestClient, mint: Mint, claims: dict[str, Any]
) -> None:
    response = client.get("/hello?name=X", headers={"Authorization": f"Bearer {mint(**claims)}"})
    assert response.status_code in {200, 401}, response.text
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@PROPERTY
@given(members=members)
def test_claims_with_a_duplicate_member_are_refused_and_others_read_as_json(
    members: list[tuple[str, str, str, Any]],
) -> None:
    body = ",".join(f"{json.dumps(name)}{before}:{after}{json.dumps(value)}" for name, before, after, value in members)
    text = "{" + body + "}"
    token = ".".join((b64(b'{"alg":"HS256"}'), b64(text.encode()), b64(b"signature")))
    names = [name for name, *_ in members]
    if len(set(names)) < len(names):
        with pytest.raises(InvalidTokenError, match="malformed_claims"):
            tokens.parse(token, max_bytes=4096, algorithms={"HS256"})
    else:
        assert tokens.parse(token, max_bytes=4096, algorithms={"HS256"}).claims == json.loads(text)


def well_formed(app: FastAPI, token: str) -> bool:
    """Shape, spelling, JSON and header are good: what dev mode asks of a token besides its claims."""
    authenticator = app.state.authenticator
    limit = authenticator.settings.max_token_bytes
    try:
        tokens.parse(token, max_bytes=limit, algorithms=authenticator.verifier.algorithms)
    except InvalidTokenError:
        return False
    return True


@PROPERTY
@given(data=st.data())
def test_mutated_valid_tokens_are_refused(app: FastAPI, client: TestClient, mint: Mint, data: st.DataObject) -> None:
    token = mint()
    position = data.draw(st.integers(0, len(token)), label="position")
    edit = data.draw(st.sampled_from(["replace", "insert", "delete", "truncate"]), label="edit")
    char = data.draw(st.sampled_from(BASE64URL + ".=+/ "), label="char")
    mutated = {
        "replace": token[:position] + char + token[position + 1 :],
        "insert": token[:position] + char + token[position:],
        "delete": token[:position] + token[position + 1 :],
        "truncate": token[:position],
    }[edit]
    response = client.get("/hello?name=X", headers={"Authorization": f"Bearer {mutated}"})
    if mutated == token:
        assert response.status_code == 200
    elif SIGNATURES_CHECKED or not well_formed(app, mutated):
        assert response.status_code == 401, (mutated, response.text)
        assert response.headers["WWW-Authenticate"] in REFUSALS
    else:  # dev mode, and still a well-formed token: its claims decide
        assert response.status_code in {200, 401}
