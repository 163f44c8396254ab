"""The baked project fits the tools around it: uv and pip, make, Docker, CI, pre-commit, cruft.

No Docker engine or registry is reachable here, so the container files are checked
statically (hadolint, parsed compose) and cross-checked against the baked code.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from cookiecutter.main import cookiecutter

from .baked import AUDIENCE, TEMPLATE, clean_env, container_command, dockerfile, instruction, run
from .combinations import LOGIN_BAKES, MODES, SLOW_BAKES

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
PORT = "8000"
CONTAINER_HOST = "0.0.0.0"  # noqa: S104 - inside the container, uvicorn must listen beyond loopback
PINNED_ACTION = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}")
ECDSA_ADVISORY = "GHSA-wj6h-64fc-37mp"
ECOSYSTEM_FILES = [
    "Makefile",
    "Dockerfile",
    ".dockerignore",
    "compose.yaml",
    ".github/workflows/ci.yml",
    ".pre-commit-config.yaml",
    "src/{pkg}/endpoints/ws.py",
    "tests/test_ws.py",
]


def package(mode: str) -> str:
    return f"svc_{mode}"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def python_in(project: Path, code: str) -> Any:
    """Run ``code`` with the baked project importable and return what it printed, as JSON."""
    return json.loads(run(project, sys.executable, "-c", code, env=clean_env(PYTHONPATH="src")))


def dockerignore_pattern(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore matching: ``*`` stays within a path segment, ``**`` spans segments."""
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/"))
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts))


def in_build_context(path: str, dockerignore: str) -> bool:
    """Whether ``path`` reaches the build context; the last matching rule wins, and a rule
    matching a folder applies to everything in it."""
    included = True
    prefixes = ["/".join(path.split("/")[: depth + 1]) for depth in range(path.count("/") + 1)]
    for line in dockerignore.splitlines():
        rule = line.strip()
        if not rule or rule.startswith("#"):
            continue
        negated = rule.startswith("!")
        matcher = dockerignore_pattern(rule.removeprefix("!"))
        if any(matcher.fullmatch(prefix) for prefix in prefixes):
            included = negated
    return included


@pytest.mark.parametrize("mode", MODES)
def test_ecosystem_files_exist_and_parse(baked: dict[str, Path], mode: str) -> None:
    project = baked[mode]
    for name in ECOSYSTEM_FILES:
        assert (project / name.format(pkg=package(mode))).is_file(), name
    for name in ("compose.yaml", ".github/workflows/ci.yml", ".pre-commit-config.yaml"):
        assert isinstance(load_yaml(project / name), dict), name
    answers = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert "_template" not in answers, "a local template's path must not be kept"
    assert not (project / ".cruft.json").exists(), "no .cruft.json without a template URL"


# -- make ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_makefile_has_the_everyday_targets(baked: dict[str, Path], mode: str) -> None:
    project = baked[mode]
    dry_run = {target: run(project, "make", "-n", target, "UV=uv") for target in ("install", "run", "test", "lint")}
    assert dry_run["install"].split() == ["uv", "sync"]
    assert f"uv run python -m uvicorn --factory {package(mode)}.main:create_app" in dry_run["run"]
    assert "-m pytest" in dry_run["test"]
    lint = [re.sub(r"^.*-m ", "", line).rstrip(" .") for line in dry_run["lint"].splitlines()]
    assert lint == ["ruff check", "ruff format --check", "mypy"]
    assert "uv" not in run(project, "make", "-n", "fmt", "UV=")
    pip_install = run(project, "make", "-n", "install", "UV=")
    assert "python3 -m venv .venv" in pip_install
    assert "pip install --quiet -e . --group dev" in pip_install
    has_token = subprocess.run(["make", "-n", "token"], cwd=project, capture_output=True, check=False).returncode == 0
    assert has_token is (mode != "jwks")


def test_make_falls_back_to_pip_when_uv_is_not_installed(baked: dict[str, Path]) -> None:
    """What the README promises a user without uv: plain ``make install`` and ``make test`` take pip's path."""
    env = clean_env()
    env["PATH"] = os.pathsep.join(
        folder for folder in env["PATH"].split(os.pathsep) if not (Path(folder) / "uv").exists()
    )
    project = baked["hs256"]
    install = run(project, "make", "-n", "install", env=env)
    assert "python3 -m venv .venv" in install
    assert "uv" not in install.split()
    assert run(project, "make", "-n", "test", env=env).split()[:3] == [".venv/bin/python", "-m", "pytest"]


@pytest.mark.parametrize("mode", ["hs256", "dev"])
def test_make_token_prints_a_token_for_this_service(baked: dict[str, Path], mode: str) -> None:
    project = baked[mode]
    output = run(
        project, "make", "token", f"PY={sys.executable}", "ARGS=--json --sub zoe", env=clean_env(PYTHONPATH="src")
    )
    minted = json.loads(output)
    assert (minted["token_type"], minted["claims"]["sub"], minted["claims"]["aud"]) == ("Bearer", "zoe", AUDIENCE)
    assert minted["access_token"].count(".") == 2


@pytest.mark.parametrize("mode", ["hs256", "dev"])
def test_mint_help_and_errors_are_readable(baked: dict[str, Path], mode: str, tmp_path: Path) -> None:
    project = baked[mode]
    mint = [sys.executable, "-m", f"{package(mode)}.mint"]
    usage = run(project, *mint, "--help", env=clean_env(PYTHONPATH="src"))
    assert usage.startswith(f"usage: python -m {package(mode)}.mint")
    assert all(option in usage for option in ("--sub", "--scope", "--ttl", "--json"))
    refused = subprocess.run(
        [*mint, "--ttl", "0"], cwd=project, env=clean_env(PYTHONPATH="src"), capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2
    assert "error: argument --ttl: must be between 1 and" in refused.stderr
    assert "Traceback" not in refused.stderr
    if mode == "hs256":  # away from .env there is no secret: one clear line, no traceback
        no_secret = subprocess.run(
            mint,
            cwd=tmp_path,
            env=clean_env(PYTHONPATH=str(project / "src")),
            capture_output=True,
            text=True,
            check=False,
        )
        assert no_secret.returncode == 2
        assert no_secret.stderr.startswith("error: ")
        assert "Traceback" not in no_secret.stderr


# -- Docker -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_dockerfile_passes_hadolint(baked: dict[str, Path], mode: str, tmp_path: Path) -> None:
    # From an empty folder, so that no hadolint configuration of the surroundings applies.
    dockerfile_path = baked[mode] / "Dockerfile"
    run(tmp_path, str(BIN / "hadolint"), "--no-color", "--failure-threshold", "style", str(dockerfile_path))


@pytest.mark.parametrize("mode", MODES)
def test_dockerfile_runs_this_project_as_non_root_with_a_health_check(baked: dict[str, Path], mode: str) -> None:
    project = baked[mode]
    stages = instruction(project, "FROM")
    assert len(stages) >= 2, "a multi-stage build"
    assert any("ghcr.io/astral-sh/uv:" in copy for copy in instruction(project, "COPY")), "uv comes from its image"
    assert any("uv sync --locked --no-dev" in command for command in instruction(project, "RUN"))

    command, variables = container_command(project)
    factory, protocol = f"{package(mode)}.main:create_app", f"{package(mode)}.protocol:HttpProtocol"
    assert command == ["uvicorn", "--factory", factory, "--http", protocol, "--host", CONTAINER_HOST, "--port", PORT]
    # The server settings the README tells a deployment to override (test_slow_clients.py serves with them).
    assert variables["UVICORN_ACCESS_LOG"] == "false"
    assert int(variables["UVICORN_TIMEOUT_KEEP_ALIVE"]) > 0
    assert instruction(project, "EXPOSE") == [PORT]
    user = instruction(project, "USER")[-1]
    assert user.split(":")[0] not in {"root", "0"}

    healthcheck = instruction(project, "HEALTHCHECK")[-1]
    probe = re.search(r"http://127\.0\.0\.1:(\d+)(/\S*?)'", healthcheck)
    assert probe is not None, healthcheck
    assert probe.group(1) == PORT

    # The factory and protocol in CMD import, and the health check's path answers 200 without a token.
    app_module, _, app_factory = factory.partition(":")
    protocol_module, _, protocol_class = protocol.partition(":")
    status = python_in(
        project,
        f"from fastapi.testclient import TestClient; from {app_module} import {app_factory}; "
        f"from {protocol_module} import {protocol_class}; "
        f"print(TestClient({app_factory}()).get({probe.group(2)!r}).status_code)",
    )
    assert status == 200


@pytest.mark.parametrize("mode", MODES)
def test_no_secret_is_built_into_the_image(baked: dict[str, Path], mode: str) -> None:
    project = baked[mode]
    for keyword in ("ENV", "ARG", "LABEL"):
        assert not [args for args in instruction(project, keyword) if "AUTH_" in args or "SECRET" in args.upper()]
    ignore = (project / ".dockerignore").read_text(encoding="utf-8")
    assert not in_build_context(".env", ignore)
    assert not in_build_context(".git/config", ignore)
    assert not in_build_context(".venv/bin/python", ignore)
    assert not in_build_context(f"src/{package(mode)}/__pycache__/main.cpython-311.pyc", ignore)
    copied = [word for copy in instruction(project, "COPY") if "--from" not in copy for word in copy.split()[:-1]]
    copied += re.findall(r"source=([^,\s]+)", " ".join(instruction(project, "RUN")))
    assert copied, "the build copies the project in"
    for source in copied:
        assert in_build_context(source, ignore), f"{source} is used by the build but kept out of its context"
    assert in_build_context(f"src/{package(mode)}/main.py", ignore)


def test_dockerignore_matching_follows_docker_rules() -> None:
    rules = "*\n!src/\n**/__pycache__\n"
    assert in_build_context("src/pkg/main.py", rules)
    assert not in_build_context("README.md", rules)
    assert not in_build_context("src/pkg/__pycache__/x.pyc", rules)
    assert not in_build_context(".env", "# comment\n.env\n")
    assert in_build_context(".env.example", ".env\n")


# The settings compose sets itself, over .env: the database it runs, and the local provider it runs.
COMPOSE_OWN: dict[str, frozenset[str]] = {
    "jwks": frozenset(
        {
            "AUTH_ISSUER",
            "AUTH_JWKS_URL",
            "AUTH_AUDIENCE",
            "AUTH_AUDIENCE_CLAIM",
            "AUTH_REQUIRED_CLAIMS",
            "AUTH_SCOPE_CLAIMS",
        }
    ),
    **dict.fromkeys(LOGIN_BAKES, frozenset({"DATABASE_URL"})),
}
# Every line of .env reaches the container, and a clone without .env still starts.
ENV_FILE = [{"path": ".env", "required": False}]


@pytest.mark.parametrize("mode", SLOW_BAKES)
def test_compose_runs_the_service_consistently(baked: dict[str, Path], mode: str) -> None:
    project = baked[mode]
    services = load_yaml(project / "compose.yaml")["services"]
    api = services["api"]
    assert api["build"] == "."
    assert api["read_only"] is True
    assert api["env_file"] == ENV_FILE
    # Nothing else is pinned, so an edited .env (AUTH_AUDIENCE, APP_ENV, ...) is what the service runs with.
    assert set(api.get("environment") or {}) == COMPOSE_OWN.get(mode, frozenset())
    module = f"{mode}_settings" if mode in LOGIN_BAKES else "verifier"
    settings = python_in(
        project,
        f"import json; from {package(mode)}.{module} import Settings; print(json.dumps(list(Settings.model_fields)))",
    )
    for name in api.get("environment") or {}:
        assert name.removeprefix("AUTH_").lower() in settings, f"{name} is not a setting"
    published = api.get("ports", [])
    if mode == "jwks":
        assert api["network_mode"] == "service:idp"
        published = services["idp"]["ports"]
    assert f"127.0.0.1:{PORT}:{PORT}" in published
    if mode in ("hs256", *LOGIN_BAKES):
        # The secrets come from .env at run time, never from the file.
        text = (project / "compose.yaml").read_text(encoding="utf-8")
        for line in (project / ".env").read_text(encoding="utf-8").splitlines():
            assert line.split("=", 1)[1] not in text
    assert ("db" in services) is (mode in LOGIN_BAKES)


@pytest.mark.parametrize("mode", MODES)
def test_readme_names_the_image_the_service_runs_on(baked: dict[str, Path], mode: str) -> None:
    text = (baked[mode] / "Dockerfile").read_text(encoding="utf-8")
    version = re.search(r"^ARG PYTHON_VERSION=(\S+)$", text, re.MULTILINE)
    runtime = re.search(r"^FROM python:\$\{PYTHON_VERSION\}(\S*) AS runtime$", text, re.MULTILINE)
    assert version, "the Dockerfile sets ARG PYTHON_VERSION"
    assert runtime, "the runtime stage is python:${PYTHON_VERSION}<variant>"
    image = f"python:{version.group(1)}{runtime.group(1)}"
    assert f"`{image}`" in (baked[mode] / "README.md").read_text(encoding="utf-8"), image


# The environment variable of each setting: its first alias, else AUTH_ and its name.
SETTING_NAMES = (
    "import json; from {package}.{module} import Settings; print(json.dumps(["
    "getattr(field.validation_alias, 'choices', [field.validation_alias])[0] or 'AUTH_' + name.upper()"
    " for name, field in Settings.model_fields.items()]))"
)
# A settings row of a README table: `NAME`, maybe `(or `OTHER`)`, or a `NAME_MIN...` / `_MAX...` pair.
SETTING_ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]+)`(?: \(or `[A-Z0-9_]+`\))?(?: / `(_[A-Z0-9_]+)`)? \|", re.MULTILINE)


@pytest.mark.parametrize("mode", SLOW_BAKES)
def test_readme_tables_name_exactly_the_settings(baked: dict[str, Path], mode: str) -> None:
    """Every setting of the bake has a row in the README, and every AUTH_ row is a setting of the bake."""
    project = baked[mode]
    module = f"{mode}_settings" if mode in LOGIN_BAKES else "verifier"
    settings = set(python_in(project, SETTING_NAMES.format(package=package(mode), module=module)))
    rows = set()
    for row in SETTING_ROW.finditer((project / "README.md").read_text(encoding="utf-8")):
        name, pair = row.groups()
        rows |= {name, name.rpartition("_MIN")[0] + pair} if pair else {name}
    assert settings - rows == set(), "settings the README does not describe"
    assert {row for row in rows - settings if row.startswith(("AUTH_", "APP_ENV", "DATABASE_URL"))} == set()


@pytest.mark.parametrize("login", LOGIN_BAKES)
def test_login_compose_migrates_postgresql_before_the_app(baked: dict[str, Path], login: str) -> None:
    project = baked[login]
    services = load_yaml(project / "compose.yaml")["services"]
    db, migrate, api = services["db"], services["migrate"], services["api"]
    assert re.fullmatch(r"postgres:\d+\.\d+-alpine", db["image"])
    assert "ports" not in db, "the database is reachable on compose's network only"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert db["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "POSTGRES_PASSWORD=" in (project / ".env").read_text(encoding="utf-8")
    assert migrate["build"] == api["build"]
    assert migrate["command"] == ["python", "-m", f"{package(login)}.db", "upgrade"]
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert api["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    user, password = db["environment"]["POSTGRES_USER"], db["environment"]["POSTGRES_PASSWORD"]
    url = f"postgresql+asyncpg://{user}:{password}@db:5432/{db['environment']['POSTGRES_DB']}"
    assert migrate["environment"]["DATABASE_URL"] == api["environment"]["DATABASE_URL"] == url
    assert migrate["env_file"] == api["env_file"] == ENV_FILE, "the users CLI reads the settings of .env too"
    assert migrate["read_only"] is True
    assert ("USER", "10001:10001") in dockerfile(project), "the image (app and migrations) stays non-root"


def test_jwks_compose_provider_issues_tokens_this_service_accepts(baked: dict[str, Path]) -> None:
    services = load_yaml(baked["jwks"] / "compose.yaml")["services"]
    idp, environment = services["idp"], services["api"]["environment"]
    assert re.fullmatch(r"ghcr\.io/navikt/mock-oauth2-server:\d+\.\d+\.\d+", idp["image"])
    provider_port = next(port.split(":")[1] for port in idp["ports"] if port.endswith(":8080"))
    config = json.loads(idp["environment"]["JSON_CONFIG"].replace("$$", "$"))
    (callback,) = config["tokenCallbacks"]
    assert environment["AUTH_ISSUER"] == f"http://127.0.0.1:{provider_port}/{callback['issuerId']}"
    assert environment["AUTH_AUDIENCE"] == AUDIENCE
    for mapping in callback["requestMappings"]:
        assert mapping["claims"]["aud"] == [AUDIENCE]
        assert mapping["claims"]["sub"] == "${client_id}"


# -- GitHub Actions -----------------------------------------------------------------------------


def workflows(baked: dict[str, Path]) -> dict[str, Path]:
    """Each baked project's workflow, and the template repository's own."""
    found = {mode: baked[mode] / ".github/workflows/ci.yml" for mode in SLOW_BAKES}
    return {**found, "template": TEMPLATE / ".github/workflows/ci.yml"}


@pytest.mark.parametrize("mode", MODES)
def test_workflow_keeps_its_expressions_and_checks_everything(baked: dict[str, Path], mode: str) -> None:
    text = (baked[mode] / ".github/workflows/ci.yml").read_text(encoding="utf-8")
    assert "${{ matrix.python-version }}" in text
    assert "${{ github.workflow }}-${{ github.ref }}" in text
    assert "raw %}" not in text
    jobs = load_yaml(baked[mode] / ".github/workflows/ci.yml")["jobs"]
    commands = [step.get("run", "") for job in jobs.values() for step in job["steps"]]
    for needed in ("ruff check", "ruff format --check", "mypy", "pytest", "pip-audit"):
        assert any(needed in command for command in commands), needed


@pytest.mark.parametrize("mode", SLOW_BAKES)
def test_workflow_installs_postgresql_before_the_tests_of_login_bakes(baked: dict[str, Path], mode: str) -> None:
    steps = load_yaml(baked[mode] / ".github/workflows/ci.yml")["jobs"]["check"]["steps"]
    commands = [step.get("run", "") for step in steps]
    installs = [index for index, command in enumerate(commands) if "apt-get install -y -q postgresql" in command]
    assert len(installs) == (1 if mode in LOGIN_BAKES else 0)
    if installs:
        tests = [index for index, command in enumerate(commands) if command.endswith("uv run pytest")]
        assert tests, commands
        assert installs[0] < tests[0]


@pytest.mark.parametrize("mode", SLOW_BAKES)
def test_workflow_gives_a_browser_to_the_bakes_with_a_browser_test(baked: dict[str, Path], mode: str) -> None:
    steps = load_yaml(baked[mode] / ".github/workflows/ci.yml")["jobs"]["check"]["steps"]
    commands = [step.get("run", "") for step in steps]
    browser = "apt-get install -y --no-install-recommends chromium"
    installs = [index for index, command in enumerate(commands) if browser in command]
    has_browser_test = mode in ("jwks", *LOGIN_BAKES)
    assert (baked[mode] / "tests/browser.py").exists() is has_browser_test
    assert len(installs) == (1 if has_browser_test else 0)
    if installs:
        tests = [index for index, command in enumerate(commands) if command.endswith("uv run pytest")]
        assert installs[0] < tests[0]


def test_template_workflow_runs_make_test() -> None:
    jobs = load_yaml(TEMPLATE / ".github/workflows/ci.yml")["jobs"]
    runs = [step["run"] for job in jobs.values() for step in job["steps"] if "run" in step]
    # Only `make test`, with at most environment assignments before it (where the runner's browser is).
    assert len(runs) == 1, runs
    assert re.fullmatch(r'(?:[A-Z_]+="[^"]*" )*make test', runs[0]), runs


@pytest.mark.parametrize("name", [*SLOW_BAKES, "template"])
def test_workflow_actions_are_pinned_by_commit_sha(baked: dict[str, Path], name: str) -> None:
    jobs = load_yaml(workflows(baked)[name])["jobs"]
    uses = [step["uses"] for job in jobs.values() for step in job["steps"] if "uses" in step]
    assert uses
    assert all(PINNED_ACTION.fullmatch(action) for action in uses), uses


@pytest.mark.parametrize("name", [*SLOW_BAKES, "template"])
def test_workflow_passes_actionlint_and_zizmor(baked: dict[str, Path], name: str, tmp_path: Path) -> None:
    workflow = workflows(baked)[name]
    run(tmp_path, str(BIN / "actionlint"), "-no-color", str(workflow))
    run(tmp_path, str(BIN / "zizmor"), "--offline", "--persona=pedantic", "--no-progress", str(workflow))


@pytest.mark.parametrize("mode", MODES)
def test_audit_ignores_exactly_the_ecdsa_signing_advisory(baked: dict[str, Path], mode: str) -> None:
    workflow = baked[mode] / ".github/workflows/ci.yml"
    (audit,) = [step for step in load_yaml(workflow)["jobs"]["audit"]["steps"] if "pip-audit" in step.get("run", "")]
    words = shlex.split(audit["run"])
    ignored = [words[index + 1] for index, word in enumerate(words) if word == "--ignore-vuln"]
    assert ignored == [ECDSA_ADVISORY]
    assert not [word for word in words if word.startswith("--ignore-vuln=")]
    text = workflow.read_text(encoding="utf-8")
    justification = text[text.index("# GHSA-wj6h-64fc-37mp") : text.index("run: >-", text.index(ECDSA_ADVISORY))]
    assert "CVE-2024-23342" in justification
    assert "signing" in justification
    assert "cryptography" in justification


@pytest.mark.parametrize("mode", MODES)
def test_ci_and_image_use_the_same_uv(baked: dict[str, Path], mode: str) -> None:
    project = baked[mode]
    image_uv = re.search(r"ghcr\.io/astral-sh/uv:([\d.]+)", " ".join(instruction(project, "COPY")))
    assert image_uv is not None
    jobs = load_yaml(project / ".github/workflows/ci.yml")["jobs"]
    versions = {
        step["with"]["version"] for job in jobs.values() for step in job["steps"] if "setup-uv" in step.get("uses", "")
    }
    assert versions == {image_uv.group(1)}


# -- pre-commit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_pre_commit_hooks_are_local_and_use_the_pinned_tools(baked: dict[str, Path], mode: str) -> None:
    project = baked[mode]
    config = load_yaml(project / ".pre-commit-config.yaml")
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    assert {hook["id"] for hook in hooks} == {"ruff-check", "ruff-format", "mypy"}
    dev_group = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["dependency-groups"]["dev"]
    for hook in hooks:
        assert hook["language"] == "unsupported"
        tool = hook["entry"].split()[0]
        assert tool.startswith(".venv/bin/")
        assert any(spec.startswith(tool.removeprefix(".venv/bin/")) for spec in dev_group), f"{tool} is not pinned"
    run(project, str(BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml")


def test_pre_commit_hooks_pass_on_a_fresh_project(baked: dict[str, Path], tmp_path: Path) -> None:
    # The configuration is the same in every mode, so one mode is enough to run it for real.
    texts = {(baked[mode] / ".pre-commit-config.yaml").read_text(encoding="utf-8") for mode in MODES}
    assert len(texts) == 1
    project = shutil.copytree(baked["hs256"], tmp_path / "project")
    (project / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)  # the project's tools, installed
    env = clean_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    run(project, "git", "init", "--quiet", env=env)
    run(project, "git", "add", "--all", env=env)
    output = run(project, str(BIN / "pre-commit"), "run", "--all-files", "--color", "never", env=env)
    assert re.findall(r"^(.+?)\.{3,}(Passed|Failed)$", output, re.MULTILINE) == [
        ("ruff check", "Passed"),
        ("ruff format", "Passed"),
        ("mypy --strict", "Passed"),
    ]


# -- Template updates ---------------------------------------------------------------------------


def git(folder: Path, *args: str) -> str:
    identity = ["-c", "user.name=Template Test", "-c", "user.email=template-test@example.invalid"]
    return run(folder, "git", *identity, *args).strip()


def test_cruft_update_pulls_a_template_change_into_a_project_baked_from_a_url(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    template = remote / "acme" / "jwt-template"
    template.mkdir(parents=True)
    shutil.copy2(TEMPLATE / "cookiecutter.json", template)
    for folder in ("hooks", "{{cookiecutter.project_slug}}"):
        shutil.copytree(TEMPLATE / folder, template / folder, ignore=shutil.ignore_patterns("__pycache__"))
    git(template, "init", "--quiet")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "-m", "A")
    # Cookiecutter's own "gh:" shorthand, pointed at that folder: the hook sees what a bake
    # from GitHub gives it, a fresh git clone and the template "gh:acme/jwt-template".
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'clones'}\nreplay_dir: {tmp_path / 'replay'}\n"
        f"abbreviations:\n  gh: git+file://{remote}/{{0}}\n",
        encoding="utf-8",
    )
    project = Path(
        cookiecutter(
            "gh:acme/jwt-template",
            no_input=True,
            config_file=str(config),
            output_dir=str(tmp_path / "out"),
            extra_context={"project_name": "Svc up", "auth_mode": "hs256"},
        )
    )
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["template"] == "https://github.com/acme/jwt-template.git"
    assert state["commit"] == git(template, "rev-parse", "HEAD")
    assert state["context"]["cookiecutter"]["project_slug"] == "svc-up"
    assert str(tmp_path) not in json.dumps(state)
    secret = (project / ".env").read_text(encoding="utf-8")

    git(project, "init", "--quiet")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "baked")
    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nPulled in by cruft.\n", encoding="utf-8")
    git(template, "commit", "--quiet", "--all", "-m", "B")

    run(project, str(BIN / "cruft"), "update", "--skip-apply-ask", "--template-path", str(template))
    assert "Pulled in by cruft." in (project / "README.md").read_text(encoding="utf-8")
    assert json.loads((project / ".cruft.json").read_text(encoding="utf-8"))["commit"] == git(
        template, "rev-parse", "HEAD"
    )
    assert (project / ".env").read_text(encoding="utf-8") == secret, "the update left the secret alone"
    assert not list(project.rglob("*.rej"))
