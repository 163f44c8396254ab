"""Shape the freshly rendered project for the chosen auth mode and login.

Files and folders named ``stem.<tags>.ext`` belong to the answers their tags
name: ``verifier.jwks.py`` to mode jwks, ``mint.hs256+dev.py`` to modes hs256
and dev, ``db.password+oidc.py`` to logins password and oidc. One is kept, as
``stem.ext``, when for each question its tags mention the chosen answer is
among them; every other one is deleted, so the project holds no code for
answers it did not choose. A name may list alternatives, separated by commas:
``jwks_cache.jwks,oidc.py`` is kept for mode jwks, and for the oidc login.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# The questions that tag files, and their answers; a tag names one answer of one question.
AXES = {"auth_mode": ("hs256", "jwks", "dev"), "login": ("none", "password", "oidc")}
AXIS_OF = {answer: axis for axis, answers in AXES.items() for answer in answers}
_TAG = "|".join(AXIS_OF)
_TAGS = rf"(?:{_TAG})(?:\+(?:{_TAG}))*"
TAGGED = re.compile(rf"(?P<stem>[^.]+)\.(?P<tags>{_TAGS}(?:,{_TAGS})*)(?P<ext>\..+)?")
# Keys of the cookiecutter context that describe this machine or one bake, not the project.
MACHINE_KEYS = ("_output_dir", "_repo_dir", "_checkout", "_commit")
# Cookiecutter's shorthands for git hosts; cruft needs the URL they stand for.
ABBREVIATIONS = {"gh": "https://github.com/{}.git", "gl": "https://gitlab.com/{}.git", "bb": "https://bitbucket.org/{}"}
REMOTE_TEMPLATE = re.compile(r"(?:https|http|ssh|git)://[^/\s]+/\S+|[\w.-]+@[\w.-]+:\S+")


def fits(tags: str, chosen: dict[str, str]) -> bool:
    """Whether a ``+``-joined tag list fits the chosen answers, question by question."""
    named: dict[str, set[str]] = {}
    for tag in tags.split("+"):
        named.setdefault(AXIS_OF[tag], set()).add(tag)
    return all(chosen[axis] in answers for axis, answers in named.items())


def wanted(tags: str, chosen: dict[str, str]) -> bool:
    """Whether any of the comma-separated alternatives fits the chosen answers."""
    return any(fits(alternative, chosen) for alternative in tags.split(","))


def apply_tags(root: Path, chosen: dict[str, str]) -> None:
    """Keep the variant of each tagged file or folder that fits ``chosen``, as ``stem.ext``; delete the rest."""
    # Deepest first, so that a folder is renamed or deleted after what it holds.
    for path in sorted(root.rglob("*"), key=lambda path: len(path.parts), reverse=True):
        match = TAGGED.fullmatch(path.name)
        if not match:
            continue
        if wanted(match["tags"], chosen):
            path.rename(path.with_name(match["stem"] + (match["ext"] or "")))
        elif path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def write_secret(root: Path, names: tuple[str, ...] = ("AUTH_SECRET",)) -> None:
    """Give an hs256 service a fresh 384-bit secret for each name in its gitignored .env."""
    env = root / ".env"
    env.write_text("".join(f"{name}={secrets.token_urlsafe(48)}\n" for name in names), encoding="utf-8")
    env.chmod(0o600)


def write_local_env(root: Path) -> None:
    """Mark a dev service's own machine as a developer's, in its gitignored .env: dev mode starts nowhere else."""
    env = root / ".env"
    env.write_text("APP_ENV=development\n", encoding="utf-8")
    env.chmod(0o600)


def template_url(template: str) -> str | None:
    """The URL the template can be cloned from again, or None for a folder or zip on this machine."""
    template = template.removeprefix("git+")
    prefix, _, rest = template.partition(":")
    if prefix in ABBREVIATIONS and rest and "://" not in rest:
        return ABBREVIATIONS[prefix].format(rest)
    if REMOTE_TEMPLATE.fullmatch(template) and not template.endswith(".zip"):
        return template
    return None


def template_commit(repo_dir: str) -> str | None:
    """The commit a template clone is at; None unless ``repo_dir`` is the top of a git work tree."""
    git = shutil.which("git")
    if git is None or not repo_dir:
        return None
    try:
        # Local git only, no network: the clone cookiecutter just made.
        result = subprocess.run(  # noqa: S603
            [git, "-C", repo_dir, "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    top, _, commit = result.stdout.strip().partition("\n")
    if Path(top).resolve() != Path(repo_dir).resolve() or not re.fullmatch(r"[0-9a-f]{40}", commit):
        return None
    return commit


def answers_of(context: dict[str, Any]) -> dict[str, Any]:
    """The answers worth keeping: no paths of this machine, ``_template`` only as a clonable URL."""
    answers = {key: value for key, value in context.items() if key not in MACHINE_KEYS}
    url = template_url(str(answers.pop("_template", "")))
    if url:
        answers["_template"] = url
    return answers


def write_answers(root: Path, context: dict[str, Any]) -> None:
    """Keep the answers so the project can be re-baked or updated later."""
    text = json.dumps(answers_of(context), indent=2, sort_keys=True) + "\n"
    (root / ".cookiecutter.json").write_text(text, encoding="utf-8")


def write_cruft_state(root: Path, context: dict[str, Any]) -> bool:
    """Write ``.cruft.json`` so ``cruft update`` works; True if written.

    Only for a template cloned from a git URL, whose commit is known. Nothing is
    written for a local template (its path belongs to this machine), nor when
    cruft itself is baking (``_commit`` is set): cruft then writes its own file.
    """
    url = template_url(str(context.get("_template", "")))
    if "_commit" in context or url is None:
        return False
    commit = template_commit(str(context.get("_repo_dir", "")))
    if commit is None:
        return False
    state = {
        "template": url,
        "commit": commit,
        "checkout": context.get("_checkout"),
        "context": {"cookiecutter": {**answers_of(context), "_commit": commit}},
        "directory": None,
    }
    text = json.dumps(state, indent=2, ensure_ascii=False) + "\n"
    (root / ".cruft.json").write_text(text, encoding="utf-8")
    return True


def main() -> int:
    context: dict[str, Any] = json.loads(r"""{{ cookiecutter | tojson }}""")
    root = Path.cwd()
    mode = context["auth_mode"]
    apply_tags(root, {axis: context[axis] for axis in AXES})
    if mode == "hs256":
        # compose.yaml's PostgreSQL for the login bakes takes its password from .env too.
        write_secret(root, ("AUTH_SECRET",) if context["login"] == "none" else ("AUTH_SECRET", "POSTGRES_PASSWORD"))
    elif mode == "dev":
        write_local_env(root)
    write_answers(root, context)
    write_cruft_state(root, context)
    return 0


if __name__ == "__main__":
    sys.exit(main())
