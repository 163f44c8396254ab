"""The attack battery: every case of ``attacks.py``, over real HTTP, against each baked mode under uvicorn.

Each mode is served once for the whole module; jwks mode against a loopback
provider with RS256, ES256, PS256 and EdDSA keys (and JWKs that lie about their
algorithm), with those four in ``AUTH_ALGORITHMS``, published after over a hundred
others (``Keys.jwks_extras``). A second loopback server plays the attacker:
tokens point at it through ``jku``, ``x5u``, ``iss`` and ``kid``, and it must
never receive a request. The counted results are printed at the end of the run.
"""

from __future__ import annotations

import http.client
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .attacks import (
    CASES,
    DPOP_MODE,
    TALLIES,
    Case,
    Keys,
    Kit,
    Probe,
    Tally,
    bound_token,
    dpop_request,
    jose_key,
    proof,
)
from .baked import AUDIENCE, clean_env, serve
from .combinations import MODES
from .provider import Provider

pytestmark = pytest.mark.slow
ISSUER = "https://auth.example.com"
JWKS_ALGORITHMS = '["RS256","ES256","PS256","EdDSA"]'
# The baked defaults of AUTH_JWKS_REFETCH_BURST and AUTH_JWKS_REFETCH_COOLDOWN_SECONDS.
REFETCH_BURST = 3
REFETCH_COOLDOWN = 30


@dataclass(frozen=True)
class Reply:
    status: int
    challenges: list[str]
    body: bytes


@dataclass(frozen=True)
class Target:
    """One served mode: where it listens, how to build its tokens, and its tally."""

    kit: Kit
    host: str
    port: int
    tally: Tally
    provider: Provider | None  # jwks mode's identity provider
    started: float

    def send(self, probe: Probe) -> Reply:
        """Send the probe's raw header lines as they are: no client tidies them up."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.putrequest("GET", probe.path, skip_accept_encoding=True)
            for name, value in probe.headers:
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            return Reply(response.status, response.headers.get_all("WWW-Authenticate") or [], response.read())
        finally:
            connection.close()


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys.generate(secret=secrets.token_urlsafe(48))


@pytest.fixture(scope="module")
def attacker(keys: Keys) -> Iterator[Provider]:
    """The attacker's own JWKS and discovery server, counting every request it gets."""
    with Provider({"attacker": jose_key(keys.attacker_rsa, "RS256")}) as server:
        yield server


@pytest.fixture(scope="module", params=[*MODES, DPOP_MODE])
def target(
    request: pytest.FixtureRequest, baked: dict[str, Path], keys: Keys, attacker: Provider, pytestconfig: pytest.Config
) -> Iterator[Target]:
    mode: str = request.param
    bake = "jwks" if mode == DPOP_MODE else mode
    with ExitStack() as stack:
        issuer = ISSUER
        provider = None
        if bake == "jwks":
            extra_jwks = [*keys.jwks_extras(), *keys.provider_jwks()]
            provider = stack.enter_context(Provider(keys.provider_keys(), extra_jwks=extra_jwks))
            issuer = provider.issuer
        env = clean_env(AUTH_ISSUER=issuer, AUTH_AUDIENCE=AUDIENCE)
        if bake == "jwks":
            env["AUTH_ALGORITHMS"] = JWKS_ALGORITHMS
        if mode == "hs256":
            env["AUTH_SECRET"] = keys.secret
        if mode == DPOP_MODE:
            env["AUTH_DPOP"] = "allowed"
        base_url = stack.enter_context(serve(baked[bake], f"svc_{bake}", env))
        address = urlsplit(base_url)
        assert address.hostname is not None
        assert address.port is not None
        tally = pytestconfig.stash.setdefault(TALLIES, {}).setdefault(mode, Tally())
        kit = Kit(mode, keys, issuer, AUDIENCE, attacker.issuer, base_url=base_url)
        yield Target(kit, address.hostname, address.port, tally, provider, time.monotonic())


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_attack_gets_its_stated_answer(target: Target, case: Case, attacker: Provider) -> None:
    mode = target.kit.mode
    probe = case.build(target.kit)
    reply = target.send(probe)
    target.tally.record(case, mode, reply.status)

    expected = case.expected(mode)
    assert reply.status < 500, f"{mode} answered {reply.status}: {reply.body[:300]!r}"
    assert reply.status == expected.status, f"{mode} answered {reply.status}, not {expected}: {reply.body[:300]!r}"
    assert reply.challenges == ([expected.challenge] if expected.challenge else [])
    for _, value in probe.headers:
        credential = value.partition(b" ")[2]
        assert len(credential) < 16 or credential not in reply.body, "the token came back in the body"
    assert target.kit.keys.secret.encode() not in reply.body
    if case.baits_attacker:
        assert sum(attacker.requests.values()) == 0, attacker.requests


def test_every_case_was_counted_and_the_attacker_heard_nothing(target: Target, attacker: Provider) -> None:
    """Runs after the cases of its mode: the summary covers all of them, and no header was followed."""
    tally = target.tally
    assert (tally.cases, tally.accepted_forgeries, tally.server_errors) == (len(CASES), 0, 0)
    assert sum(attacker.requests.values()) == 0, attacker.requests
    if target.provider is not None:  # the unknown kids among the cases cost the provider a bounded burst
        elapsed = time.monotonic() - target.started
        assert target.provider.requests["/jwks"] <= 1 + REFETCH_BURST + elapsed // REFETCH_COOLDOWN


def test_a_dpop_proof_works_once(target: Target) -> None:
    """RFC 9449 §11.1: a replayed proof is refused, though everything else about it is right."""
    token = bound_token(target.kit)
    request = dpop_request(token, proof(target.kit, token))
    first, second = target.send(request).status, target.send(request).status
    assert (first, second) == ((200, 401) if target.kit.mode == DPOP_MODE else (401, 401))
