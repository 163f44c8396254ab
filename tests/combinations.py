"""What the template bakes and what it refuses: the one table the tests and the bench read.

Like cookiecutter-django's ``SUPPORTED_COMBINATIONS``. A new question with choices becomes a field of
``Combination`` (its default is the template's default), a rule in ``supported`` for the pairs that make
no sense, and the answers it must refuse in ``REFUSED``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields
from types import MappingProxyType

MODES = ("hs256", "jwks", "dev")
PRESETS = ("generic-oidc", "auth0", "entra-id", "keycloak", "cognito")
DEFAULT_PRESET = PRESETS[0]
LOGINS = ("none", "password", "oidc")
DEFAULT_LOGIN = LOGINS[0]
TENANT_ID = "6f1c2d3e-1111-2222-3333-444455556666"
# For each preset, an idp_tenant of the form its provider uses.
TENANTS = MappingProxyType(
    {
        "generic-oidc": "",
        "auth0": "dev-abc.eu.auth0.com",
        "entra-id": TENANT_ID,
        "keycloak": "https://kc.example.com/realms/demo",
        "cognito": "eu-west-1_AbCdEf123",
    }
)


@dataclass(frozen=True)
class Combination:
    """One set of choices the template can bake; the other answers keep their defaults."""

    auth_mode: str = MODES[0]
    idp_provider: str = DEFAULT_PRESET
    login: str = DEFAULT_LOGIN

    @property
    def id(self) -> str:
        """A short name for test ids and folders: the mode, then each choice off its default (``jwks-auth0``)."""
        default = Combination()
        choices = [
            getattr(self, field.name)
            for field in fields(self)
            if field.name != "auth_mode" and getattr(self, field.name) != getattr(default, field.name)
        ]
        return "-".join([self.auth_mode, *choices])

    def answers(self) -> dict[str, str]:
        """The cookiecutter answers that bake this combination."""
        answers = {"auth_mode": self.auth_mode}
        if self.idp_provider != DEFAULT_PRESET:
            answers.update(idp_provider=self.idp_provider, idp_tenant=TENANTS[self.idp_provider])
        if self.login != DEFAULT_LOGIN:
            answers["login"] = self.login
        return answers


def refusal_reason(combination: Combination) -> str | None:
    """Why the template refuses this combination (a fragment of its error line), or None if it bakes it.

    The checks come in the pre-generation hook's order, so the reason is the one it prints.
    """
    if combination.login != DEFAULT_LOGIN and combination.auth_mode != "hs256":
        return "auth_mode=hs256"  # a login issues the service's own HS256 tokens
    if combination.auth_mode != "jwks" and combination.idp_provider != DEFAULT_PRESET:
        return "only in jwks mode"  # provider presets configure the jwks mode
    return None


EVERY = tuple(itertools.starmap(Combination, itertools.product(MODES, PRESETS, LOGINS)))
SUPPORTED = tuple(combination for combination in EVERY if refusal_reason(combination) is None)
# The slow tier's shared bakes (the ``baked`` fixture): each mode without login, and each login bake.
LOGIN_BAKES = tuple(login for login in LOGINS if login != DEFAULT_LOGIN)
SLOW_BAKES = (*MODES, *LOGIN_BAKES)


@dataclass(frozen=True)
class Refusal:
    """Answers the pre-generation hook refuses, and a fragment of the one line it prints."""

    answers: dict[str, str]
    message: str

    @property
    def id(self) -> str:
        return ",".join(f"{key}={value!r}" for key, value in self.answers.items())


REFUSED = (
    *(Refusal(combination.answers(), reason) for combination in EVERY if (reason := refusal_reason(combination))),
    Refusal({"project_name": "   "}, "project_name"),
    Refusal({"project_slug": "Bad_Slug"}, "project_slug"),
    Refusal({"package_name": "2fast"}, "package_name"),
    Refusal({"package_name": "class"}, "package_name"),
    Refusal({"package_name": "fastapi"}, "shadow"),
    Refusal({"package_name": "json"}, "shadow"),
    Refusal({"project_name": "123"}, "project_slug"),
    Refusal(
        {"project_name": "2\u0413\u0418\u0421 \u041a\u0430\u0440\u0442\u044b"},  # Cyrillic, a digit first
        "project_slug '2gis-karty' must start with a letter: answer project_slug",
    ),
    Refusal({"project_name": "!!!"}, "no letter or digit to make project_slug from"),
    Refusal({"project_name": "N" * 101}, "project_name is 101 columns wide: at most 100"),
    Refusal({"project_name": "漢" * 51}, "project_name is 102 columns wide: at most 100 (a wide character takes two)"),
    Refusal({"project_slug": "a" * 33}, "is 33 characters long: at most 32"),
    Refusal(
        {"project_slug": "shop", "package_name": "p" * 33}, "package_name 'ppppppppppppppppppppppppppppppppp' is 33"
    ),
    Refusal({"project_name": "Shop\u202eevil"}, "without control or invisible characters (U+202E)"),
    Refusal({"project_name": "Shop\u2028x"}, "without control or invisible characters (U+2028)"),
    Refusal({"project_name": "\u2630" * 51}, "project_name is 102 columns wide"),
    Refusal({"description": "two\nlines"}, "single line"),
    Refusal({"project_name": 'Say "hi"'}, "quote"),
    Refusal({"jwt_audience": ""}, "jwt_audience"),
    Refusal({"auth_mode": "jwks", "jwt_issuer": "", "jwks_url": ""}, "jwt_issuer"),
    Refusal({"auth_mode": "jwks", "jwt_issuer": "http://idp.example.com"}, "https"),
    Refusal({"auth_mode": "jwks", "jwks_url": "ftp://idp.example.com/keys"}, "jwks_url"),
    Refusal({"auth_mode": "jwks", "jwks_url": "http://10.0.0.1/keys"}, "https"),
    Refusal({"auth_mode": "hs256", "jwks_url": "https://idp.example.com/keys"}, "only in jwks mode"),
    Refusal({"auth_mode": "jwks", "idp_provider": "auth0", "idp_tenant": ""}, "Auth0 domain"),
    Refusal({"auth_mode": "jwks", "idp_provider": "auth0", "idp_tenant": "https://a.eu.auth0.com"}, "Auth0 domain"),
    Refusal({"auth_mode": "jwks", "idp_provider": "entra-id", "idp_tenant": "contoso.onmicrosoft.com"}, "tenant ID"),
    Refusal({"auth_mode": "jwks", "idp_provider": "entra-id", "idp_tenant": "consumers"}, "tenant ID"),
    Refusal({"auth_mode": "jwks", "idp_provider": "keycloak", "idp_tenant": "https://kc.example.com/auth"}, "realm"),
    Refusal({"auth_mode": "jwks", "idp_provider": "keycloak", "idp_tenant": "http://kc.example.com/realms/x"}, "https"),
    Refusal({"auth_mode": "jwks", "idp_provider": "cognito", "idp_tenant": "AbCdEf123"}, "user pool ID"),
    Refusal({"auth_mode": "jwks", "idp_provider": "generic-oidc", "idp_tenant": "something"}, "leave it empty"),
    # Answers written into Python strings and .env lines as they are.
    Refusal({"jwt_audience": 'my "api"'}, "double quote"),
    Refusal({"auth_mode": "jwks", "jwt_issuer": "https://idp.example.com/a\\b"}, "backslash"),
    Refusal({"jwt_issuer": "iss # with hash"}, "#"),
    Refusal({"auth_mode": "jwks", "jwks_url": "https://idp.example.com/ke\nys"}, "jwks_url must be a single line"),
    Refusal({"auth_mode": "jwks", "jwt_issuer": " https://idp.example.com"}, "spaces around"),
    Refusal(
        {"auth_mode": "jwks", "idp_provider": "keycloak", "idp_tenant": "https://kc.example.com/realms/x\n"},
        "idp_tenant",
    ),
    # URLs that are not one, or not an issuer's.
    Refusal({"auth_mode": "jwks", "jwt_issuer": "https://[::1"}, "not a valid URL"),
    Refusal({"auth_mode": "jwks", "jwt_issuer": "https://idp.example.com:99999"}, "not a valid URL"),
    Refusal({"auth_mode": "jwks", "jwt_issuer": "https://idp example.com"}, "host name"),
    Refusal({"auth_mode": "jwks", "jwt_issuer": "https://idp.example.com/?tenant=a"}, "query"),
    Refusal({"auth_mode": "jwks", "idp_provider": "keycloak", "idp_tenant": "https://kc.example.com/realms/"}, "realm"),
    # Package names that would shadow what the bake imports.
    Refusal({"package_name": "cryptography"}, "shadow"),
    Refusal({"package_name": "hypothesis"}, "shadow"),
    Refusal({"package_name": "_private"}, "package_name"),
)


def case_id(case: Combination | Refusal) -> str:
    """The test id of a row of the table (for ``pytest.mark.parametrize(..., ids=case_id)``)."""
    return case.id
