"""``graphmem``: a thin command line over the library. Every command has ``--help``.

Exit codes: 0 success; 1 a graphmem error (its class and message on stderr); 2 a usage
error (bad option or argument); 3 an unexpected failure, a bug (``--debug`` shows the
traceback of either failure). ``--json`` prints the result as JSON with the library
objects' field names; ``--quiet`` turns the progress bar off (it is off anyway when
stderr is not a terminal).

Commands live in the modules of this package, one decorated function each
(``registry.command``); importing a module registers its commands.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from ..config import Config
from ..errors import GraphMemError
from ..mcp import command as _mcp_command  # noqa: F401 - graphmem mcp
from ..querylib import DIALECTS
from ..server import commands as _server_commands  # noqa: F401 - serve, keys
from ..termsafe import safe

# Importing a module registers its commands.
from . import graph, maintenance, memories, streams, tools  # noqa: F401
from .output import emit, mapping
from .registry import COMMANDS, GROUPS, Command, Context, UsageError

DESCRIPTION = """graphmem: long-term memory for LLM agents, as a knowledge graph and vectors.

exit codes: 0 success; 1 a graphmem error (class and message on stderr);
            2 a usage error; 3 an unexpected failure (a bug). --debug adds the traceback.
--json prints results as JSON with the library objects' field names (JSON lines for lists);
the progress bar goes to stderr, only when it is a terminal and --quiet (or
GRAPHMEM_QUIET=1) is not given."""
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3
# The drivers whose versions --version reports: the stores' and the model client's.
DRIVERS = ("kuzu", "qdrant-client", "qdrant-edge-py", "neo4j", "openai", "mcp")


def versions() -> dict[str, object]:
    from .. import __version__

    found = {}
    for name in DRIVERS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return {"graphmem": __version__, "python": sys.version.split()[0], "drivers": found}


def _global_flags(parser: argparse.ArgumentParser, top: bool) -> None:
    # On the top parser and on every sub-command, so they work before or after it; the
    # sub-commands' copies default to SUPPRESS so they cannot reset a flag given earlier.
    default = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("--json", action="store_true", help="print JSON (objects' field "
                        "names; JSON lines for lists)", **default)  # fmt: skip
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar", **default)
    parser.add_argument("--debug", action="store_true", help="show tracebacks", **default)


def _store_flags(parser: argparse.ArgumentParser, scoped: bool, remote: bool) -> None:
    parser.add_argument("--data-dir", help="embedded data directory (default: "
                        "GRAPHMEM_DATA_DIR or ~/.local/share/graphmem)")  # fmt: skip
    parser.add_argument("--embedder", choices=["local", "hash", "openai"], help="embedder")
    parser.add_argument("--graph", choices=list(DIALECTS), help="graph backend")
    if scoped:
        parser.add_argument("--user", help="user_id scope (default: GRAPHMEM_USER_ID)")
        parser.add_argument("--agent", help="agent_id scope (default: GRAPHMEM_AGENT_ID)")
        parser.add_argument("--run", help="run_id scope (default: GRAPHMEM_RUN_ID)")
    if remote:
        parser.add_argument("--url", help="run against this graphmem server (default: "
                            "GRAPHMEM_URL) instead of the local stores")  # fmt: skip
        parser.add_argument("--api-key", help="the server's API key (default: GRAPHMEM_API_KEY)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphmem",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true",
                        help="print graphmem's version and its drivers' versions")  # fmt: skip
    _global_flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for name, cmd in COMMANDS.items():
        head, _, tail = name.partition(" ")
        if tail:
            if head not in groups:
                g = sub.add_parser(head, help=GROUPS.get(head), description=GROUPS.get(head))
                groups[head] = g.add_subparsers(dest=f"{head}_command", required=True,
                                                metavar="COMMAND")  # fmt: skip
            p = groups[head].add_parser(tail, help=cmd.help, description=cmd.help)
        else:
            p = sub.add_parser(head, help=cmd.help, description=cmd.help, add_help=cmd.add_help)
        if cmd.add_help:
            _global_flags(p, top=False)
        if cmd.needs != "none":
            _store_flags(p, scoped=cmd.needs == "scope", remote=cmd.needs in ("scope", "server"))
        for a in cmd.args:
            p.add_argument(*a.flags, **a.options)
        p.set_defaults(cmd=cmd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    streams.guard()  # before any file opens: a closed fd 1 must not become the lock file
    parser = build_parser()
    # usage errors exit with 2 here. ``bench`` hands the rest to the runner's own parser,
    # which argparse's REMAINDER gives only from the first word that is no option: a
    # leading one ("graphmem bench --help") was refused as unrecognised.
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(getattr(args, "cmd", None), "name", "") == "bench":
        args.rest = [*extra, *args.rest]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.version:
        emit(versions(), Command("--version", "", None, human=_show_versions), args.json)
        return EXIT_OK
    cmd: Command | None = getattr(args, "cmd", None)
    if cmd is None:
        parser.print_usage(sys.stderr)
        print("graphmem: error: give a command (graphmem --help lists them)", file=sys.stderr)
        return EXIT_USAGE
    ctx = Context(args)
    stop, terminated = _stop_on_signals(), 0
    try:
        emit(cmd.run(ctx), cmd, ctx.json)
        sys.stdout.flush()
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"graphmem {cmd.name}: error: {safe(exc, lines=True)}", file=sys.stderr)
        return EXIT_USAGE
    except GraphMemError as exc:
        return _failed(args, exc, EXIT_ERROR)
    except KeyboardInterrupt:
        return 130
    except Terminated as exc:
        terminated = exc.signum
    except BrokenPipeError:
        # The reader went away (``| head``): not an error; keep Python from complaining
        # about the closed stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line: a bug, reported without a traceback
        return _failed(args, exc, EXIT_BUG)
    finally:
        for signum in stop:  # a signal now must not cut the close short
            signal.signal(signum, signal.SIG_IGN)
        ctx.close()
        for signum, handler in stop.items():
            signal.signal(signum, handler)
        if terminated:
            # The stores are closed. A thread blocked on a read (``graphmem mcp``'s stdin)
            # would hold the interpreter open at exit: leave now.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + terminated)
    return EXIT_OK


class Terminated(BaseException):
    """SIGTERM or SIGINT arrived (a service manager stopping ``graphmem serve``, Ctrl-C)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def _stop_on_signals() -> dict[int, Any]:
    """SIGTERM and SIGINT raise ``Terminated``, so the command's stores are closed on the
    way out. SIGTERM's default ended the process at once: ``graphmem serve`` never closed
    its memory (uvicorn re-raises the signal after its graceful shutdown), and the graph
    was left to be recovered from its log. Ctrl-C's ``KeyboardInterrupt`` never left
    ``graphmem mcp``'s event loop, which waited on its stdin reader, so it hung unclosed.
    Returns the handlers replaced (none off the main thread, where none can be set)."""
    replaced = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            replaced[signum] = signal.signal(signum, _terminate)
        except ValueError:
            break
    return replaced


def _failed(args: argparse.Namespace, exc: BaseException, code: int) -> int:
    if getattr(args, "debug", False):
        traceback.print_exception(exc)
    kind = type(exc).__name__
    print(f"graphmem: {kind}: {safe(exc, lines=True)}", file=sys.stderr)
    if code == EXIT_BUG and not getattr(args, "debug", False):
        print("graphmem: this is a bug; run again with --debug for the traceback",
              file=sys.stderr)  # fmt: skip
    return code


def _show_versions(v: dict) -> list[str]:
    lines = [f"graphmem {v['graphmem']} (Python {v['python']})"]
    return lines + mapping({k: d or "not installed" for k, d in v["drivers"].items()})


__all__ = ["Config", "build_parser", "main", "versions"]
