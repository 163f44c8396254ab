"""The scopes the routes require, read from the app: what a Swagger UI login offers to ask for."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from .dependency import has_access


def required_scopes(app: FastAPI) -> dict[str, list[str]]:
    """Each scope that a route requires with ``Security(has_access, scopes=[...])``, and those routes."""
    needed_by: dict[str, list[str]] = {}
    for route in iter_route_contexts(app.routes):
        labels = [f"{verb} {route.path}" for verb in sorted(route.methods or ("WEBSOCKET",))]
        pending = [route.dependant] if hasattr(route, "dependant") else []
        while pending:
            dependant = pending.pop()
            pending.extend(dependant.dependencies)
            if dependant.call is has_access:
                scopes = [*(dependant.parent_oauth_scopes or []), *(dependant.own_oauth_scopes or [])]
                for scope in dict.fromkeys(scopes):
                    routes = needed_by.setdefault(scope, [])
                    routes.extend(label for label in labels if label not in routes)
    return needed_by
