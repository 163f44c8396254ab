"""Swagger UI login at the identity provider: /docs gets an authorization code + PKCE flow.

Only with ``AUTH_SWAGGER_CLIENT_ID`` set. The provider's endpoints come from
OIDC discovery, so the login appears in the OpenAPI document once discovery
has succeeded; until then /docs offers the plain bearer field.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

from .jwks_cache import JwksCache
from .verifier import Settings

OAUTH_SCHEME = "ProviderLogin"
BEARER_SCHEME = "BearerJWT"


def install_provider_login(app: FastAPI, settings: Settings, jwks: JwksCache) -> None:
    """Let /docs log in at the provider when a Swagger client ID is configured."""
    client_id = settings.swagger_client_id
    if not client_id:
        return
    scopes = settings.swagger_scopes
    app.swagger_ui_init_oauth = {
        "clientId": client_id,
        "usePkceWithAuthorizationCodeGrant": True,
        "scopes": " ".join(scopes),
    }
    plain_openapi = app.openapi
    with_login: dict[str, Any] = {}

    def openapi_with_login() -> dict[str, Any]:
        discovery = jwks.discovery
        if with_login or discovery is None or not discovery.authorization_endpoint or not discovery.token_endpoint:
            return with_login or plain_openapi()
        with_login.update(copy.deepcopy(plain_openapi()))
        with_login["components"]["securitySchemes"][OAUTH_SCHEME] = {
            "type": "oauth2",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": discovery.authorization_endpoint,
                    "tokenUrl": discovery.token_endpoint,
                    "scopes": {scope: scope for scope in scopes},
                }
            },
        }
        for operation in (op for path in with_login["paths"].values() for op in path.values()):
            for requirement in operation.get("security", []):
                if BEARER_SCHEME in requirement:
                    operation["security"].append({OAUTH_SCHEME: list(scopes)})
                    break
        return with_login

    app.openapi = openapi_with_login  # type: ignore[method-assign]
