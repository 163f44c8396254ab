"""The API docs, served by the service itself: Swagger UI at /docs and ReDoc at /redoc, with no CDN.

Their JavaScript and CSS come from the ``fastapi-offline`` package, of which only the asset folder is
used (its ``FastAPIOffline()`` factory drops ``swagger_ui_init_oauth``). The pages are FastAPI's own,
so the OAuth2 settings, the redirect page and a proxy's ``root_path`` work as in FastAPI's default
/docs, and the page loads offline and names no other host.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(str(files("fastapi_offline") / "static"))
DOCS_URL = "/docs"
REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs/assets"
REDOC_URL = "/redoc"
# Swagger UI's login dialog shows a client-secret field, as ****** once logged in, even for a login that
# sends no secret (a public client, or a grant that authenticates no client). Unless the page's OAuth2
# settings carry a secret, hide it, so that nobody is led to think one was sent, or to type one into a web page.
PUBLIC_CLIENT_STYLE = "<style>.auth-container .wrapper:has(> label[for^='client_secret_']) {display: none}</style>"


def install_docs(app: FastAPI) -> None:
    """Serve /docs, its OAuth2 redirect page and /redoc from local assets.

    Call it last, after every router: requests to the API's own routes then never pay to skip these.
    The app must be made with ``docs_url=None, redoc_url=None``.
    """
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        init_oauth = app.swagger_ui_init_oauth
        page = get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or ""),
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=root + REDIRECT_URL,
            init_oauth=init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
        if not (init_oauth or {}).get("clientSecret"):
            html = bytes(page.body).decode().replace("</head>", PUBLIC_CLIENT_STYLE + "</head>", 1)
            return HTMLResponse(html)
        return page

    @app.get(REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=root + (app.openapi_url or ""),
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
