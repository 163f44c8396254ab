"""The FastAPI application: open health checks, and routers behind ``has_access``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from .auth import Authenticator
from .dependency import has_access
from .endpoints import health, hello, items, me, ws
from .keys import Settings, Signatures

PROTECTED = [Depends(has_access)]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; settings come from the environment and ``.env`` unless given."""
    settings = settings or Settings()
    signatures = Signatures(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await signatures.start()
        yield
        await signatures.aclose()

    app = FastAPI(title="{{ cookiecutter.project_name }}", lifespan=lifespan)
    app.state.authenticator = Authenticator(settings, signatures)
    signatures.install(app)

    app.include_router(health.router)
    app.include_router(hello.router, prefix="/hello", dependencies=PROTECTED)
    app.include_router(me.router, prefix="/me", dependencies=PROTECTED)
    app.include_router(items.router, prefix="/items", dependencies=PROTECTED)
    app.include_router(ws.router, prefix="/ws", dependencies=PROTECTED)
    return app


app = create_app()
