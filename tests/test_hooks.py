"""The hooks' functions, tested directly."""

from __future__ import annotations

import importlib.util
import json
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
    for name in ("keys.hs256.py", "keys.jwks.py", "keys.dev.py", "mint.hs256+dev.py", "main.py", "notes.jwks"):
        (tmp_path / name).write_text(name, encoding="utf-8")
    post_gen.apply_mode(tmp_path, "dev")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keys.py", "main.py", "mint.py"]
    assert (tmp_path / "keys.py").read_text(encoding="utf-8") == "keys.dev.py"


def test_write_secret_is_random_and_private(tmp_path: Path) -> None:
    post_gen.write_secret(tmp_path)
    first = (tmp_path / ".env").read_text(encoding="utf-8")
    post_gen.write_secret(tmp_path)
    assert (tmp_path / ".env").read_text(encoding="utf-8") != first
    assert ((tmp_path / ".env").stat().st_mode & 0o777) == 0o600


def test_write_answers_drops_machine_paths(tmp_path: Path) -> None:
    post_gen.write_answers(tmp_path, {"auth_mode": "dev", "_output_dir": "/somewhere", "_repo_dir": "/else"})
    assert json.loads((tmp_path / ".cookiecutter.json").read_text(encoding="utf-8")) == {"auth_mode": "dev"}
