"""jwks provider presets: each derives its issuer and claim mapping from its tenant, and explains itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .baked import AUDIENCE, bake, clean_env, run
from .combinations import DEFAULT_PRESET, PRESETS, SUPPORTED, TENANT_ID, Combination, case_id

NAMED = [combination for combination in SUPPORTED if combination.idp_provider != DEFAULT_PRESET]
# What each named preset derives from the tenant of combinations.TENANTS.
MAPPINGS: dict[str, dict[str, Any]] = {
    "auth0": {
        "issuer": "https://dev-abc.eu.auth0.com/",
        "scope_claims": ["scope", "permissions"],
        "swagger_audience_parameter": "audience",
    },
    "entra-id": {
        "issuer": f"https://login.microsoftonline.com/{TENANT_ID}/v2.0",
        "issuer_aliases": [f"https://sts.windows.net/{TENANT_ID}/"],
        "scope_claims": ["scp", "roles"],
        "swagger_scope_prefix": f"{AUDIENCE}/",
        # Entra ID issues ID tokens without nonce from the token endpoint; access tokens name their client.
        "access_token_claims": ["azp", "appid"],
    },
    "keycloak": {
        "issuer": "https://kc.example.com/realms/demo",
        "scope_claims": ["scope", "realm_access.roles"],
        # Keycloak up to 25 (and 26 with its compatibility mapper) puts nonce in access tokens too.
        "id_token_claims": ["at_hash", "c_hash"],
        # ID tokens from token exchange carry no at_hash; Keycloak's typ claim tells the kinds apart.
        "required_claims": ["typ=Bearer"],
    },
    "cognito": {
        "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        "audience_claim": "client_id",
        "required_claims": ["token_use=access"],
        "scope_claims": ["scope"],
    },
}
DEFAULT_MAPPING = {
    "issuer_aliases": [],
    "extra_issuers": [],
    "scope_claims": ["scope", "scp"],
    "audience_claim": "aud",
    "required_claims": [],
    "id_token_claims": ["at_hash", "c_hash", "nonce"],
    "access_token_claims": [],
    "swagger_scopes": [],
    "swagger_scope_prefix": "",
    "swagger_audience_parameter": "",
}
SETTINGS_DUMP = (
    "import json, sys; from {package}.verifier import Settings; "
    "print(Settings(_env_file=None).model_dump_json(include=set(sys.argv[1:])))"
)


@pytest.fixture(scope="module")
def presets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("presets")
    return {
        combination.idp_provider: bake(
            root / combination.id, project_name=f"Idp {combination.id}", jwt_audience=AUDIENCE, **combination.answers()
        )
        for combination in NAMED
    }


def package_of(project: Path) -> str:
    return next(path.name for path in (project / "src").iterdir() if path.is_dir())


def test_every_named_preset_is_baked_and_checked() -> None:
    named = sorted(set(PRESETS) - {DEFAULT_PRESET})
    assert sorted(MAPPINGS) == sorted(combination.idp_provider for combination in NAMED) == named


@pytest.mark.parametrize("provider", MAPPINGS)
def test_preset_derives_issuer_and_claim_mapping(presets: dict[str, Path], provider: str) -> None:
    project = presets[provider]
    expected = {**DEFAULT_MAPPING, **MAPPINGS[provider]}
    script = SETTINGS_DUMP.format(package=package_of(project))
    output = run(project, sys.executable, "-c", script, *expected, env=clean_env(PYTHONPATH="src"))
    assert json.loads(output) == expected


@pytest.mark.parametrize("provider", MAPPINGS)
def test_readme_explains_the_chosen_provider_only(presets: dict[str, Path], provider: str) -> None:
    readme = (presets[provider] / "README.md").read_text(encoding="utf-8")
    assert f"## Using {provider}" in readme
    assert not [other for other in MAPPINGS if other != provider and f"## Using {other}" in readme]


@pytest.mark.parametrize(
    ("provider", "tenant"),
    [("entra-id", TENANT_ID.upper()), ("auth0", "Dev-ABC.EU.auth0.com")],
)
def test_a_tenant_written_in_capitals_gives_the_issuer_providers_write(
    tmp_path: Path, provider: str, tenant: str
) -> None:
    # GUIDs and host names ignore case; the issuer in tokens is written in lower case.
    project = bake(tmp_path, auth_mode="jwks", idp_provider=provider, idp_tenant=tenant, jwt_audience=AUDIENCE)
    expected = {name: MAPPINGS[provider][name] for name in ("issuer", "issuer_aliases") if name in MAPPINGS[provider]}
    script = SETTINGS_DUMP.format(package=package_of(project))
    output = run(project, sys.executable, "-c", script, *expected, env=clean_env(PYTHONPATH="src"))
    assert json.loads(output) == expected


@pytest.mark.parametrize("tenant", ["organizations", "common", "Common"])
def test_entra_multi_tenant_takes_the_common_keys_and_no_tenant_until_allowed(tmp_path: Path, tenant: str) -> None:
    project = bake(tmp_path, auth_mode="jwks", idp_provider="entra-id", idp_tenant=tenant, jwt_audience=AUDIENCE)
    script = SETTINGS_DUMP.format(package=package_of(project))
    fields = ["issuer", "jwks_url", "issuer_aliases", "allowed_tenants"]
    output = run(project, sys.executable, "-c", script, *fields, env=clean_env(PYTHONPATH="src"))
    assert json.loads(output) == {
        "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
        "jwks_url": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
        "issuer_aliases": [],
        "allowed_tenants": [],
    }
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "AUTH_ALLOWED_TENANTS" in readme


@pytest.mark.parametrize("combination", SUPPORTED, ids=case_id)
def test_env_example_configures_the_same_service(tmp_path: Path, combination: Combination) -> None:
    """Copied to .env, the example gives the baked defaults (and, in hs256, a refusal of its placeholder)."""
    project = bake(tmp_path, jwt_audience=AUDIENCE, **combination.answers())
    package = package_of(project)
    fields = [
        "issuer",
        "issuer_aliases",
        "extra_issuers",
        "audience",
        "audience_claim",
        "required_claims",
        "scope_claims",
        "id_token_claims",
        "max_token_lifetime",
        "require_at_jwt",
    ]
    if combination.auth_mode == "jwks":
        fields += ["swagger_scopes", "swagger_scope_prefix", "swagger_audience_parameter"]
    script = SETTINGS_DUMP.format(package=package)
    # The defaults, on a developer's machine (dev mode starts nowhere else; the other modes ignore APP_ENV).
    machine = clean_env(PYTHONPATH="src", AUTH_SECRET="x" * 43, APP_ENV="development")
    defaults = run(project, sys.executable, "-c", script, *fields, env=machine)
    (project / ".env").write_text((project / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")

    def from_example(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script.replace("_env_file=None", ""), *fields],
            cwd=project,
            env=clean_env(PYTHONPATH="src", **env),
            capture_output=True,
            text=True,
            check=False,
        )

    if combination.auth_mode == "hs256":
        refused = from_example()
        assert refused.returncode != 0
        assert "AUTH_SECRET is a placeholder" in refused.stderr
    # Every other line of the example, hs256's included once its secret is a real one, gives the defaults.
    read = from_example(AUTH_SECRET="x" * 43) if combination.auth_mode == "hs256" else from_example()
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout) == json.loads(defaults)
