"""Validate the answers before cookiecutter writes anything.

Each check returns an error line or None; the first error is printed and the
hook exits 1, so cookiecutter removes the half-made project.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

MODES = ("hs256", "jwks", "dev")
LOGINS = ("none", "password", "oidc")
PROVIDERS = ("generic-oidc", "auth0", "entra-id", "keycloak", "cognito")
HOSTNAME = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ENTRA_MULTI_TENANT = ("organizations", "common")
KEYCLOAK_REALM = re.compile(r"/realms/[^/?#]+/?$")
COGNITO_POOL = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-\d_[A-Za-z0-9]+")
SLUG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# The longest slug (and so package name) and project name whose lines in the baked code stay within
# ruff's 120 columns: both are pasted into docstrings, imports and strings.
MAX_SLUG_LENGTH = 32
MAX_NAME_COLUMNS = 100
# Control, format (zero-width, bidirectional overrides), line and paragraph separators, private use.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs"})
# The format characters that spelling needs: the zero-width non-joiner and joiner (Persian, Indic scripts,
# emoji sequences) and the tag characters of subdivision flags (the Scottish flag).
JOINERS = frozenset({"\u200c", "\u200d", *map(chr, range(0xE0020, 0xE0080))})
# What cookiecutter.json makes the slug when the name has no letter or digit to make one from: a folder
# name cookiecutter can create (an empty slug would name the output folder itself), refused below.
NO_SLUG = "_"
PACKAGE = re.compile(r"[a-z][a-z0-9_]*")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
HOST_CHARACTERS = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")  # a name or an address; IPv6 without brackets
# Package names that would shadow a module that a bake, its tests or its tools import, or the test folder.
RESERVED_PACKAGES = {
    *("aiosqlite", "alembic", "annotated_types", "anyio", "argon2", "asyncpg", "cryptography", "ecdsa", "fastapi"),
    *("h11", "httptools", "httpx2", "hypothesis", "jose", "mypy", "pwdlib", "pyasn1", "pydantic", "pydantic_core"),
    *("pydantic_settings", "pytest", "rsa", "ruff", "selenium", "sniffio", "sqlalchemy", "starlette", "tests"),
    *("typing_extensions", "uvicorn", "uvloop", "websockets", "yaml"),
}
# Answers that end up in TOML, Markdown, .env and Python strings: one line each. The tenant comes before
# the issuer derived from it, so that an error names the answer the user gave.
SINGLE_LINE_FIELDS = (
    "project_name",
    "description",
    "author_name",
    "idp_tenant",
    "jwt_issuer",
    "jwt_audience",
    "jwks_url",
)
# Answers pasted into Python strings and .env lines as they are: no quote, backslash or comment mark,
# no whitespace around them (which a check of the stripped value would let through).
VERBATIM_FIELDS = ("idp_tenant", "jwt_issuer", "jwt_audience", "jwks_url")
NOT_VERBATIM = ('"', "\\", "#")


def columns(text: str) -> int:
    """How wide ``text`` is, as ruff counts a line, or a little wider.

    Combining marks and joiners take none; East Asian wide and fullwidth characters take two, and so do
    symbols (emoji, dingbats) and characters newer than this Python's Unicode tables, which ruff's table
    often counts as wide when Python's does not.
    """
    return sum(_width(character) for character in text)


def _width(character: str) -> int:
    category = unicodedata.category(character)
    if category in {"Mn", "Me"} or character in JOINERS or "\ufe00" <= character <= "\ufe0f":
        return 0
    if unicodedata.east_asian_width(character) in {"W", "F"} or category in {"So", "Cn"}:
        return 2
    return 1


def check_slug(slug: str) -> str | None:
    """The slug names the folder and the distribution: kebab-case ASCII."""
    if slug[:1].isdigit() and SLUG.fullmatch(f"x{slug}"):
        return f"project_slug {slug!r} must start with a letter: answer project_slug, such as x{slug}"
    if not SLUG.fullmatch(slug):
        return f"project_slug {slug!r} must be kebab-case: lower-case letters and digits, starting with a letter"
    if len(slug) > MAX_SLUG_LENGTH:
        return f"project_slug {slug!r} is {len(slug)} characters long: at most {MAX_SLUG_LENGTH}"
    return None


def check_package(name: str) -> str | None:
    """The package must be importable and must not shadow anything we import."""
    if not PACKAGE.fullmatch(name) or keyword.iskeyword(name):
        return f"package_name {name!r} is not a valid Python package name (use snake_case, start with a letter)"
    if len(name) > MAX_SLUG_LENGTH:
        return f"package_name {name!r} is {len(name)} characters long: at most {MAX_SLUG_LENGTH}"
    if name in RESERVED_PACKAGES or name in sys.stdlib_module_names:
        return f"package_name {name!r} would shadow another module; pick another name"
    return None


def check_url(field: str, url: str) -> str | None:
    """Only https is allowed, except on loopback where http helps local testing."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - read for its ValueError: a port out of range
    except ValueError:
        return f"{field} {url!r} is not a valid URL"
    if not parts.hostname or parts.scheme not in ("http", "https"):
        return f"{field} {url!r} is not an http(s) URL"
    if not (HOST_CHARACTERS.fullmatch(parts.hostname) or parts.hostname in LOOPBACK_HOSTS):
        return f"{field} {url!r} has a host name that is not one: letters, digits, dots and hyphens"
    if any(ch.isspace() for ch in url):
        return f"{field} {url!r} must not contain spaces"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return f"{field} {url!r} must use https (http is allowed only on 127.0.0.1, localhost and [::1])"
    if parts.username or parts.password or parts.fragment:
        return f"{field} {url!r} must not carry credentials or a #fragment"
    return None


def check_tenant(provider: str, tenant: str) -> str | None:
    """Each provider needs one thing to find its issuer; check it has the right form."""
    if provider == "generic-oidc":
        return None if not tenant else "idp_tenant is used only with a named idp_provider; leave it empty"
    if provider == "auth0" and not HOSTNAME.fullmatch(tenant.lower()):
        return f"idp_tenant {tenant!r} must be your Auth0 domain, e.g. my-tenant.eu.auth0.com"
    if provider == "entra-id" and not GUID.fullmatch(tenant.lower()) and tenant.lower() not in ENTRA_MULTI_TENANT:
        return (
            f"idp_tenant {tenant!r} must be your Entra tenant ID, a GUID like 00000000-0000-0000-0000-000000000000, "
            "or organizations or common for a multi-tenant app"
        )
    if provider == "keycloak":
        if not KEYCLOAK_REALM.search(tenant):
            return f"idp_tenant {tenant!r} must be your Keycloak realm URL, e.g. https://kc.example.com/realms/myrealm"
        return check_url("idp_tenant", tenant)
    if provider == "cognito" and not COGNITO_POOL.fullmatch(tenant):
        return f"idp_tenant {tenant!r} must be your Cognito user pool ID, e.g. eu-west-1_AbCdEf123"
    return None


def check_single_line(field: str, value: str) -> str | None:
    """Free-text answers end up in TOML and Markdown, so they stay on one line."""
    hidden = next((ch for ch in value if unicodedata.category(ch) in HIDDEN_CATEGORIES and ch not in JOINERS), None)
    if hidden is not None:
        return f"{field} must be a single line of text without control or invisible characters (U+{ord(hidden):04X})"
    return None


def check_verbatim(field: str, value: str) -> str | None:
    """A value written into code and .env as it is: nothing that would end or comment out its string."""
    if value != value.strip():
        return f"{field} {value!r} must not have spaces around it"
    if any(mark in value for mark in NOT_VERBATIM):
        return f"{field} {value!r} must not contain a double quote, a backslash or #"
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
    if (width := columns(answers["project_name"])) > MAX_NAME_COLUMNS:
        return f"project_name is {width} columns wide: at most {MAX_NAME_COLUMNS} (a wide character takes two)"
    if any(ch in answers["project_name"] for ch in '"\\'):
        return "project_name must not contain a double quote or a backslash"
    for field in SINGLE_LINE_FIELDS:
        if error := check_single_line(field, answers.get(field, "")):
            return error
    for field in VERBATIM_FIELDS:
        if error := check_verbatim(field, answers.get(field, "")):
            return error
    if answers["project_slug"] == NO_SLUG:
        return f"project_name {answers['project_name']!r} has no letter or digit to make project_slug from"
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
        if issuer and urlsplit(issuer).query:
            return f"jwt_issuer {issuer!r} must not have a query: an OpenID issuer has none (RFC 8414 §2)"
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
