"""jwks provider presets: each derives its issuer and claim mapping, and its project passes its own checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.exceptions import FailedHookException

from .baked import AUDIENCE, bake, clean_env, run

TENANT_ID = "6f1c2d3e-1111-2222-3333-444455556666"
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "auth0": (
        "dev-abc.eu.auth0.com",
        {
            "issuer": "https://dev-abc.eu.auth0.com/",
            "scope_claims": ["scope", "permissions"],
            "swagger_audience_parameter": "audience",
        },
    ),
    "entra-id": (
        TENANT_ID,
        {
            "issuer": f"https://login.microsoftonline.com/{TENANT_ID}/v2.0",
            "issuer_aliases": [f"https://sts.windows.net/{TENANT_ID}/"],
            "scope_claims": ["scp", "roles"],
            "swagger_scope_prefix": f"{AUDIENCE}/",
        },
    ),
    "keycloak": (
        "https://kc.example.com/realms/demo",
        {
            "issuer": "https://kc.example.com/realms/demo",
            "scope_claims": ["scope", "realm_access.roles"],
            # Keycloak up to 25 (and 26 with its compatibility mapper) puts nonce in access tokens too.
            "id_token_claims": ["at_hash", "c_hash"],
        },
    ),
    "cognito": (
        "eu-west-1_AbCdEf123",
        {
            "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
            "audience_claim": "client_id",
            "required_claims": ["token_use=access"],
        },
    ),
}
DEFAULT_MAPPING = {
    "issuer_aliases": [],
    "extra_issuers": [],
    "scope_claims": ["scope", "scp"],
    "audience_claim": "aud",
    "required_claims": [],
    "id_token_claims": ["at_hash", "c_hash", "nonce"],
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
        provider: bake(
            root / provider,
            project_name=f"Idp {provider}",
            auth_mode="jwks",
            idp_provider=provider,
            idp_tenant=tenant,
            jwt_audience=AUDIENCE,
        )
        for provider, (tenant, _) in PRESETS.items()
    }


def package_of(project: Path) -> str:
    return next(path.name for path in (project / "src").iterdir() if path.is_dir())


@pytest.mark.parametrize("provider", PRESETS)
def test_preset_derives_issuer_and_claim_mapping(presets: dict[str, Path], provider: str) -> None:
    project = presets[provider]
    expected = {**DEFAULT_MAPPING, **PRESETS[provider][1]}
    script = SETTINGS_DUMP.format(package=package_of(project))
    output = run(project, sys.executable, "-c", script, *expected, env=clean_env(PYTHONPATH="src"))
    assert json.loads(output) == expected


@pytest.mark.parametrize("provider", PRESETS)
def test_readme_explains_the_chosen_provider_only(presets: dict[str, Path], provider: str) -> None:
    readme = (presets[provider] / "README.md").read_text(encoding="utf-8")
    assert f"## Using {provider}" in readme
    assert not [other for other in PRESETS if other != provider and f"## Using {other}" in readme]


@pytest.mark.parametrize("tenant", ["organizations", "common"])
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


@pytest.mark.parametrize(
    ("provider", "tenant", "message"),
    [
        ("auth0", "", "Auth0 domain"),
        ("auth0", "https://dev-abc.eu.auth0.com", "Auth0 domain"),
        ("entra-id", "contoso.onmicrosoft.com", "tenant ID"),
        ("entra-id", "consumers", "tenant ID"),
        ("keycloak", "https://kc.example.com/auth", "realm URL"),
        ("keycloak", "http://kc.example.com/realms/x", "https"),
        ("cognito", "AbCdEf123", "user pool ID"),
        ("generic-oidc", "something", "leave it empty"),
    ],
)
def test_bad_tenant_stops_generation(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], provider: str, tenant: str, message: str
) -> None:
    with pytest.raises(FailedHookException):
        bake(tmp_path / "out", auth_mode="jwks", idp_provider=provider, idp_tenant=tenant)
    assert message in capfd.readouterr().err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_provider_outside_jwks_mode_is_refused(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(FailedHookException):
        bake(tmp_path / "out", auth_mode="hs256", idp_provider="auth0", idp_tenant="dev-abc.eu.auth0.com")
    assert "only in jwks mode" in capfd.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("provider", PRESETS)
def test_preset_project_passes_its_own_checks(presets: dict[str, Path], provider: str) -> None:
    project = presets[provider]
    run(project, sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    run(project, sys.executable, "-m", "ruff", "format", "--check", "--no-cache", ".")
    assert run(project, sys.executable, "-m", "mypy", "--no-incremental").startswith("Success")
    summary = run(project, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider").strip().splitlines()[-1]
    assert " passed in " in summary
    assert "failed" not in summary
    assert "skipped" not in summary


@pytest.mark.parametrize(
    ("mode", "provider"), [("hs256", None), ("dev", None), ("jwks", None), *[("jwks", p) for p in PRESETS]]
)
def test_env_example_configures_the_same_service(tmp_path: Path, mode: str, provider: str | None) -> None:
    """Copied to .env, the example gives the baked defaults (and, in hs256, a refusal of its placeholder)."""
    answers = {"auth_mode": mode, "jwt_audience": AUDIENCE}
    if provider:
        answers.update(idp_provider=provider, idp_tenant=PRESETS[provider][0])
    project = bake(tmp_path, **answers)
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
    if mode == "jwks":
        fields += ["swagger_scopes", "swagger_scope_prefix", "swagger_audience_parameter"]
    script = SETTINGS_DUMP.format(package=package)
    defaults = run(
        project, sys.executable, "-c", script, *fields, env=clean_env(PYTHONPATH="src", AUTH_SECRET="x" * 43)
    )
    (project / ".env").write_text((project / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    from_example = subprocess.run(
        [sys.executable, "-c", script.replace("_env_file=None", ""), *fields],
        cwd=project,
        env=clean_env(PYTHONPATH="src"),
        capture_output=True,
        text=True,
        check=False,
    )
    if mode == "hs256":
        assert from_example.returncode != 0
        assert "AUTH_SECRET is a placeholder" in from_example.stderr
    else:
        assert from_example.returncode == 0, from_example.stderr
        assert json.loads(from_example.stdout) == json.loads(defaults)
