"""The baked service with the benchmark's extra routes, for in-process and uvicorn runs.

``build()`` calls a baked project's ``main.create_app()`` (configured from the
environment, as uvicorn would serve it) and adds, at benchmark time only:

* ``/twin``: the same handler as ``/hello`` with no protection, the baseline;
* ``/noop``: the same handler behind one no-op async dependency, the floor of ``Depends``;
* ``/recipe``: the same handler behind the common recipe, ``HTTPBearer`` plus
  ``jwt.decode`` given the shared secret (HS256) or the whole JWKS dict;
* ``/cpu``: the CPU seconds the serving process has used, read around each HTTP run.

The package, and the recipe's key, come from ``BENCH_*`` variables so that
uvicorn can build the same app with ``--factory bench.app:build``.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jose import JWTError, jwt

PACKAGE = "BENCH_PACKAGE"
RECIPE_KEY = "BENCH_RECIPE_KEY"
RECIPE_ALG = "BENCH_RECIPE_ALG"
RECIPE_BEARER = HTTPBearer()


async def say_hi(name: str) -> str:
    """The shape of the baked ``/hello``: one query parameter, a string back."""
    return f"Hi {name}"


async def cpu_seconds() -> float:
    """CPU time of this process, so that an HTTP run can be charged what it cost the server."""
    return time.process_time()


async def nothing() -> None:
    """A dependency that does nothing: what any ``Depends`` costs."""


def recipe_dependency(
    key: str | dict[str, Any], alg: str, audience: str | None, issuer: str | None
) -> Callable[[HTTPAuthorizationCredentials], Coroutine[Any, Any, dict[str, Any]]]:
    """The usual tutorial guard: ``HTTPBearer``, then ``jwt.decode`` with the raw key material."""

    async def decoded(credentials: Annotated[HTTPAuthorizationCredentials, Depends(RECIPE_BEARER)]) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                credentials.credentials, key, algorithms=[alg], audience=audience, issuer=issuer
            )
        except JWTError:
            raise HTTPException(status_code=401, detail="Invalid token") from None
        return claims

    return decoded


def build() -> FastAPI:
    """The baked app named by ``BENCH_PACKAGE``, with the twin, no-op and recipe routes added."""
    main = importlib.import_module(f"{os.environ[PACKAGE]}.main")
    app: FastAPI = main.create_app()
    app.add_api_route("/twin", say_hi, methods=["GET"])
    app.add_api_route("/noop", say_hi, methods=["GET"], dependencies=[Depends(nothing)])
    app.add_api_route("/cpu", cpu_seconds, methods=["GET"])
    if raw_key := os.environ.get(RECIPE_KEY):
        key: str | dict[str, Any] = json.loads(raw_key)
        settings = app.state.authenticator.settings
        guard = recipe_dependency(key, os.environ[RECIPE_ALG], settings.audience, settings.issuer)
        app.add_api_route("/recipe", say_hi, methods=["GET"], dependencies=[Depends(guard)])
    return app
