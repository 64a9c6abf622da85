"""The steps of one search between its channels and its hit list.

``engine._Run`` holds one search's state, ``channels.Channels`` fills the channels' lists,
and these steps weigh and reshape those lists around the fusion (``fuse.py``):

- ``weights``: the recipe's channel weights for this query (BM25's coverage of it, how
  clearly dense retrieval found something);
- ``complete``: every candidate scored in every flat channel, not only where found;
- ``gated``: keyword and graph shares kept by how close each memory's meaning is;
- ``neighbours``: the candidates' admitted neighbours, for ``neighbours.smooth``;
- ``focus``: candidates lifted by their closeness to the question's focus (``focus.py``).

A mixin of ``_Run``: it reads the state ``_Run`` sets (``recipe``, ``index``, ``scores``,
``groups``, ``graph``, ``owner`` ...), and keeps none of its own but ``standing``.
"""

from __future__ import annotations

from .focus import FOCUS_CANDIDATES, focus_text, focused, speakers_among
from .fuse import Fused, coverage_weight, gate, standout_weight


class Adjust:
    """Weights, completion, gates, neighbours and focus of one search (see the module)."""

    def weights(self, lists: dict[str, list[tuple[str, float]]]) -> dict[str, float]:
        """The recipe's weights for this query: the keyword channel's scaled by how much of
        the query its best match covers (``fuse.coverage_weight``), and the keyword and
        graph channels' by how clearly the best cosine stands out (``fuse.standout_weight``).
        """
        weights = dict(self.recipe.weights)
        ranked = lists.get("keyword")
        if ranked is not None and self.recipe.keyword_coverage > 0:
            ceiling = self.index.keywords.ceiling(self.text)
            best = ranked[0][1] if ranked else 0.0
            weights["keyword"] = coverage_weight(
                weights["keyword"], best, ceiling, self.recipe.keyword_coverage
            )
        dense = lists.get("vector")
        if dense and "vector" in self.scores and self.recipe.standout_high > 0:
            recipe = self.recipe
            standing = self.scores["vector"].standing(dense[0][1])
            if standing > recipe.standout_low:  # shown in every hit's explanation
                self.standing = standing
            # The channels that follow the query's words and names.
            for channel, kept in (("keyword", recipe.standout_kept),
                                  ("graph", recipe.standout_graph)):  # fmt: skip
                if channel in weights:
                    weights[channel] = standout_weight(weights[channel], standing,
                                                       recipe.standout_low, recipe.standout_high,
                                                       kept)  # fmt: skip
        return weights

    def gated(self, fused: list[Fused], best: float) -> list[Fused]:
        """``fuse.gate`` over the keyword shares, then over the graph shares: each from the
        scope's median cosine to the best of this search, or, with its low < high, over
        that band of spreads around the median (``Scores.standing``)."""
        recipe, cosines = self.recipe, self.scores["vector"]

        def band(low: float, high: float) -> tuple[float, float]:
            median = cosines.median()
            if high > low:
                spread = cosines.spread()
                return median + low * spread, median + high * spread
            return median, best

        if recipe.keyword_gate > 0:
            ceiling = self.index.keywords.ceiling(self.text) if recipe.gate_spare else 0.0
            fused = gate(fused, recipe.keyword_gate, *band(recipe.gate_low, recipe.gate_high),
                         ceiling=ceiling, spare=recipe.gate_spare)  # fmt: skip
        if recipe.graph_gate > 0:
            low, high = band(recipe.graph_gate_low, recipe.graph_gate_high)
            fused = gate(fused, recipe.graph_gate, low, high, channel="graph", only=self.one_hop)
        return fused

    def focus(self, fused: list[Fused]) -> list[Fused]:
        """``focus.focused``: candidates lifted by their cosine to the query's focus."""
        if not fused or not self.index.has_vectors:
            return fused
        speakers = speakers_among(fused, self.member_payloads)
        self.owner.voiced[self.scope] = bool(speakers)
        text = focus_text(self.text, speakers)
        # Only a query that names someone who speaks: without the name, the focus is the
        # query less its stopwords, which the vector channel already weighs.
        if not text or text == focus_text(self.text, set()):
            return fused
        vector = self.span_vectors.get(text)  # embedded with the query when guessed right
        if vector is None:
            vector = self.owner.embedder.embed([text])[0]
        scores = self.index.vector_scores(vector, exact=True)
        # Read in one gather: each exact read of its own was ~20 us, ~700 a search.
        groups = {f.memory_id: [f.memory_id, *self.groups.members(f.memory_id)]
                  for f in fused[:FOCUS_CANDIDATES]}  # fmt: skip
        ids = [i for group in groups.values() for i in group]
        read = dict(zip(ids, scores.of_many(ids), strict=True))

        def cosine(key: str) -> float:
            return max(read[i] for i in groups[key])

        return focused(fused, cosine, scores.floor, self.recipe.focus_weight)

    def one_hop(self, key: str) -> bool:
        """Whether the best graph evidence of the memories ``key`` stands for is a relation
        they support that touches an entity the query names: what ``graph_gate`` weighs. A
        fact further out (a relation of the entity reached, or a fact mentioning it) says
        nothing of the query in its own words (the employer's city, asked about the
        employee), so its meaning is no test of it."""
        graph = self.graph
        members = [i for i in self.groups.members(key) or [key] if i in graph.facts]
        return bool(members) and graph.one_hop(max(members, key=lambda i: graph.facts[i][0]))

    def neighbours(self, lists: dict[str, list[tuple[str, float]]]) -> dict[str, tuple]:
        """The admitted neighbours (``neighbours.py``) of the candidates and of those.

        Both directions: a reply no channel found must see the candidate it answers.
        """
        table, members = self.index.neighbours, self.groups.members
        reach = self.recipe.neighbour_reach

        def near(key: str) -> tuple[str, ...]:
            return tuple(n for n in table.of(key, reach) if members(n))

        out = {i: near(i) for ranked in lists.values() for i, _ in ranked}
        ring = {n for found in out.values() for n in found} - out.keys()
        # A neighbour's own neighbours matter only where they are candidates too: ``smooth``
        # reads no one else. Admitting the rest cost ~40% of this step (hub-heavy data,
        # 100k memories in one scope); the rest are checked only to keep a neighbour
        # with none among the candidates exactly as before (it has the candidate it is
        # beside, so this is rare).
        held = out.keys() | ring
        for memory_id in ring:
            around = table.of(memory_id, reach)
            found = tuple(n for n in around if n in held and members(n))
            if not found and any(members(n) for n in around if n not in held):
                found = tuple(n for n in around if members(n))
            out[memory_id] = found
        return {i: found for i, found in out.items() if found}

    def complete(
        self, lists: dict[str, list[tuple[str, float]]], extra: set[str] = frozenset()
    ) -> dict[str, list]:
        """Score every candidate in every flat channel, not only where it was found.

        A memory BM25 ranks first but the vector channel ranked 41st would otherwise
        get no vector share at all, as if it were unrelated; measured on LoCoMo, that
        cost weighted fusion 0.055 recall@10 (0.578 vs 0.633). Full scores are at hand
        in memory anyway. ``extra`` ids (a candidate's neighbours) are scored the same way.
        """
        union = {i for ranked in lists.values() for i, _ in ranked} | extra
        out = {}
        for channel, ranked in lists.items():
            scores = self.scores.get(channel)
            if scores is None:
                out[channel] = ranked
                continue
            todo = sorted(union - {i for i, _ in ranked})
            extra = list(zip(todo, self.groups.scores(scores, todo), strict=True))
            out[channel] = ranked + sorted(extra, key=lambda p: -p[1])
        return out
