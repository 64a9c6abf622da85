"""``graphmem serve`` and ``graphmem keys create|list|revoke``: the server's commands.

They are registered in the CLI's registry (``graphmem/cli/registry.py``) when
``graphmem.cli`` imports this module; the work is done here.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..cli.output import table
from ..cli.registry import arg, command, group
from ..config import Config
from ..errors import ConfigError, StorageError
from .guard import web_origin
from .keys import KeyInfo, KeyStore, parse_duration


def _data_dir(args: argparse.Namespace) -> Path:
    return Config.from_env(data_dir=getattr(args, "data_dir", None)).data_dir


def port_number(text: str) -> int:
    """A TCP port: 99999 was taken modulo 65536 (the server said 99999 and listened on
    34463), and -1 exited 3."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 1-65535, or 0 for any "
                                         "free one")  # fmt: skip
    return port


def _keystore(args: argparse.Namespace, *, existing: bool = False) -> KeyStore:
    """The key store; ``existing``: one that must be there already (listing or revoking
    in a mistyped --data-dir made an empty store there and printed no keys)."""
    path = Path(args.keys) if getattr(args, "keys", None) else KeyStore.path_in(_data_dir(args))
    if existing and not os.path.exists(path):  # False, not OSError, on a name too long
        raise StorageError(path, f"no API key store at {path}: check --data-dir / --keys, or "
                           "create a key first (graphmem keys create --user NAME)")  # fmt: skip
    return KeyStore(path)


def cors_origin(text: str) -> str:
    try:
        return web_origin(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def at_least_one(text: str) -> int:
    """A count of 1 or more: --readers 0 failed deep in the thread pool (exit 3)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too few: give 1 or more")
    return value


_WHERE = (
    arg("--data-dir", help="the server's data directory"),
    arg("--keys", help="API key store (default: <data dir>/keys.sqlite)"),
)


@command(
    "serve", "serve the memory over HTTP: REST API with API keys, reference at /docs",
    arg("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)"),
    arg("--port", type=port_number, default=8765, help="port (0 = any free port)"),
    arg("--allowed-host", action="append", default=[], metavar="NAME",
        help="a Host name (NAME or NAME:PORT) MCP clients may use, beside localhost; "
             "repeatable. With it, /mcp refuses any other name (DNS-rebinding check), "
             "which a server bound to a loopback interface always does"),
    arg("--cors-origin", action="append", default=[], type=cors_origin, metavar="URL",
        help="a web origin (https://app.example) whose pages may call the API and /mcp "
             "from a browser; repeatable. None by default: no page of another site may"),
    arg("--keys", help="API key store (default: <data dir>/keys.sqlite)"),
    arg("--rate-limit", type=float, default=50.0,
        help="requests per second per key (0 = no limit)"),
    arg("--burst", type=at_least_one, default=100, help="requests a key may make at once"),
    arg("--readers", type=at_least_one, default=4, help="threads serving reads in parallel"),
    arg("--log-level", default="info",
        choices=["critical", "error", "warning", "info", "debug"]),
    arg("--no-access-log", action="store_true", help="do not log each request"),
    needs="store",
)  # fmt: skip
def serve(ctx: Any) -> None:
    import uvicorn

    from .app import Settings, create_app

    args = ctx.args
    settings = Settings(rate_limit=args.rate_limit, burst=args.burst, readers=args.readers,
                        host=args.host, allowed_hosts=tuple(args.allowed_host),
                        cors_origins=tuple(dict.fromkeys(args.cors_origin)))  # fmt: skip
    keys = _keystore(args)
    try:
        app = create_app(ctx.memory, keys, settings=settings)
        if not keys.entries():
            print("graphmem: no API keys yet: create one with `graphmem keys create --user NAME`",
                  file=sys.stderr)  # fmt: skip
        # uvicorn's access log prints the request line (method, path, query, status). Keys
        # travel in headers, but a client that put one in the URL had it logged whole.
        logging.getLogger("uvicorn.access").addFilter(_NoSecrets())
        try:
            uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                        access_log=not args.no_access_log)  # fmt: skip
        except SystemExit as exc:  # uvicorn's "startup failed" is 3, graphmem's "a bug"
            if exc.code != 3:
                raise
            raise ConfigError(f"could not serve on {args.host}:{args.port} (the port is in use "
                              "or the host does not resolve; uvicorn's line above says "
                              "which): choose another --port or --host") from None  # fmt: skip
    finally:
        keys.close()


# A graphmem key anywhere, and the value of a query parameter named like a secret.
_SECRET = re.compile(r"gm_[0-9a-fA-F]{12}_[A-Za-z0-9_-]+"
                     r"|(?<=[?&])((?:api[_-]?key|key|token|access_token|secret|password)=)[^&\s]*",
                     re.IGNORECASE)  # fmt: skip


class _NoSecrets(logging.Filter):
    """Replaces key-like text in access-log lines before they are written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        return True


def scrub(text: str) -> str:
    """``text`` with key-like parts redacted, found in its percent-decoded form too: a key
    sent as ``gm%5f...`` was logged whole (the access log writes the raw query string)."""
    cleaned = _SECRET.sub(_redacted, text)
    decoded = cleaned
    for _ in range(3):  # %255f is %5f once decoded, and _ twice
        decoded, before = unquote(decoded), decoded
        if decoded == before:
            break
        if _SECRET.search(decoded):
            return _SECRET.sub(_redacted, decoded)
    return cleaned


def _redacted(found: re.Match) -> str:
    return f"{found.group(1) or ''}[redacted]"


group("keys", "create, list and revoke the API keys of graphmem serve")


def _show_created(made: dict[str, Any]) -> list[str]:
    print(f"# key id {made['id']}, scope {made['scope']}"
          f"{', expires ' + made['expires'] if made['expires'] else ''}: "
          "shown once, only its hash is stored", file=sys.stderr)  # fmt: skip
    return [made["key"]]


@command(
    "keys create", "create a key (printed once; only its hash is stored)",
    *_WHERE,
    arg("--user", help="bind the key to this user_id"),
    arg("--agent", help="bind the key to this agent_id"),
    arg("--run", help="bind the key to this run_id"),
    arg("--admin", action="store_true", help="may name any scope and delete whole scopes"),
    arg("--expires", help="lifetime such as 30d, 12h, 15m"),
    arg("--label", help="a note shown by keys list"),
    needs="none", human=_show_created,
)  # fmt: skip
def keys_create(ctx: Any) -> dict[str, Any]:
    args = ctx.args
    expires = parse_duration(args.expires) if args.expires else None
    store = _keystore(args)
    try:
        key, info = store.create(user_id=args.user, agent_id=args.agent, run_id=args.run,
                                 admin=args.admin, expires_in=expires, label=args.label or "")  # fmt: skip
    finally:
        store.close()
    return {"key": key, **row(info)}


@command("keys list", "keys with scope, created, last used, request count, revoked",
         *_WHERE, needs="none", human=table, stream=True)  # fmt: skip
def keys_list(ctx: Any) -> list[dict[str, Any]]:
    store = _keystore(ctx.args, existing=True)
    try:
        return [row(k) for k in store.entries()]
    finally:
        store.close()


@command("keys revoke", "revoke a key; the server refuses it from the next request on",
         *_WHERE, arg("key_id", help="the id shown by keys list"), needs="none")  # fmt: skip
def keys_revoke(ctx: Any) -> dict[str, Any]:
    store = _keystore(ctx.args, existing=True)
    try:
        return row(store.revoke(ctx.args.key_id))
    finally:
        store.close()


def row(info: KeyInfo) -> dict[str, Any]:
    scope = ",".join(f"{k}={v}" for k, v in info.scope.params().items() if v)
    return {
        "id": info.id,
        "scope": scope or "(any)",
        "admin": info.admin,
        "label": info.label,
        "created": info.created_at,
        "expires": info.expires_at,
        "last_used": info.last_used_at,
        "requests": info.request_count,
        "revoked": info.revoked_at,
    }
