"""The upstream OpenID provider, as the login sees it: its login URL, and the code exchange.

Endpoints and keys come from ``{AUTH_LOGIN_ISSUER}/.well-known/openid-configuration``
through a ``JwksCache``: the discovered issuer must match exactly, every URL is
https (http only on loopback), and one fetch runs at a time. What the provider
sends back that cannot log anyone in raises ``LoginRefusedError`` (400); a
provider that cannot be reached raises ``ProviderUnavailableError`` (503).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx2

from .errors import KeyUnavailableError
from .id_tokens import ID_TOKEN_ALGORITHMS, Identity, IdTokenVerifier
from .jwks_cache import Discovery, JwksCache, JwksDocuments, JwksPolicy, check_url
from .login_errors import LoginRefusedError, ProviderUnavailableError
from .oidc_settings import Settings

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024


class OidcClient:
    """This service as a confidential client of the provider (authorization code + PKCE)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # ID tokens come only from the provider's token endpoint, never from a client: nobody else can
        # make us refetch with an unknown kid, so a rotation at the provider is picked up at once.
        self.policy = JwksPolicy(refetch_cooldown=0)
        self._documents = JwksDocuments(ID_TOKEN_ALGORITHMS, self.policy)
        self.jwks = JwksCache(issuer=settings.login_issuer, jwks_url=None, documents=self._documents)
        self._http = httpx2.AsyncClient(timeout=self.policy.http_timeout, follow_redirects=False)
        self.id_tokens = IdTokenVerifier(
            self.jwks, issuer=settings.login_issuer, client_id=settings.login_client_id, leeway=settings.leeway_seconds
        )

    async def start(self) -> None:
        """Discover the endpoints and fetch the keys; a provider that is down is retried on demand."""
        await self.jwks.start()

    async def aclose(self) -> None:
        await self.jwks.aclose()
        await self._documents.aclose()
        await self._http.aclose()

    async def _endpoints(self) -> Discovery:
        try:
            discovery = await self.jwks.discovered()
        except KeyUnavailableError as exc:
            raise ProviderUnavailableError(exc.reason, exc.retry_after) from None
        for url in (discovery.authorization_endpoint, discovery.token_endpoint):
            try:
                check_url(url or "")
            except ValueError:
                raise ProviderUnavailableError("discovery_endpoint_missing_or_insecure", self._retry_after) from None
        return discovery

    @property
    def _retry_after(self) -> int:
        return max(1, round(self.policy.failure_backoff))

    async def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        """The provider's login page for one login transaction."""
        endpoint = (await self._endpoints()).authorization_endpoint or ""
        settings = self.settings
        query = urlencode(
            {
                "response_type": "code",
                "client_id": settings.login_client_id,
                "redirect_uri": settings.login_redirect_uri,
                "scope": " ".join(settings.login_scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        # Some providers put parameters of their own in the endpoint (e.g. ?p=policy): keep them.
        return f"{endpoint}{'&' if urlsplit(endpoint).query else '?'}{query}"

    async def identity_for(self, code: str, *, code_verifier: str, nonce: str) -> Identity:
        """Redeem the code at the token endpoint and return who its ID token names."""
        return await self.id_tokens.verify(await self.exchange_code(code, code_verifier), nonce)

    async def exchange_code(self, code: str, code_verifier: str) -> str:
        """The ID token the provider gives for ``code`` and its PKCE verifier."""
        token_endpoint = (await self._endpoints()).token_endpoint or ""
        settings = self.settings
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.login_redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {"Accept": "application/json"}
        secret = settings.login_client_secret.get_secret_value()
        if settings.login_client_auth == "client_secret_post":
            form |= {"client_id": settings.login_client_id, "client_secret": secret}
        else:
            # RFC 6749 §2.3.1: each half is form-urlencoded before the two are base64-encoded.
            pair = f"{quote_plus(settings.login_client_id)}:{quote_plus(secret)}".encode()
            headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
        status, body = await self._post(token_endpoint, form, headers)
        if status >= 500:
            raise ProviderUnavailableError(f"token_endpoint_http_{status}", self._retry_after)
        if status != 200:
            error = body.get("error") if isinstance(body, dict) else None
            level = logging.ERROR if error == "invalid_client" else logging.INFO
            logger.log(level, "login code refused status=%d error=%s", status, json.dumps(str(error)[:64]))
            raise LoginRefusedError(f"code_refused_{status}")
        id_token = body.get("id_token") if isinstance(body, dict) else None
        if not isinstance(id_token, str):
            raise LoginRefusedError("token_response_without_id_token")
        return id_token

    async def _post(self, url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        """POST a form; the status and the JSON body (None unless JSON), read up to a size cap and a deadline."""
        try:
            async with (
                asyncio.timeout(self.policy.http_timeout),
                self._http.stream("POST", url, data=form, headers=headers) as response,
            ):
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise LoginRefusedError("token_response_too_large")
                status = response.status_code
        except (httpx2.HTTPError, TimeoutError) as exc:
            logger.warning("login token endpoint unreachable error=%s", type(exc).__name__)
            raise ProviderUnavailableError("token_endpoint_unreachable", self._retry_after) from None
        try:
            return status, json.loads(body)
        except (ValueError, RecursionError):
            return status, None
