"""Slow tier: each baked project builds, and the template's venv holds what it declares.

Its own linters, type checks and tests run in a fresh clone, in tests/test_as_cloned.py.
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from .baked import run
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
