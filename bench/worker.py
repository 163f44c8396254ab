"""Measure one baked mode; runs in its own process, in the baked project's folder.

It prepares the mode (a loopback OpenID provider with four RSA keys in jwks
mode), mints the tokens, builds one app per variant of ``bench.app`` (the
same routers in the same order, behind different guards) and then measures
``GET /hello`` of each:

* in process, by calling the ASGI apps directly, rounds of ``--requests``
  calls per app, the apps in a fresh random order each round, charged the
  CPU time of this process; in jwks mode, the bare RS256 signature check of
  ``cryptography`` runs in the same rounds, as one more "route";
* over HTTP, with one uvicorn per variant on 127.0.0.1 and ``wrk`` as load
  generator, rounds of ``--http-seconds`` per variant in the same interleaved
  fashion, charged the CPU time of its uvicorn process per request served.

It prints one JSON document: the cost per request of each variant in each
round, per token kind, and, with ``--profile``, the time of each step of
the protected app.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from contextlib import AsyncExitStack, ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import httpx2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jose.backends.base import Key

from tests.baked import serve
from tests.combinations import MODES
from tests.provider import Provider, generate_key

from .app import PACKAGE, RECIPE_ALG, RECIPE_KEY, VARIANT, VARIANTS, build
from .breakdown import timed_steps

Scope = dict[str, Any]
Message = MutableMapping[str, Any]
Asgi = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

JWKS_KEYS = 4
REQUESTS = re.compile(r"(\d+) requests in ")
NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)")
# wrk cycles through the tokens of a file, one per request.
WRK_SCRIPT = """
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[i]})
end
"""


@dataclass(frozen=True)
class Result:
    """The cost of one route per request, one sample per round, with one kind of token, measured one way."""

    way: str  # "in-process" or "http"
    tokens: str  # "repeated" or "unique"
    route: str  # a variant of bench.app ("open", "noop", "hello", "recipe"), or "verify"
    samples_us: list[float]


class Timed(Protocol):
    """What ``measure`` times: a route, or a bare check run outside any app."""

    async def batch(self, n: int) -> float:
        """The cost of the next ``n`` calls, in µs each."""
        ...


@dataclass(frozen=True)
class Signer:
    """How the benchmark signs the tokens a mode accepts."""

    key: Key
    alg: str
    kid: str | None


def prepare(mode: str, stack: ExitStack) -> Signer:
    """Set up the environment the baked app and the recipe read; say how to sign tokens."""
    verifier = importlib.import_module(f"{os.environ[PACKAGE]}.verifier")
    if mode == "jwks":
        provider = stack.enter_context(Provider({f"rsa-{n}": generate_key("RS256") for n in range(JWKS_KEYS)}))
        os.environ["AUTH_ISSUER"] = provider.issuer
        # The recipe gets the whole JWKS; our tokens are signed with its last key.
        os.environ[RECIPE_KEY] = json.dumps(provider.document("/jwks"))
        os.environ[RECIPE_ALG] = "RS256"
        kid = f"rsa-{JWKS_KEYS - 1}"
        return Signer(provider.keys[kid], "RS256", kid)
    settings = verifier.Settings()
    if mode == "hs256":
        os.environ[RECIPE_KEY] = json.dumps(settings.secret.get_secret_value())
        os.environ[RECIPE_ALG] = verifier.ALGORITHM
    return Signer(verifier.signing_key(settings), verifier.ALGORITHM, None)


def mint(signer: Signer, count: int, settings: Any, **extra: Any) -> list[str]:
    """``count`` distinct valid tokens, good for an hour, with ``extra`` claims."""
    tokens = importlib.import_module(f"{os.environ[PACKAGE]}.tokens")
    now = int(time.time())
    claims = {"sub": "bench", "iss": settings.issuer, "aud": settings.audience, "iat": now, "exp": now + 3600}
    claims |= extra
    return [tokens.sign({**claims, "jti": str(n)}, signer.key, signer.alg, kid=signer.kid) for n in range(count)]


def scope_for(path: str, token: str) -> Scope:
    """The ASGI scope of ``GET {path}?name=bench`` with a bearer token."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"name=bench",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app: Asgi, scope: Scope) -> int:
    """One request through the ASGI interface; returns the status code."""
    status = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope), receive, send)
    return status


T = TypeVar("T")


class Cycle(Generic[T]):
    """Items handed out ``n`` at a time, round and round: what each batch of a route or bare check uses."""

    def __init__(self, items: list[T]) -> None:
        self._items = items
        self._next = 0

    def take(self, n: int) -> list[T]:
        taken = [self._items[(self._next + i) % len(self._items)] for i in range(n)]
        self._next = (self._next + n) % len(self._items)
        return taken


class Route:
    """``/hello`` of one app with its tokens; ``batch`` times the next ``n`` requests in µs each."""

    def __init__(self, app: Asgi, tokens: list[str]) -> None:
        self._app = app
        self._scopes = Cycle([scope_for("/hello", token) for token in tokens])

    async def batch(self, n: int) -> float:
        scopes = self._scopes.take(n)
        started = time.process_time()
        for scope in scopes:
            status = await call(self._app, scope)
            if status != 200:
                raise RuntimeError(f"{scope['path']} answered {status}; the benchmark only counts successes")
        return (time.process_time() - started) / n * 1e6


class BareVerify:
    """The RS256 signature check of ``cryptography`` alone, on the tokens' own signatures: µs per check.

    With ``between``, an app, each check is timed alone right after an untimed request to that app: the
    check then runs with the processor's caches as a request leaves them, as it does inside one.
    """

    def __init__(self, key: Key, tokens: list[str], between: Asgi | None = None) -> None:
        public = serialization.load_pem_public_key(key.public_key().to_pem())
        if not isinstance(public, rsa.RSAPublicKey):
            raise TypeError(f"an RS256 key was expected, not {type(public).__name__}")
        self._public = public
        self._signed = Cycle([(signed_parts(token), scope_for("/hello", token)) for token in tokens])
        self._between = between

    async def batch(self, n: int) -> float:
        signed = self._signed.take(n)
        verify, pkcs1, sha256 = self._public.verify, padding.PKCS1v15(), hashes.SHA256()
        if self._between is None:
            started = time.process_time()
            for (data, signature), _ in signed:
                verify(signature, data, pkcs1, sha256)
            return (time.process_time() - started) / n * 1e6
        spent = 0
        for (data, signature), scope in signed:
            await call(self._between, scope)
            started_ns = time.perf_counter_ns()
            verify(signature, data, pkcs1, sha256)
            spent += time.perf_counter_ns() - started_ns
        return spent / n / 1e3


def signed_parts(token: str) -> tuple[bytes, bytes]:
    """The signing input and the signature of a compact JWS."""
    data, _, signature = token.rpartition(".")
    return data.encode(), base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))


# The in-process requests' URL, as a DPoP proof names it (htu).
DPOP_URL = "http://127.0.0.1/hello"
DPOP_KIND = "dpop"


class ProofSigner:
    """A DPoP client's ES256 key (RFC 9449): it signs a fresh proof for each request."""

    def __init__(self) -> None:
        package = os.environ[PACKAGE]
        self._tokens = importlib.import_module(f"{package}.tokens")
        self._dpop = importlib.import_module(f"{package}.dpop")
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.public = private.public_key()
        self.key = self._tokens.load_key(pem, "ES256")
        self.jwk = self.key.public_key().to_dict()
        self.jkt: str = self._dpop.thumbprint(self.jwk)

    def proof(self, token: str) -> str:
        """A proof for ``GET /hello`` with ``token``, issued now, with a jti of its own."""
        claims = {"jti": uuid.uuid4().hex, "htm": "GET", "htu": DPOP_URL, "iat": int(time.time())}
        claims["ath"] = self._dpop.token_hash(token)
        proof: str = self._tokens.sign(claims, self.key, "ES256", headers={"typ": "dpop+jwt", "jwk": self.jwk})
        return proof


class DpopRoute(Route):
    """``/hello`` with ``Authorization: DPoP`` and one bound token: each batch signs its fresh proofs untimed."""

    def __init__(self, app: Asgi, token: str, holder: ProofSigner) -> None:
        super().__init__(app, [token])
        self._token = token
        self._holder = holder

    async def batch(self, n: int) -> float:
        self._scopes = Cycle([self._scope(self._holder.proof(self._token)) for _ in range(n)])
        return await super().batch(n)

    def _scope(self, proof: str) -> Scope:
        scope = scope_for("/hello", self._token)
        scope["headers"] = [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"DPoP {self._token}".encode()),
            (b"dpop", proof.encode()),
        ]
        return scope


class BareProofVerify:
    """The ES256 signature check of ``cryptography`` alone, on proofs' own signatures: µs per check."""

    def __init__(self, holder: ProofSigner, token: str, count: int) -> None:
        self._public = holder.public
        self._signed = Cycle([es256_parts(holder.proof(token)) for _ in range(count)])

    async def batch(self, n: int) -> float:
        signed = self._signed.take(n)
        verify, ecdsa = self._public.verify, ec.ECDSA(hashes.SHA256())
        started = time.process_time()
        for data, (r, s) in signed:
            verify(encode_dss_signature(r, s), data, ecdsa)
        return (time.process_time() - started) / n * 1e6


def es256_parts(token: str) -> tuple[bytes, tuple[int, int]]:
    """The signing input and the (r, s) of a compact JWS signed with ES256."""
    data, signature = signed_parts(token)
    return data, (int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))


def dpop_app() -> Any:
    """The protected app with ``AUTH_DPOP=allowed``: DPoP beside Bearer."""
    os.environ["AUTH_DPOP"] = "allowed"
    try:
        return build("hello")
    finally:
        del os.environ["AUTH_DPOP"]


async def measure_dpop(apps: dict[str, Any], signer: Signer, options: argparse.Namespace) -> list[Result]:
    """A bound token with a fresh proof on every request, against the same app unprotected and the floor.

    Beside them, the bare ES256 check of the proofs' signatures: what a proof cannot cost less than.
    """
    holder = ProofSigner()
    settings = apps["open"].state.authenticator.settings
    token = mint(signer, 1, settings, cnf={"jkt": holder.jkt})[0]  # bound to the client's key
    routes: dict[str, Route | BareVerify | BareProofVerify] = {
        name: DpopRoute(app, token, holder) for name, app in apps.items()
    }
    routes["proof"] = BareProofVerify(holder, token, 256)
    samples = await measure(routes, options.rounds, options.requests)
    return [Result("in-process", DPOP_KIND, name, values) for name, values in samples.items()]


STEPS_KIND = "steps"


def cut_verify(authenticator: Any, last: str, answer: Any) -> Callable[[str], Awaitable[Any]]:
    """``Authenticator.verify`` cut after step ``last``, answering ``answer`` (claims checked up front).

    The steps, in order: ``parse``, ``signature``, ``claims`` (the real ``verify`` adds the cache
    insert); ``none`` runs none of them.
    """
    tokens = importlib.import_module(f"{os.environ[PACKAGE]}.tokens")
    claims = importlib.import_module(f"{os.environ[PACKAGE]}.claims")
    verifier, settings, rules = authenticator.verifier, authenticator.settings, authenticator.rules
    steps = ["parse", "signature", "claims"]
    todo = set(steps[: steps.index(last) + 1]) if last in steps else set()

    async def verify(token: str) -> Any:
        if todo:
            parsed = tokens.parse(token, max_bytes=settings.max_token_bytes, algorithms=verifier.algorithms)
            if "signature" in todo:
                await verifier.check(parsed)
            if "claims" in todo:
                return claims.validate_claims(parsed.claims, rules)
        return answer

    return verify


class BareAuthenticate:
    """``Authenticator.verify`` alone, on new tokens, outside any request: µs per token.

    In a tight loop; or, with ``between``, each call timed alone right after an untimed request to that app.
    """

    def __init__(self, authenticator: Any, tokens: list[str], between: Asgi | None = None) -> None:
        self._verify = authenticator.verify
        self._tokens = Cycle([(token, scope_for("/hello", token)) for token in tokens])
        self._between = between

    async def batch(self, n: int) -> float:
        tokens = self._tokens.take(n)
        verify = self._verify
        if self._between is None:
            started = time.process_time()
            for token, _ in tokens:
                await verify(token)
            return (time.process_time() - started) / n * 1e6
        spent = 0
        for token, scope in tokens:
            await call(self._between, scope)
            started_ns = time.perf_counter_ns()
            await verify(token)
            spent += time.perf_counter_ns() - started_ns
        return spent / n / 1e3


async def measure_steps(
    apps: dict[str, Any], tokens: list[str], options: argparse.Namespace, lifespans: AsyncExitStack
) -> list[Result]:
    """A new token, step by step inside the request: the protected app with ``verify`` cut after each step.

    Each cut gets an app of its own (its own authenticator), measured in the same rounds as the
    unprotected app, the floor and the whole ``/hello``; so is ``Authenticator.verify`` alone on the same
    tokens, in a tight loop and between requests to the unprotected app, so that what the steps cost inside
    a request reads against both.
    """
    routes: dict[str, Timed] = {name: Route(app, tokens) for name, app in apps.items()}
    for last in ("none", "parse", "signature", "claims", "verify-bare", "verify-bare-between"):
        app = build("hello")
        await lifespans.enter_async_context(app.router.lifespan_context(app))
        authenticator = app.state.authenticator
        if last.startswith("verify-bare"):
            between = apps["open"] if last == "verify-bare-between" else None
            routes[last] = BareAuthenticate(authenticator, tokens, between)
            continue
        answer = await authenticator.verify(tokens[0])
        authenticator.cache.clear()
        authenticator.verify = cut_verify(authenticator, last, answer)
        routes[last] = Route(app, tokens)
    samples = await measure(routes, options.rounds, options.requests)
    return [Result("in-process", STEPS_KIND, name, values) for name, values in samples.items()]


def interleaved(names: list[str], rounds: int) -> Iterator[str]:
    """Each name once per round, in a fresh random order each round, so drift hits all alike."""
    order = list(names)
    shuffle = random.Random(6)
    for _ in range(rounds):
        shuffle.shuffle(order)
        yield from order


async def measure(routes: Mapping[str, Timed], rounds: int, requests: int) -> dict[str, list[float]]:
    """Per-request cost of each route, ``rounds`` times, interleaved."""
    for route in routes.values():
        await route.batch(max(1, requests // 4))  # warm up
    samples: dict[str, list[float]] = {name: [] for name in routes}
    for name in interleaved(list(routes), rounds):
        samples[name].append(await routes[name].batch(requests))
    return samples


async def profile(route: Route | BareVerify, rounds: int, requests: int) -> str:
    """Where the time of a protected route's requests goes, step by step: medians over rounds."""
    with timed_steps(os.environ[PACKAGE]) as timings:
        for _ in range(rounds):
            started = time.perf_counter_ns()
            await route.batch(requests)
            timings.end_round(requests, time.perf_counter_ns() - started)
    return timings.table()


async def in_process(
    apps: dict[str, Any], kinds: dict[str, list[str]], signer: Signer, options: argparse.Namespace
) -> tuple[list[Result], str]:
    """Run every app's lifespan and measure ``/hello`` of each through the ASGI interface."""
    results: list[Result] = []
    profiles: list[str] = []
    async with AsyncExitStack() as lifespans:
        for app in apps.values():
            await lifespans.enter_async_context(app.router.lifespan_context(app))
        for kind, tokens in kinds.items():
            routes: dict[str, Route | BareVerify] = {name: Route(app, tokens) for name, app in apps.items()}
            hello = routes["hello"]
            if signer.alg == "RS256" and kind == "unique":
                routes["verify"] = BareVerify(signer.key, tokens)
                routes["verify-between"] = BareVerify(signer.key, tokens, between=apps["open"])
            samples = await measure(routes, options.rounds, options.requests)
            results += [Result("in-process", kind, name, values) for name, values in samples.items()]
            if options.profile:
                report = await profile(hello, options.rounds, options.requests)
                rounds = f"medians of {options.rounds} rounds of {options.requests} requests"
                profiles.append(f"/hello with {kind} tokens, wall time, {rounds}:\n\n{report}\n")
        if options.steps:
            unique = kinds["unique"]
            results += await measure_steps({n: apps[n] for n in ("open", "noop", "hello")}, unique, options, lifespans)
        if signer.alg == "RS256":  # jwks mode, the one with DPoP
            dpop = dpop_app()
            await lifespans.enter_async_context(dpop.router.lifespan_context(dpop))
            results += await measure_dpop({"open": apps["open"], "noop": apps["noop"], "hello": dpop}, signer, options)
    return results, "\n".join(profiles)


def wrk_run(wrk: str, base_url: str, tokens_file: Path, options: argparse.Namespace) -> float:
    """Load ``/hello`` of one server with wrk; return the server's CPU time per request, in µs."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    url = f"{base_url}/hello?name=bench"
    command = [wrk, "-t1", f"-c{options.connections}", f"-d{options.http_seconds}s", "--timeout", "10s"]
    try:
        before = float(httpx2.get(f"{base_url}/cpu").json())
        output = subprocess.run(
            [*command, "-s", script.name, url],
            env={**os.environ, "BENCH_TOKENS": str(tokens_file)},
            capture_output=True,
            text=True,
            check=True,
            timeout=options.http_seconds + 60,
        ).stdout
        after = float(httpx2.get(f"{base_url}/cpu").json())
    finally:
        os.unlink(script.name)
    served = REQUESTS.search(output)
    if NON_2XX.search(output) or served is None or int(served.group(1)) == 0:
        raise RuntimeError(f"wrk counted failures or no requests on {url}:\n{output}")
    return (after - before) / int(served.group(1)) * 1e6


def over_http(
    project: Path, variants: list[str], kinds: dict[str, list[str]], options: argparse.Namespace, folder: Path
) -> list[Result]:
    """Serve each variant with its own uvicorn and charge it its server's CPU time per request."""
    results: list[Result] = []
    server = ("bench.app:build", "--factory", "--log-level", "warning", "--no-access-log")
    with ExitStack() as servers:
        base_urls = {}
        for name in variants:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), VARIANT: name}
            base_urls[name] = servers.enter_context(serve(project, os.environ[PACKAGE], env, target=server))
        for kind, tokens in kinds.items():
            tokens_file = folder / f"{kind}.tokens"
            tokens_file.write_text("\n".join(tokens) + "\n")
            warm_up = argparse.Namespace(**{**vars(options), "http_seconds": 1})
            for name in variants:
                wrk_run(options.wrk, base_urls[name], tokens_file, warm_up)
            samples: dict[str, list[float]] = {name: [] for name in variants}
            for name in interleaved(variants, options.http_rounds):
                samples[name].append(wrk_run(options.wrk, base_urls[name], tokens_file, options))
            results += [Result("http", kind, name, values) for name, values in samples.items()]
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--rounds", type=int, default=51)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--pool", type=int, default=1024, help="unique tokens, cycled; the cache holds half")
    parser.add_argument("--http-rounds", type=int, default=5)
    parser.add_argument("--http-seconds", type=int, default=0, help="0 skips the HTTP runs")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "")
    parser.add_argument("--profile", action="store_true", help="time each step of /hello")
    parser.add_argument("--steps", action="store_true", help="a new token step by step, inside the request")
    options = parser.parse_args(argv)
    project = Path.cwd()
    # Half the pool: cycling through the pool then misses the LRU cache on every request.
    os.environ["AUTH_TOKEN_CACHE_SIZE"] = str(options.pool // 2)
    with ExitStack() as stack:
        signer = prepare(options.mode, stack)
        variants = [name for name in VARIANTS if name != "recipe" or RECIPE_KEY in os.environ]
        apps = {name: build(name) for name in variants}
        unique = mint(signer, options.pool, apps["hello"].state.authenticator.settings)
        kinds = {"repeated": unique[:1], "unique": unique}
        results, profiles = asyncio.run(in_process(apps, kinds, signer, options))
        if options.http_seconds > 0:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
            results += over_http(project, variants, kinds, options, folder)
    json.dump({"results": [asdict(result) for result in results], "profile": profiles}, sys.stdout)


if __name__ == "__main__":
    main()
