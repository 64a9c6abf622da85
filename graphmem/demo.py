"""``graphmem demo``: the README's first command. Embedded stores, no API key, no server."""

from __future__ import annotations

import tempfile
from pathlib import Path

STORY = {
    "alice": [
        ("Alice works at Acme.", "2024-01-10"),
        ("Bob is Alice's brother.", "2024-02-01"),
        ("Bob lives in Paris.", "2024-02-01"),
        ("Alice moved from Acme to Globex.", "2024-06-15"),
        ("I love hiking in the Alps with my sister Carol.", "2024-07-01"),
    ],
    "dave": [
        ("Dave lives in Rome.", "2024-03-03"),
        ("Dave works at Initech.", "2024-03-03"),
    ],
}


def run_demo(data_dir: str | Path | None = None, *, embedder: str = "local") -> None:
    from .memory import Memory

    where = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="graphmem-demo-"))
    print(f"graphmem demo: embedded Kuzu + Qdrant + SQLite in {where} (embedder: {embedder})\n")
    with Memory.open(where, embedder=embedder, extractor="offline") as m:
        for user in STORY:
            m.delete_all(user_id=user)
        for user, lines in STORY.items():
            for text, day in lines:
                m.add(text, user_id=user, timestamp=day)
        for user in STORY:
            print(f"== memories of {user} (current)")
            for fact in m.get_all(user_id=user):
                print(f"  {fact.text}")
            print()
        if m.graph is None:
            return
        print("== relations of Alice (current; Acme was superseded by Globex)")
        for r in m.graph.relations("Alice", user_id="alice"):
            print(f"  {r.source_name} -[{r.name}]-> {r.target_name}  (since {r.valid_at[:10]})")
        print("\n== where did Alice work on 2024-03-01?  (as_of)")
        for r in m.graph.relations("Alice", user_id="alice", as_of="2024-03-01"):
            if r.key == "works_at":
                print(f"  {r.source_name} -[{r.name}]-> {r.target_name}")
        print("\n== how is Alice connected to Paris?")
        for path in m.graph.paths("Alice", "Paris", user_id="alice"):
            print("  " + " ; ".join(f"{s.source} -[{s.relation}]-> {s.target}" for s in path))
        query = "where does Alice's brother live?"
        print(f"\n== hybrid search: {query!r}")
        for rank, hit in enumerate(m.search(query, user_id="alice", limit=3), 1):
            print(f"  {rank}. {hit.text}\n     {hit.explain()}")
        print("\n== dave cannot see alice's memories:",
              [h.text for h in m.search("Alice", user_id="dave", limit=3)])  # fmt: skip
