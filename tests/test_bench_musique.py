"""The musique suite: the recorded extractions replayed through the real LLM path, and
the scoring code, on a four-passage corpus written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.musique import (
    ReplayModel,
    bundled,
    distinct_sources,
    load_musique,
    relation_name,
    replay_answer,
)
from benchmarks.suites.musique import score, summarise
from benchmarks.summary import build_readme
from graphmem import Memory
from graphmem.embed.local import HashingEmbedder
from graphmem.testing import OpenAIServer

CORPUS = [
    {"id": 0, "title": "Journal of Physics", "text": "The Journal of Physics is published by "
     "the Institute of Physics. Its editor is Ann Berg."},
    {"id": 1, "title": "Institute of Physics", "text": "The Institute of Physics was founded "
     "by Lord Kelvin in London."},
    {"id": 2, "title": "Lord Kelvin", "text": "Lord Kelvin was born in Belfast."},
    {"id": 3, "title": "Porto", "text": "Porto is a city in Portugal known for its wine."},
]  # fmt: skip
EXTRACTIONS = [
    {"id": 0, "entities": ["Journal of Physics", "Institute of Physics", "Ann Berg"],
     "triples": [["Journal of Physics", "published by", "Institute of Physics"],
                 ["Journal of Physics", "editor is", "Ann Berg"], ["only", "two"]]},
    {"id": 1, "entities": ["Institute of Physics", "Lord Kelvin", "London"],
     "triples": [["Institute of Physics", "founded by", "Lord Kelvin"],
                 ["Institute of Physics", "located in", "London"]]},
    {"id": 2, "entities": ["Lord Kelvin", "Belfast"],
     "triples": [["Lord Kelvin", "was born in (city)", "Belfast"]]},
    {"id": 3, "entities": ["Porto", "Portugal"], "triples": [["Porto", "city in", "Portugal"]]},
]  # fmt: skip
QUESTIONS = [
    {"id": "2hop__a", "question": "Who founded the publisher of the Journal of Physics?",
     "answer": "Lord Kelvin", "answer_aliases": [], "gold": [0, 1], "hops": "2hop"},
    {"id": "3hop1__b", "question": "Where was the founder of the Journal of Physics' "
     "publisher born?", "answer": "Belfast", "answer_aliases": [], "gold": [0, 1, 2],
     "hops": "3hop1"},
]  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "musique-mini"
    root.mkdir()
    for name, rows in (("corpus", CORPUS), ("extractions", EXTRACTIONS), ("questions", QUESTIONS)):
        (root / f"{name}.json").write_text(json.dumps(rows), encoding="utf-8")
    return root


def test_recorded_triples_become_facts_entities_and_safe_relations():
    answer = replay_answer(EXTRACTIONS[0])
    assert [f["text"] for f in answer["facts"]] == [
        "Journal of Physics published by Institute of Physics",
        "Journal of Physics editor is Ann Berg",
    ]  # the two-part "triple" is dropped, not guessed at
    assert [(r["relation"], r["fact"]) for r in answer["relations"]] == [
        ("published by", 0), ("editor is", 1)]  # fmt: skip
    assert relation_name("was born in (city)") == "was born in city"
    assert relation_name("???") == "related to"


def test_replay_goes_through_the_real_llm_path_one_call_per_passage(folder, tmp_path):
    data = load_musique(folder)
    replay = ReplayModel(data)
    with OpenAIServer(handler=replay) as server:
        memory = Memory.open(tmp_path / "data", embedder=HashingEmbedder(), extractor="llm",
                             llm_base_url=server.base_url, llm_api_key="test")  # fmt: skip
        try:
            for passage in data.passages:
                memory.add(passage.memory, user_id="m", infer=True, source_ids=[str(passage.id)])
            extract_requests = [r for r in server.requests_to("chat")
                                if r.body["tool_choice"]["function"]["name"] == "extract"]  # fmt: skip
            texts = {f.text for f in memory.get_all(user_id="m", limit=100)}
            hits = memory.search("Who founded the Institute of Physics?", user_id="m", limit=3)
        finally:
            memory.close()
    assert len(extract_requests) == len(CORPUS) == replay.calls["extract"]
    assert replay.calls["unknown"] == 0
    assert "Institute of Physics founded by Lord Kelvin" in texts
    assert hits and hits[0].source_ids == ["1"]


def test_replay_refuses_to_invent_an_answer_for_an_unknown_text(folder):
    replay = ReplayModel(load_musique(folder))
    request = {"tool_choice": {"type": "function", "function": {"name": "extract"}},
               "messages": [{"role": "user", "content": "<text>\nnot a passage\n</text>"}]}  # fmt: skip
    assert replay(request) == {"facts": [], "entities": [], "relations": []}
    assert replay.calls["unknown"] == 1


def test_a_passage_counts_once_at_its_best_hit():
    hits = [["3"], ["3"], ["1"], [], ["3", "2"], ["0"]]
    assert distinct_sources(hits, 10) == [["3"], ["1"], ["2"], ["0"]]
    assert distinct_sources(hits, 2) == [["3"], ["1"]]
    ranking = distinct_sources(hits, 10)
    assert score(ranking, ("1", "2")) == {
        "recall@2": 0.5, "recall@5": 1.0, "recall@10": 1.0, "all_gold@5": 1.0}  # fmt: skip
    assert score(ranking, ("0", "3", "9"))["all_gold@5"] == 0.0


def test_summary_splits_by_hop_count():
    rows = [
        {"hops": "2hop", "scores": {"m": score([["1"], ["2"]], ("1", "2"))}},
        {"hops": "3hop", "scores": {"m": score([["1"]], ("1", "2", "3"))}},
    ]
    out = summarise(rows, ["m"])
    assert out["m"]["2hop"]["all_gold@5"] == 1.0
    assert out["m"]["3hop"]["recall@5"] == pytest.approx(1 / 3)
    assert out["m"]["all"]["n"] == 2


def test_suite_runs_every_mode_and_writes_results(folder, tmp_path):
    out = tmp_path / "results"
    code = main(["musique", "--data", str(folder), "--embedder", "hash",
                 "--extractor", "llm,offline", "--recipes", "vector,text,hybrid", "--out", str(out)])  # fmt: skip
    assert code == 0
    document = json.loads((out / "results.json").read_text())
    results = document["results"]
    assert results["ingest"]["llm"]["llm_calls"]["extract"] == len(CORPUS)
    assert results["ingest"]["offline"]["llm_calls"] == {}
    for method in ("dense", "bm25", "llm:hybrid", "offline:vector"):
        assert set(results["scores"][method]) == {"all", "2hop", "3hop"}
        assert results["latency_ms"][method]["p95"] >= results["latency_ms"][method]["p50"]
    markdown = (out / "results.md").read_text()
    assert "llm:hybrid" in markdown and "| offline | " in markdown  # the graph's share row
    assert "| llm:hybrid |" in build_readme(tmp_path)  # the results README lists the run


def test_passages_joined_into_long_memories_keep_their_gold(folder, tmp_path):
    data = load_musique(folder)
    joined = bundled(data, 3)
    assert [len(b.parts) for b in joined.passages] == [3, 1]
    assert sorted(i for b in joined.passages for i in b.source_ids) == ["0", "1", "2", "3"]
    first = joined.passages[0]
    assert first.memory == "\n\n".join(p.memory for p in first.parts)
    recorded = joined.extractions[first.id]["triples"]
    assert len(recorded) == sum(len(data.extractions[p.id]["triples"]) for p in first.parts)
    assert bundled(data, 1) is data
    # Through the suite: one memory per bundle, each replayed as one extraction call, and
    # a hit covers every passage of its memory.
    out = tmp_path / "results"
    assert main(["musique", "--data", str(folder), "--embedder", "hash", "--per-memory", "3",
                 "--extractor", "llm,none", "--recipes", "vector", "--out", str(out)]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())["results"]
    assert results["passages"] == 2
    assert results["ingest"]["llm"]["llm_calls"]["extract"] == 2
    assert results["ingest"]["none"]["memories"] == 2
    # Two memories hold all four passages: the top two cover every gold passage.
    assert results["scores"]["none:vector"]["all"]["recall@2"] == 1.0
    assert results["scores"]["dense"]["all"]["recall@2"] == 1.0
