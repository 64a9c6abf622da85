"""Neighbours: a memory's context is the memories stored next to it in its conversation.

A question often matches one turn while the answer is in the next ("What did Mel
recommend?" matches Caroline asking for a book; Melanie's reply names it), in the turn
before, or in the speaker's own next turn. So a memory is lifted
``Recipe.neighbour_weight`` of the way towards the text score of a better-scoring
neighbour, and the neighbours of every candidate are scored too, so the reply can enter
the list although no channel found it on its own.

The table of who neighbours whom is kept with the scope's index
(``index/neighbours.py``).

Measured on LoCoMo (``text`` recipe, MiniLM, categories 1-4, Snowball BM25; all /
conversations 0-4 / 5-9; settings chosen on 0-4, the weight as the round "halfway" where
recall is flat from 0.4 to 0.7):

    neighbour_weight, reach   recall@10              multi-hop all-gold@10
    0 (none)                  0.657 (0.677 / 0.637)  0.181 (0.211 / 0.150)
    0.3, 1                    0.692 (0.718 / 0.666)  0.188 (0.225 / 0.150)
    0.4, 1                    0.703 (0.725 / 0.680)  0.188 (0.225 / 0.150)
    0.5, 1                    0.706 (0.727 / 0.686)  0.181 (0.211 / 0.150)
    0.6, 1                    0.712 (0.732 / 0.693)  0.181 (0.204 / 0.157)
    0.7, 1                    0.706 (0.725 / 0.687)  0.174 (0.190 / 0.157)
    1.0, 1                    0.664 (0.680 / 0.647)  0.128 (0.141 / 0.114)
    0.4, 2                    0.727 (0.754 / 0.702)  0.184 (0.218 / 0.150)
    0.5, 2 (text, hybrid)     0.739 (0.762 / 0.716)  0.184 (0.204 / 0.164)
    0.6, 2                    0.735 (0.755 / 0.716)  0.167 (0.197 / 0.136)
    0.5, 3                    0.734 (0.752 / 0.716)  0.174 (0.190 / 0.157)

Reach 2 is the speaker's own next turn when two people take turns (say, a question
matches "I've been reading a lot lately" and the title follows two turns later).
Reaching further gained nothing (reach 4: 0.737) and cost multi-hop all-gold@10 (0.167),
whose questions need several distinct turns; a weight decaying with distance (0.8 per
step, reach 3) scored 0.732.

Other forms, at reach 1 and BM25 k1 0.9, b 0.4 (where no lifting scored 0.672):
adding 0.3 x the best neighbour's score to every memory, 0.708, but on the synthetic
suite a memory stored with others then outranked a current fact stored alone (current
@1 1.000 -> 0.960); the mean of both neighbours instead of the better one, 0.692;
the best memory of the whole session instead of the adjacent ones, 0.689. Lifting by the
full fused score rather than its text share let the synthetic suite's hybrid pass a
graph path's strength to unrelated facts stored at the same instant (hop-2 recall@10
0.782). With the text share the cost there is 0.873 -> 0.860: its generator stamps all
of a scope's relation facts with one time, so their neighbours are unrelated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .fuse import Fused


def smooth(
    fused: list[Fused],
    neighbours: Callable[[str], Iterable[str]],
    weight: float,
    channels: Iterable[str] = ("vector", "keyword"),
) -> list[Fused]:
    """Lift each memory ``weight`` of the way towards its best neighbour, re-sorted.

    What is compared is the share of the text ``channels`` (words and meaning): being
    said next to a memory that matches the query is context; the graph's path scores are
    about a memory's own entities and do not carry over to the one beside it. Only a
    neighbour scoring higher lifts, and never past itself, so the best text match keeps
    its place. Only neighbours present in ``fused`` count (the caller has admitted and
    scored them); the lift is recorded in ``parts["neighbour"]``.
    """
    if weight <= 0.0 or not fused:
        return fused
    wanted = tuple(channels)
    text = {f.memory_id: sum(f.parts.get(c, 0.0) for c in wanted) for f in fused}
    out = []
    for f in fused:
        best = max((text[n] for n in neighbours(f.memory_id) if n in text), default=0.0)
        own = text[f.memory_id]
        if best > own:
            lift = weight * (best - own)
            f = Fused(f.memory_id, f.score + lift, {**f.parts, "neighbour": lift},
                      dict(f.raw), dict(f.ranks))  # fmt: skip
        out.append(f)
    return sorted(out, key=lambda f: (-f.score, f.memory_id))
