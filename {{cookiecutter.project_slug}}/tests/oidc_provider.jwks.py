"""A real OpenID provider on 127.0.0.1: the npm package ``oidc-provider``, run by ``tests/node/provider.mjs``.

Unlike the stand-in of ``idp.py``, it has login pages, authorization code + PKCE, CORS on its token
endpoint for the origins of a client's redirect URIs, and JWT access tokens for our audience.
``npm ci`` installs it into ``tests/node/node_modules`` from the lock file on first use; without
node and npm the tests that need it skip, and fail when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from selenium.common.exceptions import NoSuchWindowException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from .browser import unavailable
from .support import free_port

NODE_DIR = Path(__file__).parent / "node"
START_TIMEOUT = 15.0
PASSWORD = "any"  # its development login page takes any password


def node_with_provider() -> str:
    """The ``node`` to run the provider with, after ``npm ci`` if it is not installed yet."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm are needed for the OpenID provider of the browser tests")
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        command = [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
        if result.returncode != 0:
            unavailable(f"npm ci failed in {NODE_DIR}:\n{result.stderr}")
    return node


@contextlib.contextmanager
def oidc_provider(client_id: str, redirect_uris: Sequence[str], audience: str, scopes: str) -> Iterator[str]:
    """Run a provider with one public client (PKCE, no secret) whose access tokens are JWTs for ``audience``.

    Yields its issuer. Its login page accepts any user name with any password.
    """
    node = node_with_provider()
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
    client = {
        "client_id": client_id,
        "redirect_uris": list(redirect_uris),
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    config = {
        "port": port,
        "clients": [client],
        "algs": ["RS256"],  # one fresh key at each start
        "audience": audience,
        "resource": audience,
        "scopes": scopes,
    }
    (workdir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    log = workdir / "provider.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(  # noqa: S603 - our own script
            [node, str(NODE_DIR / "provider.mjs"), str(workdir / "config.json")],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=NODE_DIR,
        )
    issuer = f"http://127.0.0.1:{port}"
    try:
        if json.loads(first_line(process) or "{}").get("issuer") != issuer:
            raise RuntimeError(f"the OpenID provider did not start:\n{log.read_text()}")
        yield issuer
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        shutil.rmtree(workdir, ignore_errors=True)


def first_line(process: subprocess.Popen[str]) -> str | None:
    """The ready line the provider prints, without hanging if it dies or never prints."""
    lines: list[str] = []
    stdout = process.stdout
    if stdout is None:
        return None
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    return lines[0] if lines else None


def log_in_at_provider(driver: WebDriver, username: str) -> None:
    """On the provider's own login page: sign in, then consent if asked."""
    wait = WebDriverWait(driver, 15)
    wait.until(lambda d: d.find_elements(By.NAME, "login"))
    driver.find_element(By.NAME, "login").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    def consent_or_gone(d: WebDriver) -> bool:
        # The consent page is one more form with a "Continue" button; the popup may be gone already.
        try:
            buttons = d.find_elements(By.XPATH, "//button[normalize-space()='Continue']")
        except NoSuchWindowException:
            return True
        if buttons:
            buttons[0].click()
            return True
        return False

    wait.until(consent_or_gone)
