"""A tiny multi-hop corpus for the graph channels' end-to-end tests.

The question names the Harbour Gazette; the gazette's passage names its editor; only the
editor's passage says where she grew up, in words the question does not use. Six other
passages, one person each, fill the scope. Each passage's extraction is what the stand-in
LLM (``benchmarks.musique.ReplayModel``) answers for it.
"""

from __future__ import annotations

from contextlib import contextmanager

QUESTION = "In which city was the editor of the Harbour Gazette born?"
PEOPLE = ["Jon Vik", "Ana Ruiz", "Li Wei", "Sam Cole", "Eva Lind", "Tom Berg"]
CITIES = ["Oslo", "Cadiz", "Xian", "Leeds", "Malmo", "Turku"]


def gazette_data(filler: str):
    """The corpus as ``MusiqueData``; ``filler`` is each other passage's text, formatted
    with ``person`` and ``city`` (each states "person lives in city")."""
    from benchmarks.musique import MusiqueData, Passage

    passages = [Passage(0, "Harbour Gazette", "The Harbour Gazette is edited by Mira Holt."),
                Passage(1, "Mira Holt", "Mira Holt grew up in Tallinn.")]  # fmt: skip
    extractions = {0: {"entities": ["Harbour Gazette", "Mira Holt"],
                       "triples": [["Harbour Gazette", "edited by", "Mira Holt"]]},
                   1: {"entities": ["Mira Holt", "Tallinn"],
                       "triples": [["Mira Holt", "grew up in", "Tallinn"]]}}  # fmt: skip
    for i, (person, city) in enumerate(zip(PEOPLE, CITIES, strict=True), start=2):
        passages.append(Passage(i, person, filler.format(person=person, city=city)))
        extractions[i] = {"entities": [person, city], "triples": [[person, "lives in", city]]}
    return MusiqueData(passages, [], extractions)


@contextmanager
def gazette_memory(tmp_path, filler: str):
    """A ``Memory`` whose extractor is the stand-in LLM answering for the corpus's
    passages, and the corpus: ``(memory, data)``; closed on exit."""
    from benchmarks.musique import ReplayModel
    from graphmem import Memory
    from graphmem.embed.local import HashingEmbedder
    from graphmem.testing import OpenAIServer

    data = gazette_data(filler)
    with OpenAIServer(handler=ReplayModel(data)) as server:
        memory = Memory.open(tmp_path, embedder=HashingEmbedder(), extractor="llm",
                             llm_base_url=server.base_url, llm_api_key="test")  # fmt: skip
        try:
            yield memory, data
        finally:
            memory.close()


def add_passages(memory, passages, user_id: str):
    """``add_many(infer=True)``, one item per passage; the ids of what was stored."""
    added = memory.add_many([{"text": p.memory, "source_ids": [str(p.id)]} for p in passages],
                            user_id=user_id, infer=True)  # fmt: skip
    return {f.id for f in added.facts}


def search_gazette(tmp_path, filler: str, recipes, limit: int = 8) -> dict:
    """Ingest the corpus through ``add_many(infer=True)`` and the stand-in LLM, and ask
    the question of each recipe: ``{recipe name: hits}``."""
    with gazette_memory(tmp_path, filler) as (memory, data):
        add_passages(memory, data.passages, "m")
        return {r.name: memory.search(QUESTION, user_id="m", limit=limit, recipe=r)
                for r in recipes}  # fmt: skip
