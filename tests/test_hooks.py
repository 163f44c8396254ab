"""The hooks' functions, tested directly."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

from .baked import TEMPLATE, load_hook
from .combinations import LOGINS, MODES, PRESETS, REFUSED, SUPPORTED, Combination, Refusal, case_id

pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")

GOOD = {
    "project_name": "Svc",
    "project_slug": "svc",
    "package_name": "svc",
    "description": "d",
    "author_name": "a",
    "auth_mode": "jwks",
    "jwt_issuer": "https://idp.example.com",
    "jwt_audience": "api://svc",
    "jwks_url": "",
}


@pytest.mark.parametrize(
    "url",
    ["https://idp.example.com", "http://127.0.0.1:9400/jwks", "http://localhost/x", "http://[::1]:1/"],
)
def test_secure_or_loopback_urls_pass(url: str) -> None:
    assert pre_gen.check_url("jwks_url", url) is None


@pytest.mark.parametrize(
    "url",
    ["http://idp.example.com", "http://127.0.0.2.nip.io", "ftp://x", "idp.example.com", "https://u:p@idp", "https://"],
)
def test_insecure_or_odd_urls_fail(url: str) -> None:
    assert pre_gen.check_url("jwks_url", url) is not None


def test_good_answers_validate() -> None:
    assert pre_gen.validate(GOOD) is None
    assert pre_gen.validate({**GOOD, "jwt_issuer": "", "jwks_url": "https://idp.example.com/keys"}) is None


def rendered(answers: Mapping[str, str]) -> dict[str, Any]:
    """The answers the pre-generation hook sees for ``answers``, the rest rendered as a bake renders them."""
    context = generate_context(str(TEMPLATE / "cookiecutter.json"), extra_context=dict(answers))
    return dict(prompt_for_config(context, no_input=True))


def test_questions_and_hooks_offer_the_choices_of_the_table() -> None:
    questions = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    assert tuple(questions["auth_mode"]) == MODES == pre_gen.MODES == post_gen.AXES["auth_mode"]
    assert tuple(questions["login"]) == LOGINS == pre_gen.LOGINS == post_gen.AXES["login"]
    assert tuple(questions["idp_provider"]) == PRESETS == pre_gen.PROVIDERS


@pytest.mark.parametrize("combination", SUPPORTED, ids=case_id)
def test_supported_combination_validates(combination: Combination) -> None:
    assert pre_gen.validate(rendered(combination.answers())) is None


@pytest.mark.parametrize("refusal", REFUSED, ids=case_id)
def test_refused_answers_are_refused_for_their_reason(refusal: Refusal) -> None:
    error = pre_gen.validate(rendered(refusal.answers))
    assert error is not None
    assert refusal.message in error


def test_the_cli_prints_the_error_line_first_and_writes_nothing(tmp_path: Path) -> None:
    """What the template's README shows a user who gives a wrong answer on the command line."""
    answers = ["auth_mode=jwks", "login=password"]
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path), str(TEMPLATE), *answers]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first == "ERROR: login=password issues the service's own HS256 tokens: it needs auth_mode=hs256, not jwks"
    assert first in (TEMPLATE / "README.md").read_text(encoding="utf-8")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["!!!", "", "-"])
def test_a_name_without_a_slug_gets_its_error_line_and_writes_nothing(tmp_path: Path, name: str) -> None:
    """Without a letter or digit the slug would be empty, and cookiecutter would name the output folder itself."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path), str(TEMPLATE)]
    command.append(f"project_name={name}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] in {
        f"ERROR: project_name {name!r} has no letter or digit to make project_slug from",
        "ERROR: project_name must not be empty",
    }
    assert not list(tmp_path.iterdir())


def test_a_long_name_gets_a_slug_cut_at_a_word() -> None:
    answers = rendered({"project_name": "Inventory Service " * 5})
    assert answers["project_slug"] == "inventory-service-inventory"
    assert pre_gen.validate(answers) is None


def test_columns_are_counted_as_ruff_counts_them_or_wider() -> None:
    composed = "Qu\u1ea3n l\u00fd C\u1eeda h\u00e0ng"
    decomposed = "Qua\u0309n ly\u0301 C\u01b0\u0309a ha\u0300ng"  # as macOS may spell the same name
    assert pre_gen.columns(composed) == pre_gen.columns(decomposed) == len(composed)
    assert pre_gen.columns("\u5728\u5eab") == 4  # wide
    assert pre_gen.columns("\U0001fa77") == 2  # an emoji newer than this Python's Unicode tables


def test_jwks_url_alone_is_enough_but_not_neither() -> None:
    assert pre_gen.validate({**GOOD, "jwt_issuer": "", "jwks_url": ""}) is not None


def tagged_tree(root: Path, names: list[str]) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name, encoding="utf-8")


def tree(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def test_apply_tags_keeps_the_chosen_mode_variant_only(tmp_path: Path) -> None:
    names = ["verifier.hs256.py", "verifier.jwks.py", "verifier.dev.py", "mint.hs256+dev.py", "main.py", "notes.jwks"]
    tagged_tree(tmp_path, names)
    post_gen.apply_tags(tmp_path, {"auth_mode": "dev", "login": "none"})
    assert tree(tmp_path) == ["main.py", "mint.py", "verifier.py"]
    assert (tmp_path / "verifier.py").read_text(encoding="utf-8") == "verifier.dev.py"


LOGIN_TREE = [
    "db.password+oidc.py",
    "passwords.password.py",
    "login.oidc.py",
    "me.none.py",
    "me.password+oidc.py",
    "fixtures.hs256+none.py",
    "fixtures.jwks.py",
    "fixtures.password+oidc.py",
    "migrations.password+oidc/env.py",
    "migrations.password+oidc/versions/0002_identities.oidc.py",
    "main.py",
]


@pytest.mark.parametrize(
    ("chosen", "kept"),
    [
        (
            {"auth_mode": "hs256", "login": "none"},
            ["fixtures.py", "main.py", "me.py"],
        ),
        (
            {"auth_mode": "jwks", "login": "none"},
            ["fixtures.py", "main.py", "me.py"],
        ),
        (
            {"auth_mode": "hs256", "login": "password"},
            ["db.py", "fixtures.py", "main.py", "me.py", "migrations/env.py", "passwords.py"],
        ),
        (
            {"auth_mode": "hs256", "login": "oidc"},
            [
                "db.py",
                "fixtures.py",
                "login.py",
                "main.py",
                "me.py",
                "migrations/env.py",
                "migrations/versions/0002_identities.py",
            ],
        ),
    ],
    ids=lambda value: "-".join(value.values()) if isinstance(value, dict) else "",
)
def test_apply_tags_keeps_a_file_when_every_question_its_tags_name_fits(
    tmp_path: Path, chosen: dict[str, str], kept: list[str]
) -> None:
    tagged_tree(tmp_path, LOGIN_TREE)
    post_gen.apply_tags(tmp_path, chosen)
    assert tree(tmp_path) == kept
    assert not [path for path in tmp_path.rglob("*") if post_gen.TAGGED.fullmatch(path.name)]


@pytest.mark.parametrize(
    ("chosen", "kept"),
    [
        ({"auth_mode": "jwks", "login": "none"}, True),
        ({"auth_mode": "hs256", "login": "oidc"}, True),
        ({"auth_mode": "hs256", "login": "none"}, False),
        ({"auth_mode": "hs256", "login": "password"}, False),
        ({"auth_mode": "dev", "login": "none"}, False),
    ],
)
def test_comma_separated_alternatives_keep_a_file_when_any_fits(
    tmp_path: Path, chosen: dict[str, str], kept: bool
) -> None:
    names = ["jwks_cache.jwks,oidc.py", "cache_tests.hs256+none,jwks.py", "browser.jwks,password,oidc.py"]
    tagged_tree(tmp_path, names)
    post_gen.apply_tags(tmp_path, chosen)
    assert ("jwks_cache.py" in tree(tmp_path)) is kept
    assert ("cache_tests.py" in tree(tmp_path)) is (chosen["login"] == "none" and chosen["auth_mode"] != "dev")
    # A mode and two logins as alternatives: kept for mode jwks, and for either login.
    assert ("browser.py" in tree(tmp_path)) is (chosen["auth_mode"] == "jwks" or chosen["login"] != "none")


def test_fixtures_of_a_login_bake_are_the_login_ones(tmp_path: Path) -> None:
    tagged_tree(tmp_path, LOGIN_TREE)
    post_gen.apply_tags(tmp_path, {"auth_mode": "hs256", "login": "password"})
    assert (tmp_path / "fixtures.py").read_text(encoding="utf-8") == "fixtures.password+oidc.py"
    assert (tmp_path / "me.py").read_text(encoding="utf-8") == "me.password+oidc.py"


def test_tag_names_are_unique_across_questions() -> None:
    answers = [answer for axis in post_gen.AXES.values() for answer in axis]
    assert len(answers) == len(set(answers))


@pytest.mark.parametrize("login", LOGINS)
def test_every_login_validates_with_hs256(login: str) -> None:
    assert (
        pre_gen.validate({**GOOD, "auth_mode": "hs256", "jwt_issuer": "https://auth.example.com", "login": login})
        is None
    )


def test_unknown_login_is_refused() -> None:
    assert "login" in (pre_gen.validate({**GOOD, "login": "saml"}) or "")


def test_write_secret_is_random_and_private(tmp_path: Path) -> None:
    post_gen.write_secret(tmp_path)
    first = (tmp_path / ".env").read_text(encoding="utf-8")
    post_gen.write_secret(tmp_path)
    assert (tmp_path / ".env").read_text(encoding="utf-8") != first
    assert ((tmp_path / ".env").stat().st_mode & 0o777) == 0o600


def test_write_secret_gives_each_name_its_own_secret(tmp_path: Path) -> None:
    post_gen.write_secret(tmp_path, ("AUTH_SECRET", "POSTGRES_PASSWORD"))
    lines = (tmp_path / ".env").read_text(encoding="utf-8").splitlines()
    names, values = zip(*(line.split("=", 1) for line in lines), strict=True)
    assert names == ("AUTH_SECRET", "POSTGRES_PASSWORD")
    assert len(set(values)) == 2
    assert all(len(value) >= 64 for value in values)


def test_write_local_env_marks_the_machine_as_a_developers_and_is_private(tmp_path: Path) -> None:
    post_gen.write_local_env(tmp_path)
    assert (tmp_path / ".env").read_text(encoding="utf-8") == "APP_ENV=development\n"
    assert ((tmp_path / ".env").stat().st_mode & 0o777) == 0o600


def test_write_answers_drops_machine_paths(tmp_path: Path) -> None:
    post_gen.write_answers(tmp_path, {"auth_mode": "dev", "_output_dir": "/somewhere", "_repo_dir": "/else"})
    assert json.loads((tmp_path / ".cookiecutter.json").read_text(encoding="utf-8")) == {"auth_mode": "dev"}


@pytest.mark.parametrize(
    ("template", "url"),
    [
        ("gh:acme/jwt-template", "https://github.com/acme/jwt-template.git"),
        ("gl:acme/jwt-template", "https://gitlab.com/acme/jwt-template.git"),
        ("bb:acme/jwt-template", "https://bitbucket.org/acme/jwt-template"),
        ("https://github.com/acme/jwt-template.git", "https://github.com/acme/jwt-template.git"),
        ("git+https://git.example.org/acme/tpl", "https://git.example.org/acme/tpl"),
        ("git@github.com:acme/jwt-template.git", "git@github.com:acme/jwt-template.git"),
        ("ssh://git@git.example.org/acme/tpl.git", "ssh://git@git.example.org/acme/tpl.git"),
    ],
)
def test_template_url_keeps_what_can_be_cloned_again(template: str, url: str) -> None:
    assert post_gen.template_url(template) == url


@pytest.mark.parametrize(
    "template",
    ["/home/me/templates/jwt", "../jwt-template", ".", "file:///srv/tpl", "https://example.org/tpl.zip", r"C:\tpl", ""],
)
def test_template_url_drops_local_folders_and_archives(template: str) -> None:
    assert post_gen.template_url(template) is None


def commit_in(folder: Path) -> str:
    """Make ``folder`` a git repository with one commit; return that commit."""
    identity = ["-c", "user.name=Hook Test", "-c", "user.email=hook-test@example.invalid"]
    (folder / "cookiecutter.json").write_text("{}", encoding="utf-8")
    for args in (["init", "--quiet"], ["add", "--all"], [*identity, "commit", "--quiet", "-m", "template"]):
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=folder, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_template_commit_is_read_from_the_top_of_a_clone_only(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    (clone / "sub").mkdir(parents=True)
    commit = commit_in(clone)
    assert post_gen.template_commit(str(clone)) == commit
    assert post_gen.template_commit(str(clone / "sub")) is None  # a folder inside some other repository
    assert post_gen.template_commit(str(tmp_path)) is None
    assert post_gen.template_commit("") is None


def test_cruft_state_is_written_for_a_template_baked_from_a_url(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    clone.mkdir()
    commit = commit_in(clone)
    project = tmp_path / "project"
    project.mkdir()
    context = {**GOOD, "_template": "gh:acme/jwt-template", "_repo_dir": str(clone), "_output_dir": str(tmp_path)}
    assert post_gen.write_cruft_state(project, {**context, "_checkout": "v2"}) is True
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    url = "https://github.com/acme/jwt-template.git"
    assert {key: state[key] for key in ("template", "commit", "checkout", "directory")} == {
        "template": url,
        "commit": commit,
        "checkout": "v2",
        "directory": None,
    }
    assert state["context"]["cookiecutter"] == {**GOOD, "_template": url, "_commit": commit}


def test_cruft_state_is_not_written_for_a_local_template_or_by_cruft_itself(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    clone.mkdir()
    commit = commit_in(clone)
    local = {**GOOD, "_template": str(clone), "_repo_dir": str(clone)}
    assert post_gen.write_cruft_state(tmp_path, local) is False
    by_cruft = {**GOOD, "_template": "https://github.com/acme/t.git", "_repo_dir": str(clone), "_commit": commit}
    assert post_gen.write_cruft_state(tmp_path, by_cruft) is False
    assert not (tmp_path / ".cruft.json").exists()


@pytest.mark.parametrize(("template", "kept"), [("/home/me/tpl", None), ("gh:acme/t", "https://github.com/acme/t.git")])
def test_answers_keep_the_template_only_as_a_url(tmp_path: Path, template: str, kept: str | None) -> None:
    post_gen.write_answers(tmp_path, {"auth_mode": "dev", "_template": template, "_commit": "0" * 40})
    answers = json.loads((tmp_path / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert answers == {"auth_mode": "dev", **({"_template": kept} if kept else {})}
