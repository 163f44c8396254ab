"""Swagger UI login at the identity provider: /docs gets an authorization code + PKCE flow.

Only with ``AUTH_SWAGGER_CLIENT_ID`` set: a public client (no secret) at the provider. The
provider's endpoints come from OIDC discovery, so the login appears in the OpenAPI document once
discovery has succeeded; until then /docs offers the plain bearer field. The login asks for
``AUTH_SWAGGER_SCOPES``, by default ``openid`` and every scope a route requires, and each route's
lock lists the scopes that route requires, no others.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

from .jwks_cache import JwksCache
from .route_scopes import required_scopes
from .verifier import Settings

OAUTH_SCHEME = "ProviderLogin"
BEARER_SCHEME = "BearerJWT"
OPENID = "openid"
HOW_TO_REGISTER = (
    "Logs in at the provider as the public client `{client_id}` (authorization code + PKCE). Register"
    " this page's address followed by `/oauth2-redirect` as a redirect URI of that client, exactly"
    " (scheme, host, port and path), and this page's origin as an allowed web origin (CORS)."
)


def install_provider_login(app: FastAPI, settings: Settings, jwks: JwksCache) -> None:
    """Let /docs log in at the provider when a Swagger client ID is configured; call it after the routers."""
    client_id = settings.swagger_client_id
    if not client_id:
        return
    prefix = settings.swagger_scope_prefix
    needed_by = {prefix + scope: routes for scope, routes in required_scopes(app).items()}
    asked = settings.swagger_scopes or (OPENID, *needed_by)
    # Described by the routes that need them, so that no scope is listed as its own description.
    scopes = dict.fromkeys(asked, "") | {scope: "needed by " + ", ".join(r) for scope, r in needed_by.items()}
    if OPENID in scopes:
        scopes[OPENID] = "sign-in (OpenID Connect)"
    app.swagger_ui_init_oauth = {
        "clientId": client_id,
        "usePkceWithAuthorizationCodeGrant": True,
        "scopes": " ".join(asked),
    }
    if settings.swagger_audience_parameter and settings.audience:
        # Auth0 issues a JWT for our API only when the login names it (a token for /userinfo otherwise).
        app.swagger_ui_init_oauth["additionalQueryStringParams"] = {
            settings.swagger_audience_parameter: settings.audience
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
            "description": HOW_TO_REGISTER.format(client_id=client_id),
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": discovery.authorization_endpoint,
                    "tokenUrl": discovery.token_endpoint,
                    "scopes": scopes,
                }
            },
        }
        for operation in (op for path in with_login["paths"].values() for op in path.values()):
            for requirement in operation.get("security", []):
                if BEARER_SCHEME in requirement:
                    operation["security"].append({OAUTH_SCHEME: [prefix + s for s in requirement[BEARER_SCHEME]]})
                    break
        return with_login

    app.openapi = openapi_with_login  # type: ignore[method-assign]
