"""Measure the login paths of one login bake; runs in its own process, in the baked project's folder.

For each database (a SQLite file, and a throwaway PostgreSQL server started from the
installed binaries by the bake's own ``tests/postgres.py``), it migrates a fresh
database, builds the service with ``main.create_app()`` and calls it through ASGI:

* ``password`` bakes: ``POST /token`` with ``grant_type=password`` for a user whose
  argon2id hash has the bake's parameters;
* ``oidc`` bakes: ``POST /authorize`` with a code from the npm ``oidc-provider`` on
  127.0.0.1, started by the bake's own ``tests/upstream.py``: each code is fetched
  (``GET /login``, then the provider's pages) before its round, outside the timing;
* both: ``POST /token`` with ``grant_type=refresh_token``, each response's refresh
  token spent by a later request.

Rounds of ``--requests`` sequential requests per route and database, in a fresh random
order each round; each request is charged its wall time, since the database and the
provider work in other processes. In password bakes the bare ``hasher.verify`` of
pwdlib, on the same hash, runs in the same rounds. It prints one JSON document: the
results, and the bake's argon2id parameters.

With ``--hello`` it measures ``GET /hello`` instead, as ``bench.worker`` does (CPU time,
interleaved with the unprotected app and the no-op floor), and the same app once more
with the plain ``Authenticator`` in place of the one that consults the revocation view;
then the two authenticators' ``authenticate`` alone, on a cached token, interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2

from tests.baked import free_port

from . import worker
from .app import PACKAGE, build
from .breakdown import Timings, timed_steps
from .worker import Asgi, Message, Scope, interleaved

BAKED_TESTS = "bench_baked_tests"  # the baked project's tests package, under a name of its own
FORM = "application/x-www-form-urlencoded"
USERNAME = "bench-user"
PASSWORD = "bench-password-0123456789"  # noqa: S105 - a throwaway user of a throwaway database
CLIENT_ID = "bench"
CLIENT_SECRET = "bench-client-secret-0123456789abcdef"  # noqa: S105 - registered at the loopback provider only
ARGON2 = "argon2id verify (pwdlib, bare)"
BACKENDS = ("sqlite", "postgresql")
WITHOUT_VIEW = "hello without the revocation view"
VIEW_CALLS = 20_000  # authenticate calls per round when the view's own cost is timed
# For /hello in an oidc bake: a client at a provider it never calls; nothing listens on port 9 of loopback.
OFFLINE_CLIENT = {
    "AUTH_LOGIN_ISSUER": "http://127.0.0.1:9",
    "AUTH_LOGIN_CLIENT_ID": CLIENT_ID,
    "AUTH_LOGIN_CLIENT_SECRET": CLIENT_SECRET,
    "AUTH_LOGIN_REDIRECT_URI": "http://127.0.0.1:9/authorize",
}
# (module, owner in it or "" for the module itself, attribute, label): the steps worth naming.
STEPS = (
    ("password_login", "", "verify_password", "argon2id verify, in a worker thread"),
    ("throttle", "LoginThrottle", "attempt", "failed-login count: INSERT, SELECT, COMMIT"),
    ("throttle", "LoginThrottle", "succeeded", "failed-login count cleared: DELETE"),
    ("oidc_client", "OidcClient", "exchange_code", "code exchange at the provider (HTTP)"),
    ("id_tokens", "IdTokenVerifier", "verify", "ID token check (RS256, keys cached)"),
    # endpoints/login.py imports take_transaction and user_for by name, so those are the names to wrap.
    ("endpoints.login", "", "take_transaction", "login transaction: SELECT, DELETE"),
    ("endpoints.login", "", "user_for", "user upsert by (issuer, subject)"),
    ("sessions", "Sessions", "rotate_refresh_token", "rotation: UPDATE … RETURNING, then issue tokens"),
    ("sessions", "Sessions", "issue_tokens", "issue tokens: sign, INSERT, COMMIT"),
)


@dataclass
class Result:
    """One route on one database: every request's wall time, and each round's totals and steps."""

    backend: str  # "sqlite", "postgresql", or "" for the bare argon2id verify
    route: str
    latencies_ms: list[float] = field(default_factory=list)
    round_wall_s: list[float] = field(default_factory=list)
    round_cpu_s: list[float] = field(default_factory=list)
    round_steps_ms: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def exchange(app: Asgi, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Reply:
    """One request through the ASGI interface, with its whole reply."""
    query = ""
    if "?" in path:
        path, query = path.split("?", 1)
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status, sent = 0, False
    reply_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            reply_headers.update((k.decode().lower(), v.decode()) for k, v in message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Reply(status, reply_headers, b"".join(chunks))


def form(**fields: str) -> tuple[dict[str, str], bytes]:
    return {"content-type": FORM}, urlencode(fields).encode()


def tokens_from(reply: Reply, what: str) -> dict[str, Any]:
    """The token response of a successful request; anything else stops the bench."""
    if reply.status != 200:
        raise RuntimeError(f"{what} answered {reply.status}: {reply.body[:300]!r}")
    document: dict[str, Any] = reply.json()
    return document


def baked_tests() -> ModuleType:
    """The baked project's ``tests`` package (its PostgreSQL and provider helpers), importable here."""
    folder = Path.cwd() / "tests"
    spec = importlib.util.spec_from_file_location(
        BAKED_TESTS, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None:
        raise RuntimeError(f"no tests package in {Path.cwd()}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[BAKED_TESTS] = module
    spec.loader.exec_module(module)
    return module


class Service:
    """One migrated database and the service on it, with the requests the bench sends it."""

    def __init__(self, app: Any, login: str, oidc: Any = None) -> None:
        self.app, self.login, self.oidc = app, login, oidc
        self.refresh_tokens: deque[str] = deque()
        self.codes: list[tuple[str, bytes]] = []  # headers' cookie and the body of a ready POST /authorize

    async def log_in(self, _: int) -> dict[str, Any]:
        """The login route: the password grant, or the code exchange with a code fetched beforehand."""
        if self.login == "password":
            headers, body = form(grant_type="password", username=USERNAME, password=PASSWORD)
            return tokens_from(await exchange(self.app, "POST", "/token", headers, body), "POST /token (password)")
        cookie, body = self.codes.pop()
        headers = {"content-type": "application/json", "cookie": cookie}
        return tokens_from(await exchange(self.app, "POST", "/authorize", headers, body), "POST /authorize")

    async def refresh(self, _: int) -> dict[str, Any]:
        """Spend the oldest live refresh token; its successor joins the queue."""
        headers, body = form(grant_type="refresh_token", refresh_token=self.refresh_tokens.popleft())
        issued = tokens_from(await exchange(self.app, "POST", "/token", headers, body), "POST /token (refresh)")
        self.refresh_tokens.append(issued["refresh_token"])
        return issued

    async def fetch_codes(self, count: int, http: httpx2.Client) -> None:
        """Start ``count`` logins and sign in at the provider (not timed): codes for ``POST /authorize``."""
        upstream = importlib.import_module(f"{BAKED_TESTS}.upstream")
        redirect_uri = self.oidc.settings.login_redirect_uri
        for _ in range(count):
            started = await exchange(self.app, "GET", "/login", {})
            cookie = started.headers["set-cookie"].split(";", 1)[0]
            back = await asyncio.to_thread(
                upstream.log_in_over_http, http, started.json()["url"], redirect_uri, USERNAME
            )
            query = parse_qs(urlsplit(back).query)
            self.codes.append((cookie, json.dumps({"code": query["code"][0], "state": query["state"][0]}).encode()))


async def migrate(url: str) -> None:
    """Bring a fresh database to the newest schema with the bake's own migrations."""
    db = importlib.import_module(f"{os.environ[PACKAGE]}.db")
    engine = db.create_engine(url, timeout=10)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()


async def add_password_user(app: Any, password_hash: str) -> None:
    models = importlib.import_module(f"{os.environ[PACKAGE]}.models")
    async with app.state.accounts.database.sessions() as db:
        db.add(models.User(username=USERNAME, password_hash=password_hash))
        await db.commit()


def settings_for(database_url: str, login_settings: dict[str, str]) -> Any:
    main = importlib.import_module(f"{os.environ[PACKAGE]}.main")
    secret = secrets.token_urlsafe(48)
    return main.Settings(
        _env_file=None, secret=secret, issuer="https://bench.example.com", audience="api://bench",
        database_url=database_url, **login_settings,
    )  # fmt: skip


@asynccontextmanager
async def started(settings: Any) -> AsyncIterator[Any]:
    """The service built by its own ``create_app()``, its lifespan running."""
    main = importlib.import_module(f"{os.environ[PACKAGE]}.main")
    app = main.create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def timed_round(result: Result, timings: Timings, requests: int, send: Callable[[int], Awaitable[Any]]) -> None:
    """``requests`` sequential requests: each one's wall time, the round's wall and CPU time, the steps."""
    timings.spent.clear()
    timings.calls.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(requests):
        started_at = time.perf_counter()
        await send(n)
        result.latencies_ms.append((time.perf_counter() - started_at) * 1e3)
    result.round_wall_s.append(time.perf_counter() - wall)
    result.round_cpu_s.append(time.process_time() - cpu)
    spent = {label: timings.spent[label] / requests / 1e6 for *_, label in STEPS if timings.calls[label]}
    result.round_steps_ms.append(spent)


def start_peers(options: argparse.Namespace, stack: ExitStack) -> tuple[dict[str, str], dict[str, str]]:
    """A database URL per backend (PostgreSQL started for the block), and the login's settings (its provider)."""
    baked_tests()
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-login-")))
    urls = {"sqlite": f"sqlite+aiosqlite:///{folder / 'bench.db'}"}
    if "postgresql" in options.backends:
        postgres = importlib.import_module(f"{BAKED_TESTS}.postgres")
        bindir = postgres.find_bindir()
        if bindir is None:
            raise SystemExit("PostgreSQL server binaries not found (PG_BINDIR, or /usr/lib/postgresql/<version>/bin)")
        urls["postgresql"] = stack.enter_context(postgres.running_postgres(bindir)).url()
    if options.login != "oidc":
        return urls, {}
    upstream = importlib.import_module(f"{BAKED_TESTS}.upstream")
    redirect_uri = f"http://127.0.0.1:{free_port()}/authorize"  # never served: codes are read off it
    client = upstream.Client(CLIENT_ID, [redirect_uri], client_secret=CLIENT_SECRET)
    provider = stack.enter_context(upstream.running_provider(upstream.ProviderConfig(clients=[client])))
    login_settings = {
        "login_issuer": provider.issuer, "login_client_id": CLIENT_ID,
        "login_client_secret": CLIENT_SECRET, "login_redirect_uri": redirect_uri,
    }  # fmt: skip
    return urls, login_settings


async def measure(options: argparse.Namespace, stack: ExitStack) -> list[Result]:
    """Every route of the bake on every database, interleaved, after a warm-up."""
    package = os.environ[PACKAGE]
    urls, login_settings = start_peers(options, stack)
    http = stack.enter_context(httpx2.Client(timeout=30))
    passwords = importlib.import_module(f"{package}.passwords") if options.login == "password" else None
    hasher: Any = passwords.hasher if passwords else None
    password_hash = hasher.hash(PASSWORD) if hasher else ""
    login_route = "POST /token (password grant)" if options.login == "password" else "POST /authorize (code exchange)"
    refresh_route = "POST /token (refresh grant)"
    async with AsyncExitStack() as apps:
        services: dict[str, Service] = {}
        for backend in options.backends:
            await migrate(urls[backend])
            app = await apps.enter_async_context(started(settings_for(urls[backend], login_settings)))
            if passwords:
                await add_password_user(app, password_hash)
            services[backend] = Service(app, options.login, getattr(app.state, "oidc", None))
        keys = [(backend, route) for backend in options.backends for route in (login_route, refresh_route)]
        if passwords:
            keys.append(("", ARGON2))
        results = {f"{backend} {route}": Result(backend, route) for backend, route in keys}

        async def bare_verify(_: int) -> None:
            if not hasher.verify(PASSWORD, password_hash):
                raise RuntimeError("the bare argon2id verify refused the right password")

        with timed_steps(package, STEPS) as timings:
            for service in services.values():  # warm-up, and the first refresh tokens
                for _ in range(2):
                    if options.login == "oidc":
                        await service.fetch_codes(1, http)
                    service.refresh_tokens.append((await service.log_in(0))["refresh_token"])
                await service.refresh(0)
            for name in interleaved(list(results), options.rounds):
                result = results[name]
                backend, route = result.backend, result.route
                if route == ARGON2:
                    await timed_round(result, timings, options.requests, bare_verify)
                    continue
                service = services[backend]
                if route == login_route:
                    if options.login == "oidc":
                        await service.fetch_codes(options.requests, http)
                    await timed_round(result, timings, options.requests, service.log_in)
                else:
                    await timed_round(result, timings, options.requests, service.refresh)
    return list(results.values())


def argon2_parameters() -> str | None:
    """The bake's argon2id parameters, as its ``passwords`` module states them (password bakes)."""
    name = f"{os.environ[PACKAGE]}.passwords"
    if importlib.util.find_spec(name) is None:
        return None
    passwords = importlib.import_module(name)
    return f"m = {passwords.MEMORY_KIB // 1024} MiB, t = {passwords.ITERATIONS}, p = {passwords.LANES}"


def without_revocation_view(app: Any) -> Any:
    """The same app, its guard's authenticator swapped for the plain one: no revocation view consulted."""
    checking = app.state.authenticator
    plain = importlib.import_module(f"{os.environ[PACKAGE]}.authenticator").Authenticator
    app.state.authenticator = plain(checking.settings, checking.verifier)
    return app


async def authenticate_us(authenticator: Any, token: str, calls: int) -> float:
    """CPU µs per ``authenticate`` call of one token."""
    started = time.process_time()
    for _ in range(calls):
        await authenticator.authenticate(token)
    return (time.process_time() - started) / calls * 1e6


async def view_cost(with_view: Any, without_view: Any, token: str, rounds: int) -> dict[str, list[float]]:
    """``authenticate`` alone with and without the view, on a cached token, interleaved: µs per call per round."""
    samples: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(rounds):
        samples["with"].append(await authenticate_us(with_view, token, VIEW_CALLS))
        samples["without"].append(await authenticate_us(without_view, token, VIEW_CALLS))
    return samples


def measure_hello(options: argparse.Namespace, stack: ExitStack) -> dict[str, Any]:
    """``/hello`` as ``bench.worker`` measures it, plus the same app without the revocation view."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-hello-")))
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    asyncio.run(migrate(url))
    # Read by main.Settings() in bench.app.build, as from .env; /hello never calls the oidc provider.
    os.environ.update(DATABASE_URL=url, AUTH_TOKEN_CACHE_SIZE=str(options.pool // 2))
    if options.login == "oidc":
        os.environ.update(OFFLINE_CLIENT)
    signer = worker.prepare("hs256", stack)
    apps = {name: build(name) for name in ("open", "noop", "hello")}
    apps[WITHOUT_VIEW] = without_revocation_view(build("hello"))
    unique = worker.mint(signer, options.pool, apps["hello"].state.authenticator.settings)
    kinds = {"repeated": unique[:1], "unique": unique}
    results, _ = asyncio.run(worker.in_process(apps, kinds, signer, options))
    authenticators = (apps["hello"].state.authenticator, apps[WITHOUT_VIEW].state.authenticator)
    view = asyncio.run(view_cost(*authenticators, unique[0], options.rounds))
    return {"results": [asdict(result) for result in results], "view_us": view}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--login", required=True, choices=["password", "oidc"])
    parser.add_argument("--hello", action="store_true", help="measure /hello with and without the revocation view")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--pool", type=int, default=1024, help="unique tokens for /hello; the cache holds half")
    options = parser.parse_args(argv)
    options.profile = options.steps = False  # worker.in_process options the login bench does not take
    random.seed(6)
    with ExitStack() as stack:
        if options.hello:
            json.dump(measure_hello(options, stack), sys.stdout)
            return
        results = asyncio.run(measure(options, stack))
    json.dump({"results": [asdict(result) for result in results], "argon2": argon2_parameters()}, sys.stdout)


if __name__ == "__main__":
    main()
