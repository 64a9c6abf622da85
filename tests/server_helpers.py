"""What the tests of the real ``graphmem serve`` share: reading its error answers."""

from __future__ import annotations

import httpx


def problem_of(response: httpx.Response, status: int, error: str) -> dict:
    """The problem+json body of ``response``, checked to be ``status`` and ``error``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["error"] == error and body["status"] == status
    return body
