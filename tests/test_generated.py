"""Slow tier: each baked project installs, and passes its own linters, type checks and tests."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from .baked import clean_env, run
from .combinations import SLOW_BAKES

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", SLOW_BAKES)
def test_baked_project_builds_and_its_dependencies_are_declared(baked: dict[str, Path], mode: str) -> None:
    project = baked[mode]
    run(project, sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", ".")
    assert version(f"svc-{mode}") == "0.1.0"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    for spec in pyproject["project"]["dependencies"] + pyproject["dependency-groups"]["dev"]:
        requirement = Requirement(spec)
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            pytest.fail(f"{requirement.name} is declared by the {mode} project but not installable here")
        assert requirement.specifier.contains(installed, prereleases=True), (requirement, installed)


@pytest.mark.parametrize("mode", SLOW_BAKES)
def test_ruff_is_clean(baked: dict[str, Path], mode: str) -> None:
    run(baked[mode], sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    run(baked[mode], sys.executable, "-m", "ruff", "format", "--check", "--no-cache", ".")


@pytest.mark.parametrize("mode", SLOW_BAKES)
def test_mypy_strict_is_clean(baked: dict[str, Path], mode: str) -> None:
    output = run(baked[mode], sys.executable, "-m", "mypy", "--strict", "--no-incremental")
    assert output.startswith("Success: no issues found")


@pytest.mark.parametrize("mode", SLOW_BAKES)
def test_own_test_suite_passes(baked: dict[str, Path], mode: str) -> None:
    output = run(baked[mode], sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", env=clean_env())
    summary = output.strip().splitlines()[-1]
    # pytest adds "(h:mm:ss)" to a run over 100 s.
    assert re.fullmatch(r"\d+ passed in [\d.]+s(?: \(\d+:\d\d:\d\d\))?", summary), summary
