"""What a login bake adds to the service, built once per app: database, sessions, revocation view.

``main.py`` creates one ``Accounts``, starts it in the lifespan (the schema
check, then the revocation watcher) and puts it in ``app.state.accounts``.
"""

from __future__ import annotations

import logging

from .db import Database, check_schema
from .login_settings import LoginSettings
from .revocation import RevocationView
from .revocation_watcher import RevocationWatcher
from .sessions import Sessions

logger = logging.getLogger(__name__)


class Accounts:
    """The database and the login state of one service; nothing connects before ``start``."""

    def __init__(self, settings: LoginSettings) -> None:
        self.settings = settings
        self.database = Database(settings)
        self.revocations = RevocationView()
        self.sessions = Sessions(settings, self.revocations)
        poll_seconds = settings.revocation_poll_seconds
        self.watcher = RevocationWatcher(self.database, self.revocations, poll_seconds=poll_seconds)

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
