"""Scaling out as the baked README tells it: each uvicorn worker keeps its own keys, fetched once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2
import pytest
from jose import jwt

from .baked import AUDIENCE, clean_env, serve
from .provider import Provider, generate_key

pytestmark = pytest.mark.slow
WORKERS = 2


def test_jwks_fetches_grow_with_workers_not_with_traffic(baked: dict[str, Path]) -> None:
    with Provider({"rsa-1": generate_key("RS256")}) as provider:
        key = provider.keys["rsa-1"].to_dict()
        claims = {"sub": "alice", "iss": provider.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 300}
        tokens = [
            jwt.encode({**claims, "jti": str(n)}, key, algorithm="RS256", headers={"kid": "rsa-1"}) for n in range(40)
        ]
        env = clean_env(AUTH_ISSUER=provider.issuer, AUTH_AUDIENCE=AUDIENCE)
        target = ("--factory", "svc_jwks.main:create_app", "--workers", str(WORKERS))
        with serve(baked["jwks"], "svc_jwks", env, target=target) as base_url:
            deadline = time.monotonic() + 60
            while provider.requests["/jwks"] < WORKERS and time.monotonic() < deadline:
                time.sleep(0.05)  # waiting for both workers to start, not timing them
            assert provider.requests["/jwks"] == WORKERS
            for token in tokens:  # a fresh connection each time, so both workers get some
                response = httpx2.get(
                    f"{base_url}/hello", params={"name": "X"}, headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 200
        assert provider.requests["/.well-known/openid-configuration"] == WORKERS
        assert provider.requests["/jwks"] == WORKERS
