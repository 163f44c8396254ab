"""`make demo`: bakes, mints, prints a working curl line, and serves."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from .baked import TEMPLATE, clean_env, free_port

pytestmark = pytest.mark.slow


def test_demo_serves_the_default_project_with_the_token_it_prints(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(DEMO_DIR=str(tmp_path), DEMO_PORT=str(port))
    demo = subprocess.Popen(
        [sys.executable, str(TEMPLATE / "scripts" / "demo.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        printed = ""
        while "curl -H" not in printed:
            line = demo.stdout.readline()
            assert line, f"the demo stopped before printing a curl line:\n{printed}"
            printed += line
        match = re.search(
            r'curl -H "Authorization: Bearer ([\w.-]+)" "(http://127\.0\.0\.1:\d+)/hello\?name=alice"', printed
        )
        assert match, printed
        token, base_url = match.groups()
        assert base_url == f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx2.get(
                    f"{base_url}/hello", params={"name": "alice"}, headers={"Authorization": f"Bearer {token}"}
                )
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline, "the demo server did not come up"
                time.sleep(0.1)
        assert (response.status_code, response.json()) == (200, "Hi alice")
        assert httpx2.get(f"{base_url}/items", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert httpx2.get(f"{base_url}/hello", params={"name": "alice"}).status_code == 401
        assert (tmp_path / "jwt-service" / ".env").is_file()
    finally:
        demo.terminate()
        demo.wait(timeout=10)
        if demo.stdout:
            demo.stdout.close()
