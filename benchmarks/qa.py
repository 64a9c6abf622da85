"""QA mode of the LoCoMo suite: answer from what each method retrieved, grade with a judge.

Retrieval metrics need no judge; this mode exists to put an end-to-end number beside
them, and it runs only when an OpenAI-compatible endpoint is configured (``OPENAI_BASE_URL``
and/or ``OPENAI_API_KEY``; models from ``--qa-model`` / ``--judge-model``, default
``GRAPHMEM_LLM_MODEL``). Every method answers from the same number of retrieved turns
with the same prompt, so a difference in accuracy is a difference in retrieval.

The judge is told to be strict: an answer that is vague, hedges between options, or is
true of many possible gold answers is wrong. That is the failure published LoCoMo
scores are criticised for (a lenient judge rewards "sometime in 2023").
Tokens are counted per query for the answer and the judge separately: the answer side
is what retrieval costs a user; the judge side is what the benchmark costs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphmem.errors import ConfigError, ExtractionError
from graphmem.llm.client import OpenAIChat, Usage

from .locomo import CATEGORY_NAMES, LocomoData, Question
from .report import Table

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}
JUDGE_SCHEMA = {
    "type": "object",
    "properties": {"correct": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["correct"],
}
ANSWER_PROMPT = (
    "You answer a question about a long conversation between two people, using only the "
    "excerpts given (each starts with its session date). Reply with the shortest answer "
    "that is complete: a name, a date, a short phrase. Resolve relative dates ('last "
    "week') against the excerpt's date. If the excerpts do not contain the answer, reply "
    "'not mentioned'."
)
JUDGE_PROMPT = (
    "You grade an answer against the gold answer. It is correct only when it states the "
    "same fact: the same person, thing, place or date (any date format, and a date range "
    "that names the gold date, count as the same). It is WRONG when it is vague, when it "
    "hedges between options, when it would be true of many different gold answers, when "
    "it says the information is missing, or when it adds a claim that contradicts the "
    "gold answer. Extra correct detail is fine."
)


def _answer_of(obj: dict[str, Any]) -> str:
    answer = obj.get("answer")
    if not isinstance(answer, str):
        raise ExtractionError("the answer model returned no 'answer' string", raw=str(obj))
    return answer.strip()


def _verdict_of(obj: dict[str, Any]) -> bool:
    correct = obj.get("correct")
    if not isinstance(correct, bool):
        raise ExtractionError("the judge returned no boolean 'correct'", raw=str(obj))
    return correct


@dataclass
class QAGrader:
    """One question, one method's retrieved turns -> answer, verdict and token counts."""

    answerer: OpenAIChat
    judge: OpenAIChat

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        model: str = "",
        judge_model: str = "",
    ) -> QAGrader:
        env = os.environ if env is None else env
        base_url = env.get("OPENAI_BASE_URL", "").strip()
        api_key = env.get("OPENAI_API_KEY", "").strip()
        if not (base_url or api_key):
            raise ConfigError(
                "QA mode needs an OpenAI-compatible endpoint: set OPENAI_BASE_URL (and "
                "OPENAI_API_KEY if it wants one), or leave --qa off for the judge-free metrics"
            )
        default = env.get("GRAPHMEM_LLM_MODEL", "").strip() or "gpt-4o-mini"
        options = {"base_url": base_url or None, "api_key": api_key or "not-needed"}
        return cls(
            OpenAIChat(model or default, **options),
            OpenAIChat(judge_model or model or default, **options),
        )

    def grade(self, question: Question, context: Sequence[str]) -> dict[str, Any]:
        excerpts = "\n".join(context) if context else "(nothing was retrieved)"
        before_answer, before_judge = self.answerer.snapshot(), self.judge.snapshot()
        answer = self.answerer.complete_json(
            [
                {"role": "system", "content": ANSWER_PROMPT},
                {
                    "role": "user",
                    "content": f"Excerpts:\n{excerpts}\n\nQuestion: {question.question}",
                },
            ],
            ANSWER_SCHEMA,
            name="answer",
            parse=_answer_of,
        )
        correct = self.judge.complete_json(
            [
                {"role": "system", "content": JUDGE_PROMPT},
                {
                    "role": "user",
                    "content": f"Question: {question.question}\nGold answer: {question.answer}\n"
                    f"Answer to grade: {answer}",
                },
            ],
            JUDGE_SCHEMA,
            name="grade",
            parse=_verdict_of,
        )
        spent_answer: Usage = self.answerer.snapshot() - before_answer
        spent_judge: Usage = self.judge.snapshot() - before_judge
        return {
            "answer": answer,
            "correct": bool(correct),
            "answer_tokens_in": spent_answer.tokens_in,
            "answer_tokens_out": spent_answer.tokens_out,
            "judge_tokens": spent_judge.tokens_in + spent_judge.tokens_out,
        }


def turn_texts(data: LocomoData) -> dict[tuple[str, str], str]:
    """(sample id, turn id) -> the excerpt line a method's hit turns into."""
    return {
        (c.sample_id, t.dia_id): f"[{t.timestamp[:10]}] {t.text}"
        for c in data.conversations
        for t in c.turns
    }


def run_qa(
    grader: QAGrader,
    rows: Sequence[dict[str, Any]],
    data: LocomoData,
    methods: Sequence[str],
    *,
    context_k: int = 10,
    limit: int = 0,
    categories: Sequence[int] = (1, 2, 3, 4),
) -> list[dict[str, Any]]:
    """Grade ``methods`` on the scored questions of ``categories`` (the first ``limit``)."""
    questions = {(q.sample_id, q.index): q for q in data.questions}
    texts = turn_texts(data)
    chosen = [r for r in rows if "scores" in r and r["category"] in categories]
    if limit:
        chosen = chosen[:limit]
    graded = []
    for row in chosen:
        question = questions[(row["sample_id"], row["question"])]
        for method in methods:
            context: list[str] = []
            for source_ids in row["rankings"][method]:
                for turn_id in source_ids:
                    line = texts.get((row["sample_id"], turn_id))
                    if line is not None and line not in context:
                        context.append(line)
                if len(context) >= context_k:
                    break
            outcome = grader.grade(question, context[:context_k])
            graded.append(
                {
                    "sample_id": row["sample_id"],
                    "question": row["question"],
                    "category": row["category"],
                    "method": method,
                    **outcome,
                }
            )
    return graded


def summarise_qa(graded: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy overall and per category, and mean tokens per query, for each method."""
    summary: dict[str, Any] = {}
    for method in dict.fromkeys(g["method"] for g in graded):
        mine = [g for g in graded if g["method"] == method]
        by_category = {}
        for category in sorted({g["category"] for g in mine}):
            members = [g for g in mine if g["category"] == category]
            by_category[category] = sum(g["correct"] for g in members) / len(members)
        summary[method] = {
            "questions": len(mine),
            "accuracy": sum(g["correct"] for g in mine) / len(mine),
            "by_category": by_category,
            "answer_tokens_per_query": sum(
                g["answer_tokens_in"] + g["answer_tokens_out"] for g in mine
            )
            / len(mine),
            "judge_tokens_per_query": sum(g["judge_tokens"] for g in mine) / len(mine),
        }
    return summary


def qa_table(summary: Mapping[str, Any]) -> Table:
    categories = sorted({c for s in summary.values() for c in s["by_category"]})
    table = Table(
        "QA accuracy (strict LLM judge)",
        ["method", "questions", "accuracy"]
        + [f"{c} {CATEGORY_NAMES.get(c, '')}".strip() for c in categories]
        + ["answer tokens/query", "judge tokens/query"],
        note="Each method answers from its own top retrieved turns with the same prompt.",
    )
    for method, values in summary.items():
        table.rows.append(
            [method, values["questions"], values["accuracy"]]
            + [values["by_category"].get(c, float("nan")) for c in categories]
            + [values["answer_tokens_per_query"], values["judge_tokens_per_query"]]
        )
    return table
