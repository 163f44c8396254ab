"""The API docs are served by the service itself: they load offline and name no other host."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.docs import ASSETS_URL, DOCS_URL, REDIRECT_URL, REDOC_URL

# What a page loads: <script src>, <link href>, and the OpenAPI document named in its script.
LOADS = re.compile(r"""(?:src|href)="([^"]*)"|url: '([^']*)'|spec-url="([^"]*)\"""")


def loads(page: str) -> list[str]:
    return [next(filter(None, groups)) for groups in LOADS.findall(page)]


@pytest.mark.parametrize("path", [DOCS_URL, REDOC_URL])
def test_docs_pages_load_only_from_the_service(client: TestClient, path: str) -> None:
    page = client.get(path)
    urls = loads(page.text)
    assert page.status_code == 200
    assert "://" not in page.text
    assert any(url.startswith(ASSETS_URL) and url.endswith(".js") for url in urls), urls
    for url in urls:
        assert url.startswith("/"), url
        response = client.get(url)
        assert (response.status_code, len(response.content) > 0) == (200, True), url


def test_assets_are_revalidated_not_downloaded_again(client: TestClient) -> None:
    first = client.get(f"{ASSETS_URL}/swagger-ui-bundle.js")
    again = client.get(f"{ASSETS_URL}/swagger-ui-bundle.js", headers={"If-None-Match": first.headers["ETag"]})
    assert first.headers["Content-Type"].startswith(("text/javascript", "application/javascript"))
    assert again.status_code == 304


def test_unknown_assets_are_not_found(client: TestClient) -> None:
    assert client.get(f"{ASSETS_URL}/nope.js").status_code == 404
    assert client.get(f"{ASSETS_URL}/../main.py").status_code == 404


def test_oauth2_redirect_page_is_served(client: TestClient) -> None:
    page = client.get(REDIRECT_URL)
    assert page.status_code == 200
    assert "oauth2" in page.text


def test_behind_a_proxy_prefix_the_pages_name_prefixed_urls(app: FastAPI) -> None:
    with TestClient(app, root_path="/api") as client:
        page = client.get(DOCS_URL).text
    assert f"/api{ASSETS_URL}/swagger-ui-bundle.js" in page
    assert f"'/api{REDIRECT_URL}'" in page
    assert all(url.startswith("/api/") for url in loads(page))


def test_docs_routes_come_after_the_api_routes(app: FastAPI) -> None:
    # Routing tries routes in order: the protected routes never pay to skip the docs.
    paths = [route.path or "" for route in iter_route_contexts(app.routes)]
    docs = [index for index, path in enumerate(paths) if path.startswith((DOCS_URL, REDOC_URL))]
    api = [index for index, path in enumerate(paths) if path.startswith(("/hello", "/me", "/items", "/ws"))]
    assert api, paths
    assert min(docs) > max(api), paths
