"""A real OpenID provider on 127.0.0.1 for the tests: the npm ``oidc-provider`` 8.x, run by ``node/provider.mjs``.

Unlike a stand-in, it has its own login and consent pages, authorization code + PKCE, CORS on its
token endpoint for the origins of a client's redirect URIs and, given a ``resource``, JWT access
tokens for that audience. ``npm ci`` installs it from the lock file on first use; without node and
npm the tests that need it skip, and fail when ``CI`` is set.

``running_provider(...)`` starts it on a free port and yields an ``UpstreamProvider``: its
``issuer``; ``restart()``, which is a key rotation; ``stopped()`` and ``paused()``, which make it
refuse connections or hang for a block; and the keys it signs with. ``log_in_over_http`` goes
through its pages without a browser, ``log_in_at_provider`` in one.{% if cookiecutter.auth_mode == "jwks" %}
``requests()`` counts what it was asked for.{% endif %}
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

import httpx2
from selenium.common.exceptions import NoSuchWindowException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from .browser import unavailable
from .support import free_port

NODE_DIR = Path(__file__).with_name("node")
START_TIMEOUT = 20.0
ANY_PASSWORD = "any"  # the provider's development login page takes any password


@dataclass(frozen=True)
class Client:
    """A client registered at the provider: confidential with a secret, else public (PKCE only, like Swagger UI)."""

    client_id: str
    redirect_uris: Sequence[str]
    client_secret: str | None = None
    auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"

    def metadata(self) -> dict[str, Any]:
        secret = {"client_secret": self.client_secret} if self.client_secret else {}
        return {
            "client_id": self.client_id,
            "redirect_uris": list(self.redirect_uris),
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": self.auth_method if self.client_secret else "none",
            **secret,
        }


@dataclass(frozen=True)
class ProviderConfig:
    """The provider's clients, signing algorithms (a fresh key each; the first signs) and users.

    With a ``resource``, access tokens are JWTs for ``audience``, with scopes taken from ``scopes``.
    """

    clients: Sequence[Client]
    algs: Sequence[str] = ("RS256",)
    users: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # extra claims per login name
    resource: str | None = None
    audience: str | None = None
    scopes: str = ""


def require_provider() -> str:
    """Path of ``node``, with ``oidc-provider`` installed by ``npm ci`` if need be; skip (fail on CI) without."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm are needed for the tests' OpenID provider")
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        done = subprocess.run(  # noqa: S603 - npm, our own lock file
            [npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            unavailable(f"npm ci --prefix {NODE_DIR} failed: {done.stderr.strip()[-500:]}")
    return node


class UpstreamProvider:
    """The provider process on one port; ``restart()`` keeps the issuer and replaces every key."""

    def __init__(self, node: str, config: ProviderConfig, port: int, workdir: Path) -> None:
        self.node, self.config, self.port, self.workdir = node, config, port, workdir
        self.issuer = f"http://127.0.0.1:{port}"
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        config_file = self.workdir / "config.json"
        config = {"port": self.port, "keys_file": str(self.keys_file), **asdict(self.config)}
        config["clients"] = [client.metadata() for client in self.config.clients]
        config_file.write_text(json.dumps(config), encoding="utf-8")
        with (self.workdir / "provider.log").open("a") as log:
            self._process = subprocess.Popen(  # noqa: S603 - node running our own script
                [self.node, str(NODE_DIR / "provider.mjs"), str(config_file)],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                cwd=NODE_DIR,
            )
        line = _first_line(self._process, START_TIMEOUT)
        if json.loads(line or "{}").get("issuer") != self.issuer:
            self.stop()
            raise RuntimeError(f"the OpenID provider did not start:\n{self.log()}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Stop the provider for the block (connections refused), then start it again with new keys."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze the process for the block: connections are accepted by the kernel, never answered."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self._process.send_signal(signal.SIGCONT)

    def restart(self, **changes: Any) -> None:
        """Stop, then start on the same port with new keys (and any ``ProviderConfig`` changes)."""
        self.stop()
        self.config = replace(self.config, **changes)
        self.start()

    @property
    def keys_file(self) -> Path:
        return self.workdir / "keys.json"

    def private_keys(self) -> list[dict[str, Any]]:
        """The private JWKs the provider signs with now (the first signs ID tokens)."""
        keys: list[dict[str, Any]] = json.loads(self.keys_file.read_text(encoding="utf-8"))["keys"]
        return keys

    def log(self) -> str:
        return (self.workdir / "provider.log").read_text(encoding="utf-8")
{%- if cookiecutter.auth_mode == "jwks" %}

    def requests(self, path: str | None = None) -> int:
        """How many requests it got since its first start: to ``path`` (such as ``/jwks``), or in all."""
        paths = [line.split(" ", 2)[2] for line in self.log().splitlines() if line.startswith("request ")]
        return len(paths) if path is None else paths.count(path)
{%- endif %}


def _first_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    """The process's first line of output, without hanging if it dies or never prints."""
    stdout = process.stdout
    if stdout is None:
        raise ValueError("start the process with stdout=PIPE")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else None


@contextlib.contextmanager
def running_provider(config: ProviderConfig, port: int | None = None) -> Iterator[UpstreamProvider]:
    """Run the provider on 127.0.0.1 (a free port unless given) for the block."""
    node = require_provider()
    workdir = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
    provider = UpstreamProvider(node, config, port or free_port(), workdir)
    try:
        provider.start()
        yield provider
    finally:
        provider.stop()
        shutil.rmtree(workdir, ignore_errors=True)


class _Page(HTMLParser):
    """A page's forms (action and input values) and links: enough for the provider's own pages."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append((attr.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in attr:
            self.forms[-1][1][attr["name"]] = attr.get("value", "")
        elif tag == "a" and "href" in attr:
            self.links.append(attr["href"])


def log_in_over_http(
    http: httpx2.Client, login_url: str, redirect_uri: str, username: str, *, cancel: bool = False
) -> str:
    """Sign in (or ``cancel``) at the provider's pages; return the URL it redirects to, not followed.

    Cookies stay in ``http``, as in a browser.
    """
    response = http.get(login_url)
    for _ in range(10):
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(redirect_uri):
                return target
            response = http.get(target)
            continue
        page = _Page()
        page.feed(response.text)
        if cancel:
            abort = next(link for link in page.links if link.endswith("/abort"))
            response = http.get(urljoin(str(response.url), abort))
            continue
        if not page.forms:
            raise AssertionError(f"{response.status_code} without a form at the provider: {response.text[:500]}")
        action, fields = page.forms[0]
        if "login" in fields:
            fields |= {"login": username, "password": ANY_PASSWORD}
        response = http.post(urljoin(str(response.url), action), data=fields)
    raise AssertionError("too many steps at the provider")


def log_in_at_provider(driver: WebDriver, username: str) -> None:
    """On the provider's login page in a browser: sign in, then consent if asked."""
    wait = WebDriverWait(driver, 15)
    wait.until(lambda d: d.find_elements(By.NAME, "login"))
    driver.find_element(By.NAME, "login").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(ANY_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    def consented_or_gone(d: WebDriver) -> bool:
        # The consent page is one more form with a single "Continue" button; it may be skipped.
        try:
            buttons = d.find_elements(By.XPATH, "//button[normalize-space()='Continue']")
            if not buttons:
                return "/interaction/" not in d.current_url
            buttons[0].click()
        except NoSuchWindowException:
            pass
        return True

    wait.until(consented_or_gone)
