"""The hostile-input corpus again, through ``Client`` and a real ``graphmem serve``.

What ``Memory`` refuses, a client of the server must refuse too, with a ``GraphMemError``
and nothing written: the wire must not turn bad input into stored text. It did, before
``api.sendable``: bytes were stored as the text "b'...'", a generator as
"<generator object ...>", ``{1: "a"}`` as ``{"1": "a"}``; NaN, a lone surrogate, deep
nesting and a 1 MB id raised ValueError, UnicodeEncodeError, RecursionError and httpx's
InvalidURL; and the server's lax parsing took ``{"infer": "yes"}`` for True.
"""

from __future__ import annotations

import pytest
from test_hostile_corpus import REFUSED, USER

from graphmem import Client, GraphMemError
from graphmem.testing.server import ServedMemory

# Accepted over HTTP by design, each for a reason that holds for any client:
OVER_HTTP = {
    # The key decides the scope of every call (server/auth.py).
    "add-no-scope", "search-no-scope", "get-no-scope", "get-all-no-scope", "stats-no-scope",
    # A query string carries text: "5" and 5 are the same request there.
    "get-all-limit-str", "neighbours-depth-str",
    # None is what the client sends for an argument not given: the default applies.
    "infer-none",
    # A datetime travels as its ISO text, which metadata holds as any string.
    "meta-datetime",
    # Needs the data dir, which a client has no access to.
    "to-graphml-folder",
}  # fmt: skip


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with ServedMemory(tmp_path_factory.mktemp("served"), extra_args=("--rate-limit", "0")) as s:
        key, _ = s.keys.create(user_id=USER)
        with Client(s.url, key) as c:
            c.add("Alice works at Acme. Bob lives in Paris.")
            yield c, s


def _stored(c) -> tuple:
    return (c.stats(), [m.text for m in c.get_all(limit=1000)])


@pytest.mark.parametrize("case", sorted(set(REFUSED) - OVER_HTTP))
def test_what_memory_refuses_a_client_refuses_and_nothing_is_written(client, case):
    c, served = client
    before = _stored(c)
    with pytest.raises(GraphMemError):
        REFUSED[case](c)
    assert _stored(c) == before
    assert "Traceback" not in served.output()
