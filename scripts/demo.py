"""Bake the default project into ./demo, mint a token, print a curl line, and serve it.

``DEMO_DIR`` and ``DEMO_PORT`` change where it bakes and which port it serves on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent
OUTPUT = Path(os.environ.get("DEMO_DIR") or TEMPLATE / "demo")
HOST, PORT = "127.0.0.1", os.environ.get("DEMO_PORT", "8000")


def main() -> int:
    shutil.rmtree(OUTPUT, ignore_errors=True)
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(OUTPUT)))
    package = next(path.name for path in (project / "src").iterdir() if path.is_dir())
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    mint = [sys.executable, "-m", f"{package}.mint", "--sub", "alice", "--scope", "items:read"]
    minted = subprocess.run(mint, cwd=project, env=env, check=True, capture_output=True, text=True)  # noqa: S603
    token = minted.stdout.strip()
    print(f"\nBaked {project} (auth_mode=hs256, secret in its .env).")
    print(f"\nA token for alice, valid 15 minutes:\n\n  {token}\n")
    print("Try it once the server is up:\n")
    print(f'  curl -H "Authorization: Bearer {token}" "http://{HOST}:{PORT}/hello?name=alice"\n')
    print(f"Docs with the lock icon: http://{HOST}:{PORT}/docs  (Ctrl+C stops the server)\n", flush=True)
    os.chdir(project)
    os.execve(  # noqa: S606 - replace this process with the server
        sys.executable,
        [sys.executable, "-m", "uvicorn", "--factory", f"{package}.main:create_app", "--host", HOST, "--port", PORT],
        env,
    )


if __name__ == "__main__":
    sys.exit(main())
