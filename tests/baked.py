"""Helpers for tests that bake the template and run what it produced."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import resource
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent
AUDIENCE = "api://demo"


def load_hook(name: str) -> ModuleType:
    """One of the template's hooks (``pre_gen_project``, ``post_gen_project``), imported as a module."""
    spec = importlib.util.spec_from_file_location(name, TEMPLATE / "hooks" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bake(output_dir: Path, **context: str) -> Path:
    """Bake the template without prompts; return the project folder."""
    return Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output_dir), extra_context=context))


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a baked project's tools run in: no AUTH_* leaking in from outside.

    Nor the variables of an outer ``make`` (as under ``make test``), which would make a baked
    project's own ``make`` print ``make[1]: Entering directory`` around its output.
    """
    leaks = ("AUTH_", "APP_ENV", "PYTHON", "MAKE", "MFLAGS")
    env = {key: value for key, value in os.environ.items() if not key.startswith(leaks)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def run(project: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600) -> str:
    """Run a command in a baked project; fail with its output if it fails."""
    result = subprocess.run(
        args, cwd=project, env=dict(env or clean_env()), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{' '.join(args)} failed in {project.name}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def dockerfile(project: Path) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (project / "Dockerfile").read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(keyword.upper(), arguments) for keyword, _, arguments in (line.partition(" ") for line in lines)]


def instruction(project: Path, keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile(project) if name == keyword]


def container_command(project: Path) -> tuple[list[str], dict[str, str]]:
    """The image's command (CMD, exec form) and the variables its ``ENV`` lines set."""
    variables = dict(word.split("=", 1) for line in instruction(project, "ENV") for word in shlex.split(line))
    return json.loads(instruction(project, "CMD")[-1]), variables


def mint(project: Path, package: str, *args: str) -> str:
    """A token from the baked project's own ``mint`` (hs256 and dev), which reads its ``.env``."""
    return run(project, sys.executable, "-m", f"{package}.mint", *args, env=clean_env(PYTHONPATH="src")).strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    project: Path, package: str, env: Mapping[str, str], *, target: Sequence[str] = (), open_files: int | None = None
) -> Iterator[str]:
    """Serve a baked project with uvicorn on 127.0.0.1; yield its base URL.

    ``target`` replaces the app (``--factory <package>.main:create_app``) with uvicorn arguments of one's
    own; a ``--host`` or ``--port`` among them is overridden. ``open_files`` lowers the server's open-file limit.
    """
    port = free_port()
    app = list(target or ["--factory", f"{package}.main:create_app"])
    command = [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(port)]
    full_env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(project / "src"), env.get("PYTHONPATH")]))}
    limit = None if open_files is None else (open_files, open_files)
    process = subprocess.Popen(
        command,
        cwd=project,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=None if limit is None else lambda: resource.setrlimit(resource.RLIMIT_NOFILE, limit),
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else ""
                    raise RuntimeError(f"uvicorn did not start:\n{output}") from None
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
