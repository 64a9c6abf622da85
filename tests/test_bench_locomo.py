"""The LoCoMo loader's evidence audit, the oracle check and the suite's plumbing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.locomo import load_locomo, parse_session_date
from benchmarks.report import write_results
from benchmarks.runtime import REPO_ROOT, BenchmarkError
from benchmarks.suites import locomo as suite
from benchmarks.suites.locomo_report import build_tables, summarise
from benchmarks.summary import build_readme
from graphmem import Memory

REAL_FILE = (REPO_ROOT / "../shared/datasets/locomo10.json").resolve()


def _turn(dia_id, speaker, text, **extra):
    return {"speaker": speaker, "dia_id": dia_id, "text": text, **extra}


def _sample(sample_id, qa):
    return {
        "sample_id": sample_id,
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Bob",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                _turn("D1:1", "Ann", "I adopted a dog called Rex."),
                _turn("D1:2", "Bob", "Look at this!", blip_caption="a photo of a red kite"),
            ],
            "session_2_date_time": "9:05 am on 12 June, 2023",
            "session_2": [
                _turn("D2:1", "Ann", "Rex loves the beach in Brighton."),
                _turn("D2:2", "Bob", "I started learning the cello."),
            ],
        },
        "qa": qa,
    }


MALFORMED_QA = [
    {"question": "q0", "answer": "a", "evidence": ["D1:1; D2:1"], "category": 1},
    {"question": "q1", "answer": "a", "evidence": ["D:1:2"], "category": 4},
    {"question": "q2", "answer": "a", "evidence": ["D2:01"], "category": 2},
    {"question": "q3", "answer": "a", "evidence": ["D", "D2:2"], "category": 4},
    {"question": "q4", "answer": "a", "evidence": ["D9:9"], "category": 1},
    {"question": "q5", "answer": "a", "evidence": [], "category": 3},
    {"question": "q6", "answer": "a", "evidence": ["D1:1 D1:2", "D1:1"], "category": 1},
    {"question": "q7", "adversarial_answer": "none", "evidence": ["D2:2"], "category": 5},
]


@pytest.fixture
def fixture_file(tmp_path: Path) -> Path:
    path = tmp_path / "locomo-mini.json"
    data = [_sample("conv-a", MALFORMED_QA), _sample("conv-b", MALFORMED_QA[:2])]
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_session_dates_become_iso():
    assert parse_session_date("1:56 pm on 8 May, 2023") == "2023-05-08T13:56:00"
    assert parse_session_date("12:09 am on 1 January, 2024") == "2024-01-01T00:09:00"
    assert parse_session_date("12:30 pm on 31 December, 2022") == "2022-12-31T12:30:00"
    with pytest.raises(ValueError, match="unrecognised"):
        parse_session_date("yesterday")


def test_turns_carry_speaker_caption_and_session_date(fixture_file):
    data = load_locomo(fixture_file)
    turns = data.conversations[0].turns
    assert [t.dia_id for t in turns] == ["D1:1", "D1:2", "D2:1", "D2:2"]
    assert turns[0].text == "Ann: I adopted a dog called Rex."
    assert turns[1].text == "Bob: Look at this! [shares a photo of a red kite]"
    assert turns[2].timestamp == "2023-06-12T09:05:00"
    assert data.conversations[0].speakers == ("Ann", "Bob")


@pytest.mark.parametrize(
    ("spec", "kept"), [("0", ["conv-a", "conv-b"]), ("1", ["conv-a"]), ("1-1", ["conv-b"])]
)
def test_conversations_option_selects_a_held_out_range(fixture_file, spec, kept):
    data = suite.select_conversations(load_locomo(fixture_file), spec)
    assert [c.sample_id for c in data.conversations] == kept
    assert {q.sample_id for q in data.questions} == set(kept)


@pytest.mark.parametrize("spec", ["2-1", "x", "-1", "5-9"])
def test_conversations_option_refuses_a_range_that_selects_nothing(fixture_file, spec):
    with pytest.raises(BenchmarkError, match="--conversations"):
        suite.select_conversations(load_locomo(fixture_file), spec)


def test_each_malformed_evidence_form_is_normalised_or_counted(fixture_file):
    data = load_locomo(fixture_file)
    gold = {q.question: q.gold for q in data.questions if q.sample_id == "conv-a"}
    assert gold["q0"] == ("D1:1", "D2:1")  # "; " split
    assert gold["q1"] == ("D1:2",)  # stray colon after D
    assert gold["q2"] == ("D2:1",)  # leading zero
    assert gold["q3"] == ("D2:2",)  # "D" dropped, the rest kept
    assert gold["q4"] == ()  # points at a turn that does not exist
    assert gold["q5"] == ()  # no evidence at all
    assert gold["q6"] == ("D1:1", "D1:2")  # whitespace split, duplicate kept once
    assert data.audit.counts() == {
        "split_entries": 2 + 1,
        "stray_colon": 1 + 1,
        "leading_zero": 1,
        "unparseable": 1,
        "missing_turn": 1,
        "no_evidence": 1,
        "no_usable_gold": 2,
    }
    assert data.audit.missing_turn == ["conv-a#4 'D9:9'"]
    assert data.audit.no_usable_gold == ["conv-a#4", "conv-a#5"]
    assert any(line.startswith("unparseable: 1 (conv-a#3 'D')") for line in data.audit.lines())


def test_questions_without_usable_gold_are_kept_and_counted(fixture_file):
    data = load_locomo(fixture_file)
    assert len(data.questions) == len(MALFORMED_QA) + 2
    assert data.category_counts() == {1: 4, 2: 1, 3: 1, 4: 3, 5: 1}
    adversarial = next(q for q in data.questions if q.category == 5)
    assert adversarial.answer == "none"
    assert adversarial.category_name == "adversarial"


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.json"):
        load_locomo(tmp_path / "nowhere.json")


def test_oracle_reaches_exactly_what_the_metrics_promise(fixture_file):
    data = load_locomo(fixture_file)
    assert suite.check_oracle(data.questions) == 8


def test_oracle_check_fails_loudly_when_the_scorer_is_wrong(fixture_file, monkeypatch):
    data = load_locomo(fixture_file)

    def broken(ranking, gold, ks=(1, 5, 10, 20)):
        scores = {f"recall@{k}": 1.0 for k in ks}
        return {**scores, "mrr": 0.5, "ndcg@10": 1.0, "all_gold@10": 1.0}

    monkeypatch.setattr(suite, "score_ranking", broken)
    with pytest.raises(BenchmarkError, match="oracle check failed"):
        suite.check_oracle(data.questions)


class WrongScope:
    """A real Memory asked under another conversation's user id: a scoping bug in a caller."""

    def __init__(self, memory, other):
        self.memory, self.other = memory, other

    def search(self, query, user_id, **kwargs):
        return self.memory.search(query, user_id=self.other, **kwargs)


@pytest.fixture
def stored(fixture_file, tmp_path):
    """The fixture conversations in a real embedded Memory, one memory per turn."""
    data = load_locomo(fixture_file)
    with Memory.open(tmp_path / "data", embedder="hash") as memory:
        report = suite.ingest(memory, data, infer=False, batch_size=2)
        yield data, memory, report["owner"]


def test_suite_scores_every_method_and_summarises(stored, tmp_path):
    data, memory, owner = stored
    assert len(owner) == sum(len(c.turns) for c in data.conversations)
    indexes = {c.sample_id: suite.ConversationIndex(c, HashEmbedder()) for c in data.conversations}
    rows, latencies, audit = suite.ask_all({"graphmem": memory}, data, indexes, ["hybrid"], owner)
    assert audit["leaks"] == 0 and audit["hits_with_unknown_memory_id"] == 0
    # Verbatim turns: each hit's text is one turn, and a conversation holds four.
    longest = max(len(t.text) for c in data.conversations for t in c.turns)
    assert 0 < audit["top10_chars_mean"]["graphmem-hybrid"] <= 4 * longest
    assert set(latencies) == {"bm25", "dense", "bm25+dense", "graphmem-hybrid", "oracle"}
    assert all(len(v) == len(data.questions) for v in latencies.values())
    assert sum("scores" in row for row in rows) == 8
    # Each conversation holds four turns, so a real search returns every turn of the
    # asker's conversation within its top 10 and none of the other's.
    for row in rows:
        returned = {dia for hit in row["rankings"]["graphmem-hybrid"] for dia in hit}
        mine = next(c for c in data.conversations if c.sample_id == row["sample_id"])
        assert returned == {t.dia_id for t in mine.turns}
    summary = summarise(rows, latencies, n_boot=50, seed=0)
    assert summary["headline"]["graphmem-hybrid"]["recall@10"] == 1.0
    assert summary["headline"]["oracle"]["ndcg@10"] == 1.0
    assert summary["by_category"]["oracle"][5]["n"] == 1
    assert "graphmem-hybrid - bm25" in summary["differences"]
    # One turn a hit: recall within the first turns read is recall at as many hits.
    for method, read in summary["read_recall"].items():
        assert read["turns@5"] == pytest.approx(summary["headline"][method]["recall@5"]), method
    tables = build_tables(
        summary,
        {
            "ingest_seconds": 1.0,
            "turns_per_s": 8.0,
            "memories_stored": 8,
            "baseline_index_seconds": 0.1,
            "data_dir_mb": 0.5,
            "total_seconds": 2.0,
        },
    )
    assert "| graphmem-hybrid |" in tables[0].markdown()
    read = next(t for t in tables if t.title.startswith("Recall within the first N turns"))
    assert read.headers == ["method", "turns@5", "turns@10", "turns@20"]
    results = {"headline_questions": summary["headline_questions"], **summary}
    write_results("locomo", results, tables, {"embedder": "test"}, tmp_path / "locomo")
    readme = build_readme(tmp_path)
    # recall@5 and recall@10 of the real search, as the summary README prints them
    assert "## `locomo`" in readme and "| graphmem-hybrid | 1.000 | 1.000 |" in readme


def test_suite_counts_hits_from_another_scope_as_leaks(stored):
    data, memory, owner = stored
    indexes = {c.sample_id: suite.ConversationIndex(c, HashEmbedder()) for c in data.conversations}
    wrong = WrongScope(memory, "conv-b")
    _, _, audit = suite.ask_all({"graphmem": wrong}, data, indexes, ["vector"], owner)
    # conv-a's questions get conv-b's four turns back; conv-b's own questions leak nothing.
    asked = sum(1 for q in data.questions if q.sample_id == "conv-a")
    assert audit["leaks"] == 4 * asked
    assert audit["hits_with_unknown_memory_id"] == 0


class HashEmbedder:
    """A tiny deterministic embedder so these tests need neither a model nor graphmem's."""

    name = "test-hash"
    dim = 64

    def embed(self, texts):
        rows = []
        for text in texts:
            row = [0.0] * self.dim
            for token in text.lower().split():
                row[sum(map(ord, token)) % self.dim] += 1.0
            rows.append(row)
        return rows


@pytest.mark.skipif(not REAL_FILE.is_file(), reason=f"LoCoMo file not present at {REAL_FILE}")
def test_real_file_counts_and_malformed_evidence():
    data = load_locomo(REAL_FILE)
    assert len(data.conversations) == 10
    assert len(data.questions) == 1986
    assert sum(len(c.turns) for c in data.conversations) == 5882
    assert data.category_counts() == {1: 282, 2: 321, 3: 96, 4: 841, 5: 446}
    assert data.audit.counts() == {
        "split_entries": 4,  # one "; " entry and three space-separated ones
        "stray_colon": 1,  # "D:11:26"
        "leading_zero": 1,  # "D30:05"
        "unparseable": 1,  # "D"
        "missing_turn": 2,  # "D10:19" (conv-42), "D4:36" (conv-47)
        "no_evidence": 4,
        "no_usable_gold": 4,
    }
    usable = [q for q in data.questions if q.gold and q.category <= 4]
    assert len(usable) == 1536
    assert suite.check_oracle(data.questions) == 1986 - 4


def test_add_by_session_hands_each_session_over_as_one_named_chat(fixture_file, tmp_path):
    data = load_locomo(fixture_file)
    sessions = suite.by_session(data.conversations[0])
    turns = data.conversations[0].turns
    assert [s["source_ids"] for s in sessions] == [["D1:1", "D1:2"], ["D2:1", "D2:2"]]
    assert sessions[0]["messages"][1] == {"role": "user", "content": turns[1].text, "name": "Bob"}
    assert [s["timestamp"] for s in sessions] == [turns[0].timestamp, turns[2].timestamp]
    # --add-by window: the same named turns, a few to an add, each with its own ids.
    parts = suite.windows(sessions[0], 1)
    assert [p["source_ids"] for p in parts] == [["D1:1"], ["D1:2"]]
    assert parts[1]["messages"] == [sessions[0]["messages"][1]]
    with pytest.raises(ValueError, match="--window"):
        suite.windows(sessions[0], 0)


@pytest.mark.parametrize("by", ["session", "transcript", "window"])
def test_add_by_session_still_scores_the_turn_that_holds_the_answer(tmp_path, by):
    """A session handed over as messages, pasted as one transcript string
    (``ingest/sections.py`` reads it back as the same named turns), or as messages three
    turns to an add."""
    topics = ["adopted a grey cat called Pixel", "repaired the roof of the cabin",
              "led the quarterly budget review", "booked train tickets to Vienna",
              "started Portuguese lessons online", "watched a chess tournament"]  # fmt: skip
    filler = " It took most of the week, and we talked about it at length over dinner."
    chat = [_turn(f"D1:{i + 1}", "Ann" if i % 2 == 0 else "Bob", f"I {t}.{filler * 3}")
            for i, t in enumerate(topics)]  # fmt: skip
    sample = _sample("conv-long", [])
    sample["conversation"] = {"speaker_a": "Ann", "speaker_b": "Bob", "session_1": chat,
                              "session_1_date_time": "1:56 pm on 8 May, 2023"}  # fmt: skip
    path = tmp_path / "long.json"
    path.write_text(json.dumps([sample]), encoding="utf-8")
    data = load_locomo(path)
    with Memory.open(tmp_path / "data", embedder="hash") as memory:
        report = suite.ingest(memory, data, infer=True, batch_size=8, by=by, window=3)
        hits = memory.search("Who booked train tickets to Vienna?", user_id="conv-long")
    assert set(report["owner"].values()) == {"conv-long"}
    # One hit per turn, named by its own turn id: not the session's six ids at once.
    assert hits[0].source_ids == ["D1:4"]
    assert all(len(h.source_ids) == 1 for h in hits)
