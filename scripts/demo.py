"""Bake a project into ./demo, print curl lines that work against it, and serve it.

``--login none`` (the default) mints a token; ``--login password`` bakes a login
service, migrates its database, creates a demo user and prints the password login.
``DEMO_DIR`` and ``DEMO_PORT`` change where it bakes and which port it serves on.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent
OUTPUT = Path(os.environ.get("DEMO_DIR") or TEMPLATE / "demo")
HOST, PORT = "127.0.0.1", os.environ.get("DEMO_PORT", "8000")
BASE_URL = f"http://{HOST}:{PORT}"
LOGINS = ("none", "password")
# Reads one field of the JSON token response on stdin, for the printed shell lines.
FIELD = "python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])'"


def run_module(project: Path, env: dict[str, str], module: str, *args: str, stdin: str = "") -> str:
    done = subprocess.run(  # noqa: S603 - the baked project's own modules
        [sys.executable, "-m", module, *args],
        cwd=project,
        env=env,
        input=stdin,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def token_lines(project: Path, env: dict[str, str], package: str) -> list[str]:
    token = run_module(project, env, f"{package}.mint", "--sub", "alice", "--scope", "items:read")
    print(f"A token for alice, valid 15 minutes:\n\n  {token}\n")
    return [f'curl -H "Authorization: Bearer {token}" "{BASE_URL}/hello?name=alice"']


def password_lines(project: Path, env: dict[str, str], package: str) -> list[str]:
    run_module(project, env, f"{package}.db", "upgrade")
    password = secrets.token_urlsafe(16)
    create = ("create", "demo", "--scope", "items:read", "--password-stdin")
    run_module(project, env, f"{package}.users", *create, stdin=password + "\n")
    print(f"A SQLite database with one user: demo, password {password}, scope items:read.\n")
    return [
        f"TOKENS=$(curl -s {BASE_URL}/token -d grant_type=password -d username=demo -d password={password})",
        f'TOKEN=$(echo "$TOKENS" | {FIELD} access_token); REFRESH=$(echo "$TOKENS" | {FIELD} refresh_token)',
        f'curl -s -H "Authorization: Bearer $TOKEN" {BASE_URL}/me; echo',
        f'curl -s {BASE_URL}/token -d grant_type=refresh_token -d refresh_token="$REFRESH"; echo',
        f"curl -s -o /dev/null -w '%{{http_code}}\\n' -X POST -H \"Authorization: Bearer $TOKEN\" {BASE_URL}/logout",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--login", choices=LOGINS, default="none", help="the login question's answer")
    login = parser.parse_args(argv).login
    shutil.rmtree(OUTPUT, ignore_errors=True)
    context = {"auth_mode": "hs256", "login": login}
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(OUTPUT), extra_context=context))
    package = next(path.name for path in (project / "src").iterdir() if path.is_dir())
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    print(f"\nBaked {project} (auth_mode=hs256, login={login}, secret in its .env).\n")
    lines = (password_lines if login == "password" else token_lines)(project, env, package)
    print("Try it once the server is up:\n")
    print("".join(f"  {line}\n" for line in lines))
    print(f"Docs with the lock icon: {BASE_URL}/docs  (Ctrl+C stops the server)\n", flush=True)
    os.chdir(project)
    os.execve(  # noqa: S606 - replace this process with the server
        sys.executable,
        [sys.executable, "-m", "uvicorn", "--factory", f"{package}.main:create_app", "--host", HOST, "--port", PORT],
        env,
    )


if __name__ == "__main__":
    sys.exit(main())
