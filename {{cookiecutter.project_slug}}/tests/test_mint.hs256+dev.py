"""``python -m <package>.mint`` prints tokens that the service accepts."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.mint import main
from {{ cookiecutter.package_name }}.{{ cookiecutter.__settings_module }} import Settings

from .support import AUDIENCE, ISSUER, bearer


@pytest.fixture(autouse=True)
def mint_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point ``Settings()`` at the test issuer and keep any real ``.env`` out of reach."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTH_ISSUER", ISSUER)
    monkeypatch.setenv("AUTH_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("AUTH_SECRET", "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
{%- if cookiecutter.auth_mode == "dev" %}
    monkeypatch.setenv("APP_ENV", "development")  # as .env says on a developer's machine
{%- endif %}


def test_minted_token_is_accepted_with_its_scopes(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sub", "carol", "--scope", "items:read", "--ttl", "60"]) == 0
    token = capsys.readouterr().out.strip()
    response = client.get("/items", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    with client.websocket_connect("/ws", headers={"Authorization": f"Bearer {token}"}) as socket:
        assert socket.receive_json()["hello"] == "carol"


def test_json_output_carries_token_and_claims(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--sub", "dave", "--ttl", "120"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["token_type"] == "Bearer"
    assert output["claims"]["sub"] == "dave"
    assert output["claims"]["exp"] - output["claims"]["iat"] == 120
    assert output["access_token"].count(".") == 2


def test_minted_token_is_typed_at_jwt_and_passes_a_service_that_requires_it(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--sub", "erin"]) == 0
    token = capsys.readouterr().out.strip()
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["typ"] == "at+jwt"
    with TestClient(create_app(settings.model_copy(update={"require_at_jwt": True}))) as client:
        assert client.get("/hello", params={"name": "erin"}, headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("ttl", ["0", "-5", "86401", "999999999", "soon"])
def test_bad_ttl_is_refused_with_usage_error(ttl: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--ttl", ttl])
    assert exit_info.value.code == 2
    assert "--ttl" in capsys.readouterr().err


def test_ttl_may_not_exceed_the_maximum_lifetime_the_service_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTH_MAX_TOKEN_LIFETIME", "600")
    assert main(["--ttl", "600", "--json"]) == 0
    claims = json.loads(capsys.readouterr().out)["claims"]
    assert claims["exp"] - claims["iat"] == 600
    with pytest.raises(SystemExit) as exit_info:
        main(["--ttl", "601"])
    assert exit_info.value.code == 2
    assert "argument --ttl: must be between 1 and 600 seconds (AUTH_MAX_TOKEN_LIFETIME)" in capsys.readouterr().err


def test_help_describes_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out
    assert all(option in usage for option in ("--sub", "--scope", "--ttl", "--json"))
