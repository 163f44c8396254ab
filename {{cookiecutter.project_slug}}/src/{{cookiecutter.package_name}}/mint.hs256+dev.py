"""Mint a token this service accepts: ``python -m <package>.mint --sub alice``.

In hs256 mode the token is signed with ``AUTH_SECRET``; in dev mode with a
throwaway key, since dev mode does not check signatures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from . import tokens
from .verifier import ALGORITHM, Settings, signing_key

MAX_TTL = 7 * 24 * 3600


def build_claims(settings: Settings, *, sub: str, scope: str, ttl: int, now: float) -> dict[str, Any]:
    """The claims of a token for ``sub`` that lives ``ttl`` seconds."""
    claims: dict[str, Any] = {"sub": sub, "iat": int(now), "exp": int(now) + ttl}
    if settings.issuer:
        claims["iss"] = settings.issuer
    if settings.audience:
        claims["aud"] = settings.audience
    if scope.strip():
        claims["scope"] = " ".join(scope.split())
    return claims


def _ttl(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_TTL:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_TTL} seconds")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.mint",
        description="Print a signed access token that this service accepts.",
    )
    parser.add_argument("--sub", default="alice", help="subject: who the token is for (default: alice)")
    parser.add_argument("--scope", default="", help='space-separated scopes, e.g. "items:read"')
    parser.add_argument("--ttl", type=_ttl, default=900, help="lifetime in seconds (default: 900)")
    parser.add_argument("--json", action="store_true", help="print a JSON object with the token and its claims")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            print(f"error: {error['msg']}", file=sys.stderr)
        return 2
    claims = build_claims(settings, sub=args.sub, scope=args.scope, ttl=args.ttl, now=time.time())
    token = tokens.sign(claims, signing_key(settings), ALGORITHM)
    print(json.dumps({"access_token": token, "token_type": "Bearer", "claims": claims}) if args.json else token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
