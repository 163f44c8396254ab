"""The baked service, built once per guard, for in-process and uvicorn runs.

``build()`` calls a baked project's ``main.create_app()`` (configured from the
environment, as uvicorn would serve it) with ``main.PROTECTED``, the guard of
every protected router, swapped for the guard of one variant:

* ``open``: no guard at all, the baseline: the same routers in the same order,
  so routing costs what it costs the protected app;
* ``noop``: one no-op async dependency, the floor of any ``Depends``;
* ``hello``: the service's own ``PROTECTED``, unchanged;
* ``recipe``: the common recipe, ``HTTPBearer`` plus ``jwt.decode`` given the
  shared secret (HS256) or the whole JWKS dict.

Each app also gets ``/cpu``, after every router, so that an HTTP run can be
charged the CPU seconds its server used. The package, the variant and the
recipe's key come from ``BENCH_*`` variables so that uvicorn can build the
same apps with ``--factory bench.app:build``.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jose import JWTError, jwt

PACKAGE = "BENCH_PACKAGE"
VARIANT = "BENCH_VARIANT"
RECIPE_KEY = "BENCH_RECIPE_KEY"
RECIPE_ALG = "BENCH_RECIPE_ALG"
RECIPE_BEARER = HTTPBearer()
VARIANTS = ("open", "noop", "hello", "recipe")


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


def guard(variant: str, main: Any, settings: Any) -> list[DependsParam]:
    """What ``PROTECTED`` holds in the app of ``variant``."""
    if variant == "open":
        return []
    if variant == "noop":
        return [Depends(nothing)]
    if variant == "recipe":
        key: str | dict[str, Any] = json.loads(os.environ[RECIPE_KEY])
        return [Depends(recipe_dependency(key, os.environ[RECIPE_ALG], settings.audience, settings.issuer))]
    protected: list[DependsParam] = main.PROTECTED
    return protected


def build(variant: str | None = None) -> FastAPI:
    """The baked app named by ``BENCH_PACKAGE``, its protected routers behind the guard of ``variant``."""
    package = os.environ[PACKAGE]
    main: Any = importlib.import_module(f"{package}.main")
    settings = main.Settings()  # the mode's settings, with the login's in a login bake
    variant = variant or os.environ.get(VARIANT, "hello")
    protected = main.PROTECTED
    main.PROTECTED = guard(variant, main, settings)
    try:
        app: FastAPI = main.create_app(settings)
    finally:
        main.PROTECTED = protected
    app.add_api_route("/cpu", cpu_seconds, methods=["GET"])
    return app
