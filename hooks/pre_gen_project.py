"""Validate the answers before cookiecutter writes anything.

Each check returns an error line or None; the first error is printed and the
hook exits 1, so cookiecutter removes the half-made project.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

MODES = ("hs256", "jwks", "dev")
LOGINS = ("none", "password", "oidc")
PROVIDERS = ("generic-oidc", "auth0", "entra-id", "keycloak", "cognito")
HOSTNAME = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ENTRA_MULTI_TENANT = ("organizations", "common")
COGNITO_POOL = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-\d_[A-Za-z0-9]+")
SLUG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z_][a-z0-9_]*")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Package names that would shadow a dependency or the test folder.
RESERVED_PACKAGES = {"fastapi", "jose", "pydantic", "pydantic_settings", "starlette", "tests", "uvicorn"}
SINGLE_LINE_FIELDS = ("project_name", "description", "author_name", "jwt_issuer", "jwt_audience")


def check_slug(slug: str) -> str | None:
    """The slug names the folder and the distribution: kebab-case ASCII."""
    if SLUG.fullmatch(slug):
        return None
    return f"project_slug {slug!r} must be kebab-case: lower-case letters and digits, starting with a letter"


def check_package(name: str) -> str | None:
    """The package must be importable and must not shadow anything we import."""
    if not PACKAGE.fullmatch(name) or keyword.iskeyword(name):
        return f"package_name {name!r} is not a valid Python package name (use snake_case, start with a letter)"
    if name in RESERVED_PACKAGES or name in sys.stdlib_module_names:
        return f"package_name {name!r} would shadow another module; pick another name"
    return None


def check_url(field: str, url: str) -> str | None:
    """Only https is allowed, except on loopback where http helps local testing."""
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in ("http", "https"):
        return f"{field} {url!r} is not an http(s) URL"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return f"{field} {url!r} must use https (http is allowed only on 127.0.0.1, localhost and [::1])"
    if parts.username or parts.password or parts.fragment:
        return f"{field} {url!r} must not carry credentials or a #fragment"
    return None


def check_tenant(provider: str, tenant: str) -> str | None:
    """Each provider needs one thing to find its issuer; check it has the right form."""
    if provider == "generic-oidc":
        return None if not tenant else "idp_tenant is used only with a named idp_provider; leave it empty"
    if provider == "auth0" and not HOSTNAME.fullmatch(tenant):
        return f"idp_tenant {tenant!r} must be your Auth0 domain, e.g. my-tenant.eu.auth0.com"
    if provider == "entra-id" and not GUID.fullmatch(tenant) and tenant not in ENTRA_MULTI_TENANT:
        return (
            f"idp_tenant {tenant!r} must be your Entra tenant ID, a GUID like 00000000-0000-0000-0000-000000000000, "
            "or organizations or common for a multi-tenant app"
        )
    if provider == "keycloak":
        if "/realms/" not in tenant:
            return f"idp_tenant {tenant!r} must be your Keycloak realm URL, e.g. https://kc.example.com/realms/myrealm"
        return check_url("idp_tenant", tenant)
    if provider == "cognito" and not COGNITO_POOL.fullmatch(tenant):
        return f"idp_tenant {tenant!r} must be your Cognito user pool ID, e.g. eu-west-1_AbCdEf123"
    return None


def check_single_line(field: str, value: str) -> str | None:
    """Free-text answers end up in TOML and Markdown, so they stay on one line."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return f"{field} must be a single line of text without control characters"
    return None


def validate(answers: Mapping[str, str]) -> str | None:
    """Return the first problem with the answers, or None when all is well."""
    mode = answers["auth_mode"]
    if mode not in MODES:
        return f"auth_mode {mode!r} must be one of: {', '.join(MODES)}"
    login = answers.get("login", "none")
    if login not in LOGINS:
        return f"login {login!r} must be one of: {', '.join(LOGINS)}"
    if login != "none" and mode != "hs256":
        return f"login={login} issues the service's own HS256 tokens: it needs auth_mode=hs256, not {mode}"
    if not answers["project_name"].strip():
        return "project_name must not be empty"
    if any(ch in answers["project_name"] for ch in '"\\'):
        return "project_name must not contain a double quote or a backslash"
    for field in SINGLE_LINE_FIELDS:
        if error := check_single_line(field, answers[field]):
            return error
    if error := check_slug(answers["project_slug"]) or check_package(answers["package_name"]):
        return error
    issuer, jwks_url = answers["jwt_issuer"].strip(), answers["jwks_url"].strip()
    if not answers["jwt_audience"].strip():
        return "jwt_audience must not be empty: every token is checked against it"
    provider = answers.get("idp_provider", "generic-oidc")
    if provider not in PROVIDERS:
        return f"idp_provider {provider!r} must be one of: {', '.join(PROVIDERS)}"
    if mode != "jwks" and provider != "generic-oidc":
        return f"idp_provider is used only in jwks mode; keep generic-oidc for {mode}"
    if error := check_tenant(provider, answers.get("idp_tenant", "").strip()):
        return error
    if mode == "jwks":
        if not issuer and not jwks_url:
            return "jwks mode needs jwt_issuer (for OIDC discovery) or jwks_url"
        if jwks_url and (error := check_url("jwks_url", jwks_url)):
            return error
        if issuer and (error := check_url("jwt_issuer", issuer)):
            return error
    elif jwks_url:
        return f"jwks_url is used only in jwks mode; leave it empty for {mode}"
    elif "://" in issuer and (error := check_url("jwt_issuer", issuer)):
        return error
    return None


def main() -> int:
    answers = json.loads(r"""{{ cookiecutter | tojson }}""")
    error = validate(answers)
    if error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
