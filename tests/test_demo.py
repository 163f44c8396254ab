"""`make demo`: bakes, prints working curl lines, and serves; `make demo LOGIN=password` logs a demo user in."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from .baked import TEMPLATE, clean_env, free_port

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def demo(tmp_path: Path, *args: str) -> Iterator[tuple[str, list[str]]]:
    """Run the demo; yield its base URL, once it answers, and the shell lines it printed."""
    port = free_port()
    env = clean_env(DEMO_DIR=str(tmp_path), DEMO_PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, str(TEMPLATE / "scripts" / "demo.py"), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = ""
        while "Docs with the lock icon" not in printed:
            line = process.stdout.readline()
            assert line, f"the demo stopped before printing its curl lines:\n{printed}"
            printed += line
        block = printed.split("Try it once the server is up:\n", 1)[1].split("Docs with", 1)[0]
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        base_url = f"http://127.0.0.1:{port}"
        assert all(base_url in line for line in lines if "curl" in line), printed
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(f"{base_url}/health")
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline, "the demo server did not come up"
                time.sleep(0.1)
        yield base_url, lines
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def test_demo_serves_the_default_project_with_the_token_it_prints(tmp_path: Path) -> None:
    with demo(tmp_path) as (base_url, lines):
        [curl] = lines
        match = re.fullmatch(
            r'curl -H "Authorization: Bearer ([\w.-]+)" "(http://127\.0\.0\.1:\d+)/hello\?name=alice"', curl
        )
        assert match, curl
        token = match.group(1)
        response = httpx2.get(
            f"{base_url}/hello", params={"name": "alice"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert (response.status_code, response.json()) == (200, "Hi alice")
        assert httpx2.get(f"{base_url}/items", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert httpx2.get(f"{base_url}/hello", params={"name": "alice"}).status_code == 401
        assert (tmp_path / "jwt-service" / ".env").is_file()


def test_demo_with_password_login_prints_lines_that_log_in_refresh_and_log_out(tmp_path: Path) -> None:
    with demo(tmp_path, "--login", "password") as (base_url, lines):
        assert [line.split()[0] for line in lines] == ["TOKENS=$(curl", "TOKEN=$(echo", "curl", "curl", "curl"]
        # The lines run as printed, in one shell; then the token they logged out must be refused.
        script = "set -eu\n" + "\n".join(lines) + '\necho "$TOKEN"\n'
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        me, refreshed, logout, token = done.stdout.splitlines()
        user = json.loads(me)
        assert (user["username"], user["scopes"], user["disabled"]) == ("demo", ["items:read"], False)
        assert set(json.loads(refreshed)) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
        assert logout == "204"
        assert httpx2.get(f"{base_url}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
