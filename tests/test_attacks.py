"""The attack battery: every case of ``attacks.py``, over real HTTP, against each baked mode under uvicorn.

Each mode, and each login bake (hs256 with login=password or oidc), is served once for the whole module;
the login bakes on a SQLite database of their own, with a user whom the good tokens name, and they face
the login's own attacks too: tokens that were logged out, revoked, of a disabled or deleted user,
refresh and access tokens swapped, another user's refresh token at logout, and bad ``POST /token`` bodies.
jwks mode is served against a loopback provider with RS256, ES256, PS256 and EdDSA keys (and JWKs that
lie about their algorithm), with those four in ``AUTH_ALGORITHMS``, published after over a hundred
others (``Keys.jwks_extras``). A second loopback server plays the attacker:
tokens point at it through ``jku``, ``x5u``, ``iss`` and ``kid``, and it must
never receive a request. The counted results are printed at the end of the run.
"""

from __future__ import annotations

import http.client
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest

from .attacks import (
    CASES,
    DPOP_MODE,
    INVALID,
    TALLIES,
    Case,
    Keys,
    Kit,
    Probe,
    Tally,
    bearer,
    bound_token,
    dpop_request,
    jose_key,
    proof,
)
from .baked import AUDIENCE, clean_env, run, serve
from .combinations import LOGIN_BAKES, MODES, Combination
from .provider import Provider

pytestmark = pytest.mark.slow
ISSUER = "https://auth.example.com"
JWKS_ALGORITHMS = '["RS256","ES256","PS256","EdDSA"]'
# The baked defaults of AUTH_JWKS_REFETCH_BURST and AUTH_JWKS_REFETCH_COOLDOWN_SECONDS.
REFETCH_BURST = 3
REFETCH_COOLDOWN = 30
# The login bakes, by target name (``hs256-password``), and what runs their users' database.
LOGIN_TARGETS = {Combination(login=login).id: login for login in LOGIN_BAKES}
OPERATOR = Path(__file__).with_name("login_operator.py")
# How often a login bake's workers re-read revocations (SQLite polls; the default is 2 s).
REVOCATION_POLL_SECONDS = "0.2"


@dataclass(frozen=True)
class Reply:
    status: int
    challenges: list[str]
    body: bytes


@dataclass(frozen=True)
class Target:
    """One served mode or login bake: where it listens, how to build its tokens, and its tally."""

    name: str
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


class Operator:
    """``login_operator.py`` running in a login bake's environment: what an operator can do to its users."""

    def __init__(self, project: Path, package: str, env: dict[str, str]) -> None:
        command = [sys.executable, str(OPERATOR), package]
        self.process = subprocess.Popen(
            command, cwd=project, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __call__(self, command: str, username: str) -> str:
        """Run one command; what it printed."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(f"{command} {username}\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, f"the operator stopped at {command} {username} (its error is above)"
        return answer.strip()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass(frozen=True)
class Login:
    """A served login bake, and its operator."""

    target: Target
    operate: Operator

    def new_session(self) -> tuple[str, dict[str, str]]:
        """A new user with a session of its own: the username and the token response."""
        username = f"user-{secrets.token_hex(4)}"
        self.operate("add", username)
        tokens: dict[str, str] = json.loads(self.operate("issue", username))
        return username, tokens


@dataclass
class Targets:
    """The module's served targets, each started on first use and stopped with the module."""

    stack: ExitStack
    baked: dict[str, Path]
    keys: Keys
    attacker: Provider
    tallies: dict[str, Tally]
    folder: Path
    served: dict[str, Target] = field(default_factory=dict)
    logins: dict[str, Login] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Target:
        if name not in self.served:
            self.served[name] = self._start(name)
        return self.served[name]

    def login(self, name: str) -> Login:
        self[name]
        return self.logins[name]

    def _start(self, name: str) -> Target:
        login = LOGIN_TARGETS.get(name)
        bake = "jwks" if name == DPOP_MODE else login or name
        issuer, provider, subject = ISSUER, None, "alice"
        if bake == "jwks":
            extra_jwks = [*self.keys.jwks_extras(), *self.keys.provider_jwks()]
            provider = self.stack.enter_context(Provider(self.keys.provider_keys(), extra_jwks=extra_jwks))
            issuer = provider.issuer
        env = clean_env(AUTH_ISSUER=issuer, AUTH_AUDIENCE=AUDIENCE)
        if bake == "jwks":
            env["AUTH_ALGORITHMS"] = JWKS_ALGORITHMS
        if name == DPOP_MODE:
            env["AUTH_DPOP"] = "allowed"
        if name == "hs256" or login:
            env["AUTH_SECRET"] = self.keys.secret
        if login:
            env.update(self._login_env(name, login))
            project, package = self.baked[login], f"svc_{login}"
            database_env = {**env, "PYTHONPATH": str(project / "src")}
            run(project, sys.executable, "-m", f"{package}.db", "upgrade", env=database_env)
            operator = Operator(project, package, database_env)
            self.stack.callback(operator.close)
            subject = operator("add", "alice")
        base_url = self.stack.enter_context(serve(self.baked[bake], f"svc_{bake}", env))
        address = urlsplit(base_url)
        assert address.hostname is not None
        assert address.port is not None
        mode = "hs256" if login else name  # a login bake is an hs256 service: it gives hs256's answers
        kit = Kit(mode, self.keys, issuer, AUDIENCE, self.attacker.issuer, base_url=base_url, subject=subject)
        tally = self.tallies.setdefault(name, Tally())
        target = Target(name, kit, address.hostname, address.port, tally, provider, time.monotonic())
        if login:
            self.logins[name] = Login(target, operator)
        return target

    def _login_env(self, name: str, login: str) -> dict[str, str]:
        """A SQLite database of its own; for the oidc login, a provider on loopback that it may log in at."""
        env = {
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.folder / name}.db",
            "AUTH_REVOCATION_POLL_SECONDS": REVOCATION_POLL_SECONDS,
        }
        if login == "oidc":
            upstream = self.stack.enter_context(Provider({"upstream-1": jose_key(self.keys.provider_rsa, "RS256")}))
            env.update(
                AUTH_LOGIN_ISSUER=upstream.issuer,
                AUTH_LOGIN_CLIENT_ID="attack-battery",
                AUTH_LOGIN_CLIENT_SECRET=secrets.token_urlsafe(32),
                AUTH_LOGIN_REDIRECT_URI="http://127.0.0.1/authorize",
            )
        return env


@pytest.fixture(scope="module")
def targets(
    baked: dict[str, Path],
    keys: Keys,
    attacker: Provider,
    pytestconfig: pytest.Config,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Targets]:
    """Each target served once for the module, shared by the battery and the login attacks."""
    tallies = pytestconfig.stash.setdefault(TALLIES, {})
    with ExitStack() as stack:
        yield Targets(stack, baked, keys, attacker, tallies, tmp_path_factory.mktemp("databases"))


@pytest.fixture(scope="module", params=[*MODES, DPOP_MODE, *LOGIN_TARGETS])
def target(request: pytest.FixtureRequest, targets: Targets) -> Target:
    return targets[request.param]


@pytest.fixture(scope="module", params=list(LOGIN_TARGETS))
def login(request: pytest.FixtureRequest, targets: Targets) -> Login:
    return targets.login(request.param)


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


# ---------------------------------------------------------------------------- the login bakes' own attacks


def token_request(login: Login, **form: str) -> httpx2.Response:
    """``POST /token`` with a form, as a client sends it."""
    return httpx2.post(f"{login.target.kit.base_url}/token", data=form, timeout=30)


def refresh(login: Login, refresh_token: str) -> httpx2.Response:
    return token_request(login, grant_type="refresh_token", refresh_token=refresh_token)


def assert_invalid_token(reply: Reply) -> None:
    """RFC 6750: 401 with ``error="invalid_token"``."""
    assert (reply.status, reply.challenges) == (INVALID.status, [INVALID.challenge]), reply.body[:300]


def assert_token_error(response: httpx2.Response, error: str) -> None:
    """RFC 6749 §5.2: 400, a JSON body naming the error, not stored."""
    assert (response.status_code, response.json()["error"]) == (400, error), response.text[:300]
    assert response.headers["cache-control"] == "no-store"


def refused_in_time(target: Target, token: str, within: float = 5.0) -> Reply:
    """The answer to ``token`` at /me once it is no longer 200; workers learn of a revocation by polling SQLite."""
    deadline = time.monotonic() + within
    reply = target.send(bearer(token))
    while reply.status == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        reply = target.send(bearer(token))
    return reply


def test_a_logged_out_access_token_is_refused_on_every_route(login: Login) -> None:
    _, tokens = login.new_session()
    access = tokens["access_token"]
    assert login.target.send(bearer(access)).status == 200
    logout = httpx2.post(f"{login.target.kit.base_url}/logout", headers={"Authorization": f"Bearer {access}"})
    assert logout.status_code == 204
    for path in ("/me", "/hello?name=x", "/items"):
        assert_invalid_token(login.target.send(bearer(access, path)))
    assert_token_error(refresh(login, tokens["refresh_token"]), "invalid_grant")


@pytest.mark.parametrize("command", ["revoke", "disable"])
def test_tokens_issued_before_the_user_was_revoked_or_disabled_are_refused(login: Login, command: str) -> None:
    username, tokens = login.new_session()
    assert login.target.send(bearer(tokens["access_token"])).status == 200
    login.operate(command, username)
    assert_invalid_token(refused_in_time(login.target, tokens["access_token"]))
    assert_token_error(refresh(login, tokens["refresh_token"]), "invalid_grant")


def test_a_refresh_token_is_not_an_access_token(login: Login) -> None:
    _, tokens = login.new_session()
    assert_invalid_token(login.target.send(bearer(tokens["refresh_token"])))
    assert_invalid_token(login.target.send(bearer(tokens["refresh_token"], "/hello?name=x")))


def test_an_access_token_is_not_a_refresh_token(login: Login) -> None:
    _, tokens = login.new_session()
    assert_token_error(refresh(login, tokens["access_token"]), "invalid_grant")
    # Refused as unknown, so the session it came from goes on.
    assert refresh(login, tokens["refresh_token"]).status_code == 200


def test_a_deleted_users_tokens_get_nothing_of_theirs(login: Login) -> None:
    username, tokens = login.new_session()
    login.operate("delete", username)
    # Well signed and unexpired, but naming nobody: /me finds no user (404), the refresh token is gone.
    reply = login.target.send(bearer(tokens["access_token"]))
    assert reply.status == 404, reply.body[:300]
    assert_token_error(refresh(login, tokens["refresh_token"]), "invalid_grant")


def test_logout_with_another_users_refresh_token_ends_only_ones_own_session(login: Login) -> None:
    _, mine = login.new_session()
    _, theirs = login.new_session()
    logout = httpx2.post(
        f"{login.target.kit.base_url}/logout",
        headers={"Authorization": f"Bearer {mine['access_token']}"},
        data={"refresh_token": theirs["refresh_token"]},
    )
    assert logout.status_code == 204
    assert login.target.send(bearer(theirs["access_token"])).status == 200
    assert refresh(login, theirs["refresh_token"]).status_code == 200


FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class BadBody:
    """A ``POST /token`` body refused with an RFC 6749 §5.2 error; ``oidc_error`` where the oidc login differs."""

    name: str
    body: bytes
    error: str
    status: int = 400
    content_type: str | None = FORM
    oidc_error: str | None = None

    def expected(self, login: str) -> tuple[int, str]:
        return self.status, (self.oidc_error if login == "oidc" and self.oidc_error else self.error)


REFRESH = b"grant_type=refresh_token&refresh_token="
# A failed password login counts against the address (429 after AUTH_LOGIN_FAILURES_PER_ADDRESS): only two here.
BAD_BODIES = [
    BadBody("grant_type missing", b"refresh_token=x", "invalid_request"),
    BadBody("grant_type repeated", b"grant_type=refresh_token&grant_type=password&refresh_token=x", "invalid_request"),
    BadBody("refresh_token repeated", REFRESH + b"x&refresh_token=y", "invalid_request"),
    BadBody("bytes that are not UTF-8", REFRESH + b"\xff\xfe", "invalid_request"),
    BadBody("percent-encoded bytes that are not UTF-8", REFRESH + b"%ff%fe", "invalid_request"),
    BadBody("21 fields", b"&".join(b"f%d=x" % n for n in range(21)), "invalid_request"),
    BadBody(
        "JSON",
        b'{"grant_type":"refresh_token","refresh_token":"x"}',
        "invalid_request",
        content_type="application/json",
    ),
    BadBody("multipart", b"--x--", "invalid_request", content_type="multipart/form-data; boundary=x"),
    BadBody("no content type", REFRESH + b"x", "invalid_request", content_type=None),
    BadBody("a body over the cap", REFRESH + b"x" * 5000, "invalid_request", status=413),
    BadBody("grant_type unknown", b"grant_type=client_credentials", "unsupported_grant_type"),
    BadBody("an authorization code at /token", b"grant_type=authorization_code&code=x", "unsupported_grant_type"),
    BadBody("refresh_token empty", REFRESH, "invalid_request"),
    BadBody("refresh_token of 300 characters", REFRESH + b"x" * 300, "invalid_grant"),
    BadBody("refresh_token SQL", REFRESH + b"x%27%20OR%20%271%27%3D%271", "invalid_grant"),
    BadBody("refresh_token with a NUL byte", REFRESH + b"x%00y", "invalid_grant"),
    BadBody(
        "password grant, SQL in the username",
        b"grant_type=password&password=x&username=alice%27%20OR%20%271%27%3D%271",
        "invalid_grant",
        oidc_error="unsupported_grant_type",
    ),
    BadBody(
        "password grant, a 3 KB username",
        b"grant_type=password&password=x&username=" + b"a" * 3000,
        "invalid_grant",
        oidc_error="unsupported_grant_type",
    ),
]


@pytest.mark.parametrize("bad", BAD_BODIES, ids=lambda bad: bad.name)
def test_a_bad_token_request_gets_an_oauth_error_never_a_5xx(login: Login, bad: BadBody) -> None:
    headers = {"content-type": bad.content_type} if bad.content_type else {}
    response = httpx2.post(f"{login.target.kit.base_url}/token", content=bad.body, headers=headers, timeout=30)
    bake = LOGIN_TARGETS[login.target.name]
    assert (response.status_code, response.json()["error"]) == bad.expected(bake), response.text[:300]
    assert response.headers["cache-control"] == "no-store"
