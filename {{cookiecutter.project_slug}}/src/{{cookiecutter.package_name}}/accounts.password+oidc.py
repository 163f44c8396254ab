"""What a login bake adds to the service, built once per app: database, sessions, revocation view.

``main.py`` creates one ``Accounts``, starts it in the lifespan (the schema
check, then the revocation watcher) and puts it in ``app.state.accounts``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from .db import Database, check_schema
from .login_settings import LoginSettings
from .revocation import RevocationView
from .revocation_watcher import RevocationWatcher
from .sessions import Sessions, TokenResponse

# A grant of the token endpoint: the request, its form fields and a database session, to tokens.
Grant = Callable[[Request, dict[str, str], AsyncSession], Awaitable[TokenResponse]]


class Accounts:
    """The database and the login state of one service; nothing connects before ``start``."""

    def __init__(self, settings: LoginSettings) -> None:
        self.settings = settings
        self.database = Database(settings)
        self.revocations = RevocationView()
        self.sessions = Sessions(settings, self.revocations)
        poll_seconds = settings.revocation_poll_seconds
        self.watcher = RevocationWatcher(self.database, self.revocations, poll_seconds=poll_seconds)
        # Grants ``POST /token`` accepts besides refresh_token, added by the login kind.
        self.grants: dict[str, Grant] = {}

    async def start(self) -> None:
        """Refuse to start on a schema that is behind; then load and follow the revocations."""
        try:
            await check_schema(self.database.engine)
        except BaseException:
            await self.database.aclose()
            raise
        await self.watcher.start()

    async def aclose(self) -> None:
        await self.watcher.aclose()
        await self.database.aclose()
