"""The FastAPI application: open health checks, and routers behind ``has_access``.

Nothing happens at import: ``create_app()`` reads the settings and builds the
service, and uvicorn calls it (``uvicorn --factory {{ cookiecutter.package_name }}.main:create_app``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

{%- if cookiecutter.login != "none" %}

from .accounts import Accounts
{%- else %}

from .authenticator import Authenticator
{%- endif %}
from .dependency import has_access
from .docs import install_docs
{%- if cookiecutter.auth_mode == "jwks" %}
from .dpop import DpopPresentation
{%- endif %}
from .endpoints import health, hello, items, {% if cookiecutter.login == "oidc" %}login, {% endif %}me, {% if cookiecutter.login != "none" %}token, {% endif %}ws
{%- if cookiecutter.login != "none" %}
from .oauth_errors import install_oauth_errors
{%- endif %}
{%- if cookiecutter.login == "oidc" %}
from .oidc_client import OidcClient
{%- endif %}
{%- if cookiecutter.login == "password" %}
from .password_login import install_password_login
{%- endif %}
{%- if cookiecutter.login != "none" %}
from .{{ cookiecutter.login }}_settings import Settings
from .revocation import RevocationCheckingAuthenticator
{%- endif %}
{%- if cookiecutter.auth_mode == "jwks" %}
from .swagger import install_provider_login
{%- endif %}
{%- if cookiecutter.login != "none" %}
from .verifier import Verifier
{%- else %}
from .verifier import Settings, Verifier
{%- endif %}

PROTECTED = [Depends(has_access)]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; settings come from the environment and ``.env`` unless given."""
    settings = settings or Settings()
    verifier = Verifier(settings)
{%- if cookiecutter.login != "none" %}
    accounts = Accounts(settings)
{%- endif %}
{%- if cookiecutter.login == "oidc" %}
    oidc = OidcClient(settings)
{%- endif %}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await verifier.start()
{%- if cookiecutter.login != "none" %}
        await accounts.start()
{%- endif %}
{%- if cookiecutter.login == "oidc" %}
        await oidc.start()
{%- endif %}
        yield
{%- if cookiecutter.login == "oidc" %}
        await oidc.aclose()
{%- endif %}
{%- if cookiecutter.login != "none" %}
        await accounts.aclose()
{%- endif %}
        await verifier.aclose()

    # /docs and /redoc come last, from install_docs(): served from local assets, not from a CDN.
    app = FastAPI(
        title="{{ cookiecutter.project_name }}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
{%- if cookiecutter.auth_mode == "jwks" %}
    app.state.authenticator = Authenticator(settings, verifier, DpopPresentation(settings))
{%- elif cookiecutter.login != "none" %}
    app.state.accounts = accounts
    app.state.authenticator = RevocationCheckingAuthenticator(settings, verifier, accounts.revocations)
    install_oauth_errors(app, log_repeat_seconds=settings.log_repeat_seconds)
{%- if cookiecutter.login == "password" %}
    install_password_login(app, settings, accounts)
{%- endif %}
{%- else %}
    app.state.authenticator = Authenticator(settings, verifier)
{%- endif %}
{%- if cookiecutter.login == "oidc" %}
    app.state.oidc = oidc
{%- endif %}

    app.include_router(health.router)
{%- if cookiecutter.login != "none" %}
    app.include_router(token.router)
{%- endif %}
{%- if cookiecutter.login == "oidc" %}
    app.include_router(login.router)
{%- endif %}
    app.include_router(hello.router, prefix="/hello", dependencies=PROTECTED)
    app.include_router(me.router, prefix="/me", dependencies=PROTECTED)
    app.include_router(items.router, prefix="/items", dependencies=PROTECTED)
    app.include_router(ws.router, prefix="/ws", dependencies=PROTECTED)
{%- if cookiecutter.auth_mode == "jwks" %}
    install_provider_login(app, settings, verifier.jwks)
{%- endif %}
    install_docs(app)
    return app
