"""Fast tier: every mode bakes into exactly the files it should, fully rendered."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.exceptions import FailedHookException
from pytest_cookies.plugin import Cookies

from .baked import bake, load_hook
from .combinations import DEFAULT_LOGIN, LOGIN_BAKES, MODES, REFUSED, SUPPORTED, Combination, Refusal, case_id

COMMON = [
    "pyproject.toml",
    "README.md",
    ".gitignore",
    ".env.example",
    ".cookiecutter.json",
    "src/{pkg}/__init__.py",
    "src/{pkg}/py.typed",
    "src/{pkg}/main.py",
    "src/{pkg}/dependency.py",
    "src/{pkg}/docs.py",
    "src/{pkg}/authenticator.py",
    "src/{pkg}/claims.py",
    "src/{pkg}/errors.py",
    "src/{pkg}/presentation.py",
    "src/{pkg}/tokens.py",
    "src/{pkg}/settings.py",
    "src/{pkg}/log_throttle.py",
    "src/{pkg}/verifier.py",
    "src/{pkg}/endpoints/__init__.py",
    "src/{pkg}/endpoints/hello.py",
    "src/{pkg}/endpoints/me.py",
    "src/{pkg}/endpoints/items.py",
    "src/{pkg}/endpoints/health.py",
    "src/{pkg}/protocol.py",
    "tests/conftest.py",
    "tests/fixtures.py",
    "tests/support.py",
    "tests/test_access.py",
    "tests/test_protocol.py",
    "tests/test_routes.py",
    "tests/test_docs.py",
]
ONLY_IN = {
    "hs256": ["src/{pkg}/mint.py", "tests/test_mint.py", "tests/test_hs256.py"],
    "jwks": [
        "src/{pkg}/dpop.py",
        "src/{pkg}/jwks_cache.py",
        "src/{pkg}/swagger.py",
        "src/{pkg}/route_scopes.py",
        "tests/idp.py",
        "tests/test_jwks.py",
        "tests/test_jwks_faults.py",
        "tests/test_swagger.py",
        "tests/test_swagger_login.py",
        "tests/browser.py",
        "tests/swagger_page.py",
        "tests/upstream.py",
        "tests/node/package.json",
        "tests/node/package-lock.json",
        "tests/node/provider.mjs",
    ],
    "dev": ["src/{pkg}/mint.py", "tests/test_mint.py", "tests/test_dev.py"],
}
AWKWARD_NAMES = {
    "Café Søk API!": ("cafe-sok-api", "cafe_sok_api"),
    "  spaced   out  ": ("spaced-out", "spaced_out"),
    "x": ("x", "x"),
    "My-API 2": ("my-api-2", "my_api_2"),
}
pre_gen = load_hook("pre_gen_project")
# The longest answers the hook allows: every line of code they are pasted into must still fit in 120 columns.
LONGEST_NAMES = (("Northern Region Inventory and Fulfilment Service " * 3)[:100], "在庫管理" * 12 + " API")
# Names with letters that look like ASCII ones, which ruff flags in code unless told they are meant, and others.
LOOKALIKE_NAMES = (
    "Bob\u2019s Shop \u2013 Orders",
    "\uff33\uff48\uff4f\uff50",
    "\u00a0Shop",
    "αβ Shop",
    "☰☱☲☳ " + "x" * 91,  # symbols: wider in ruff's count than in Python's East Asian widths
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 Shop",  # Persian, with the zero-width non-joiner it spells with
    "Pink \U0001fa77 Bakery",  # an emoji newer than Python 3.11's Unicode tables
    "Scotland \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Football",  # tag characters
)
LONGEST_SLUG = "northern-region-inventory-fulfil"
# Login bakes hold more (test_a_login_bake_holds_the_database_and_session_code).
WITHOUT_LOGIN = [combination for combination in SUPPORTED if combination.login == DEFAULT_LOGIN]
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{|\{%|\{#")
TAGS = "hs256|jwks|dev|none|password|oidc"
MODE_SUFFIX = re.compile(rf"\.(?:{TAGS})(?:[+,](?:{TAGS}))*(?:\.|$)")
# What every login bake holds, and what none may.
LOGIN_FILES = [
    "src/{pkg}/db.py",
    "src/{pkg}/models.py",
    "src/{pkg}/sessions.py",
    "src/{pkg}/revocation.py",
    "src/{pkg}/oauth_errors.py",
    "src/{pkg}/login_settings.py",
    "src/{pkg}/migrations/env.py",
    "src/{pkg}/migrations/versions/v0001_users_and_tokens.py",
    "src/{pkg}/users.py",
    "src/{pkg}/user_admin.py",
    "tests/test_sessions.py",
    "tests/test_users_cli.py",
]
LOGIN_WORDS = re.compile(
    r"sqlalchemy|alembic|pwdlib|argon2|DATABASE_URL|refresh.token|/logout|password_hash|revocation", re.IGNORECASE
)


def bake_ok(cookies: Cookies, **context: str) -> Path:
    result = cookies.bake(extra_context=context)
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    return Path(result.project_path)


def files_of(project: Path) -> set[str]:
    return {path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_file()}


@pytest.mark.parametrize("combination", WITHOUT_LOGIN, ids=case_id)
def test_each_combination_bakes_its_own_files_and_no_others(cookies: Cookies, combination: Combination) -> None:
    project = bake_ok(cookies, **combination.answers())
    files = files_of(project)
    expected = {name.format(pkg="jwt_service") for name in COMMON + ONLY_IN[combination.auth_mode]}
    assert expected <= files
    others = {name.format(pkg="jwt_service") for other in MODES for name in ONLY_IN[other]} - expected
    assert not others & files
    assert not [name for name in files if MODE_SUFFIX.search(Path(name).name)]
    assert not [path for path in project.rglob("*") if path.is_dir() and not any(path.iterdir())]


@pytest.mark.parametrize("combination", SUPPORTED, ids=case_id)
def test_nothing_is_left_unrendered(cookies: Cookies, combination: Combination) -> None:
    project = bake_ok(cookies, **combination.answers())
    for path in project.rglob("*"):
        assert "{{" not in path.name, path
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not LEFTOVER_JINJA.search(text), f"{path.relative_to(project)} has unrendered Jinja"


@pytest.mark.parametrize("combination", SUPPORTED, ids=case_id)
def test_data_files_parse_and_keep_the_answers(cookies: Cookies, combination: Combination) -> None:
    project = bake_ok(cookies, **combination.answers(), description='Says "hi" & more')
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == 'Says "hi" & more'
    needs_http_client = any(dep.startswith("httpx2") for dep in pyproject["project"]["dependencies"])
    assert needs_http_client is (combination.auth_mode == "jwks" or combination.login == "oidc")
    answers: dict[str, Any] = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert {key: answers[key] for key in combination.answers()} == combination.answers()
    assert not {"_output_dir", "_repo_dir", "_checkout"} & answers.keys()
    assert str(Path.home()) not in json.dumps(answers)


@pytest.mark.parametrize(("name", "names"), AWKWARD_NAMES.items())
def test_awkward_project_names_give_valid_slug_and_package(cookies: Cookies, name: str, names: tuple[str, str]) -> None:
    project = bake_ok(cookies, project_name=name)
    slug, package = names
    assert project.name == slug
    assert (project / "src" / package / "main.py").is_file()
    assert f'title="{name}"' in (project / "src" / package / "main.py").read_text(encoding="utf-8")


def assert_ruff_passes(project: Path) -> None:
    ruff = str(Path(sys.executable).parent / "ruff")
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [ruff, *command, "src", "tests"], cwd=project, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, f"ruff {' '.join(command)}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("name", LONGEST_NAMES, ids=["latin", "japanese"])
@pytest.mark.parametrize("combination", SUPPORTED, ids=case_id)
def test_the_longest_names_allowed_bake_code_that_ruff_passes(
    cookies: Cookies, combination: Combination, name: str
) -> None:
    assert (pre_gen.columns(name), len(LONGEST_SLUG)) == (100, 32)  # the limits of hooks/pre_gen_project.py
    assert_ruff_passes(bake_ok(cookies, **combination.answers(), project_name=name, project_slug=LONGEST_SLUG))


# The name is written into code in main.py in every bake, and into passwords.py in the password bake.
@pytest.mark.parametrize("name", LOOKALIKE_NAMES, ids=ascii)
@pytest.mark.parametrize("combination", [Combination(auth_mode="jwks"), Combination(login="password")], ids=case_id)
def test_names_of_awkward_characters_bake_code_that_ruff_passes(
    cookies: Cookies, combination: Combination, name: str
) -> None:
    assert_ruff_passes(bake_ok(cookies, **combination.answers(), project_name=name, project_slug=LONGEST_SLUG))


def test_hs256_writes_a_fresh_private_secret(cookies: Cookies) -> None:
    secrets = set()
    for _ in range(2):
        env = bake_ok(cookies, auth_mode="hs256") / ".env"
        line = env.read_text(encoding="utf-8").strip()
        assert line.startswith("AUTH_SECRET=")
        secrets.add(line.removeprefix("AUTH_SECRET="))
        assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert len(secrets) == 2
    assert all(len(secret) >= 43 for secret in secrets)  # 43 base64 characters carry 256 bits


def test_dev_marks_its_own_machine_as_a_developers_and_nothing_else(cookies: Cookies) -> None:
    env = bake_ok(cookies, auth_mode="dev") / ".env"
    assert env.read_text(encoding="utf-8") == "APP_ENV=development\n"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_jwks_writes_no_env_file(cookies: Cookies) -> None:
    assert not (bake_ok(cookies, auth_mode="jwks") / ".env").exists()


@pytest.mark.parametrize("refusal", REFUSED, ids=case_id)
def test_bad_answers_stop_before_anything_is_written(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], refusal: Refusal
) -> None:
    output_dir = tmp_path / "out"
    with pytest.raises(FailedHookException):
        bake(output_dir, **refusal.answers)
    error_lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR:")]
    assert len(error_lines) == 1
    assert refusal.message in error_lines[0]
    assert not output_dir.exists() or not any(output_dir.iterdir())


def test_unknown_auth_mode_is_refused_by_cookiecutter_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(f"choices are {list(MODES)}")):
        bake(tmp_path, auth_mode="rs256")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:9400", "http://localhost:8080/realms/x", "http://[::1]:9000"])
def test_loopback_http_is_allowed_for_local_testing(cookies: Cookies, url: str) -> None:
    project = bake_ok(cookies, auth_mode="jwks", jwt_issuer=url)
    assert url in (project / "src/jwt_service/settings.py").read_text(encoding="utf-8")


def test_a_bake_without_login_holds_no_login_code(cookies: Cookies) -> None:
    project = bake_ok(cookies, auth_mode="hs256", login="none")
    files = files_of(project)
    assert not {name.format(pkg="jwt_service") for name in LOGIN_FILES} & files
    assert not (project / "src/jwt_service/migrations").exists()
    for name in sorted(files - {".cookiecutter.json"}):
        text = (project / name).read_text(encoding="utf-8")
        assert not LOGIN_WORDS.search(text), f"{name} mentions {LOGIN_WORDS.search(text)}"


@pytest.mark.parametrize("login", LOGIN_BAKES)
def test_a_login_bake_holds_the_database_and_session_code(cookies: Cookies, login: str) -> None:
    project = bake_ok(cookies, auth_mode="hs256", login=login)
    files = files_of(project)
    assert {name.format(pkg="jwt_service") for name in LOGIN_FILES} <= files
    assert not [name for name in files if MODE_SUFFIX.search(Path(name).name)]
    # The failed-login counts every replica shares: a password bake's own table.
    assert ("src/jwt_service/migrations/versions/v0002_login_failures.py" in files) is (login == "password")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = " ".join(pyproject["project"]["dependencies"])
    assert all(name in dependencies for name in ("sqlalchemy", "alembic", "aiosqlite", "asyncpg"))


OIDC_FILES = [
    "src/{pkg}/oidc_settings.py",
    "src/{pkg}/oidc_client.py",
    "src/{pkg}/id_tokens.py",
    "src/{pkg}/login_transactions.py",
    "src/{pkg}/identities.py",
    "src/{pkg}/jwks_cache.py",
    "src/{pkg}/endpoints/login.py",
    "src/{pkg}/migrations/versions/v0002_oidc_login.py",
    "tests/test_login_oidc.py",
    "tests/upstream.py",
    "tests/node/package.json",
    "tests/node/package-lock.json",
    "tests/node/provider.mjs",
]


@pytest.mark.parametrize("login", ["none", "password", "oidc"])
def test_only_an_oidc_bake_holds_the_oidc_login_and_its_provider(cookies: Cookies, login: str) -> None:
    project = bake_ok(cookies, auth_mode="hs256", login=login)
    files = files_of(project)
    oidc = {name.format(pkg="jwt_service") for name in OIDC_FILES}
    assert oidc & files == (oidc if login == "oidc" else set())
    assert (project / "tests/node").exists() is (login == "oidc")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    needs_http_client = any(dep.startswith("httpx2") for dep in pyproject["project"]["dependencies"])
    assert needs_http_client is (login == "oidc")


# The browser tests of hs256 bakes: the /docs password login, and the oidc login (it drives no Swagger page).
BROWSER_FILES = {
    "none": set(),
    "password": {"tests/browser.py", "tests/swagger_page.py", "tests/test_swagger_login.py"},
    "oidc": {"tests/browser.py"},
}


@pytest.mark.parametrize("login", BROWSER_FILES)
def test_a_login_bake_holds_its_browser_test_and_selenium(cookies: Cookies, login: str) -> None:
    project = bake_ok(cookies, auth_mode="hs256", login=login)
    browser = set().union(*BROWSER_FILES.values())
    assert browser & files_of(project) == BROWSER_FILES[login]
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    has_selenium = any(dep.startswith("selenium") for dep in pyproject["dependency-groups"]["dev"])
    assert has_selenium is (login != "none")


@pytest.mark.parametrize("combination", SUPPORTED, ids=case_id)
def test_the_readme_file_map_names_every_module(cookies: Cookies, combination: Combination) -> None:
    """A newcomer finds each module of the package in the README's file map, by itself or by its folder."""
    project = bake_ok(cookies, **combination.answers())
    readme = (project / "README.md").read_text(encoding="utf-8")
    package = project / "src" / "jwt_service"

    def named(module: Path) -> bool:
        folders = [folder for folder in module.parents if folder.is_relative_to(package) and folder != package]
        return f"`{module.relative_to(project).as_posix()}`" in readme or any(
            f"`{folder.relative_to(project).as_posix()}/`" in readme for folder in folders
        )

    modules = [module for module in package.rglob("*.py") if module.name != "__init__.py"]
    unnamed = [module.relative_to(project).as_posix() for module in modules if not named(module)]
    assert modules
    assert not unnamed, f"not in the README's file map: {unnamed}"


def markdown_prose(text: str) -> list[tuple[int, str]]:
    """The numbered lines of a Markdown text outside fenced code blocks, where ``#`` starts a heading."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


@pytest.mark.parametrize("combination", SUPPORTED, ids=case_id)
def test_readme_headings_stand_on_lines_of_their_own(cookies: Cookies, combination: Combination) -> None:
    """A Jinja tag that strips one newline too many glues a heading to the text before it."""
    project = bake_ok(cookies, **combination.answers())
    lines = (project / "README.md").read_text(encoding="utf-8").splitlines()
    prose = markdown_prose("\n".join(lines))
    glued = [f"{number}: {line}" for number, line in prose if re.search(r"[^\s#]#{1,6} ", line)]
    crowded = [
        f"{number}: {line}" for number, line in prose if line.startswith("#") and number > 1 and lines[number - 2]
    ]
    assert not glued, f"headings glued to other text: {glued}"
    assert not crowded, f"headings without a blank line before them: {crowded}"
