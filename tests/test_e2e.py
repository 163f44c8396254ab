"""End to end: each baked service under uvicorn on 127.0.0.1, called over real HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from jose import jwt

from .baked import AUDIENCE, clean_env, container_command, mint, serve
from .provider import Provider, generate_key

pytestmark = pytest.mark.slow
INVALID = 'Bearer error="invalid_token"'


def check_contract(base_url: str, good: str, scoped: str, forged: str) -> None:
    """The endpoint and error contract every mode must honour."""
    with httpx2.Client(base_url=base_url, timeout=10) as client:
        assert client.get("/health").status_code == 200
        hello = client.get("/hello", params={"name": "X"}, headers={"Authorization": f"Bearer {good}"})
        assert (hello.status_code, hello.json()) == (200, "Hi X")

        missing = client.get("/hello", params={"name": "X"})
        assert (missing.status_code, missing.headers["WWW-Authenticate"]) == (401, "Bearer")

        bad = client.get("/hello", params={"name": "X"}, headers={"Authorization": f"Bearer {forged}"})
        assert (bad.status_code, bad.headers["WWW-Authenticate"]) == (401, INVALID)

        me = client.get("/me", headers={"Authorization": f"Bearer {good}"}).json()
        assert me["sub"] == "alice"

        denied = client.get("/items", headers={"Authorization": f"Bearer {good}"})
        assert denied.status_code == 403
        assert 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]
        assert client.get("/items", headers={"Authorization": f"Bearer {scoped}"}).status_code == 200


def test_hs256_service_with_its_generated_secret(baked: dict[str, Path]) -> None:
    project = baked["hs256"]
    good = mint(project, "svc_hs256", "--sub", "alice")
    scoped = mint(project, "svc_hs256", "--sub", "alice", "--scope", "items:read")
    header, claims, signature = good.split(".")
    forged = f"{header}.{claims}.{signature[::-1]}"
    with serve(project, "svc_hs256", clean_env()) as base_url:
        check_contract(base_url, good, scoped, forged)


@pytest.fixture
def provider() -> Iterator[Provider]:
    with Provider({"rsa-1": generate_key("RS256"), "ec-1": generate_key("ES256")}) as running:
        yield running


def test_jwks_service_against_a_loopback_provider(baked: dict[str, Path], provider: Provider) -> None:
    def sign(kid: str, alg: str, **extra: object) -> str:
        claims = {"sub": "alice", "iss": provider.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 300, **extra}
        return jwt.encode(claims, provider.keys[kid].to_dict(), algorithm=alg, headers={"kid": kid})

    attacker = generate_key("RS256")
    forged = jwt.encode(
        {"sub": "alice", "iss": provider.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 300},
        attacker.to_dict(),
        algorithm="RS256",
        headers={"kid": "rsa-1"},
    )
    env = clean_env(AUTH_ISSUER=provider.issuer, AUTH_AUDIENCE=AUDIENCE)
    with serve(baked["jwks"], "svc_jwks", env) as base_url:
        check_contract(base_url, sign("rsa-1", "RS256"), sign("ec-1", "ES256", scope="items:read"), forged)
        assert httpx2.get(f"{base_url}/ready").json() == {"ready": True}
    assert provider.requests["/.well-known/openid-configuration"] == 1
    assert provider.requests["/jwks"] == 1


def test_jwks_service_without_provider_answers_503_not_500(baked: dict[str, Path]) -> None:
    with Provider({}) as gone:
        issuer = gone.issuer
    env = clean_env(AUTH_ISSUER=issuer, AUTH_AUDIENCE=AUDIENCE, AUTH_HTTP_TIMEOUT_SECONDS="0.5")
    token = jwt.encode({"sub": "a", "exp": int(time.time()) + 60}, "x" * 32, algorithm="HS256")
    claims = {"sub": "a", "iss": issuer, "exp": int(time.time()) + 60}
    rsa_token = jwt.encode(claims, generate_key("RS256").to_dict(), algorithm="RS256", headers={"kid": "k"})
    with serve(baked["jwks"], "svc_jwks", env) as base_url:
        assert httpx2.get(f"{base_url}/health").status_code == 200
        assert httpx2.get(f"{base_url}/ready").status_code == 503
        assert httpx2.get(f"{base_url}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        unavailable = httpx2.get(f"{base_url}/me", headers={"Authorization": f"Bearer {rsa_token}"})
        assert unavailable.status_code == 503
        assert int(unavailable.headers["Retry-After"]) >= 1


def test_dev_service_accepts_minted_tokens_and_checks_claims(baked: dict[str, Path]) -> None:
    project = baked["dev"]
    good = mint(project, "svc_dev", "--sub", "alice")
    scoped = mint(project, "svc_dev", "--sub", "alice", "--scope", "items:read")
    expired = jwt.encode(
        {"sub": "alice", "aud": AUDIENCE, "iss": "https://auth.example.com", "exp": int(time.time()) - 3600},
        "any-key",
        algorithm="HS256",
    )
    with serve(project, "svc_dev", clean_env()) as base_url:
        check_contract(base_url, good, scoped, expired)


@pytest.mark.parametrize("app_env", ["production", "staging", None], ids=["production", "staging", "unset"])
def test_dev_service_starts_nowhere_but_on_a_developers_machine(
    baked: dict[str, Path], tmp_path: Path, app_env: str | None
) -> None:
    # The image's own command, from a folder without .env, as in the image: unset must refuse too.
    project = baked["dev"]
    command, variables = container_command(project)
    assert command[-4:] == ["--host", "0.0.0.0", "--port", "8000"]  # noqa: S104 - read, not bound
    command = [sys.executable, "-m", *command[:-4], "--host", "127.0.0.1", "--port", "0"]
    image = {name: value for name, value in variables.items() if name != "PATH"}
    env = clean_env(**image, PYTHONPATH=str(project / "src"), **({"APP_ENV": app_env} if app_env else {}))
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "runs only with APP_ENV=development" in result.stderr
