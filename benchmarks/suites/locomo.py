"""Suite ``locomo``: evidence retrieval on LoCoMo, graphmem beside its baselines.

One memory scope (``user_id`` = sample id) per conversation; every turn is stored with
its session date and its turn id in ``source_ids``. Each question is then put to BM25,
dense exact cosine, their weighted fusion, graphmem's recipes and an oracle, in the same
process on the same memories. The oracle must score exactly what the metric code promises
or the run stops: a benchmark whose scorer is wrong must not print a table.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..baselines import BM25Index, DenseIndex, top_k, weighted_fusion
from ..locomo import CATEGORY_NAMES, Conversation, LocomoData, Question, Turn, load_locomo
from ..metrics import DEFAULT_KS, percentiles_ms, score_ranking
from ..qa import QAGrader, qa_table, run_qa, summarise_qa
from ..report import default_out, plot_lines, write_raw, write_results
from ..runtime import (
    EMBEDDERS,
    EXTRACTORS,
    BenchmarkError,
    CachingEmbedder,
    batched,
    dir_size_mb,
    extraction_mode,
    make_embedder,
    open_memory,
    progress,
    resolve_data_path,
)
from .locomo_report import build_tables, summarise

# "keyword" and "text" (vector + keyword, no graph) are graphmem's own flat channels:
# beside BM25/dense they check the engine, and "text" vs "hybrid" isolates the graph.
RECIPES = ("vector", "keyword", "text", "graph", "hybrid")
Ranker = Callable[[Question], list[list[str]]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        default="../shared/datasets/locomo10.json",
        help="path to locomo10.json (relative paths: from the repo root)",
    )
    parser.add_argument("--embedder", choices=EMBEDDERS, default="local")
    parser.add_argument(
        "--extract",
        choices=EXTRACTORS,
        default="offline",
        help="offline (the default add() a new user gets) or llm: add() extracts facts, "
        "reported as graphmem-<recipe>; none: store turns verbatim only",
    )
    parser.add_argument(
        "--no-verbatim",
        action="store_true",
        help="skip the infer=False path (turns stored verbatim, verbatim-<recipe>) that "
        "otherwise runs beside the extracting one",
    )
    parser.add_argument("--graph", default="kuzu")
    parser.add_argument(
        "--recipes",
        default=",".join(RECIPES),
        help="graphmem recipes to run, comma-separated (any graphmem knows)",
    )
    parser.add_argument(
        "--conversations",
        default="0",
        help="N: only the first N conversations (0 = all); A-B: those at positions A to B, "
        "counted from 0 (tune on 0-4, check on 5-9)",
    )
    parser.add_argument("--batch-size", type=int, default=256, help="turns per add_many call")
    parser.add_argument(
        "--add-by",
        choices=("turn", "session", "transcript", "window"),
        default="turn",
        help="turn: one item per turn; session: one add() per session, its turns as messages "
        "(named, one source id each): how an agent hands over a whole chat; transcript: the "
        "same, the session pasted as one string of 'Name: text' lines; window: the same as "
        "session, cut into adds of --window turns (an agent adding its last few turns)",
    )
    parser.add_argument("--window", type=int, default=6, help="turns per add with --add-by window")
    parser.add_argument("--workdir", default="", help="data dir to keep (default: temporary)")
    parser.add_argument(
        "--out", default="", help="results dir (default results/locomo[/<variant>])"
    )
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-embed-cache",
        action="store_true",
        help="embed every query in every method (slow with the local model)",
    )
    parser.add_argument(
        "--lifecycle",
        action="store_true",
        help="also store the turns a third time with lifecycle settings on (LIFECYCLE: read "
        "counting flushed every second, default ttls, archival and promotion, maintain() "
        "after ingest) as lifecycle-<recipe>; graphmem-<recipe> then counts no reads",
    )
    qa = parser.add_argument_group("QA mode (needs an OpenAI-compatible endpoint)")
    qa.add_argument(
        "--qa", action="store_true", help="also answer and grade with an LLM (categories 1-4)"
    )
    qa.add_argument("--qa-methods", default="bm25,graphmem-hybrid", help="methods to grade")
    qa.add_argument("--qa-questions", type=int, default=0, help="first N questions (0 = all)")
    qa.add_argument("--qa-context", type=int, default=10, help="retrieved turns per answer")
    qa.add_argument("--qa-model", default="", help="answer model (default GRAPHMEM_LLM_MODEL)")
    qa.add_argument("--judge-model", default="", help="judge model (default: the answer model)")


# "Lifecycle defaults on" for --lifecycle: every read counted and flushed often (so
# payload rewrites land between searches), episodic memories kept a year, stale unimportant
# ones archived after 90 days, run memories read 3 times promoted; maintain() runs once
# the turns are in. The graphmem path beside it counts nothing (track_access=False).
LIFECYCLE = {
    "track_access": True, "access_flush_s": 1.0, "ttl_by_type": {"episodic": "365d"},
    "archive_after_days": 90.0, "promote_min_access": 3,
}  # fmt: skip


def _default_out(args: argparse.Namespace) -> Path:
    return default_out(
        "locomo",
        args.embedder if args.embedder != "local" else "",
        f"extract-{args.extract}" if args.extract != "offline" else "",
        args.graph if args.graph != "kuzu" else "",
        f"{args.conversations}-conversations" if args.conversations not in ("", "0") else "",
        {
            "session": "by-session",
            "transcript": "by-transcript",
            "window": f"by-window-{getattr(args, 'window', 6)}",
        }.get(getattr(args, "add_by", "turn"), ""),  # fmt: skip
    )


def select_conversations(data: LocomoData, spec: str) -> LocomoData:
    """Keep the conversations ``spec`` names ("N": the first N, "A-B": positions A to B,
    "0" or "": all) and their questions; a spec that selects nothing is an error."""
    text = str(spec).strip()
    try:
        if "-" in text:
            first, last = (int(part) for part in text.split("-", 1))
            if not 0 <= first <= last:
                raise ValueError
        else:
            count = int(text or 0)
            if count < 0:
                raise ValueError
            first, last = 0, (count or len(data.conversations)) - 1
    except ValueError:
        raise BenchmarkError(f"--conversations {spec!r}: give N or A-B (0-based, A <= B)") from None
    chosen = data.conversations[first : last + 1]
    if not chosen:
        raise BenchmarkError(f"--conversations {spec!r}: only {len(data.conversations)} exist")
    keep = {c.sample_id for c in chosen}
    # A copy: a caller that selects twice from one load (the recall suite) must not see
    # the first selection's conversations vanish from its data.
    return replace(data, conversations=chosen,
                   questions=[q for q in data.questions if q.sample_id in keep])  # fmt: skip


def oracle_ranking(question: Question) -> list[list[str]]:
    """The gold turns, one per rank: what a perfect turn-level retriever returns."""
    return [[dia_id] for dia_id in question.gold]


def check_oracle(questions: list[Question], ks: tuple[int, ...] = DEFAULT_KS) -> int:
    """Raise ``BenchmarkError`` unless the oracle gets exactly the scores it must.

    With one gold turn per rank, recall@k is min(k, |gold|) / |gold| (1.0 at k=20: no
    LoCoMo question has more than 19 gold turns), MRR and nDCG@10 are 1.0, and all-gold@10
    is 1.0 exactly when a question has at most 10 gold turns.
    """
    failures = []
    checked = 0
    for question in questions:
        if not question.gold:
            continue
        checked += 1
        scores = score_ranking(oracle_ranking(question), question.gold, ks)
        size = len(question.gold)
        expected = {f"recall@{k}": min(k, size) / size for k in ks}
        expected.update({"mrr": 1.0, "ndcg@10": 1.0, "all_gold@10": float(size <= 10)})
        wrong = {
            key: (scores[key], want)
            for key, want in expected.items()
            if not math.isclose(scores[key], want, abs_tol=1e-12)
        }
        if wrong:
            failures.append(f"{question.sample_id}#{question.index}: {wrong}")
    if failures:
        raise BenchmarkError(
            f"oracle check failed on {len(failures)} questions, the metric code is wrong: "
            + "; ".join(failures[:5])
        )
    return checked


class ConversationIndex:
    """The baselines for one conversation, over exactly the texts graphmem stores."""

    def __init__(self, conversation: Conversation, embedder: Any) -> None:
        self.turn_ids = [turn.dia_id for turn in conversation.turns]
        texts = [turn.text for turn in conversation.turns]
        self.bm25 = BM25Index(texts)
        self.dense = DenseIndex(embedder, texts)

    def rank(self, method: str, query: str, limit: int) -> list[list[str]]:
        if method == "bm25":
            found = self.bm25.search(query, limit)
        elif method == "dense":
            found = self.dense.search(query, limit)
        else:  # bm25+dense: both scores for every turn, min-max normalised, 0.5 / 0.5
            fused = weighted_fusion(self.bm25.scores(query), self.dense.scores(query))
            found = top_k(fused, limit)
        return [[self.turn_ids[doc]] for doc, _ in found]


def ingest(memory: Any, data: LocomoData, infer: bool, batch_size: int,
           by: str = "turn", window: int = 6) -> dict[str, Any]:  # fmt: skip
    """Store every turn of every conversation; returns timings and memory-id ownership."""
    owner: dict[str, str] = {}
    started = time.perf_counter()
    turns = sum(len(c.turns) for c in data.conversations)
    bar = progress(range(turns), total=turns, desc="ingest turns")
    for conversation in data.conversations:
        if by in ("session", "transcript", "window"):
            sessions = by_session(conversation)
            if by == "window":
                sessions = [part for whole in sessions for part in windows(whole, window)]
            for session in sessions:
                given = session["messages"] if by != "transcript" else transcript(session)
                added = memory.add(given, user_id=conversation.sample_id,
                                   infer=infer, source_ids=session["source_ids"],
                                   timestamp=session["timestamp"],
                                   metadata={"session": session["session"]})  # fmt: skip
                owner.update(dict.fromkeys((f.id for f in added.facts), conversation.sample_id))
                for _ in session["messages"]:
                    next(bar, None)
            continue
        items = [
            {
                # An assistant's turn (the recall suite's replies) is stored as one.
                **(
                    {"messages": [{"role": "assistant", "content": turn.text}]}
                    if turn.speaker == "assistant"
                    else {"text": turn.text}
                ),  # fmt: skip
                "source_ids": [turn.dia_id],
                "timestamp": turn.timestamp,
                "metadata": {"speaker": turn.speaker, "session": turn.session},
            }
            for turn in conversation.turns
        ]
        for chunk in batched(items, batch_size):
            facts = memory.add_many(list(chunk), user_id=conversation.sample_id, infer=infer)
            for fact in facts:
                owner[fact.id] = conversation.sample_id
            for _ in chunk:
                next(bar, None)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "turns": turns,
        "memories": len(owner),
        "turns_per_s": turns / seconds if seconds else float("nan"),
        "owner": owner,
    }


def by_session(conversation: Conversation) -> list[dict[str, Any]]:
    """Each session as one add: its turns as messages in order, each named by its speaker
    (the user's role; the recall suite's assistant replies as the assistant's), one source
    id per message, the session's first time."""
    sessions: dict[int, list[Turn]] = {}
    for turn in conversation.turns:
        sessions.setdefault(turn.session, []).append(turn)
    return [
        {
            "session": number,
            "timestamp": turns[0].timestamp,
            "source_ids": [t.dia_id for t in turns],
            "messages": [
                {"role": "assistant", "content": t.text}
                if t.speaker == "assistant"
                else {"role": "user", "content": t.text, "name": t.speaker}
                for t in turns
            ],  # fmt: skip
        }
        for number, turns in sessions.items()
    ]


def windows(session: dict[str, Any], size: int) -> list[dict[str, Any]]:
    """A session cut into adds of ``size`` turns, in order, each with its own turns'
    source ids and the session's time (``by_session``'s shape)."""
    if size < 1:
        raise ValueError(f"--window: a positive number of turns, not {size}")
    out = []
    for at in range(0, len(session["messages"]), size):
        ids = session["source_ids"][at : at + size]
        out.append({**session, "source_ids": ids, "messages": session["messages"][at : at + size]})
    return out


def transcript(session: dict[str, Any]) -> str:
    """A session as one pasted string, a "Name: text" line a turn (the assistant's
    "Assistant: text"): what ``ingest/sections.py`` reads back as the named messages."""
    return "\n".join(f"{m.get('name', 'Assistant')}: {m['content']}"
                     for m in session["messages"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    data = select_conversations(load_locomo(resolve_data_path(args.data)), args.conversations)
    return run_on(data, args, Path(args.out) if args.out else _default_out(args))


def run_on(data: LocomoData, args: argparse.Namespace, out_dir: Path, title: str = "LoCoMo") -> int:
    """The suite over ``data`` (LoCoMo, or a set the ``recall`` suite built from it)."""
    recipes = [r for r in args.recipes.split(",") if r]
    oracle_checked = check_oracle(data.questions)
    # Built before the long ingest, so a missing endpoint fails in the first second.
    grader = _qa_grader(args, recipes) if getattr(args, "qa", False) else None
    extractor, infer = extraction_mode(args.extract)
    started = time.perf_counter()
    embedder = make_embedder(args.embedder)
    query_embed_ms: dict[str, float] = {}
    if not args.no_embed_cache:
        embedder = CachingEmbedder(embedder)
        questions = [q.question for q in data.questions]
        query_embed_ms = percentiles_ms(embedder.single_query_seconds(questions))
        embedder.warm(questions)
    # The path a new user gets (add() with its extractor) and, beside it in the same run,
    # the same turns stored verbatim (infer=False): issue 21 holds the first to the second.
    paths = {"graphmem": (extractor, infer)}
    if infer and not args.no_verbatim:
        paths["verbatim"] = (None, False)
    lifecycle = getattr(args, "lifecycle", False)
    if lifecycle:
        paths["lifecycle"] = (extractor, infer)
    with tempfile.TemporaryDirectory(prefix="graphmem-locomo-") as scratch:
        data_dir = Path(args.workdir) if args.workdir else Path(scratch) / "data"
        memories = {}
        try:
            ingested = {}
            for name, (kind, infers) in paths.items():
                settings = (LIFECYCLE if name == "lifecycle"
                            else {"track_access": False} if lifecycle else {})  # fmt: skip
                memories[name] = open_memory(
                    data_dir / name, embedder, graph=args.graph, extractor=kind, **settings
                )
                ingested[name] = ingest(memories[name], data, infers, args.batch_size,
                                        getattr(args, "add_by", "turn"),
                                        getattr(args, "window", 6))  # fmt: skip
            if lifecycle:
                maintained = memories["lifecycle"].maintain().to_dict()
                ingested["lifecycle"]["maintained"] = {k: len(v) for k, v in maintained.items()}
            build_started = time.perf_counter()
            indexes = {c.sample_id: ConversationIndex(c, embedder) for c in data.conversations}
            baseline_build = time.perf_counter() - build_started
            owner = {k: v for done in ingested.values() for k, v in done["owner"].items()}
            rows, latencies, audit = ask_all(memories, data, indexes, recipes, owner)
        finally:
            for memory in memories.values():
                memory.close()
        disk_mb = dir_size_mb(data_dir)
        first = ingested["graphmem"]
    total_seconds = time.perf_counter() - started

    config = {key: value for key, value in vars(args).items() if key != "handler"}
    summary = summarise(rows, latencies, args.bootstrap, args.seed)
    qa_summary, qa_rows = _grade(grader, args, rows, data) if grader else ({}, [])
    timings = {
        "ingest_seconds": first["seconds"],
        "turns": first["turns"],
        "memories_stored": first["memories"],
        "turns_per_s": first["turns_per_s"],
        **(
            {
                "verbatim_ingest_seconds": ingested["verbatim"]["seconds"],
                "verbatim_memories_stored": ingested["verbatim"]["memories"],
            }
            if "verbatim" in ingested
            else {}
        ),  # fmt: skip
        **(
            {
                "lifecycle_memories_stored": ingested["lifecycle"]["memories"],
                "lifecycle_maintain": ingested["lifecycle"]["maintained"],
            }
            if "lifecycle" in ingested
            else {}
        ),  # fmt: skip
        "baseline_index_seconds": baseline_build,
        "total_seconds": total_seconds,
        "data_dir_mb": disk_mb,
        "query_embedding_ms": query_embed_ms,
    }
    results = {
        "categories": CATEGORY_NAMES,
        "questions": len(data.questions),
        "category_counts": data.category_counts(),
        "evidence_audit": data.audit.counts(),
        "evidence_findings": data.audit.lines(),
        "oracle_questions_checked": oracle_checked,
        "hits_audit": audit,
        "timings": timings,
        **summary,
        **({"qa": qa_summary} if grader else {}),
    }
    write_raw("locomo", "questions", rows, out_dir)
    if qa_rows:
        write_raw("locomo", "qa", qa_rows, out_dir)
    curves = {
        method: {k: values[f"recall@{k}"] for k in DEFAULT_KS}
        for method, values in summary["headline"].items()
    }
    plot_lines(
        out_dir / "recall_at_k.png",
        curves,
        title=f"{title} recall@k, categories 1-4",
        xlabel="k",
        ylabel="evidence recall@k",
    )
    preamble = [
        f"data: {len(data.conversations)} conversations, {first['turns']} turns, "
        f"{len(data.questions)} questions {data.category_counts()}",
        f"embedder {args.embedder}, graph {args.graph}; graphmem-<recipe>: add() with the "
        f"{args.extract} extractor (infer={infer}, {first['memories']} memories)"
        + (
            f"; verbatim-<recipe>: the same turns stored whole (infer=False, "
            f"{ingested['verbatim']['memories']} memories)"
            if "verbatim" in ingested
            else ""
        ),
        *(
            [
                f"lifecycle-<recipe>: add() again, with the settings {LIFECYCLE} and "
                f"maintain() after ingest ({timings['lifecycle_maintain']}); graphmem-<recipe> "
                "beside it counts no reads"
            ]
            if "lifecycle" in ingested
            else []
        ),
        "categories: "
        + ", ".join(f"{k} {v}" for k, v in CATEGORY_NAMES.items())
        + " (official LoCoMo naming); headline = categories 1-4",
        *[f"evidence: {line}" for line in data.audit.lines()],
        f"questions with no usable gold, excluded from scoring: {len(data.audit.no_usable_gold)}",
        f"oracle check passed on {oracle_checked} questions; cross-scope leaks: {audit['leaks']}",
        f"ingest {timings['ingest_seconds']:.1f} s ({timings['turns_per_s']:.0f} turns/s), "
        f"baseline indexes {baseline_build:.1f} s, whole run {total_seconds:.0f} s",
    ]
    tables = build_tables(summary, timings, audit) + ([qa_table(qa_summary)] if grader else [])
    write_results("locomo", results, tables, config, out_dir, preamble)
    if audit["leaks"]:
        # Written first so the offending hits can be inspected in raw/questions.jsonl.
        raise BenchmarkError(f"{audit['leaks']} hits came from another conversation's scope")
    return 0


def _methods(recipes: list[str], paths: tuple[str, ...] = ("graphmem",)) -> list[str]:
    ours = [f"{path}-{r}" for path in paths for r in recipes]
    return ["bm25", "dense", "bm25+dense", *ours, "oracle"]


def _qa_grader(args: argparse.Namespace, recipes: list[str]) -> QAGrader:
    """Checked before the long ingest: a typo or a missing endpoint fails in a second."""
    methods = [m for m in args.qa_methods.split(",") if m]
    unknown = [m for m in methods if m not in _methods(recipes)]
    if unknown or not methods:
        raise BenchmarkError(
            f"--qa-methods {unknown or '(empty)'}: choose from {_methods(recipes)}"
        )
    return QAGrader.from_env(model=args.qa_model, judge_model=args.judge_model)


def _grade(
    grader: QAGrader,
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    data: LocomoData,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    methods = [m for m in args.qa_methods.split(",") if m]
    graded = run_qa(grader, rows, data, methods, context_k=args.qa_context, limit=args.qa_questions)
    return summarise_qa(graded), graded


def ask_all(
    memories: dict[str, Any],
    data: LocomoData,
    indexes: dict[str, ConversationIndex],
    recipes: list[str],
    owner: dict[str, str],
    limit: int = max(DEFAULT_KS),
) -> tuple[list[dict[str, Any]], dict[str, list[float]], dict[str, Any]]:
    """Every question to every method; per-question rows, latencies and a hit audit.

    ``memories`` maps a method prefix ("graphmem", "verbatim") to the Memory it asks.
    """
    methods = _methods(recipes, tuple(memories))
    latencies: dict[str, list[float]] = {method: [] for method in methods}
    channels: Counter[str] = Counter()
    chars: Counter[str] = Counter()  # text of each method's first 10 hits, summed
    leaks = unknown = 0
    rows: list[dict[str, Any]] = []
    for question in progress(data.questions, total=len(data.questions), desc="questions"):
        rankings: dict[str, list[list[str]]] = {}
        for method in methods:
            started = time.perf_counter()
            if method == "oracle":
                ranking = oracle_ranking(question)
            elif (prefix := method.split("-", 1)[0]) in memories:
                hits = memories[prefix].search(
                    question.question,
                    user_id=question.sample_id,
                    limit=limit,
                    recipe=method.split("-", 1)[1],
                )
                ranking = [list(hit.source_ids) for hit in hits]
            else:
                ranking = indexes[question.sample_id].rank(method, question.question, limit)
            latencies[method].append(time.perf_counter() - started)
            rankings[method] = ranking
            if method.split("-", 1)[0] in memories:
                chars[method] += sum(len(hit.text) for hit in hits[:10])
                for position, hit in enumerate(hits):
                    home = owner.get(hit.memory_id)
                    unknown += home is None
                    leaks += home is not None and home != question.sample_id
                    if method == "graphmem-hybrid" and position < 10:
                        channels["+".join(sorted(hit.channels)) or "none"] += 1
        row: dict[str, Any] = {
            "sample_id": question.sample_id,
            "question": question.index,
            "category": question.category,
            "gold": list(question.gold),
            "rankings": rankings,
        }
        if question.gold:
            row["scores"] = {m: score_ranking(r, question.gold) for m, r in rankings.items()}
        rows.append(row)
    audit = {
        "leaks": leaks,
        "hits_with_unknown_memory_id": unknown,
        "hybrid_top10_channels": dict(channels.most_common()),
        # What an agent reads for recall@10: a hit holding a whole session counts as many
        # turns found, at the cost of its length (``--add-by session``).
        "top10_chars_mean": {m: chars[m] / max(1, len(data.questions)) for m in sorted(chars)},
    }
    return rows, latencies, audit
