"""``graphmem serve``: one process owns the stores and serves them over HTTP with API keys.

``app.create_app(memory, keys, settings=...)`` builds the FastAPI app; ``keys.KeyStore``
holds the hashed API keys; ``commands`` holds the ``serve`` and ``keys`` CLI commands.
Importing this package needs nothing beyond graphmem itself: FastAPI and uvicorn (the
``server`` extra) are imported by ``app`` and by ``graphmem serve``.
"""
