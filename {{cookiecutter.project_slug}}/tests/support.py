"""Constants and types shared by the tests of every auth mode."""

from __future__ import annotations

from typing import NamedTuple

from {{ cookiecutter.package_name }}.tokens import SigningKey

ISSUER = "https://issuer.test"
AUDIENCE = "api://test"


class Signer(NamedTuple):
    """How test tokens are signed: key object, algorithm and optional ``kid``."""

    key: SigningKey
    alg: str
    kid: str | None = None
