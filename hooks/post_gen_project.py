"""Shape the freshly rendered project for the chosen auth mode.

Files named ``stem.<modes>.ext`` (for example ``verifier.jwks.py`` or
``mint.hs256+dev.py``) belong to those modes only: the chosen mode's copy is
renamed to ``stem.ext`` and every other one is deleted, so the project holds
no code for modes it does not use.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
from pathlib import Path
from typing import Any

MODES = ("hs256", "jwks", "dev")
MODE_FILE = re.compile(r"(?P<stem>[^.]+)\.(?P<modes>(?:hs256|jwks|dev)(?:\+(?:hs256|jwks|dev))*)(?P<ext>\..+)?")
# Keys of the cookiecutter context that describe this machine, not the project.
MACHINE_KEYS = ("_output_dir", "_repo_dir", "_checkout")


def apply_mode(root: Path, mode: str) -> None:
    """Keep the chosen mode's variant of each mode-specific file, delete the rest."""
    for path in sorted(root.rglob("*")):
        match = MODE_FILE.fullmatch(path.name)
        if not path.is_file() or not match:
            continue
        if mode in match["modes"].split("+"):
            path.rename(path.with_name(match["stem"] + (match["ext"] or "")))
        else:
            path.unlink()


def write_secret(root: Path) -> None:
    """Give an hs256 service a fresh 384-bit secret in its gitignored .env."""
    env = root / ".env"
    env.write_text(f"AUTH_SECRET={secrets.token_urlsafe(48)}\n", encoding="utf-8")
    env.chmod(0o600)


def write_answers(root: Path, context: dict[str, Any]) -> None:
    """Keep the answers so the project can be re-baked or updated later."""
    answers = {key: value for key, value in context.items() if key not in MACHINE_KEYS}
    text = json.dumps(answers, indent=2, sort_keys=True) + "\n"
    (root / ".cookiecutter.json").write_text(text, encoding="utf-8")


def main() -> int:
    context: dict[str, Any] = json.loads(r"""{{ cookiecutter | tojson }}""")
    root = Path.cwd()
    mode = context["auth_mode"]
    apply_mode(root, mode)
    if mode == "hs256":
        write_secret(root)
    write_answers(root, context)
    return 0


if __name__ == "__main__":
    sys.exit(main())
