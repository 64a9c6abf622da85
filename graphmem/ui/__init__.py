"""The web explorer: static files served at ``/ui`` by ``graphmem serve``.

The page is plain HTML, CSS and JavaScript with no library and nothing fetched from
another origin, so it works offline. It talks to the REST API (``/v1``) with the key
the user types in, like any other client; this module only serves the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The page loads its own scripts and styles and calls its own origin, nothing else:
# a name or a memory text that smuggles in markup still cannot load or send anything.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The key lives in sessionStorage; a cached page holds none, but there is no reason
    # to keep stale copies of the app after an upgrade either.
    "Cache-Control": "no-cache",
}


def mount_ui(app: Any, path: str = "/ui") -> None:
    """Serve the explorer's files under ``path`` on a FastAPI/Starlette ``app``."""
    from starlette.staticfiles import StaticFiles

    class _ExplorerFiles(StaticFiles):
        def file_response(self, *args: Any, **kwargs: Any):
            response = super().file_response(*args, **kwargs)
            response.headers.update(_HEADERS)
            return response

    app.mount(path, _ExplorerFiles(directory=STATIC_DIR, html=True), name="ui")


def mount_on_server(app: Any, state: Any = None) -> None:
    """The hook ``graphmem serve``'s ``create_app`` calls for each room it finds; the
    explorer needs no server state: it reaches the memory through ``/v1`` with a key."""
    mount_ui(app)
