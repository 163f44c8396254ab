"""The /docs login at the provider, as the OpenAPI document and the page describe it."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.route_scopes import required_scopes
from {{ cookiecutter.package_name }}.verifier import Settings

from .idp import Provider


def docs_of(settings: Settings, **changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI document, and the ``initOAuth`` settings of the /docs page, under ``changes``."""
    login_settings = Settings(
        _env_file=None,
        issuer=settings.issuer,
        audience=settings.audience,
        jwks_url=None,
        swagger_client_id="docs-client",
        **changes,
    )
    with TestClient(create_app(login_settings)) as client:
        spec = client.get("/openapi.json").json()
        page = client.get("/docs").text
    init_oauth = re.search(r"ui\.initOAuth\((.*)\)", page)
    return spec, json.loads(init_oauth.group(1)) if init_oauth else {}


def routes_needing(settings: Settings) -> dict[str, list[str]]:
    """The scopes this app's routes require, and the routes that need each: routes added later count too."""
    needed = required_scopes(create_app(settings))
    # The shipped /items route requires items:read, so a reading that finds no scopes fails here.
    assert needed["items:read"] == ["GET /items"]
    return needed


def test_login_uses_the_discovered_endpoints(settings: Settings, provider: Provider) -> None:
    spec, init_oauth = docs_of(settings)
    flow = spec["components"]["securitySchemes"]["ProviderLogin"]["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == f"{provider.issuer}/authorize"
    assert flow["tokenUrl"] == f"{provider.issuer}/token"
    assert init_oauth["clientId"] == "docs-client"
    assert init_oauth["usePkceWithAuthorizationCodeGrant"] is True
    assert "clientSecret" not in init_oauth


def test_scopes_default_to_openid_and_those_the_routes_require(settings: Settings) -> None:
    spec, init_oauth = docs_of(settings, swagger_scope_prefix="")
    needed = routes_needing(settings)
    scopes = spec["components"]["securitySchemes"]["ProviderLogin"]["flows"]["authorizationCode"]["scopes"]
    assert init_oauth["scopes"].split() == ["openid", *needed]
    assert scopes == {
        "openid": "sign-in (OpenID Connect)",
        **{scope: "needed by " + ", ".join(routes) for scope, routes in needed.items()},
    }


def test_each_route_lists_only_the_scopes_it_requires(settings: Settings) -> None:
    spec, _ = docs_of(settings, swagger_scopes="openid profile items:read", swagger_scope_prefix="")
    assert {"ProviderLogin": []} in spec["paths"]["/me"]["get"]["security"]
    assert {"ProviderLogin": ["items:read"]} in spec["paths"]["/items"]["get"]["security"]


def test_configured_scopes_are_asked_for_as_they_are(settings: Settings) -> None:
    spec, init_oauth = docs_of(settings, swagger_scopes="openid offline_access", swagger_scope_prefix="")
    scopes = spec["components"]["securitySchemes"]["ProviderLogin"]["flows"]["authorizationCode"]["scopes"]
    assert init_oauth["scopes"] == "openid offline_access"
    assert scopes["offline_access"] == ""
    assert scopes["items:read"] == "needed by GET /items"


def test_scope_prefix_names_the_api_in_scopes_asked_for(settings: Settings) -> None:
    spec, init_oauth = docs_of(settings, swagger_scope_prefix="api://my-api/")
    assert init_oauth["scopes"].split() == ["openid", *(f"api://my-api/{scope}" for scope in routes_needing(settings))]
    assert {"ProviderLogin": ["api://my-api/items:read"]} in spec["paths"]["/items"]["get"]["security"]


def test_audience_parameter_names_the_api_in_the_login(settings: Settings) -> None:
    _, with_parameter = docs_of(settings, swagger_audience_parameter="audience")
    _, without = docs_of(settings, swagger_audience_parameter="")
    assert with_parameter["additionalQueryStringParams"] == {"audience": settings.audience}
    assert "additionalQueryStringParams" not in without


def test_without_client_id_docs_offer_no_login(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "ProviderLogin" not in spec["components"]["securitySchemes"]
    assert "initOAuth" not in client.get("/docs").text
