"""The server's HTTP protocol: requests that arrive too slowly are cut off, and new clients still get in.

``protocol.HttpProtocol`` builds on uvicorn's internals, so these tests also catch a uvicorn
upgrade that breaks it. They serve the app on 127.0.0.1 as the Dockerfile does, with a 1 s timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import connect as websocket_connect

from {{ cookiecutter.package_name }} import protocol

from .support import Mint, bearer

TIMEOUT = 1
HEALTH = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n"
HALF_SENT = b"GET /health HTTP/1.1\r\nHost: te"
# How late a close may come on a busy machine (CI runners, parallel test runs) and still be the deadline's.
SLACK = 2
OK = b"HTTP/1.1 200 OK\r\n"

pytestmark = pytest.mark.anyio


@pytest.fixture
async def address(app: FastAPI) -> AsyncIterator[tuple[str, int]]:
    """The app served by uvicorn with ``HttpProtocol`` on a free port of 127.0.0.1."""
    config = uvicorn.Config(app, http=protocol.HttpProtocol, timeout_keep_alive=TIMEOUT)
    server = uvicorn.Server(config)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
                await asyncio.sleep(0.01)
        yield sock.getsockname()
        server.should_exit = True
        await serving


Connect = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@pytest.fixture
async def connect(address: tuple[str, int]) -> AsyncIterator[Connect]:
    """Open connections to the server; all are closed after the test."""
    writers: list[asyncio.StreamWriter] = []

    async def open_connection() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(*address)
        writers.append(writer)
        return reader, writer

    yield open_connection
    for writer in writers:
        writer.close()


async def closed_after(reader: asyncio.StreamReader) -> float:
    """Seconds until the server closes the connection, reading whatever it sends until then."""
    started = time.monotonic()
    async with asyncio.timeout(TIMEOUT + 4):  # without the deadline it would never close: fail here
        try:
            while await reader.read(4096):
                pass
        except ConnectionResetError:
            pass  # a byte still arriving when the server closes is answered with a reset: closed all the same
    return time.monotonic() - started


async def status(connect: Connect) -> bytes:
    """The status line of ``GET /health`` on a new connection."""
    reader, writer = await connect()
    writer.write(HEALTH)
    return await reader.readline()


async def test_a_half_sent_request_is_closed_at_the_deadline(connect: Connect) -> None:
    reader, writer = await connect()
    writer.write(HALF_SENT)
    waited = asyncio.create_task(closed_after(reader))
    assert await status(connect) == OK  # others are answered meanwhile
    assert TIMEOUT - 0.2 <= await waited <= TIMEOUT + SLACK


async def test_a_request_sent_a_byte_at_a_time_is_closed_at_the_deadline(connect: Connect) -> None:
    reader, writer = await connect()
    waited = asyncio.create_task(closed_after(reader))
    for byte in HALF_SENT:  # the connection is never idle, yet its deadline holds
        if waited.done():
            break
        writer.write(bytes([byte]))
        await asyncio.sleep(0.05)
    assert await waited <= TIMEOUT + SLACK


async def test_each_request_on_a_kept_alive_connection_has_its_own_deadline(connect: Connect) -> None:
    reader, writer = await connect()
    writer.write(HEALTH)
    assert await reader.readline() == OK
    await reader.readuntil(b'{"status":"ok"}')
    await asyncio.sleep(TIMEOUT * 0.6)  # idle, within uvicorn's keep-alive timeout
    writer.write(HALF_SENT)
    assert TIMEOUT - 0.2 <= await closed_after(reader) <= TIMEOUT + SLACK


async def test_a_websocket_outlives_the_deadline_of_its_handshake(address: tuple[str, int], mint: Mint) -> None:
    url = f"ws://{address[0]}:{address[1]}/ws"
    async with websocket_connect(url, additional_headers=bearer(mint())) as websocket:
        assert json.loads(await websocket.recv())["hello"] == "alice"
        await asyncio.sleep(TIMEOUT + 0.5)
        await websocket.send("ping")
        assert await websocket.recv() == "ping"


async def test_past_the_connection_cap_the_longest_waiting_connection_makes_room(
    connect: Connect, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    files, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    monkeypatch.setattr(protocol, "RESERVED_FILES", files - 2)  # a cap of two connections
    oldest, oldest_writer = await connect()
    oldest_writer.write(HALF_SENT)
    await asyncio.sleep(0.1)
    _, newer_writer = await connect()
    newer_writer.write(HALF_SENT)
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.WARNING, logger="uvicorn.error"):
        assert await status(connect) == OK
    assert await closed_after(oldest) < 0.5
    assert "the cap below the open-file limit" in caplog.text
