"""The hooks' functions, tested directly."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from .baked import TEMPLATE


def load_hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TEMPLATE / "hooks" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_jwks_url_alone_is_enough_but_not_neither() -> None:
    assert pre_gen.validate({**GOOD, "jwt_issuer": "", "jwks_url": ""}) is not None


def test_apply_mode_keeps_the_chosen_variant_only(tmp_path: Path) -> None:
    for name in (
        "verifier.hs256.py",
        "verifier.jwks.py",
        "verifier.dev.py",
        "mint.hs256+dev.py",
        "main.py",
        "notes.jwks",
    ):
        (tmp_path / name).write_text(name, encoding="utf-8")
    post_gen.apply_mode(tmp_path, "dev")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["main.py", "mint.py", "verifier.py"]
    assert (tmp_path / "verifier.py").read_text(encoding="utf-8") == "verifier.dev.py"


def test_write_secret_is_random_and_private(tmp_path: Path) -> None:
    post_gen.write_secret(tmp_path)
    first = (tmp_path / ".env").read_text(encoding="utf-8")
    post_gen.write_secret(tmp_path)
    assert (tmp_path / ".env").read_text(encoding="utf-8") != first
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
