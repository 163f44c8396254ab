"""A throwaway PostgreSQL server for the tests, started from the installed server binaries.

It runs in a temporary directory on a free loopback port. As root (initdb refuses
root) it runs as the ``postgres`` user. Without the binaries the PostgreSQL tests
skip with the reason, unless ``CI`` is set: then they fail, since CI must install them
(``apt-get install postgresql`` puts them in /usr/lib/postgresql/<version>/bin;
``PG_BINDIR`` names another directory).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from .support import free_port

PG_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT = 30.0


def find_bindir() -> Path | None:
    """The directory of initdb and postgres: ``$PG_BINDIR``, else the newest installed version's."""
    if env := os.environ.get("PG_BINDIR"):
        return Path(env) if (Path(env) / "postgres").is_file() else None
    versions = [d for d in PG_ROOT.glob("*") if d.name.isdigit() and (d / "bin" / "postgres").is_file()]
    newest = max(versions, key=lambda d: int(d.name), default=None)
    return None if newest is None else newest / "bin"


def require_bindir() -> Path:
    """The binaries, or a skip that says why; a failure instead when ``CI`` is set."""
    bindir = find_bindir()
    if bindir is None:
        where = os.environ.get("PG_BINDIR") or f"{PG_ROOT}/<version>/bin"
        reason = f"PostgreSQL server binaries not found in {where}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must install them", pytrace=False)
        pytest.skip(reason)
    return bindir


@dataclass(frozen=True)
class RunAs:
    """Who runs the server: ``postgres`` when we are root, else ourselves."""

    user: int | None = None
    group: int | None = None
    extra_groups: tuple[int, ...] | None = None

    @classmethod
    def for_server(cls) -> RunAs:
        if os.geteuid() != 0:
            return cls()
        entry = pwd.getpwnam("postgres")
        return cls(entry.pw_uid, entry.pw_gid, ())  # and none of root's supplementary groups

    def chown(self, path: Path) -> None:
        if self.user is not None and self.group is not None:
            os.chown(path, self.user, self.group)

    def options(self) -> dict[str, Any]:
        return {"user": self.user, "group": self.group, "extra_groups": self.extra_groups}

    def run(self, args: list[str], env: dict[str, str] | None = None) -> None:
        done = subprocess.run(  # noqa: S603 - the installed binaries, our own arguments
            args, check=False, capture_output=True, text=True, env=env, **self.options()
        )
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()}")

    def popen(self, args: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **self.options())  # noqa: S603


@dataclass
class PostgresServer:
    """A running server: where it listens, how to log in, and how to stop it."""

    port: int
    password: str
    process: subprocess.Popen[bytes] = field(repr=False)
    user: str = "postgres"

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of one of its databases (asyncpg driver)."""
        return f"postgresql+asyncpg://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server, as an outage would (SIGINT is PostgreSQL's fast shutdown)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_ready(bindir: Path, server: PostgresServer, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"postgres exited with {server.process.returncode}:\n{log.read_text()}")
        ready = [str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(server.port)]
        if subprocess.run(ready, check=False).returncode == 0:  # noqa: S603
            return
        time.sleep(0.05)
    raise TimeoutError(f"postgres not ready after {START_TIMEOUT} s:\n{log.read_text()}")


@contextlib.contextmanager
def running_postgres(bindir: Path) -> Iterator[PostgresServer]:
    """Start a fresh cluster in a temporary directory; stop it and delete it afterwards."""
    run_as = RunAs.for_server()
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    try:
        run_as.chown(root)
        password = secrets.token_urlsafe(16)
        pwfile = root / "pwfile"
        pwfile.write_text(password)
        run_as.chown(pwfile)
        data, log = root / "data", root / "server.log"
        run_as.run([
            str(bindir / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}",
            "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync",
        ])  # fmt: skip
        port = free_port()
        # The Unix socket goes in our directory; durability is worthless for a throwaway cluster.
        command = [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(root)]
        for setting in ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200"):
            command += ["-c", setting]
        with log.open("wb") as log_file:
            server = PostgresServer(port, password, run_as.popen(command, log_file))
        try:
            _wait_ready(bindir, server, log)
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
