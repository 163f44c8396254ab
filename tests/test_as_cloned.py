"""Slow tier: every combination as its user holds it, a fresh git clone of the baked project.

A clone has only what was committed: no ``.env``, no ``.venv``, no ``uv.lock``. In it, this test runs
what the project tells its user to run, as written: the ``run:`` steps of its CI workflow's check job,
the README's pip path, and the README's way to configure and start the service, which it then calls
over HTTP. When a step fails here it fails for a user: fix the project or its instructions, not this test.

The combinations run side by side in threads, since each is mostly waiting on subprocesses.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx2
import pytest
import yaml
from jose import jwt

from .baked import bake, clean_env, free_port, run
from .combinations import DEFAULT_LOGIN, SUPPORTED, Combination, case_id
from .provider import Provider, generate_key

pytestmark = pytest.mark.slow

# The pip path is one branch of the Makefile, the same in every combination, and costs a minute of
# pip installing per clone; each combination's own code is already checked by its CI steps. So the
# pip path runs for the default bake, the one most users start from.
PIP_PATH = (Combination(),)
# Two lanes: a clone's checks use about 0.7 of a core (its tests wait on sockets and timers), so two
# side by side fit on the 2-core machines the template's CI runs on.
THREADS = 2
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
# The workflow's newest Python, for one login bake (the most code): what a newer Python breaks (a new
# warning, which the tests turn into an error) shows there, not on the template's own Python.
NEWEST_PYTHON = "3.13"
NEWEST_PYTHON_BAKES = (Combination(login="password"),)
# A `run:` step with no `shell:` runs as `bash -e {0}` on GitHub's Linux runners.
STEP_SHELL = ("bash", "-e", "-c")
# The check job's actions and what stands in for them here.
STAND_INS = {"actions/checkout": "the fresh clone", "astral-sh/setup-uv": "uv from the template's dev group"}
SECRET_COMMAND = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"  # noqa: S105 - makes one
NOT_COMMITTED = (".env", ".venv", "uv.lock")


def step(folder: Path, command: str, env: Mapping[str, str]) -> str:
    """Run one command line as a workflow step or a user's shell runs it; return what it printed."""
    return run(folder, *STEP_SHELL, command, env=env, timeout=900)


def ci_env(runner: Path, python: str = PYTHON) -> dict[str, str]:
    """What the check job's steps see: CI=true, no AUTH_* variables, uv on PATH, one matrix Python,
    and the runner image's Chrome (see ``runner_image``).

    setup-uv's ``python-version`` sets UV_PYTHON (here a version, or the path of that interpreter);
    downloads are off so that a missing interpreter fails here instead of being fetched.
    """
    env = clean_env(CI="true", UV_PYTHON=python, UV_PYTHON_DOWNLOADS="never")
    env.pop("VIRTUAL_ENV", None)
    driver = shutil.which("chromedriver")
    assert driver, "chromium-driver stands in for the runner's chromedriver (.ci/run installs it)"
    env["CHROMEWEBDRIVER"] = str(Path(driver).parent)
    env["PATH"] = f"{runner}{os.pathsep}{env['PATH']}"
    return env


def runner_image(folder: Path) -> Path:
    """A folder for PATH that gives what GitHub's Ubuntu image has and the steps use: ``google-chrome``.

    Debian's chromium stands in for it (.ci/run installs it), as chromium-driver does for the
    image's ``$CHROMEWEBDRIVER/chromedriver``.
    """
    chromium = shutil.which("chromium")
    assert chromium, "chromium stands in for the runner's google-chrome (.ci/run installs it)"
    folder.mkdir()
    (folder / "google-chrome").symlink_to(chromium)
    return folder


def user_env() -> dict[str, str]:
    """A user's shell: no AUTH_* variables, uv on PATH (the pip path says ``UV=`` to do without)."""
    env = clean_env(UV_PYTHON_DOWNLOADS="never")
    env.pop("VIRTUAL_ENV", None)
    return env


def fresh_clone(project: Path, folder: Path) -> Path:
    """Commit the baked project and clone it into ``folder``: the project as its user holds it."""
    identity = ["-c", "user.name=Template Test", "-c", "user.email=template-test@example.invalid"]
    if not (project / ".git").exists():
        run(project, "git", "init", "--quiet")
        run(project, "git", "add", "--all")
        run(project, "git", *identity, "commit", "--quiet", "-m", "Baked")
    run(project.parent, "git", "clone", "--quiet", str(project), str(folder))
    assert not [name for name in NOT_COMMITTED if (folder / name).exists()]
    return folder


def interpreter(version: str) -> str | None:
    """A ``python<version>`` that runs: on PATH, or one that pyenv installed (its shims may not run it)."""
    pyenv = Path.home() / ".pyenv" / "versions"
    candidates = [shutil.which(f"python{version}"), *sorted(map(str, pyenv.glob(f"{version}.*/bin/python{version}")))]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", ""], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def check_job_steps(clone: Path, env: Mapping[str, str], python: str = PYTHON) -> list[str]:
    """The `run:` steps of the workflow's check job; every other step must be one this test stands in for."""
    job = yaml.safe_load((clone / ".github/workflows/ci.yml").read_text(encoding="utf-8"))["jobs"]["check"]
    assert python in job["strategy"]["matrix"]["python-version"], "this Python is one the workflow tests"
    uv_version = run(clone, "uv", "--version", env=env).split()[1]
    commands = []
    for entry in job["steps"]:
        assert set(entry) <= {"name", "uses", "with", "run"}, f"a step this test cannot run as written: {entry}"
        if "run" in entry:
            assert "${{" not in entry["run"], entry["run"]
            commands.append(entry["run"])
            continue
        action = entry["uses"].partition("@")[0]
        assert action in STAND_INS, f"nothing here stands in for {action}"
        if action == "astral-sh/setup-uv":
            assert entry["with"]["version"] == uv_version, "the workflow's uv is the one this test runs"
    return commands


def assert_only_passes(output: str, clone: Path) -> None:
    """pytest ran every test module of the clone, and every test passed: no failure, skip, xfail or warning."""
    summaries = re.findall(r"^=+ (.+) in [\d.]+s(?: \([\d:]+\))? =+$", output, re.MULTILINE)
    assert summaries, output
    assert re.fullmatch(r"\d+ passed", summaries[-1]), summaries[-1]
    for module in sorted((clone / "tests").glob("test_*.py")):
        assert re.search(rf"^tests/{re.escape(module.name)} ", output, re.MULTILINE), f"{module.name} did not run"


def assert_tools_pass(command: str, output: str, clone: Path) -> None:
    """What the checks' own output must say, beyond their exit status."""
    if "pytest" in command:
        assert_only_passes(output, clone)
    if "mypy" in command:
        assert "Success: no issues found" in output, output


def readme_says(clone: Path, *commands: str) -> None:
    readme = (clone / "README.md").read_text(encoding="utf-8")
    missing = [command for command in commands if command not in readme]
    assert not missing, f"the README no longer tells its user to run {missing}"


def readme_line(clone: Path, start: str) -> str:
    """The one line of the README that starts with ``start``, as the user copies it."""
    readme = (clone / "README.md").read_text(encoding="utf-8")
    [line] = [line for line in readme.splitlines() if line.startswith(start)]
    return line


def readme_command(clone: Path, pattern: str) -> str:
    """The command the README quotes in backticks that fits the regular expression ``pattern``."""
    readme = (clone / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"`({pattern})`", readme)
    assert found, f"the README no longer quotes a command like {pattern!r}"
    return found.group(1)


def on_path(command: str, uv: str) -> str:
    """A README command for the path being walked: the pip path activates .venv and leaves out ``uv run``."""
    if uv and command.startswith("uv run "):
        return ". .venv/bin/activate && " + command.removeprefix("uv run ")
    return command


def settings_of(clone: Path) -> dict[str, str]:
    lines = (clone / ".env").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def set_setting(clone: Path, name: str, value: str) -> None:
    """Change one line of ``.env``, as the user does in an editor."""
    path = clone / ".env"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line.startswith(f"{name}=")], f"{name} is not in .env.example"
    changed = [f"{name}={value}" if line.startswith(f"{name}=") else line for line in lines]
    path.write_text("\n".join(changed) + "\n", encoding="utf-8")


@contextmanager
def make_run(clone: Path, uv: str, env: Mapping[str, str]) -> Iterator[str]:
    """``make run`` on a free port, as the README starts the service; yield its URL once /health answers."""
    port = free_port()
    log = clone.with_name(f"{clone.name}-make-run.log")
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            [*STEP_SHELL, f"make run PORT={port}{uv}"],
            cwd=clone,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make, uv, uvicorn's reloader and its worker: one group to stop
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not health_answers(base_url):
            stopped = process.poll() is not None or time.monotonic() > deadline
            assert not stopped, f"make run did not serve /health:\n{log.read_text(encoding='utf-8')}"
            time.sleep(0.2)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def health_answers(base_url: str) -> bool:
    try:
        return httpx2.get(f"{base_url}/health", timeout=2).status_code == 200
    except httpx2.TransportError:
        return False


def provider_token(provider: Provider, settings: Mapping[str, str]) -> str:
    """A token from the loopback provider, with the audience claim and required claims the settings name.

    Where access tokens must name their client (``AUTH_ACCESS_TOKEN_CLAIMS``), it names one, as Entra ID's do.
    """
    claims: dict[str, object] = {
        "sub": "alice",
        "iss": provider.issuer,
        settings["AUTH_AUDIENCE_CLAIM"]: settings["AUTH_AUDIENCE"],
        "exp": int(time.time()) + 300,
    }
    claims.update(pair.partition("=")[::2] for pair in settings["AUTH_REQUIRED_CLAIMS"].split())
    claims.update(dict.fromkeys(settings["AUTH_ACCESS_TOKEN_CLAIMS"].split()[:1], "as-cloned-client"))
    (kid, key), *_ = provider.keys.items()
    return jwt.encode(claims, key.to_dict(), algorithm="RS256", headers={"kid": kid})


def serve_as_the_readme_says(combination: Combination, clone: Path, uv: str, env: Mapping[str, str]) -> None:
    """Make ``.env`` and start the service as the README says; a protected route needs a valid token.

    ``uv`` follows each make target: empty on the uv path, `` UV=`` on the pip path. The OpenID
    provider the README has the user point the service at is a loopback one (tests/provider.py).
    """
    if combination.login != DEFAULT_LOGIN:
        readme_says(clone, f"make migrate{uv}", "leave out `uv run`")
        step(clone, f"make migrate{uv}", env)
        step(clone, on_path(readme_command(clone, r"uv run python -m \w+\.db check"), uv), env)
    readme_says(clone, "cp .env.example .env", f"make run{uv}")
    step(clone, "cp .env.example .env", env)
    if combination.auth_mode == "hs256":
        readme_says(clone, SECRET_COMMAND)
        set_setting(clone, "AUTH_SECRET", step(clone, SECRET_COMMAND, env).strip())
    with ExitStack() as stack:
        if combination.auth_mode == "jwks" or combination.login == "oidc":
            provider = stack.enter_context(Provider({"rsa-1": generate_key("RS256")}))
        if combination.login == "oidc":
            readme_says(clone, "AUTH_LOGIN_ISSUER", "AUTH_LOGIN_CLIENT_ID", "AUTH_LOGIN_CLIENT_SECRET")
            set_setting(clone, "AUTH_LOGIN_ISSUER", provider.issuer)
            set_setting(clone, "AUTH_LOGIN_CLIENT_ID", "as-cloned")
            set_setting(clone, "AUTH_LOGIN_CLIENT_SECRET", secrets.token_urlsafe(32))
        if combination.auth_mode == "jwks":
            readme_says(clone, "AUTH_ISSUER")
            set_setting(clone, "AUTH_ISSUER", provider.issuer)
            token = provider_token(provider, settings_of(clone))
        else:
            # The README's line as written; the pip path gives make UV= as it says every target takes.
            mint = readme_line(clone, "TOKEN=$(make token ").replace("make token", f"make token{uv}", 1)
            token = step(clone, f'{mint}\nprintf "%s" "$TOKEN"', env)
        base_url = stack.enter_context(make_run(clone, uv, env))
        with httpx2.Client(base_url=base_url, timeout=10) as client:
            refused = client.get("/hello", params={"name": "alice"})
            assert (refused.status_code, refused.headers.get("WWW-Authenticate")) == (401, "Bearer")
            hello = client.get("/hello", params={"name": "alice"}, headers={"Authorization": f"Bearer {token}"})
            assert (hello.status_code, hello.json()) == (200, "Hi alice")
    # What all that left behind is ignored (.env, .venv, the SQLite database, caches), but for the lock
    # file, which the README says to commit: git add -A after these steps commits no secret.
    left = step(clone, "git status --porcelain --untracked-files=all", env).splitlines()
    assert set(left) <= {"?? uv.lock"}, left


def uv_path(combination: Combination, clone: Path, runner: Path) -> None:
    """The check job's steps as written, then the README's uv way to start the service."""
    env = ci_env(runner)
    for command in check_job_steps(clone, env):
        assert_tools_pass(command, step(clone, command, env), clone)
    readme_says(clone, "make install")
    step(clone, "make install", user_env())
    serve_as_the_readme_says(combination, clone, "", user_env())


def newest_python_path(clone: Path, runner: Path) -> None:
    """The check job's steps as written, on the newest Python of the workflow's matrix."""
    found = interpreter(NEWEST_PYTHON)
    assert found, f"python{NEWEST_PYTHON} is needed for the workflow's other matrix leg (pyenv install {NEWEST_PYTHON})"
    env = ci_env(runner, found)
    for command in check_job_steps(clone, env, NEWEST_PYTHON):
        output = step(clone, command, env)
        assert_tools_pass(command, output, clone)
    assert f"Python {NEWEST_PYTHON}." in step(clone, "uv run python --version", env)


def pip_path(combination: Combination, clone: Path) -> None:
    """The README's way without uv: ``UV=`` on every target, a .venv made by pip."""
    commands = ["make install UV=", "make lint UV=", "make test UV="]
    readme_says(clone, *commands)
    for command in commands:
        assert_tools_pass(command, step(clone, command, user_env()), clone)
    serve_as_the_readme_says(combination, clone, " UV=", user_env())


@pytest.fixture(scope="module")
def as_cloned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Future[None]]]:
    """Every combination baked and cloned, its paths started in threads; each test waits for its own."""
    root = tmp_path_factory.mktemp("as-cloned")
    # Baking changes the working directory for a moment, so bake them all before any thread runs.
    baked = {combination: bake(root / "baked" / combination.id, **combination.answers()) for combination in SUPPORTED}
    runner = runner_image(root / "runner")
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        paths: dict[tuple[str, str], Future[None]] = {}
        # The pip path first: the longest, and mostly waiting on downloads while the other lane runs.
        for combination in PIP_PATH:
            clone = fresh_clone(baked[combination], root / "pip" / combination.id)
            paths["pip", combination.id] = pool.submit(pip_path, combination, clone)
        for combination, project in baked.items():
            clone = fresh_clone(project, root / "uv" / combination.id)
            paths["uv", combination.id] = pool.submit(uv_path, combination, clone, runner)
        for combination in NEWEST_PYTHON_BAKES:
            clone = fresh_clone(baked[combination], root / "newest" / combination.id)
            paths["newest", combination.id] = pool.submit(newest_python_path, clone, runner)
        yield paths


@pytest.mark.parametrize("combination", SUPPORTED, ids=case_id)
def test_ci_check_job_and_readme_start_work_in_a_fresh_clone(
    as_cloned: dict[tuple[str, str], Future[None]], combination: Combination
) -> None:
    as_cloned["uv", combination.id].result()


@pytest.mark.parametrize("combination", PIP_PATH, ids=case_id)
def test_readme_pip_path_works_in_a_fresh_clone(
    as_cloned: dict[tuple[str, str], Future[None]], combination: Combination
) -> None:
    as_cloned["pip", combination.id].result()


@pytest.mark.parametrize("combination", NEWEST_PYTHON_BAKES, ids=case_id)
def test_ci_check_job_passes_on_the_newest_python_of_the_matrix(
    as_cloned: dict[tuple[str, str], Future[None]], combination: Combination
) -> None:
    as_cloned["newest", combination.id].result()
