"""Open endpoints for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process is up. Never depends on the identity provider."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request, response: Response) -> dict[str, bool]:
    """Readiness: signing keys are loaded, so tokens can be verified."""
    is_ready = bool(request.app.state.authenticator.verifier.is_ready())
    if not is_ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"ready": is_ready}
