"""``graphmem mcp``: the tools over stdio, for one scope fixed when the server starts."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import signal
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import CancelledError
from typing import Any, TextIO

import anyio
import mcp_types as types
import pydantic
from mcp.server.stdio import stdio_server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage

from ..aio import AsyncMemory
from ..models import Scope
from .batch import batch_items, encoded
from .tools import build_server, calls_on
from .vet import bare_notification, error, refusal, twice_refusal, unreadable_line_error


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
    async with _wire_in() as wire:
        with _wire_out() as out:
            async with anyio.create_task_group() as tg:
                tg.start_soon(out.watch, tg.cancel_scope)  # a closed pipe ends it, as EOF does
                await tg.start(_watch, tg.cancel_scope, stopped)
                await _session(lowlevel, wire, out, server.graphmem_tools)
                tg.cancel_scope.cancel()
            # Answers still queued are written while the client reads them; after a stop
            # signal, or with a client that no longer reads, not waited for long.
            await out.drain(_DRAIN_STOPPED_S if stopped else _DRAIN_S)


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


async def _session(lowlevel: Any, wire: Any, out: _WireOut, tools: Any) -> None:
    # The SDK's stdio transport drops a line it cannot read without a word, so a client
    # waiting on that request's id waits forever; here each such line gets the JSON-RPC
    # error the spec asks for, and the session goes on with the next line.
    lines = _Unnotified(wire)
    async with stdio_server(stdin=lines, stdout=out) as (read, write):
        sieved_in, sieved_out = create_context_streams[SessionMessage | Exception](0)
        answers_in, answers_out = create_context_streams[SessionMessage](0)
        open_ids = _OpenIds()

        async def sieve() -> None:
            greeted = False
            async with sieved_in:
                async for item in read:
                    if isinstance(item, Exception):
                        await write.send(SessionMessage(lines.answer_for(item)))
                        continue
                    message = item.message
                    refused = refusal(message, tools)
                    if refused is not None:
                        await write.send(SessionMessage(refused))
                        continue
                    if isinstance(message, types.JSONRPCRequest):
                        greeted = greeted or message.method == "initialize"
                        if not greeted and message.method != "ping" and not _versioned(message):
                            # The SDK's own answer, 'Invalid request parameters', hides this.
                            await write.send(SessionMessage(error(message.id,
                                types.INVALID_REQUEST, f"Invalid Request: {message.method!r} "
                                "came before initialize; send initialize first, then "
                                "notifications/initialized")))  # fmt: skip
                            continue
                    open_ids.read(message)
                    await sieved_in.send(item)
                # End of input. The SDK cancels what is still running when its input ends
                # and answers it "Connection closed", so a client that writes its requests
                # and then closes stdin (``printf ... | graphmem mcp``) lost every answer
                # still being worked on; the input stays open until they are written.
                with anyio.move_on_after(_ANSWER_S):
                    await open_ids.settled()

        async def answer() -> None:
            async with answers_out:
                async for item in answers_out:
                    await write.send(item)
                    open_ids.answered(item.message)

        async with anyio.create_task_group() as outer:
            outer.start_soon(answer)
            async with anyio.create_task_group() as tg:
                tg.start_soon(sieve)
                await lowlevel.run(sieved_out, answers_in, lowlevel.create_initialization_options())
                tg.cancel_scope.cancel()
            await answers_in.aclose()  # the answer task passes on what is left, then ends
        await write.aclose()  # as the SDK closes it when its run ends: the writer stops


def _versioned(request: Any) -> bool:
    """Whether the request names its protocol version itself (``_meta``), as every request
    of the 2026-07-28 protocol does: that protocol has no initialize, and the SDK serves
    it or says the version is not one it speaks."""
    meta = (request.params or {}).get("_meta")
    return isinstance(meta, dict) and types.PROTOCOL_VERSION_META_KEY in meta


class _OpenIds:
    """The ids of requests read but not yet answered (a request the client cancelled
    counts as answered: the spec forbids answering it)."""

    def __init__(self) -> None:
        self._open: set[str] = set()
        self._empty = anyio.Event()
        self._empty.set()

    def read(self, message: Any) -> None:
        if isinstance(message, types.JSONRPCRequest):
            self._open.add(repr(message.id))
            if self._empty.is_set():
                self._empty = anyio.Event()
        elif isinstance(message, types.JSONRPCNotification) \
                and message.method == "notifications/cancelled":  # fmt: skip
            self._close(repr((message.params or {}).get("requestId")))

    def answered(self, message: Any) -> None:
        if isinstance(message, (types.JSONRPCResponse, types.JSONRPCError)):
            self._close(repr(message.id))

    def _close(self, key: str) -> None:
        self._open.discard(key)
        if not self._open:
            self._empty.set()

    async def settled(self) -> None:
        await self._empty.wait()


_TWICE = "\x00 a request that gives a member twice, answered by the sieve"


class _Unnotified:
    """The lines of ``wire`` but bare notifications (``vet.bare_notification``) and blank
    lines. The SDK reads a bare notification as it reads a request whose id is ``1.5``,
    which must be answered, and JSON-RPC forbids answering a notification, so they are
    dropped before it parses. A blank line is no message: clients that end each message
    with an empty line got a -32700 error for it, which some read as a failed request.
    A request that gives a member twice (``vet.twice_refusal``; the SDK's parser keeps the
    last without a word) goes on as a line the SDK cannot read, and the sieve answers it
    with that refusal, in its turn among the other answers (``answer_for``)."""

    def __init__(self, wire: Any) -> None:
        self.wire = wire
        self.twice: deque[types.JSONRPCError] = deque()

    def answer_for(self, unreadable: Exception) -> types.JSONRPCError:
        """The error for a line the SDK could not read: a held refusal, or the usual one."""
        errors = unreadable.errors() if isinstance(unreadable, pydantic.ValidationError) else []
        said = errors[0].get("input") if errors else None
        if isinstance(said, str | bytes) and _TWICE in str(said) and self.twice:
            return self.twice.popleft()
        return unreadable_line_error(unreadable)

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self.wire:
            twice = twice_refusal(line) if "{" in line else None
            if twice is not None:
                self.twice.append(twice)
                yield _TWICE
                continue
            # A batch (``batch.py``): its messages are read as lines of their own, and
            # each request is answered on a line of its own.
            items = batch_items(line)
            for one in [line] if items is None else [encoded(i).decode() for i in items]:
                if one.strip() and not bare_notification(one):
                    yield one


class _Lines:
    """The lines a daemon thread reads from stdin (``_wire_in``). anyio's file wrapper
    reads on a worker thread that a cancelled session waits for, and no line may ever
    come, so a stop signal hung; a daemon thread left blocked on the read holds nothing
    open. The thread and its portal belong to ``_wire_in``, entered by the session's own
    task: an async generator that held them was closed by the loop in another task
    after a stop, and anyio refused to leave the portal's scope there (the CLI exited 3;
    measured: 2 of 5 signals sent just after a write)."""

    def __init__(self, receive: Any) -> None:
        self.receive = receive

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self.receive:
            yield line


def _pump(file: TextIO, portal: anyio.from_thread.BlockingPortal, send: Any) -> None:
    try:
        while line := file.readline():
            portal.call(send.send, line)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, CancelledError,
            RuntimeError):  # fmt: skip
        return  # the session ended first (RuntimeError: its portal is closed)
    except (OSError, ValueError):
        pass  # stdin failed or was closed: the session ends as at end of input
    with contextlib.suppress(RuntimeError):
        portal.call(send.aclose)


_BACKLOG = 256  # answers queued for the writing thread before a writer waits its turn
_DRAIN_S = 30.0  # after stdin ends: time for the client to read the last answers
_DRAIN_STOPPED_S = 2.0  # after a stop signal
_ANSWER_S = 300.0  # after stdin ends: time for requests already read to finish


class _WireOut:
    """stdout for the SDK's writer: each answer is handed to a daemon thread that writes
    it to a private copy of fd 1.

    The SDK wrote on anyio's worker thread, which a cancelled session must wait for: with
    a client that had stopped reading (its pipe full), a stop signal never ended the
    process (measured: still running 60 s after SIGTERM). Here a writer waits for room in
    the queue in the event loop, where a stop cancels it, and a thread left blocked on
    the pipe holds nothing open. A pipe the client closed ends the session quietly, as
    the end of stdin does, where the SDK's writer raised and the CLI exited 3 ("a bug").
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.gone = threading.Event()  # the client closed its end
        self._lines: queue.Queue[bytes] = queue.Queue(_BACKLOG)
        threading.Thread(target=self._pump, name="graphmem-mcp-stdout", daemon=True).start()

    async def write(self, text: str) -> None:
        data = text.encode("utf-8")
        while not self.gone.is_set():
            try:
                self._lines.put_nowait(data)
                return
            except queue.Full:
                await anyio.sleep(0.005)

    async def flush(self) -> None:
        """Each answer is written whole by the thread, in the order given."""

    async def watch(self, session: anyio.CancelScope) -> None:
        """Ends ``session`` once the pipe is found closed (polled: the thread cannot
        call into the loop on every anyio version the SDK allows)."""
        while not self.gone.is_set():
            await anyio.sleep(0.2)
        session.cancel()

    async def drain(self, limit: float) -> None:
        """Waits, up to ``limit`` seconds, for the thread to write what is queued."""
        with anyio.move_on_after(limit):
            while self._lines.unfinished_tasks and not self.gone.is_set():
                await anyio.sleep(0.01)

    def _pump(self) -> None:
        while True:
            data = self._lines.get()
            try:
                while data and not self.gone.is_set():
                    data = data[os.write(self.fd, data) :]
            except OSError:  # the client closed its end (EPIPE), or the fd failed
                self.gone.set()
            finally:
                self._lines.task_done()


@contextlib.contextmanager
def _wire_out() -> Iterator[_WireOut]:
    """A ``_WireOut`` on a private copy of fd 1, while fd 1 itself writes to stderr: a
    tool, a library or a child process that printed would corrupt the client's stream
    (the SDK's own stdio transport diverts fd 1 the same way). Restored on exit."""
    try:
        sys.stdout.flush()
        private = os.dup(1)
        os.dup2(2, 1)
    except (OSError, ValueError, AttributeError):  # no real fd 1 or 2: write fd 1 as it is
        yield _WireOut(1)
        return
    try:
        yield _WireOut(private)
    finally:
        # ``private`` stays open, as stdin's does: the writing thread may still block on it.
        os.dup2(private, 1)


@contextlib.asynccontextmanager
async def _wire_in() -> AsyncIterator[_Lines]:
    """stdin's lines, read on a daemon thread (``_Lines``) until the session ends."""
    with _stdin() as file:
        send, receive = anyio.create_memory_object_stream[str](1)
        async with anyio.from_thread.BlockingPortal() as portal, receive:
            threading.Thread(target=_pump, args=(file, portal, send), name="graphmem-mcp-stdin",
                             daemon=True).start()  # fmt: skip
            yield _Lines(receive)


@contextlib.contextmanager
def _stdin() -> Iterator[TextIO]:
    """stdin as UTF-8 lines (an undecodable byte kept as a lone surrogate, so the line is
    refused with an error naming the byte, ``vet._not_utf8``: replaced with U+FFFD, as
    the SDK reads stdin, it was served and stored altered; a line
    ends at "\\n" only: read with universal newlines, a bare CR that JSON allows as
    whitespace inside a message cut it in two, and neither half was answered), read
    from a private copy of fd 0 while fd 0 itself reads the null device: a tool or a
    child process that read stdin would take the client's messages. Restored on exit."""
    try:
        private = os.dup(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):  # no real fd 0: read it as it is
        yield io.TextIOWrapper(sys.stdin.buffer, "utf-8", "surrogateescape", newline="\n")
        return
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        yield io.TextIOWrapper(os.fdopen(private, "rb", closefd=False), "utf-8", "surrogateescape",
                               newline="\n")  # fmt: skip
    finally:
        # ``private`` stays open: the reading thread may still block on it, and a
        # number closed under it could be reused by another file.
        os.dup2(private, 0)
