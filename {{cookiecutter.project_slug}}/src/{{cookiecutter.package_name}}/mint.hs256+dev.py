"""Mint a token this service accepts: ``python -m <package>.mint --sub alice``.

In hs256 mode the token is signed with ``AUTH_SECRET``; in dev mode with a
throwaway key, since dev mode does not check signatures. It is typed ``at+jwt``
(RFC 9068), and its ``--ttl`` may not exceed ``AUTH_MAX_TOKEN_LIFETIME``, which
the service would refuse.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from . import tokens
from .verifier import ALGORITHM, Settings, signing_key


def build_claims(settings: Settings, *, sub: str, scope: str, ttl: int, now: float) -> dict[str, Any]:
    """The claims of a token for ``sub`` that lives ``ttl`` seconds."""
    # A jti of its own, as every token should have (RFC 7519 §4.1.7): what a deny-list can name it by.
    claims: dict[str, Any] = {"sub": sub, "iat": int(now), "exp": int(now) + ttl, "jti": secrets.token_hex(16)}
    if settings.issuer:
        claims["iss"] = settings.issuer
    if settings.audience:
        claims["aud"] = settings.audience
    if scope.strip():
        claims["scope"] = " ".join(scope.split())
    return claims


def _ttl(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be between 1 and AUTH_MAX_TOKEN_LIFETIME seconds")
    return value


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.mint",
        description="Print a signed access token that this service accepts.",
    )
    parser.add_argument("--sub", default="alice", help="subject: who the token is for (default: alice)")
    parser.add_argument("--scope", default="", help='space-separated scopes, e.g. "items:read"')
    parser.add_argument(
        "--ttl", type=_ttl, default=900, help="lifetime in seconds (default: 900; at most AUTH_MAX_TOKEN_LIFETIME)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON object with the token and its claims")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        prefix = Settings.model_config.get("env_prefix", "")
        for error in exc.errors():
            # The variable to set (AUTH_SECRET), not the field's name; a check of several fields names none.
            variable = f"{prefix}{error['loc'][0]}".upper() + ": " if error["loc"] else ""
            print(f"error: {variable}{error['msg']}", file=sys.stderr)
        return 2
    if args.ttl > settings.max_token_lifetime:
        limit = f"{settings.max_token_lifetime:g}"
        parser.error(f"argument --ttl: must be between 1 and {limit} seconds (AUTH_MAX_TOKEN_LIFETIME)")
    claims = build_claims(settings, sub=args.sub, scope=args.scope, ttl=args.ttl, now=time.time())
    token = tokens.sign(claims, signing_key(settings), ALGORITHM, headers={"typ": tokens.AT_JWT})
    print(json.dumps({"access_token": token, "token_type": "Bearer", "claims": claims}) if args.json else token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
