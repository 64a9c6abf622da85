"""``graphmem mcp``: the tools over stdio, for one scope fixed when the server starts."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import CancelledError
from typing import Any, TextIO

import anyio
import mcp_types as types
from mcp.server.stdio import stdio_server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage

from ..aio import AsyncMemory
from ..models import Scope
from .tools import build_server, calls_on
from .vet import bare_notification, error, refusal, unreadable_line_error


def serve_stdio(memory: Any, scope: dict[str, str | None]) -> None:
    """Serve ``memory`` (a ``Memory`` or a ``Client``) to the MCP client on stdin/stdout
    until it disconnects. Calls go through ``AsyncMemory``'s lanes, as on the server:
    reads side by side, writes one at a time.

    ``scope`` may be empty only for a ``Client``, whose API key then decides it.
    """
    if any(scope.values()):
        scope = Scope.of(**scope).params_or_none()  # malformed ids fail before serving
    amem = AsyncMemory(memory)
    stopped: list[int] = []
    # Only the main thread has signal handlers (elsewhere ``_watch`` steps aside).
    main = threading.current_thread() is threading.main_thread()
    kept = {signum: signal.getsignal(signum) for signum in _STOPS} if main else {}
    try:
        anyio.run(_serve, build_server(calls_on(amem), lambda _ctx: scope), stopped)
    finally:
        for signum, handler in kept.items():  # the loop left its own: put back the caller's
            signal.signal(signum, handler)
        amem.lanes.close()  # waits for a call still running; the caller closes the memory
    if stopped:
        signal.raise_signal(stopped[0])  # now the caller's handler (or the default) acts


_STOPS = (signal.SIGTERM, signal.SIGINT)


async def _serve(server: Any, stopped: list[int]) -> None:
    """The session until stdin ends or SIGTERM/SIGINT arrives (then kept in ``stopped``).

    A signal is taken by the event loop, never raised inside it: the CLI's handler raised
    its exception in whatever code ran, and where a task or the SDK caught it, the process
    kept serving (1 stop in 3 hung, measured with a signal sent just after an answer)."""
    lowlevel = server._lowlevel_server
    with _wire_in() as wire:
        async with anyio.create_task_group() as tg:
            await tg.start(_watch, tg.cancel_scope, stopped)
            await _session(lowlevel, wire)
            tg.cancel_scope.cancel()


async def _watch(scope: anyio.CancelScope, stopped: list[int], *, task_status: Any) -> None:
    with contextlib.ExitStack() as stack:
        try:
            signals = stack.enter_context(anyio.open_signal_receiver(*_STOPS))
        except (NotImplementedError, RuntimeError, ValueError):
            # No loop signal handlers here (Windows' event loop, or not the main thread):
            # the caller's own handlers stay in charge, as before.
            task_status.started()
            return
        task_status.started()
        async for signum in signals:
            stopped.append(int(signum))
            scope.cancel()
            return


async def _session(lowlevel: Any, wire: Any) -> None:
    # The SDK's stdio transport drops a line it cannot read without a word, so a client
    # waiting on that request's id waits forever; here each such line gets the JSON-RPC
    # error the spec asks for, and the session goes on with the next line.
    async with stdio_server(stdin=_Unnotified(wire)) as (read, write):
        sieved_in, sieved_out = create_context_streams[SessionMessage | Exception](0)

        async def sieve() -> None:
            greeted = False
            async with sieved_in:
                async for item in read:
                    if isinstance(item, Exception):
                        await write.send(SessionMessage(unreadable_line_error(item)))
                        continue
                    message = item.message
                    refused = refusal(message)
                    if refused is not None:
                        await write.send(SessionMessage(refused))
                        continue
                    if isinstance(message, types.JSONRPCRequest):
                        greeted = greeted or message.method == "initialize"
                        if not greeted and message.method != "ping":
                            # The SDK's own answer, 'Invalid request parameters', hides this.
                            await write.send(SessionMessage(error(message.id,
                                types.INVALID_REQUEST, f"Invalid Request: {message.method!r} "
                                "came before initialize; send initialize first, then "
                                "notifications/initialized")))  # fmt: skip
                            continue
                    await sieved_in.send(item)

        async with anyio.create_task_group() as tg:
            tg.start_soon(sieve)
            await lowlevel.run(sieved_out, write, lowlevel.create_initialization_options())
            tg.cancel_scope.cancel()


class _Unnotified:
    """The lines of ``wire`` but bare notifications (``vet.bare_notification``): the SDK
    reads those as it reads a request whose id is ``1.5``, which must be answered, and
    JSON-RPC forbids answering a notification, so they are dropped before it parses."""

    def __init__(self, wire: Any) -> None:
        self.wire = wire

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self.wire:
            if not bare_notification(line):
                yield line


class _Lines:
    """The lines of ``file``, read on a daemon thread. anyio's file wrapper reads on a
    worker thread that a cancelled session waits for, and no line may ever come, so a
    stop signal hung; a daemon thread left blocked on the read holds nothing open."""

    def __init__(self, file: TextIO) -> None:
        self.file = file

    async def __aiter__(self) -> AsyncIterator[str]:
        send, receive = anyio.create_memory_object_stream[str](1)

        def pump(portal: anyio.from_thread.BlockingPortal) -> None:
            try:
                while line := self.file.readline():
                    portal.call(send.send, line)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, CancelledError,
                    RuntimeError):  # fmt: skip
                return  # the session ended first (RuntimeError: its portal is closed)
            except (OSError, ValueError):
                pass  # stdin failed or was closed: the session ends as at end of input
            with contextlib.suppress(RuntimeError):
                portal.call(send.aclose)

        async with anyio.from_thread.BlockingPortal() as portal, receive:
            threading.Thread(target=pump, args=(portal,), name="graphmem-mcp-stdin",
                             daemon=True).start()  # fmt: skip
            async for line in receive:
                yield line


@contextlib.contextmanager
def _wire_in() -> Iterator[Any]:
    """stdin as UTF-8 lines (undecodable bytes replaced, as the SDK reads them), read
    from a private copy of fd 0 while fd 0 itself reads the null device: a tool or a
    child process that read stdin would take the client's messages. Restored on exit."""
    try:
        private = os.dup(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):  # no real fd 0: read it as it is
        yield _Lines(io.TextIOWrapper(sys.stdin.buffer, "utf-8", "replace"))
        return
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        yield _Lines(io.TextIOWrapper(os.fdopen(private, "rb", closefd=False), "utf-8",
                                      "replace"))  # fmt: skip
    finally:
        # ``private`` stays open: the reading thread may still block on it, and a
        # number closed under it could be reused by another file.
        os.dup2(private, 0)
