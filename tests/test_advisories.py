"""Version floors: no baked project, and not the template's own tools, can resolve a version with a fixed advisory.

pip-audit runs in the generated project's CI, not here: from these machines it cannot
reach the advisory data, and it would then report "No known vulnerabilities" unconditionally.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from .baked import TEMPLATE
from .combinations import MODES

# Advisories fixed upstream, by the first fixed version of each package we depend on directly.
FIXED_UPSTREAM = {
    "python-jose": ("3.4.0", "CVE-2024-33663 (algorithm confusion with OpenSSH ECDSA keys), CVE-2024-33664 (JWE bomb)"),
    "cryptography": ("44.0.1", "CVE-2024-12797 in the bundled OpenSSL, and CVE-2024-26130 before it"),
}


def requirements(specs: list[str]) -> dict[str, Requirement]:
    parsed = [Requirement(spec) for spec in specs]
    return {requirement.name: requirement for requirement in parsed}


def assert_floors(declared: dict[str, Requirement], where: str) -> None:
    for package, (fixed, advisories) in FIXED_UPSTREAM.items():
        requirement = declared.get(package)
        assert requirement is not None, f"{where} does not pin a floor for {package} ({advisories})"
        floors = [Version(clause.version) for clause in requirement.specifier if clause.operator in (">=", "~=", "==")]
        assert floors, f"{where}: {requirement} has no floor"
        # Clauses are and-ed, so one floor at or above the fix excludes every version before it.
        assert max(floors) >= Version(fixed), f"{where}: {requirement} admits versions before {fixed}: {advisories}"


@pytest.mark.parametrize("mode", MODES)
def test_baked_floors_exclude_advisories_fixed_upstream(baked: dict[str, Path], mode: str) -> None:
    pyproject = tomllib.loads((baked[mode] / "pyproject.toml").read_text(encoding="utf-8"))
    declared = requirements(pyproject["project"]["dependencies"])
    assert_floors(declared, f"the {mode} project")
    # Without the extra, python-jose would verify with the pure-Python ecdsa and rsa packages.
    assert "cryptography" in declared["python-jose"].extras


def test_template_tools_floors_exclude_advisories_fixed_upstream() -> None:
    pyproject = tomllib.loads((TEMPLATE / "pyproject.toml").read_text(encoding="utf-8"))
    declared = requirements(pyproject["dependency-groups"]["dev"])
    assert_floors(declared, "the template's dev group")
