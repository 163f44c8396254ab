"""Secure by default: every route needs a bearer token unless it is on the open list below.

Keep this test when you add routers. A router included without
``dependencies=PROTECTED`` (or a route without ``has_access``) fails it, so
a forgotten guard fails CI instead of reaching production. The routes of a
FastAPI app mounted on the service are checked too, under the mount's path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.dependencies.models import Dependant
from fastapi.routing import RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount
from starlette.websockets import WebSocketDisconnect

from {{ cookiecutter.package_name }}.dependency import NO_AUTHENTICATOR, Claims, has_access
from {{ cookiecutter.package_name }}.main import PROTECTED

from .support import Mint, bearer

# Routes anyone may call: health checks for load balancers, and the API docs with their assets.
OPEN = frozenset({"/health", "/ready", "/docs", "/docs/oauth2-redirect", "/docs/assets", "/redoc", "/openapi.json"})
{%- if cookiecutter.login == "password" %}
OPEN |= {"/token"}  # the login endpoint: how a caller gets a token in the first place
{%- elif cookiecutter.login == "oidc" %}
OPEN |= {"/token", "/login", "/authorize"}  # the login endpoints: how a caller gets a token in the first place
{%- endif %}
PATH_PARAMETER = re.compile(r"\{[^}]+\}")


def guarded(dependant: Dependant) -> bool:
    """Whether ``has_access`` is among the dependencies, at any depth."""
    return any(sub.call is has_access or guarded(sub) for sub in dependant.dependencies)


def every_route(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, RouteContext]]:
    """Each route with its whole path: routers' routes, and those of mounted apps under the mount's path."""
    for route in iter_route_contexts(routes):
        mount = route.original_route
        if isinstance(mount, Mount) and mount.routes:
            yield from every_route(mount.routes, prefix + mount.path)
        else:
            yield prefix + (route.path or ""), route


def closed_routes(app: FastAPI) -> list[tuple[str, RouteContext]]:
    """Every route of the app and its whole path, but those on the open list."""
    return [(path, route) for path, route in every_route(app.routes) if path not in OPEN]


def unguarded(app: FastAPI) -> list[str]:
    """The paths outside the open list that a request reaches without ``has_access``."""
    return [
        path for path, route in closed_routes(app) if not hasattr(route, "dependant") or not guarded(route.dependant)
    ]


def is_websocket(route: RouteContext) -> bool:
    return route.methods is None and hasattr(route, "dependant")


def test_every_route_outside_the_open_list_requires_has_access(app: FastAPI) -> None:
    assert unguarded(app) == [], f"routes reachable without a bearer token: {unguarded(app)}"


def test_every_closed_http_route_answers_401_without_a_token(app: FastAPI, client: TestClient) -> None:
    calls = [
        (method, PATH_PARAMETER.sub("1", path))
        for path, route in closed_routes(app)
        for method in sorted(route.methods or ())
    ]
    assert calls, "the service has protected HTTP routes"
    for method, path in calls:
        response = client.request(method, path)
        assert (response.status_code, response.headers.get("WWW-Authenticate")) == (401, "Bearer"), (method, path)


def test_every_closed_websocket_refuses_a_missing_token(app: FastAPI, client: TestClient) -> None:
    paths = [PATH_PARAMETER.sub("1", path) for path, route in closed_routes(app) if is_websocket(route)]
    assert paths, "the service has a protected WebSocket"
    for path in paths:
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(path):
            pass
        assert closed.value.code == 1008, path


def test_health_checks_stay_open(client: TestClient) -> None:
    assert [client.get(path).status_code for path in ("/health", "/ready")] == [200, 200]


def mounted_app(*, guarded: bool) -> FastAPI:
    """A FastAPI app of one's own, as it would be mounted on the service: ``GET /stats``.

    Without docs: a mounted app's own ``/docs`` and ``/openapi.json`` are open routes, to be put in ``OPEN``.
    """
    sub_app = FastAPI(dependencies=PROTECTED if guarded else [], openapi_url=None)

    @sub_app.get("/stats")
    async def stats() -> dict[str, int]:
        return {"open_orders": 3}

    @sub_app.websocket("/feed")
    async def feed(websocket: WebSocket, claims: Claims) -> None:
        await websocket.accept()
        await websocket.send_text(f"hello {claims.sub}")
        await websocket.close()

    return sub_app


def test_a_mounted_app_is_checked_under_its_path(app: FastAPI) -> None:
    app.mount("/admin", mounted_app(guarded=True))
    app.mount("/reports", mounted_app(guarded=False))
    assert {"/admin/stats", "/admin/feed"} <= {path for path, _ in closed_routes(app)}
    assert unguarded(app) == ["/reports/stats"]  # its socket asks for Claims, which runs has_access


def test_a_mounted_app_that_shares_the_state_is_guarded_like_a_router(
    app: FastAPI, client: TestClient, mint: Mint
) -> None:
    sub_app = mounted_app(guarded=True)
    sub_app.state = app.state
    app.mount("/admin", sub_app)
    response = client.get("/admin/stats")
    assert (response.status_code, response.headers.get("WWW-Authenticate")) == (401, "Bearer")
    assert client.get("/admin/stats", headers=bearer("not.a.token")).status_code == 401
    assert client.get("/admin/stats", headers=bearer(mint())).json() == {"open_orders": 3}
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/admin/feed"):
        pass
    assert closed.value.code == 1008
    with client.websocket_connect("/admin/feed", headers=bearer(mint(sub="erin"))) as websocket:
        assert websocket.receive_text() == "hello erin"


def test_a_mounted_app_without_the_state_says_what_it_lacks(app: FastAPI, client: TestClient, mint: Mint) -> None:
    app.mount("/admin", mounted_app(guarded=True))
    with pytest.raises(RuntimeError) as raised:
        client.get("/admin/stats", headers=bearer(mint()))
    assert str(raised.value) == NO_AUTHENTICATOR
