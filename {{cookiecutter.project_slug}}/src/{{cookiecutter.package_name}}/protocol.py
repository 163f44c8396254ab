"""uvicorn's HTTP protocol with the two limits uvicorn lacks: a deadline per request and a cap on connections.

uvicorn times out only idle keep-alive connections. A client that connects and sends half a request, or
trickles it a byte at a time, is held as long as it likes, and a few hundred of them use up the process's
open files, after which every new client is turned away. Serve with ``--http <package>.protocol:HttpProtocol``:

* each request must arrive whole within ``--timeout-keep-alive`` seconds, counted from the connection's
  start for its first request and from the first byte for later ones; a connection that misses it is closed;
* the process holds at most its open-file limit less ``RESERVED_FILES`` connections. Past that, a new
  connection closes the one that has waited longest for a request, or is itself closed if none is waiting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import resource
from weakref import WeakKeyDictionary

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

RESERVED_FILES = 64  # for the listening socket, logs and outgoing calls such as a JWKS fetch
WARN_EVERY_SECONDS = 60.0

logger = logging.getLogger("uvicorn.error")


class Waiting:
    """One server's connections that wait for a request, longest-waiting first, and its connection cap."""

    def __init__(self) -> None:
        files, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.cap = math.inf if files == resource.RLIM_INFINITY else max(files - RESERVED_FILES, 1)
        self.connections: dict[HttpProtocol, None] = {}
        self.warned_at = -math.inf


_waiting: WeakKeyDictionary[ServerState, Waiting] = WeakKeyDictionary()


def waiting_on(server_state: ServerState) -> Waiting:
    """The ``Waiting`` of the server that ``server_state`` belongs to."""
    waiting = _waiting.get(server_state)
    if waiting is None:
        waiting = _waiting[server_state] = Waiting()
    return waiting


class HttpProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that closes connections which take too long to send a request."""

    waiting: Waiting
    deadline: asyncio.TimerHandle | None = None
    receiving = False  # a request has begun to arrive and is not complete

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.waiting = waiting_on(self.server_state)
        if len(self.connections) > self.waiting.cap:
            self._make_room()
        if not transport.is_closing():
            self._wait()
            self._start_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Only a request left incomplete costs a timer: most arrive whole, in one read.
        if self.receiving and self.deadline is None and not self.transport.is_closing():
            self._start_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.receiving = True

    def on_message_complete(self) -> None:
        self._stop_waiting()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:  # idle: uvicorn's keep-alive timer runs
            self._wait()

    def handle_websocket_upgrade(self) -> None:
        self._stop_waiting()
        super().handle_websocket_upgrade()

    def _wait(self) -> None:
        """Queue this connection as the latest to wait for a request."""
        self.waiting.connections.pop(self, None)
        self.waiting.connections[self] = None

    def _start_deadline(self) -> None:
        self.deadline = self.loop.call_later(self.timeout_keep_alive, self._close)

    def _stop_waiting(self) -> None:
        self.receiving = False
        self.waiting.connections.pop(self, None)
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _close(self) -> None:
        self._stop_waiting()
        self.transport.close()

    def _make_room(self) -> None:
        """At the cap: close the connection that has waited longest for a request, else this new one."""
        oldest = next(iter(self.waiting.connections), self)
        oldest._close()
        now = self.loop.time()
        if now - self.waiting.warned_at >= WARN_EVERY_SECONDS:
            self.waiting.warned_at = now
            logger.warning(
                "%d connections, the cap below the open-file limit: closing those that waited longest for a request",
                self.waiting.cap,
            )
