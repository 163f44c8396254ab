"""Stalled clients against a baked service served as its Dockerfile serves it.

uvicorn alone never times out a half-sent request, and once such requests fill the process's open
files, every other client is turned away. The image serves with the project's ``protocol.HttpProtocol``
and the ``UVICORN_*`` settings of its ``ENV``. This test holds a few hundred half-sent requests against
that server, under an open-file limit lower than their number, and checks that other clients are
answered all along and that the server closes every stalled socket within the stated timeout.
"""

from __future__ import annotations

import selectors
import socket
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest

from .baked import clean_env, container_command, mint, serve

pytestmark = pytest.mark.slow

STALLED = 300  # half-sent requests: more than the server can hold open files for
OPEN_FILES = 256  # the server's open-file limit, as in the load run that found the problem
TRICKLING = 5  # requests sent a byte at a time, whose activity must not postpone their deadline
SLACK = 2.0  # seconds the server may take beyond the stated timeout to close a socket
PROBE_EVERY = 0.25  # seconds between two rounds of requests from other clients
HALF_SENT = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Stalled: "


@dataclass
class Stalled:
    """Sockets that went silent, or trickle, in the middle of a request; when the server closed each."""

    address: tuple[str, int]
    started: float = field(default_factory=time.monotonic)
    opened: dict[socket.socket, float] = field(default_factory=dict)
    lifetimes: dict[socket.socket, float] = field(default_factory=dict)
    selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)

    def open(self, stack: ExitStack) -> socket.socket:
        sock = stack.enter_context(socket.create_connection(self.address, timeout=5))
        self.opened[sock] = time.monotonic()
        sock.sendall(HALF_SENT)
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ)
        return sock

    def still_open(self) -> int:
        return len(self.opened) - len(self.lifetimes)

    def note_closed(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the server to close some; note when it did."""
        for key, _ in self.selector.select(timeout):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                closed = sock.recv(4096) == b""
            except ConnectionError:
                closed = True
            if closed:
                self.lifetimes[sock] = time.monotonic() - self.opened[sock]
                self.selector.unregister(sock)

    def trickle(self, sockets: list[socket.socket]) -> None:
        for sock in sockets:
            if sock not in self.lifetimes:
                try:
                    sock.send(b"x")
                except OSError:
                    continue


def answer(client: httpx2.Client, path: str, headers: dict[str, str]) -> int | str:
    """The status of a GET, or the name of the error that stood in for an answer."""
    try:
        return client.get(path, headers=headers).status_code
    except httpx2.TransportError as error:
        return type(error).__name__


def test_stalled_requests_are_closed_in_time_while_other_clients_get_answers(baked: dict[str, Path]) -> None:
    project = baked["hs256"]
    command, variables = container_command(project)
    settings = {name: value for name, value in variables.items() if name.startswith("UVICORN_")}
    timeout = float(settings["UVICORN_TIMEOUT_KEEP_ALIVE"])
    bearer = {"Authorization": f"Bearer {mint(project, 'svc_hs256', '--sub', 'alice')}"}
    # Every request on a connection of its own, so that each must be let in past the stalled ones.
    headers = {"Connection": "close"}
    probes: list[tuple[int, int | str]] = []  # (stalled sockets still open, status or error)

    with (
        serve(project, "svc_hs256", clean_env(**settings), target=command[1:], open_files=OPEN_FILES) as base_url,
        httpx2.Client(base_url=base_url, headers=headers, timeout=5) as client,
        ExitStack() as stack,
    ):
        url = urlsplit(base_url)
        stalled = Stalled((str(url.hostname), int(url.port or 0)))
        for _ in range(STALLED):
            stalled.open(stack)
        trickling = [stalled.open(stack) for _ in range(TRICKLING)]
        end = stalled.started + timeout + SLACK
        next_probe = time.monotonic()
        while stalled.still_open() and time.monotonic() < end:
            stalled.note_closed(0.05)
            if time.monotonic() >= next_probe:
                next_probe += PROBE_EVERY
                stalled.trickle(trickling)
                for path, auth in (("/health", {}), ("/hello?name=x", bearer)):
                    probes.append((stalled.still_open(), answer(client, path, auth)))

    assert [outcome for _, outcome in probes] == [200] * len(probes)
    assert max(still_open for still_open, _ in probes) >= STALLED // 3, "no request was made among the stalled"
    assert stalled.still_open() == 0, f"{stalled.still_open()} stalled sockets still open after {timeout + SLACK} s"
    lifetimes = list(stalled.lifetimes.values())
    assert max(lifetimes) <= timeout + SLACK
    # Held until their deadline rather than refused at once; the cap closed only the oldest, to let others in.
    assert sum(lifetime >= timeout / 2 for lifetime in lifetimes) >= STALLED // 3
    assert all(stalled.lifetimes[sock] >= timeout / 2 for sock in trickling), "closed by the cap, not the deadline"
