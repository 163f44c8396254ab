"""Secure by default: every route needs a bearer token unless it is on the open list below.

Keep this test when you add routers. A router included without
``dependencies=PROTECTED`` (or a route without ``has_access``) fails it, so
a forgotten guard fails CI instead of reaching production.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from {{ cookiecutter.package_name }}.dependency import has_access

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


def closed_routes(app: FastAPI) -> list[RouteContext]:
    """Every route of the app, routers' routes included, that is not on the open list."""
    return [route for route in iter_route_contexts(app.routes) if route.path not in OPEN]


def is_websocket(route: RouteContext) -> bool:
    return route.methods is None and hasattr(route, "dependant")


def test_every_route_outside_the_open_list_requires_has_access(app: FastAPI) -> None:
    unguarded = [
        route.path for route in closed_routes(app) if not hasattr(route, "dependant") or not guarded(route.dependant)
    ]
    assert unguarded == [], f"routes reachable without a bearer token: {unguarded}"


def test_every_closed_http_route_answers_401_without_a_token(app: FastAPI, client: TestClient) -> None:
    calls = [
        (method, PATH_PARAMETER.sub("1", route.path or ""))
        for route in closed_routes(app)
        for method in sorted(route.methods or ())
    ]
    assert calls, "the service has protected HTTP routes"
    for method, path in calls:
        response = client.request(method, path)
        assert (response.status_code, response.headers.get("WWW-Authenticate")) == (401, "Bearer"), (method, path)


def test_every_closed_websocket_refuses_a_missing_token(app: FastAPI, client: TestClient) -> None:
    paths = [PATH_PARAMETER.sub("1", route.path or "") for route in closed_routes(app) if is_websocket(route)]
    assert paths, "the service has a protected WebSocket"
    for path in paths:
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(path):
            pass
        assert closed.value.code == 1008, path


def test_health_checks_stay_open(client: TestClient) -> None:
    assert [client.get(path).status_code for path in ("/health", "/ready")] == [200, 200]
