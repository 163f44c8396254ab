"""Manage users: ``python -m {{ cookiecutter.package_name }}.users disable|enable|revoke|set-scopes|list``.

Users are created at their first login at the provider, so there is no
``create`` here. NAME is the user's id (the ``sub`` of their tokens) or the
email the provider verified, as ``list`` shows them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import user_admin
from .login_settings import DatabaseSettings


async def run(args: argparse.Namespace, settings: DatabaseSettings) -> str:
    """Carry out one command; return what to print."""
    async with user_admin.administering(settings) as db:
        return await user_admin.run_shared(db, args)


def main(argv: Sequence[str] | None = None) -> int:
    cli, _ = user_admin.parser()
    # DATABASE_URL is all it needs: it never signs a token nor talks to the provider.
    return user_admin.main(cli.parse_args(argv), DatabaseSettings, run)


if __name__ == "__main__":
    sys.exit(main())
