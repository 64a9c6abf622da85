"""LoCoMo QA mode through the real ``openai`` client against the local scripted server.

The scripted "model" answers correctly only when the gold turn is among the excerpts it
was given, and the scripted judge accepts only the gold answer. So each method's accuracy
must equal the share of questions whose gold turn it retrieved: a wiring mistake (wrong
context, wrong question, verdicts mixed up between methods) changes the number.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks import cli
from graphmem.testing import OpenAIServer

TURNS = {
    "D1:1": ("Ann", "I adopted a dog called Rex."),
    "D1:2": ("Bob", "I started learning the cello last month."),
    "D2:1": ("Ann", "Rex loves the beach in Brighton."),
    "D2:2": ("Bob", "My sister Jo moved to Lisbon."),
}
QA = [
    ("What is the name of Ann's dog?", "Rex", "D1:1", 4),
    ("Which instrument is Bob learning?", "the cello", "D1:2", 4),
    ("Where does Ann's dog love to go?", "the beach in Brighton", "D2:1", 1),
    ("Where did Bob's sister move?", "Lisbon", "D2:2", 2),
]
ANSWERS = {question: (answer, TURNS[turn][1]) for question, answer, turn, _ in QA}


def _dataset(path: Path) -> Path:
    def session(ids):
        return [{"speaker": TURNS[i][0], "dia_id": i, "text": TURNS[i][1]} for i in ids]

    sample = {
        "sample_id": "conv-q",
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Bob",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": session(["D1:1", "D1:2"]),
            "session_2_date_time": "9:05 am on 12 June, 2023",
            "session_2": session(["D2:1", "D2:2"]),
        },
        "qa": [
            {"question": q, "answer": a, "evidence": [turn], "category": c} for q, a, turn, c in QA
        ],
    }
    path.write_text(json.dumps([sample]), encoding="utf-8")
    return path


def _bench_qa(tmp_path: Path, *options: str) -> int:
    """``graphmem bench locomo --qa`` on the four-turn dataset, hash embedder."""
    data = _dataset(tmp_path / "locomo-qa.json")
    return cli.main(["locomo", "--data", str(data), "--embedder", "hash", "--qa", *options])


def _model(request: dict) -> dict:
    tool = request["tool_choice"]["function"]["name"]
    prompt = request["messages"][-1]["content"]
    if tool == "answer":
        question = prompt.rsplit("Question: ", 1)[1].strip()
        answer, evidence = ANSWERS[question]
        return {"answer": answer if evidence in prompt else "not mentioned"}
    gold = re.search(r"Gold answer: (.*)\n", prompt).group(1)
    graded = prompt.rsplit("Answer to grade: ", 1)[1].strip()
    return {"correct": graded == gold, "reason": "scripted"}


def test_qa_accuracy_follows_what_each_method_retrieved(tmp_path, monkeypatch):
    out = tmp_path / "out"
    with OpenAIServer(handler=_model) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        code = _bench_qa(
            tmp_path,
            *("--recipes", "vector", "--bootstrap", "20", "--out", str(out)),
            *("--qa-context", "1", "--qa-methods", "oracle,bm25,graphmem-vector"),
        )
        chat_requests = len(server.requests_to("chat"))
    assert code == 0
    results = json.loads((out / "results.json").read_text())["results"]
    qa = results["qa"]
    # One answer and one verdict per question and method: 4 questions x 3 methods x 2.
    assert chat_requests == 4 * 3 * 2
    assert qa["oracle"]["accuracy"] == 1.0 and qa["oracle"]["questions"] == 4
    rows = [json.loads(line) for line in (out / "raw" / "questions.jsonl").open()]
    for method in ("bm25", "graphmem-vector"):
        # With one excerpt, a method is right exactly when its first hit is the gold turn.
        expected = sum(row["rankings"][method][:1] == [row["gold"]] for row in rows) / 4
        assert qa[method]["accuracy"] == pytest.approx(expected), method
        assert qa[method]["answer_tokens_per_query"] > 0
        assert qa[method]["judge_tokens_per_query"] > 0
    assert set(qa["oracle"]["by_category"]) == {"1", "2", "4"}
    assert "QA accuracy (strict LLM judge)" in (out / "results.md").read_text()


def test_qa_without_an_endpoint_stops_before_ingesting(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code = _bench_qa(tmp_path, "--out", str(tmp_path / "out"))
    assert code == 2
    assert "OPENAI_BASE_URL" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_qa_refuses_a_method_that_will_not_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    code = _bench_qa(tmp_path, "--recipes", "vector", "--qa-methods", "graphmem-hybrid")
    assert code == 2
    assert "graphmem-hybrid" in capsys.readouterr().err
