"""Named search recipes: which channels run, how their lists are fused, what reranks them.

A recipe is plain data. To make your own, copy one with ``dataclasses.replace`` and pass
it as ``recipe=`` (or ``register()`` it under a name)::

    from dataclasses import replace
    from graphmem.search import recipes
    deep = replace(recipes.HYBRID, name="deep", depth=2, rerank=("pagerank", "mmr"))
    memory.search("who is Bob?", user_id="u", recipe=deep)

Why the hybrid default fuses with min-max weighted scores and not reciprocal rank
fusion: on LoCoMo turns (shared/datasets/README.md) RRF of BM25 and dense MiniLM scored
*below* BM25 alone (recall@10 0.544 vs 0.566) while 0.5/0.5 min-max fusion scored above
it (0.615). RRF throws the score gaps away; a keyword hit that wins by a mile and one
that barely wins count the same. Measured again through ``Memory.search`` (LoCoMo,
categories 1-4, 1,536 questions, MiniLM, turns stored verbatim):

    recipe                          recall@5  recall@10  MRR    multi-hop recall@10
    vector                          0.362     0.451      0.281  0.255
    keyword (BM25)                  0.497     0.574      0.413  0.300
    text, fusion="rrf"              0.472     0.584      0.378  0.336
    text (weighted, the default)    0.541     0.633      0.446  0.369
    hybrid (text + graph)           0.542     0.634      0.447  0.374
    hybrid_pagerank                 0.521     0.613      0.435  0.355
    hybrid_mmr                      0.532     0.628      0.442  0.357

RRF stays one field away (``fusion="rrf"``). The graph adds little on LoCoMo, whose turns
yield few relations without an LLM; it is what answers questions that need two hops, and
there the old hybrid (graph 0.5, ``hop_decay`` 0.8, entities of the best hits as extra
seeds) buried the second hop under the flat channels' hits about the person named: on the
synthetic suite (10k facts, hash embedder, offline extraction) its hop-2 recall@10 was
0.557 beside graph-only 0.912. With decay 0.8 the graph's best path scored 0.8 at most,
so its share never passed 0.4; the hit seeds added paths from whatever the flat channels
liked. Measured side by side (hop-2 recall@10 on that suite / LoCoMo recall@10 with
MiniLM, categories 1-4):

    hybrid variant                                  hop-2   LoCoMo
    graph 0.5, decay 0.8, hit seeds (the old one)   0.557   0.634
    graph 1.0                                       0.828   0.629
    no hit seeds                                    0.600   0.633
    decay 1.0                                       0.782   0.633
    decay 1.0, no hit seeds                         0.840   0.633
    decay 1.0, no hit seeds, graph 0.75             0.897   0.632
    decay 1.0, no hit seeds, graph 1.0              0.915   0.632
    decay 1.0, graph 1.0                            0.910   0.626
    no hit seeds, graph 1.0 (HYBRID)                0.880   0.632

Decay 1.0 failed at 100k facts: a city reached in one hop passes a full score to its
~50 residents, whose facts then tie with the one-hop answer and push it out of the top
10 (hop-1 recall@10 0.610). Decay 0.8 keeps one hop above two. The default gives up
0.002 on LoCoMo (about three questions of 1,536, well inside its 95% interval of
+-0.023) and stays 7 points above BM25 (0.562).

Since then (issue 6), ``text`` and ``hybrid`` lift a memory halfway towards a better
neighbour's text score (``neighbour_weight`` 0.5; the two turns said before and the two
after it, ``neighbour_reach`` 2, ``neighbours.py``), and BM25 stems with Snowball
(``index/keyword.py``). Measured through ``Memory.search`` (LoCoMo, categories 1-4, MiniLM;
all / conversations 0-4 / 5-9, every setting chosen on 0-4):

    change                              hybrid recall@10       multi-hop all-gold@10
    before                              0.632 (0.653 / 0.612)  0.149 (0.148 / 0.150)
    + Snowball stemming, k1 1.2         0.655 (0.675 / 0.636)  0.181 (0.211 / 0.150)
    + neighbours 0.5, reach 1           0.705 (0.725 / 0.685)  0.181 (0.211 / 0.150)
    + reach 2 (HYBRID now)              0.738 (0.760 / 0.716)  0.184 (0.204 / 0.164)

On the synthetic suite (10k facts) hybrid hop-2 recall@10 went 0.873 -> 0.860 with
either reach (about three of 200 questions' gold facts; the generator stamps a scope's
relation facts with one time, so their "neighbours" are unrelated) and current @1
stayed 1.000. Measured
and not kept (``text`` recipe, LoCoMo recall@10 of all conversations, each against the
setting of its day, BM25 then at k1 0.9, b 0.4):

- fusion weights keyword 0.4 or 0.6 instead of 0.5, with neighbours: 0.705 and 0.705 vs
  0.708 (old tokeniser, no neighbours: 0.635 and 0.624 vs 0.633).
- RM3 pseudo-relevance feedback on BM25 (top 3-10 hits, 10-20 terms, weight 0.2-0.5):
  0.669-0.675 vs 0.672, within noise, for a second BM25 pass per search.
- Rocchio on the query vector (mean of the top 3-10 dense or fused hits, weight 0.5-1.0),
  with neighbours: 0.699-0.703 vs 0.708.
- BM25 without the speaker's name at the start of each turn: 0.602 vs 0.633.
- with neighbours at reach 2 (0.739): also lifting towards the best memory of the whole
  session (0.05-0.2 of the gap), 0.736-0.739 with multi-hop all-gold@10 0.149-0.170 vs
  0.184; spreading the top 40 over sessions (a penalty of 0.05-0.2 per hit already taken
  within two turns), 0.577-0.707: the gold sits in those clusters.
- MiniLM on the question without its stopwords ("Caroline research"), alone or averaged
  with the full question's vector: 0.700 and 0.703 vs 0.706 (reach 1).
- issue 22 (fusion that adapts to the query), ``text`` recipe, LoCoMo conversations 0-2,
  turns stored whole (0.797 with the defaults; each option alone unless said):
  cosines normalised from the scope's median instead of its minimum, clipped below it,
  with vector 0.6 / keyword 0.4 and the coverage knee 0.25: 0.744; the keyword weight
  times its coverage of the query (best BM25 score over ``KeywordIndex.ceiling``,
  ``fuse.coverage_weight`` with the knee at 1): 0.759, squared 0.711; knee 0.25: 0.792,
  with vector 0.6 / keyword 0.4: 0.791; vector 0.7 / keyword 0.3 alone: 0.797. On the
  ``recall`` suite's implicit questions of those conversations (65) ``text`` scored
  0.454 (vector alone 0.345, BM25 alone 0.000: neighbour lifting finds what the words
  miss), coverage times the weight 0.458; on its replies set (conversations 0-1)
  0.687 against dense 0.473. Nothing here showed a gain worth its LoCoMo cost, so the
  options stay available (``vector_floor``, ``keyword_coverage``) and off.
- query prefixes for MiniLM: all-MiniLM-L6-v2 was trained without instructions, so there
  is no prefix to add; embedding each sentence of a turn would need ingest to store
  several vectors per memory (not done here).

Issue 12 (November 2026): a graph channel by personalised PageRank (``hybrid_ppr``,
``graph_walk="ppr"``, ``ppr.py``): the scope's entity-fact graph as arrays, seeded by
the named entities (IDF-weighted) and the ten best text hits, restart 0.5, four steps,
hubs above 300 memories passing nothing on, an edge budget per step. Measured, MiniLM,
with graph weight 1.0 (the HYBRID weights) and not kept as the default:

- musique-dev, the recorded gpt-3.5 extraction replayed (17,017 triple facts), 50 dev
  questions, distinct passages R@5 / all-gold@5 / p50 ms: vector 0.558 / 0.18 / 29,
  text 0.552 / 0.18 / 43, PageRank hybrid 0.562 / 0.20 / 63-133, the path walk
  (``hybrid``) 0.578 / 0.24 / 1,122 (p95 3.0 s). Variants of the PageRank hybrid, all
  within 0.562 +- 0.015 R@5: graph weight 0.5 or 2.0, hit-seed weight 0.3 or 3.0, 20
  hit seeds, restart 0.3, relation gate 0.3 (mass kept at a memory whose relation names
  share no word with the question). The triples are the retrieved unit here, and dense
  over whole passages beats every recipe over them (README of the data: 0.62 R@5 on
  100 questions): issue 21's question of what add() stores decides this set first.
- LoCoMo, categories 1-4: recall@10 0.657 vs 0.739 for ``text`` in the same run: with
  weight 1.0 the walk's reach through a conversation's entities outranks the turns the
  words match; at graph weight 0.5 (``hybrid_ppr``) 0.662, cat-1 all-gold@10 0.181, so
  the cause is not the weight alone (not found in the time there was). Synthetic, 10k
  facts: hop-2 recall@10 0.502 vs vector 0.507, text 0.500. ``text`` there (with the
  neighbour change of the same day) scored 0.739, as before it.

So ``hybrid`` keeps the path walk and ``hybrid_ppr`` (graph weight 0.5) is opt-in.

Issue 12 again, after add() kept each passage whole as a source and hits collapsed to one
per passage (musique-dev, recorded gpt-3.5 extraction replayed, 50 dev questions, MiniLM,
R@5 / all-gold@5 of distinct passages; dense over whole passages 0.665 / 0.38; at the
same commit ``vector`` 0.665 / 0.38, ``text`` 0.567 / 0.22, ``hybrid`` (path walk)
0.617 / 0.34). The PageRank channel now ranks what search returns, the passage, by the
mass of its node and all its facts (``ppr.unit_scores``); it ranked facts before, which
fusion could not add to their passage's text scores. Measured (each row one change
against the row that introduced it; f = text hits seeding the walk, their weight):

    variant                                                       R@5    all-gold@5
    ppr alone, named entities + 40 dense hits (f 1.0)             0.633  0.30
      + entities of the 5 facts closest to the query (match 5)    0.662  0.32
      match 10 / match 20                                         0.608 / 0.567
      f 0.05 / 0.3 (HippoRAG 2 weighs passages 0.05)              0.632 / 0.662
      restart 0.3 and 6 steps / 6 steps / 200 hit seeds           0.658 / 0.662 / 0.655
    vector 1.0 + ppr 1.0 (match 5, dense seeds)                   0.682  0.38
    hybrid flat + ppr 2.0 (match 5, dense seeds)                  0.670  0.32
      match 3 / match 2 / 10 hit seeds / hubs above 50            0.663 / 0.640 / 0.663 / 0.670
    hybrid flat + ppr 1.0, the walk's mass only (``ppr_walked``),
      text hits as seeds (``hybrid_ppr`` now)                     0.633  0.28
      the same with ppr 0.5 / 2.0                                 0.617 / 0.647
      dense seeds, ppr 0.5 / 1.0 / 2.0                            0.643 / 0.653 / 0.667

Seeding by dense hits and weighing the channel 2.0 looked best here, but most of its
gain is the dense ranking echoed back through the seeds (musique rewards dense over
BM25: bm25+dense 0.570 < dense 0.665). On LoCoMo, where dense is the weak channel, the
same recipe fell to recall@10 0.574 against ``text`` 0.786 (conversations 0-1). So
``hybrid_ppr`` scores only the mass the walk carried (``ppr_walked``: a seed's restart
share is subtracted) and seeds with the fused text hits: what it adds is the graph's.
On LoCoMo (conversations 0-1, offline extraction, recall@10) that scored 0.690 against
``text`` 0.786 and ``hybrid`` 0.782: better than 0.574, still a loss, so it stays
opt-in. What the walk reaches through a conversation's entities (its speakers, the
people they name) is not what a question about one turn asks for; the path walk,
seeded by named entities only, stays out of the way there.
The seeds' cosine weights are min-max from the scope's floor, as the vector channel
is fused; relative to the best alone, five weak matches all seeded as strongly.

Issue 22 again (fusion that carries over), all through ``Memory.search`` in one process,
MiniLM, categories 1-4, turns stored whole unless said ("default": ``add()`` with the
offline extractor). Sets: LoCoMo (all ten conversations, 1,536 questions); the
``recall`` suite's ``implicit`` (233) and ``distant`` (67: the implicit questions whose
gold turns' neighbours share no word with them either) on all ten; its ``replies`` on
conversations 0-2 (383). recall@10:

    variant (text recipe unless said)      LoCoMo  implicit  distant  replies
    dense (plain index)                    0.451   0.198     0.095    0.511
    BM25 (plain index)                     0.562   0.000     0.000    0.551
    score fusion, 0.7 dense                0.616   0.126     0.077    0.678
    text (vector 0.5 / keyword 0.5)        0.739   0.318     0.030    0.703
    hybrid (text + graph)                  0.738   -         -        -
    vector 0.6 / keyword 0.4               0.732   0.328     -        -
    vector 0.7 / keyword 0.3               0.708   0.338     -        -
    keyword_coverage 0.25 / 0.5            0.739 / 0.731  0.322 / 0.324  -   - / 0.701
    0.7 / 0.3 with coverage 0.5            0.697   0.346     -        -
    keyword_gate 2 (below)                 0.638   0.360     0.112    0.667
    keyword_gate 0.5 / 1                   -       - / 0.345 0.045 / 0.060  -
    BM25 b 0.5 / 0.9 / 1.0 (index/keyword) 0.743 / 0.733 / -  -   -  0.668 / 0.709 / 0.714

``distant`` is where a fusion that trusts words loses to dense, as on the issue's
implicit set (0.046 vs 0.155 there): the words of the question point at the wrong turns,
min-max stretches BM25's best stray match to a full share, and nothing beside the gold
carries the words. On ``implicit`` neighbour lifting hides it (without neighbours text
scores 0.043, dense 0.198). What was tried against it:

- the keyword weight by the query's coverage (``keyword_coverage``, knee 0.25 / 0.5 /
  1.0, without neighbours on ``implicit``): 0.043 / 0.060 / 0.097. Stray matches still
  cover much of a short question (the speaker's name and one common word), so coverage
  barely separates them from real matches (mean 0.52 on implicit questions vs 0.62).
- ``keyword_gate`` (``fuse.gate``): each memory's keyword share times how close its
  cosine is to the best one, from the scope's median (power 2): distant 0.030 -> 0.112
  (default path 0.090), but LoCoMo 0.739 -> 0.638, where the gold's cosine is often no
  better than typical (dense alone finds 0.451). Sparing memories that match half of the
  query's information (0.7: 0.075) gave the distant gain back. Closeness from the
  scope's lowest cosine instead of its median helped less (implicit without neighbours,
  power 1 / 2: 0.070 / 0.122 vs 0.130 / 0.132).
- other query signals, compared between implicit and other LoCoMo questions: the gap
  between BM25's 1st and 10th score (0.56 vs 0.56), the overlap of the two channels'
  top 10 (0.20 vs 0.25), the dense rank of BM25's best hit (95 vs 50): none separates
  the cases well enough to switch the words off per query.
- dense's best 1-3 forced into the top 10: distant 0.030-0.037.
- BM25 length normalisation: ``replies`` gains with b 1.0 (0.714) but LoCoMo loses
  with b 0.9 (0.733), and gains with b 0.5 (0.743) where ``replies`` loses (0.668).

So the defaults stay (LoCoMo must not fall below 0.738), ``keyword_gate`` is an option
for data where words mislead, and the gap on ``distant`` stays open. On ``replies`` the
``vector`` recipe equals plain dense (0.511 both): the cause measured before (a reply's
relations superseding the user's message) is fixed at ingest.

Issue 21 (both ``add()`` paths >= 0.75): what reached it is the ``speaker`` part
(``boost.py``: 0.737 / 0.738 -> 0.753 / 0.752). Tried before it and not kept, ``hybrid``,
LoCoMo conversations 0-4, turns stored whole, recall@10 (0.760 with the defaults):

    variant                                                          recall@10
    z-scores from the scope's mean and spread (cosines; BM25 over
      its non-zero scores): both / cosine only / BM25 only           0.746 / 0.739 / 0.760
    lifting the vector and keyword shares apart (0.5) / + reach 3,
      0.7 per further place / fused share at reach 3, 0.6, 0.7       0.757 / 0.746 / 0.742
    a cosine lifted 0.3 towards its best adjacent turn's / the mean  0.756 / 0.751
    dense's best 1 / 3 forced into the top 10                        0.760 / 0.743
    cosine floor at min - 0.5 / + 0.2 of the scope's span            0.747 / 0.757
    + 0.1 / 0.2 x 10 / (10 + dense rank)                             0.760 / 0.748
    BM25 b 0.5 / k1 0.9, b 0.5 / k1 1.5, b 0.6                       0.760 / 0.761 / 0.760
    add() path: a source's cosine 0.25 / 0.5 / 1.0 of the way
      to its best fact's (0.759 without)                             0.757 / 0.757 / 0.746

With the speaker part (0.770): BM25 b 0.5 / 0.4 0.776 / 0.775 but ``replies`` 0.762 ->
0.738 (b 0.5); neighbour weight 0.4 / 0.6 0.765 / 0.765; reach 3 0.773; 60 candidates
per channel 0.770. None kept: within noise, or paid for on another set.

Issue 22 once more: the standout rule (``fuse.standout_weight``, on in ``text``,
``hybrid`` and ``hybrid_ppr``). Per query, how many spreads the best cosine stands above
the scope's median cosine separates the sets where dense leads from those where words
do: median 5.4 on musique-dev (passages about everything, a question about one of
them) against 3.0 on LoCoMo (turns of two people about their own lives, all alike).
Musique's dense best hit was also BM25's 1st or 2nd (median), LoCoMo's its 8th. The
query's own words (coverage, BM25's score gap, query length) separated neither; the
cosine gap between dense's 1st and 10th (0.19 vs 0.11) separated less well than the
standing. The rule scales the keyword weight from whole at a standing of 3 to 0.2 of
itself at 5, and the graph's to 0.3 (``standout_graph``): the graph follows the query's
names the way BM25 follows its words, and left whole it cost musique R@10 0.02-0.05.
Tuned on LoCoMo conversations 0-2 and musique-dev stored verbatim, checked on the rest.
recall@10 (musique: distinct passages R@5 / R@10 / all-gold@5), MiniLM, one process:

    set                                   vector   hybrid before        hybrid now
    LoCoMo 0-2, turns verbatim             0.512    0.812                0.817
    LoCoMo all ten, verbatim               0.451    0.752                0.756
    LoCoMo all ten, default add()          0.451    0.753                0.754
    recall implicit (all ten)              0.198    0.340                0.361
    recall distant (all ten)               0.095    0.030                0.052
    recall replies (0-2)                   0.511    0.762                0.781
    recall distractors (0-2)               0.512    0.769                0.795
    musique verbatim: vector 0.665 / 0.750 / 0.38, hybrid 0.550 / 0.690 / 0.20 before,
      0.630 / 0.753 / 0.30 now
    musique offline (default add()): vector 0.665 / 0.750 / 0.38, hybrid 0.560 / 0.683 /
      0.22 before, 0.630 / 0.753 / 0.30 now
    musique llm (recorded gpt-3.5): vector 0.665 / 0.760 / 0.38, hybrid 0.617 / 0.700 /
      0.34 before, 0.648 / 0.760 / 0.32 now

(hybrid "now" above with the graph's weight falling to 0.2 like BM25's.) The graph's own
share, musique R@5 / R@10 / all-gold@5 (offline; llm) and the synthetic suite's hop-2 /
hop-3 recall@10 (10k facts, hash embedder, one scope; vector 0.500 / 0.330, the rule off
0.517 / 0.450):

    standout_graph   musique offline        musique llm            synthetic hop-2 / 3
    1.0              0.603 / 0.733 / 0.28   0.627 / 0.712 / 0.30   0.470 / 0.463
    0.5              0.613 / 0.743 / 0.28   0.643 / 0.717 / 0.34   0.537 / 0.457
    0.35             0.630 / 0.753 / 0.30   0.650 / 0.743 / 0.34   0.522 / 0.408
    0.3 (kept)       0.630 / 0.753 / 0.30   0.650 / 0.760 / 0.34   0.515 / 0.390
    0.2              0.630 / 0.753 / 0.30   0.648 / 0.760 / 0.32   0.507 / 0.355

0.3 holds musique at dense's R@10 and costs the synthetic suite's three-hop questions
0.06 (0.450 -> 0.390, still above vector's 0.330); hop-2 is unchanged (0.517 -> 0.515).

The LoCoMo rows of all ten are the suite's (``python -m benchmarks locomo``, commit
4357814, standout_graph 0.3); ``text`` with the rule: musique offline 0.637 / 0.753 /
0.32, llm 0.637 / 0.743 / 0.32, LoCoMo 0.755 / 0.756 (default / verbatim).
Variants (low-high-kept, keyword weight only; LoCoMo 0-2 /
implicit there / distant there / distractors / musique verbatim R@5): 3.5-5-0.2 0.811 /
0.462 / 0.083 / 0.783 / 0.603; 3.5-4.5-0.2 0.813 / 0.477 / 0.083 / 0.782 / 0.603;
4-5.5-0.1 0.810 / 0.454 / 0.056 / 0.773 / 0.610; 2.5-5-0.2 0.815 / 0.508 / 0.111 / 0.786
/ 0.603; 2-6-0 0.817 / 0.508 / 0.111 / 0.783 / 0.610 (all ten: LoCoMo 0.756, distant
0.060, musique R@10 0.703 vs 0.723); 3-5-0.2, kept, 0.817 / 0.492 / 0.083 / 0.795 /
0.603, and 0.630 once the graph's weight follows the rule too. Not kept: damping BM25
per memory by its length (a long memory's keyword share times knee / words): musique
verbatim R@5 0.505-0.532 vs 0.550, as it favours short passages; per query by the
median length of BM25's top 10: ``replies`` 0.762 -> 0.603-0.722. ``distant`` stays
below dense (0.052 vs 0.095): its questions stand out no more than LoCoMo's others, so
the rule leaves the words their weight there.

Issue 22's ``distant`` once more (2026-11-24; LoCoMo all ten stored verbatim, MiniLM,
``hybrid`` 0.756 / distant 0.052, dense 0.095). Per query, the best cosine standing among
BM25's top 1 / 3 hits: distant median 1.21 / 1.71, the questions where ``text`` beats
``vector`` (584 of 1,536) 1.69 / 2.21, those where ``vector`` wins (40) 1.85 / 2.11: no
cut separates them. Dense's best 1-5 put into the top 10 when their standing is at least
0 / 2.5 / 3 / 3.5: distant 0.052-0.069, LoCoMo down to 0.723 (the gold dense finds on
distant does not stand out). Lifting the fused top 40 by their cosine to the centroid of
the top 3 (pseudo-relevance feedback, 0.05 / 0.1 / 0.2 of a share): distant 0.060 / 0.072
/ 0.087, LoCoMo 0.753 / 0.752 / 0.737. Spreading the top 10 over sessions (0.02-0.2 per
turn already taken from a session) cost LoCoMo 0.02-0.16 and multi-hop all-gold@10 too.
None kept.

Issue 12 once more (2026-11-25): the bridge channel (``bridge.py``), beside the path walk
at 0.2 in ``hybrid_bridge`` (then opt-in; ``hybrid`` since, see below). From the three best
fused text hits, the three members of each closest to the query by cosine lead across the relations they state (or, stating none,
the entities they mention) to the entities the query does not name, and on to the units
about those entities: specificity 1 / the other units naming it, aboutness the share of a
unit's memories that name it (a quarter for one naming it as the object of its relation),
the best lift scaled to 1. First a numpy prototype over the recorded triples and MiniLM
(dense over passages R@5 / R@10 / all-gold@5 0.665 / 0.750 / 0.38): HippoRAG-style
PageRank seeded by the 3-10 triples closest to the question and the named entities,
passage seeds 0.05-0.5, with or without hub damping and synonym edges (name cosine 0.8),
0.508-0.598 / 0.687-0.737 / 0.16-0.32, below dense as the ``hybrid_ppr`` rows above found;
dense plus the bridge, 3-10 sources, lifts 0.2-0.5, 0.608-0.718 / 0.763-0.830 /
0.32-0.44. Through ``Memory.search`` (musique-dev, recorded extraction, 50 dev questions):

    variant (the path walk replaced unless said)          R@5    R@10   all-gold@5
    hybrid before (path walk, no bridge)                  0.650  0.760  0.34
    bridge 0.2, 5 sources, every entity a fact links      0.655  0.797  0.34
      3 sources / 5 facts each                            0.677 / 0.665  0.823 / 0.810
      graph weight 0.1 / 0.3                              0.638 / 0.642  0.787 / 0.790
      hop one from the vector channel alone               0.650  0.797  0.34
      no keyword channel (dense + bridge, the prototype)  0.668  0.767  0.40
    the ends of the fact's relations only, 3 sources      0.682  0.833  0.38
    beside the path walk, lifts absolute (not scaled to the best), bridge 0.2 / 0.5 / 1.0:
                                                          0.673 / 0.680 / 0.700
                                                          0.780 / 0.800 / 0.790
                                                          0.38 / 0.38 / 0.42
    beside the path walk, scaled to the best, 0.2 / 0.3 / 0.5:
                                                          0.710 / 0.710 / 0.673
                                                          0.827 / 0.827 / 0.800
                                                          0.44 / 0.44 / 0.40

The synthetic suite (10k facts, hash embedder) is what kept the path walk: with the bridge
instead of it, an update question ("Where does Alice live now?") lost its current fact
(current @1 1.000 -> 0.000, recall@10 1.000 -> 0.735): the walk follows Alice's *current*
relation, and the bridge lifted every resident of Alice's city. Aboutness by role took
that to 0.770 and absolute lifts to 0.995, but only the walk gives current @1 back. Beside
it (hop-2 / hop-3 recall@10, current @1; ``hybrid`` before 0.515 / 0.390, 1.000):
absolute 0.5 / 1.0, 0.640 / 0.560, 1.000 and 0.770 / 0.610, 0.945; scaled 0.2 / 0.3 /
0.5, 0.738 / 0.602, 1.000; 0.855 / 0.625, 0.790; 0.927 / 0.632, 0.350 (hop-1 recall@5
0.990 -> 0.835). 0.2 scaled is kept: the largest musique gain, and no update lost. LoCoMo
(default ``add()``, categories 1-4; ``hybrid`` 0.754, ``text`` 0.755): the bridge instead
of the walk at 0.1 / 0.2 / 0.3, 0.758 / 0.756 / 0.746. (These sweeps ran before a fix
that let a hit whose only fact is its own unit start the bridge; the suites' runs of the
kept recipe, after it, are in ``benchmarks/results``.)

After that fix, the ``recall`` suite's ``replies`` set (conversations 0-2, a 250-word
reply after every turn) put ``hybrid`` below ``text``: 0.765 vs 0.778 (default ``add()``)
and 0.735 vs 0.781 (verbatim), where they had tied. A reply stating no relation counted
as wholly about each of the dozen names it quotes. About each in equal parts: 0.773 /
0.747, and musique's passages stored whole went 0.725 / 0.813 / 0.44 -> 0.753 / 0.830 /
0.50. Not kept: leading from such a memory to each name in equal parts as well (replies
unchanged, 0.773 / 0.747; musique whole 0.728 / 0.840 / 0.46, offline 0.762 -> 0.745
R@5); an object share of 0.5 or 1.0 on the LLM graph (R@5 0.683 both vs 0.680, all-gold
0.38 vs 0.36: noise, and the synthetic updates need the quarter); a second bridge round
from the units the first lifted (prototype, all-gold@5 0.44 -> 0.38-0.42).

The bridge in ``hybrid`` (2026-11-25, later). It was opt-in because it read the scope's
graph as arrays rebuilt after every write; it now reads the graph around its hits through
``GraphOps`` (the in-process index on Kuzu), so a write costs it nothing. Same data
(recorded LLM / offline extractor; R@5 / R@10 / all-gold@5; 0.2 unless said):

    lifts over the strongest leading fact's strength (not the best lift), 0.2 / 0.5 / 0.8:
                                          LLM 0.667 / 0.673 / 0.683, 0.78 / 0.79 / 0.79,
                                              0.36 / 0.36 / 0.38
      aboutness capped sum / over sqrt(size) (not the mean), 0.5: 0.663 / 0.673 (LLM)
    leading facts: the closest 3 that lead somewhere (another unit names what they name),
      among the best 16 members; before, the closest 3, which in an LLM's passage often
      name only its actors ("Jump for Glory starring Alan Hale"), the step being the
      fourth ("directed by Raoul Walsh"). Scaled to the best lift again:
                                          LLM 0.717 / 0.823 / 0.44, offline 0.755 / 0.850 / 0.50
      5 sources / 2 sources / 2 facts / 5 facts / 8 facts:
                                          LLM 0.697 / 0.717 / 0.710 / 0.727 / 0.717, all-gold
                                              0.40 / 0.44 / 0.44 / 0.46 / 0.44 (noise: kept 3, 3)
      graph weight 0.5 / 0 (path walk off), flat 0.6 / 0.4: LLM 0.703 / 0.685 / 0.700
      memories stating no relation lead nowhere: LLM unchanged, offline 0.620 / 0.753 / 0.30
    a floor: the best lift scores 1 unless below floor x the strongest leading strength
      floor 0.02 / 0.05 / 0.2: LLM 0.717 / 0.697 / 0.683, all-gold 0.44 / 0.40 / 0.38;
      ``recall`` replies, verbatim (``text`` 0.781): floor 0 / 0.02 / 0.05 / 0.2 0.747 /
      0.770 / 0.775 / 0.779; distractors, verbatim (``text`` 0.794): 0.767 / 0.783 /
      0.789 / 0.794.
    kept: the floor applied to leads that state no relation only (a co-mention is weak
      evidence; a stated relation is a step the extractor saw), 0.05: LLM 0.717 / 0.823 /
      0.44, offline 0.738 / 0.833 / 0.48; the suites' runs are in ``benchmarks/results``.
    not kept: the question asked again of dense retrieval with the best bridges' names
      added ("... the director of Jump for Glory? Raoul Walsh"), one embedding call for
      three names: its best three units joining the bridge's at the bridge's score x their
      standing, LLM 0.677 / 0.813 / 0.36 (x 0.4: 0.693 / 0.813 / 0.38); re-ranking only
      the units each bridge reached by that cosine, 0.723 / 0.813 / 0.46 (one question);
      a softer specificity, 1 / (other units)^0.5 / ^0.75, for a common bridge a passage
      is about ("Hong Kong", 28 units): LLM 0.683 / 0.700, all-gold 0.38 / 0.42.

Issue 22's ``distant`` with the bridge in ``hybrid`` (0.075, dense 0.095, text 0.052): the
keyword weight scaled by how many of BM25's top 10 dense's top 40 also holds (full at a
share of 0.2 / 0.4 of them, at least a fifth of itself): 0.075 / 0.082. Short of dense
- 0.01 either way, and not run on LoCoMo, where BM25's wins are what dense misses; not
kept.
Issue 22's long memories (``long_parts``, ``index/scope.py``). One vector per message
blurs a long one, and MiniLM reads only its first 256 tokens. A prototype over musique-dev
(passages shuffled and joined six to a document, ~600 words; 315 documents; R@5 of the
gold passages' documents): the document's one vector 0.253, the token-weighted mean of
250-token windows 0.285, the best window of 250 / 128 / 64 tokens 0.302 / 0.467 / 0.580.
So a long message takes the cosines of the facts split from it: ``add()`` already keeps
them, sentence-sized. Through ``Memory.search`` (``python -m benchmarks musique
--per-memory 6``, offline extractor; share = how far a message moves from its own
cosine towards its best fact's; R@5, BM25 0.530, dense 0.253):
    share                              0      0.25   0.5    1.0
    vector                             0.253  -      0.518  0.663
    hybrid                             0.498  0.583  0.628  0.697
A message quoting others loses by it: the ``recall`` suite's replies (conversations 0-2,
default ``add()``, each reply quoting turns word for word) hybrid recall@10 0.779 /
0.781 / 0.771 / 0.742, ``vector`` 0.509 / - / 0.504 / 0.366 (dense 0.511). Musique
passages one per memory (44 of 1,890 over the threshold), LLM graph R@5 / all-gold@5:
hybrid 0.717 / 0.44 -> 0.723 / 0.46 at 0.5 (offline 0.738 / 0.48 -> 0.735 / 0.46). A
threshold of 100 words instead of 200, share 1.0, cost musique's single passages (LLM
vector 0.665 -> 0.578 R@5): up to about the embedder's window, the whole passage's vector
is the better one. Kept: 200 words, share 0.5. LoCoMo's turns (88 words at most) and the
synthetic facts are never lifted. Memories stored with ``infer=False`` have no facts to
lift from (not done: parts of their own would need vectors stored per memory).

Issue 12's common bridges, chosen by the question (2026-11-25, seventh session). A bridge
named by many passages ("Iowa", 27) lifts each by 1 / (the other units naming it), so the
one the question is about gets almost nothing. Tried: among a bridge's units, the one
closest to the query by cosine counted as if the bridge named only it, the next as if it
named two, and so on (specificity 1 / rank, or 1 / rank^2; never below the old 1 / n).
musique-dev R@5 / R@10 / all-gold@5, recorded LLM graph: 0.693 / 0.770 / 0.42 and 0.703 /
0.797 / 0.44, against 0.723 / 0.813 / 0.46; offline 0.755 / 0.817 / 0.50 and 0.748 / 0.827
/ 0.50 (0.735 / 0.46 kept); passages stored whole 0.685 / 0.40 and 0.705 / 0.44. Not kept:
the query's cosine is dense's ranking again, which is what the bridge is there to get
past. In the LLM graph's 27 misses, nine missing passages sit at ranks 6-10, found by
the flat channels alone ("LaHave" after "David Morse"'s birthplace), and most others
past rank 10. The bridge reached none of those nine. Three of them, read by hand:
"Walden, Nova Scotia" (after "David Morse", via "Nova Scotia", which dozens of passages
name; the question's own word "LaHave" is what BM25 finds it by); "Lancashire" (after
"David Jones (rugby)": nothing links them but knowing that rugby league began there);
"Jiménez Municipality, Lara" (the LLM named its country only inside "Venezuelan state of
Lara", so no "Venezuela" entity leads to "Spanish Wikipedia"). Merging name variants
would not join the last one: the name holds a place inside a description.

Issue 22's ``distant`` set, a keyword gate in spreads (2026-11-25, eighth session; on in
``text`` and ``hybrid``). Cosine standing of the memories in BM25's top 10 (spreads
above the scope's median cosine), LoCoMo all ten stored whole: gold hits of the other
questions 10th / 50th percentile 0.79 / 2.26, their other hits -0.33 / 1.26, the hits on
``distant`` -0.71 / 1.06. Gold with a keyword hit below 0.5 is rare (70 of 1,192) and
matches more of the question (coverage of ``KeywordIndex.ceiling``, median 0.42) than a
stray hit there does (0.27 on LoCoMo, 0.23 on ``distant``). So a memory's keyword share
is now kept in full from a standing of 0.5, falls linearly to nothing at -0.5 (half of it
at the median), and is spared whole once its BM25 score covers half of the query
(``gate_low``, ``gate_high``, ``gate_spare``; ``fuse.gate``). ``hybrid`` recall@10 through
``Memory.search``, MiniLM (stored whole / default ``add()``; dense 0.451 / 0.198 / 0.095):

    variant (low, high, spare; power 1)     LoCoMo          implicit        distant
    before (no gate)                        0.756 / 0.756   0.373 / 0.365   0.075 / 0.075
    -0.5, 1.0, none                         0.734           0.382           0.097
    -1.0, 0.5 / -2.0, 0.5, none             0.748 / 0.751   0.376 / 0.371   0.082 / 0.082
    -0.5, 0.5, none                         0.744           0.380           0.097
    -0.5, 0.5, spare 0.5 (kept)             0.751 / 0.755   0.384 / 0.367   0.097 / 0.082
      spare 0.6 / 0.7                       0.749 / 0.747   0.384 / 0.384   0.097 / 0.097
      -1.0, 0.5 / -0.25, 0.25               0.754 / 0.751   0.380 / 0.376   0.082 / 0.082
      + keyword_coverage 0.25 / 0.4         0.751 / 0.746   0.384 / 0.381   0.097 / 0.101
    the gate's first form, power 2          0.638           -               0.112

Unchanged by it: musique-dev (every mode, every recipe: R@2 / R@5 / R@10 / all-gold@5
equal; dense stands out there and the standout rule already holds BM25 down), the
``recall`` suite's replies and distractors (LoCoMo 0-2, both paths), LoCoMo category-1
all-gold@10 on the default path (0.213), and the synthetic suite at 20k facts with MiniLM
(hop-2 recall@10 0.720 both, hop-3 0.615 -> 0.613; ``benchmarks/results/synthetic/
20000-facts-keyword-gate``). The distant questions it turns are single ones (67 in all,
1/67 = 0.015 each): "When did Evan meet his future wife?" gains its gold on the turns
stored whole, not on the default path, where the stray "wife" turn covers half the question
and is spared, and its neighbours ride up with it. So ``distant`` stays 0.003 short of
dense - 0.01 there (0.082 vs 0.085). Not kept: sparing by the share of the query's IDF a
memory holds (its terms found in the postings) instead of its BM25 score over the ceiling,
which a short extracted fact inflates: every figure above the same (spare 0.5 / 0.6;
LoCoMo whole 0.750 / 0.749, default 0.755), for a postings look-up per hit.

Why the default path lagged (ninth session): the median and spread were read over every
memory of the scope, and on the default path that counts each message once whole (its
source) and again as each of its facts, which are short and sit further from most
questions: for "When did Evan meet his future wife?" the median cosine was 0.119 and
the spread 0.165 there, against 0.244 and 0.130 over the same turns stored whole. So the
gate's band sat lower, the stray "wife" turn stood above it, kept its whole share and
lifted its neighbours. Search ranks the source in its facts' place (``Groups.points``),
so the typical score is now read over what it ranks (``Scores._typical``): the figures
of a message stored whole do not move, and on the default path (before / after):

    default add() path   LoCoMo          implicit        distant         musique offline R@5
    hybrid               0.755 / 0.755   0.367 / 0.378   0.082 / 0.097   0.735 / 0.747
    text                 0.754 / 0.754   0.352 / 0.363   0.060 / 0.075   0.650 / 0.650

musique offline all-gold@5 0.46 -> 0.48; with the LLM's extractions ``hybrid`` R@2 0.523
-> 0.528, R@5, R@10 and all-gold@5 unchanged (0.723, 0.813, 0.46). What it cost, default
path: LoCoMo recall@5 0.655 -> 0.649 (recall@10 the same), the ``recall`` suite's replies
0.771 -> 0.766 and distractors 0.781 -> 0.775 (``text`` 0.767 / 0.779 there). Tried
first for the same question and not kept (no figure moved): the keyword weight by
coverage (knee 0.1 / 0.25 / 0.4), lifting neighbours by the unspared keyword share, and
damping a lift by the lifted memory's own cosine standing.

On long memories the same change cost a little (``musique --per-memory 6``, R@5 / R@10,
offline 0.628 / 0.733 -> 0.608 / 0.743, LLM graph R@10 0.775 -> 0.762): a message of
over 200 words is scored up towards its best fact (``long_parts``), and the median read
over those lifted scores rose with every long message. So the typical score of a lifted
read is the one before lifting (``Scores.lifted``): offline 0.615 / 0.753, LLM 0.687 /
0.773 and all-gold@5 0.36 -> 0.38; the ``recall`` suite's replies (250 words each) 0.766
-> 0.768 and distractors 0.775 -> 0.779 on the default path; single musique passages and
LoCoMo, with no message that long, unchanged.

Also not kept (ninth session): the bridge not leading on through a date or number a
relation ends in (a birth date led from "David Morse" to another person born in 1954):
every figure the same, musique (both graphs), LoCoMo, implicit, distant.

Issue 12's two open targets, tenth session (2026-11-26; none kept). LoCoMo category-1
all-gold@10 (default ``add()``, all ten conversations, 282 questions): ``hybrid``'s top 50
holds every gold turn for only 0.447 of them (top 10 0.213, top 20 0.312, top 30 0.372),
so no re-ordering of what the channels find reaches 0.25 without losing elsewhere. Re-
ordered from each question's top 50 (recall@10 of categories 1-4 / category-1 all-gold@10;
as is 0.755 / 0.213):

- sessions spread over the top 10 (a hit scored down 0.02-0.1 for each one already taken
  from its session past the first one to four): 0.654-0.751 / 0.195-0.227; only for
  questions asking for a list (a plural after "what"/"which", "how many", "both": 96 of
  the 282, and 37 single-hop ones), down 0.03-1.0: 0.738-0.756 / 0.181-0.220. A list's
  gold is not held back by its neighbours; it is not found.
- the speaker part 0 / 0.05 / 0.15 / 0.2 / 0.3 instead of 0.1: 0.733 / 0.746 / 0.751 /
  0.751 / 0.746, and 0.199 / 0.209 / 0.216 / 0.230 / 0.230; neighbour lifts scaled 0-0.75:
  0.670-0.736 / 0.213-0.223; the vector part scaled 0.8 / 1.2: 0.752 / 0.746, 0.223 / 0.213.
- ``long_parts`` for every message (threshold 0 words, share 0.25 / 0.5 / 1.0; conversations
  0-2): recall@10 0.812 / 0.811 / 0.802 vs 0.812, category-1 all-gold 0.243 / 0.243 / 0.216
  vs 0.243.
- each turn embedded with the turn before it in its session (plain dense and BM25 + dense
  over the turns, outside graphmem): the pair's vector, the mean of both vectors, or the
  better of the two cosines scored category-1 all-gold 0.050-0.089 vs 0.089 dense and
  0.117-0.142 vs 0.138 fused. The gold turns name what is asked for in other words ("I'm
  off to go swimming with the kids" for "What activities has Melanie done with her
  family?"), which MiniLM does not tie to the question.

musique-dev all-gold@5, the bridge's aboutness (LLM graph / offline graph / passages
stored whole with the offline linker; kept 0.46 / 0.48 / 0.50): a unit's share over the
square root of its size 0.44 / 0.50 / 0.50; a unit's best memory instead of its mean 0.44 /
0.54 / 0.50; ``OBJECT_SHARE`` 0.5 0.44 / 0.48 / 0.48. Whole passages with the linker's
co-mentions outscore the LLM's triples (R@5 0.753 vs 0.723): a second-hop passage often
names the bridge as an object ("Scott Young is the father of Neil Young", "Betrayed,
directed by Raoul Walsh"), which aboutness counts a quarter and divides among the
passage's eight to eleven triples. The variants that lift such passages lose other LLM
questions, so the difference stays open.

What a graph share must show (``join_fit``, ``graph_gate``; 2026-11-27, fifth session).
LoCoMo with each session added as named messages put hybrid below text (recall@10 0.747
vs 0.754, recall@1 0.315 vs 0.354): there each "I" is its speaker's, and a question
naming a speaker seeds the walk with her. In the 33 questions the graph lost, all 87
memories it pushed into the top 10 came one hop from a seed: the facts of a speaker's
one relation ("Caroline likes creating art", lifted by the walk's floor, 0.16-0.3, for
"Would Caroline be considered religious?"), and those of a relation joining two named
entities ("Jon likes dancing", 0.8 for "Did Jon and Gina both participate in dance
competitions?"). Recall@10 by session / turn by turn, musique LLM all-gold@5 / R@5,
synthetic 20k hop-2 recall@10 (kept data dirs, MiniLM):

    variant                                       session  turn    musique        hop-2
    hybrid before                                 0.747    0.755   0.46 / 0.723   0.720
    relation_floor 0                              0.753    0.754   0.42 / 0.693
    graph gate, power 1, band -0.5 to 0.5         0.751    0.755   0.46 / 0.723
    graph gate, power 2, band 0 to 1 (all hops)   0.753    0.756   0.46 / 0.717
      + join_fit 0.5                              0.753            0.46 / 0.722
      + join_fit 0                                0.753    0.756   0.48 / 0.728   0.647
    gate on one-hop relation evidence, join 0     0.753    0.755   0.48 / 0.735   0.720
      (hybrid now; session recall@1 0.337)

The floor is what carries a walk across a relation the question does not name, so
removing it cost musique four questions. A fact two hops out says nothing of the question
in its own words, so gating it cost the synthetic suite's second hops; the gate now
weighs only relation evidence one hop from a named entity. Not kept, with no figure
moved on the session set: damping a seed's floor (or its whole score) by how many
relations it has (LoCoMo speakers hold one or two: the offline extractor finds few), and
dividing a relation's score among the facts that support it (two to three each).

Topics seed no walk (``concept_seed`` 0 in ``hybrid``; 2026-11-29). The last LoCoMo gap
(hybrid 0.7707 vs text 0.7709 recall@10, default ``add()``) came from 15 questions the
two recipes ranked differently. The walk's share of the losses began at an entity of type
``concept`` the question names as a topic ("dance", "basketball", "fantasy"): from it one
hop reaches the speaker who likes it and a second everything else that speaker likes, so
"What fantasy movies does Tim like?" lifted "I love going on road trips" and "I love
playing different songs on the piano". Such a word is what BM25 and dense already match;
a named thing (a person, a film, a place) is what the walk is for. Each row against
``hybrid`` before, one process, MiniLM, default ``add()`` (musique R@5 / R@10 /
all-gold@5; synthetic 20k facts hop-2 / hop-3 recall@10):

    set                            text           hybrid before      concept_seed 0 (kept)
    LoCoMo recall@10               0.7709         0.7707             0.7716 (0.5: 0.7712)
      recall@1, cat-1 all-gold@10  0.354, 0.255   0.345, 0.259       0.350, 0.262
    recall replies (0-2)           0.772          0.775              0.772
    recall distractors (0-2)       0.787          0.787              0.787
    recall implicit / distant      0.394 / 0.164  0.401 / 0.187      0.401 / 0.187
    musique, LLM graph             -              0.735/0.813/0.48   0.735/0.813/0.48
    musique, offline graph         -              0.747/0.828/0.48   0.747/0.838/0.48
    synthetic hop-2 / hop-3        -              0.720 / 0.613      0.720 / 0.613

Four LoCoMo questions moved: three gained, and "What activities does Nate do with his
turtles?" lost one of three gold turns, which the walk had reached through "turtles".
``replies`` lost one question. The graph recipe alone keeps topics as seeds: it has
nothing else to go by. Tried on the same questions and not kept: not walking on through
the scope's own user entity (the "I" of every speaker when turns carry no name; 0.7706);
reading each turn's ``metadata.speaker`` as its "I" at ingest, so relations name Tim and
not the conversation (hybrid 0.770 vs text 0.771, recall@1 0.336 vs 0.354: a question
naming Tim then lifts every fact of Tim's relations); keeping the text channels' first
one to three hits above any graph share (recall@1 back to 0.354, recall@10 still 0.7707).
Kept beside it though no figure moved (LoCoMo, ``replies``, musique both graphs): the
bridge does not step through the scope's user entity (``engine.bridge_channel``); in a
scope of one user's statements it joined "I love dance" to "I love jazz records".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from ..errors import ValidationError

FUSIONS = ("weighted", "rrf")
RERANKERS = ("pagerank", "mmr")
GRAPH_WALKS = ("ppr", "paths")
CHANNELS = ("vector", "keyword", "graph", "bridge")


@dataclass(frozen=True)
class Recipe:
    """Settings of one way to search. Weights of 0 switch a channel off."""

    name: str
    # -- channels and fusion ------------------------------------------------------------
    weights: Mapping[str, float] = field(default_factory=dict)  # channel -> weight
    fusion: str = "weighted"  # "weighted" (min-max normalised scores) or "rrf"
    rrf_k: int = 60  # RRF constant: larger flattens the head of each list
    anchored: bool = True  # weighted: normalise from each channel's floor, not its list's min
    candidates: int = 40  # how many hits each channel proposes before fusion
    # vector: a message of more than index.scope.LONG_WORDS words moves this share of the
    # way from its own cosine to its best fact's (one vector is a blur of a long text)
    long_parts: float = 0.5
    vector_floor: str = "min"  # weighted: cosine of an unrelated memory, "min" or "median"
    keyword_coverage: float = 0.0  # keyword weight falls below this query coverage (0: off)
    keyword_gate: float = 0.0  # keyword share times cosine closeness to this power (0: off)
    # keyword_gate's band, in spreads about the scope's median cosine (both 0: from the
    # median to the search's best cosine); gate_spare: a memory whose BM25 score covers
    # this share of the query keeps its keyword share whatever its cosine (0: none)
    gate_low: float = 0.0
    gate_high: float = 0.0
    gate_spare: float = 0.0
    standout_low: float = 0.0  # keyword and graph weights fall once the best cosine stands
    standout_high: float = 0.0  # this many spreads above the scope's median, to
    standout_kept: float = 1.0  # ``standout_kept`` of themselves at ``standout_high`` (0/0: off)
    standout_graph: float = 1.0  # the graph's weight falls to this share of itself instead
    # keyword_gate for the graph's shares (0: off), over its own band of spreads about the
    # median cosine (both 0: from the median to the search's best cosine)
    graph_gate: float = 0.0
    graph_gate_low: float = 0.0
    graph_gate_high: float = 0.0
    # -- graph channel ------------------------------------------------------------------
    graph_walk: str = "paths"  # "paths" (graph.py) or "ppr" (ppr.py: arrays, PageRank)
    # -- bridge channel (bridge.py) ----------------------------------------------------
    bridge_sources: int = 3  # best text hits the bridge starts from
    bridge_facts: int = 3  # members of each whose entities lead on (closest by cosine)
    # The bridge's best lift scores 1 unless it is below this share of the strongest
    # leading memory's strength among those stating no relation (bridge.py).
    bridge_floor: float = 0.0
    ppr_restart: float = 0.5  # ppr: share of mass sent back to the seeds each step
    ppr_steps: int = 4  # ppr: steps of the walk (memory -> entity -> memory is two)
    hub_degree: int = 300  # ppr: an entity in more memories than this passes nothing on
    edge_budget: int = 20_000  # ppr: most edges one step touches
    fact_seeds: int = 10  # ppr: this many best text hits seed the walk too
    fact_seed_weight: float = 1.0  # ppr: their seed weight (the best one's) vs a named entity
    fact_seed_channel: str = ""  # graph walks, bridge: seed hits from this channel alone
    ppr_walked: bool = False  # ppr: score only the mass the walk carried, not the restart's
    match_seeds: int = 0  # ppr: entities of this many memories most like the query seed it
    match_seed_weight: float = 1.0  # ppr: their seed weight (the closest memory's)
    relation_gate: float = 1.0  # ppr: mass kept at a memory whose relations miss the query
    depth: int = 2  # hops from the linked entities (1 or 2)
    seeds_from_hits: int = 5  # entities of this many top vector/keyword hits seed the walk
    hit_seed_weight: float = 0.5  # such seeds count less than entities named in the query
    hit_seed_depth: int = 1  # and walk fewer hops (at most ``depth``)
    entity_similarity: float = 0.75  # cosine floor for linking a query span to an entity
    # path walk ("paths"): seed score of an entity the query names whose type is a concept
    # (a topic word: "dance", "fantasy"), against 1 for a named thing; 0: no seed at all
    concept_seed: float = 1.0
    hop_decay: float = 0.8  # score kept per hop
    relation_floor: float = 0.2  # share of score an irrelevant relation still passes on
    # the least relevance a relation joining two entities the query names is given (1.0:
    # as relevant as it gets, whatever its name; 0.0: its name's relevance alone)
    join_fit: float = 1.0
    mention_weight: float = 0.5  # a fact that merely mentions a reached entity
    mention_from: int = 1  # mentions of entities reached at this hop or later (0 = seeds too)
    mention_entities: int = 10  # mentions are read for at most this many entities
    frontier: int = 40  # most entities expanded per hop (hubs are expensive and vague)
    fanout: int = 100  # most relations per entity and relation name a hop follows (hubs)
    # -- context --------------------------------------------------------------------------
    neighbour_weight: float = 0.0  # how far a memory moves towards a better neighbour's score
    neighbour_reach: int = 1  # neighbours: memories up to this many places either side
    # -- reranking ------------------------------------------------------------------------
    rerank: tuple[str, ...] = ()  # any of RERANKERS, applied in order
    pagerank_weight: float = 0.3  # share of the final score from personalised PageRank
    mmr_lambda: float = 0.7  # 1.0 = pure relevance, lower = more diverse
    # -- lifecycle (boost.py): added after fusion, before reranking; 0 = off ----------------
    recency_weight: float = 0.0  # times 0.5 ** (days since last access / half-life)
    importance_weight: float = 0.0  # times the memory's importance (0.5 when unset)
    recency_half_life: float = 30.0  # days
    speaker_weight: float = 0.0  # added to a memory said by someone the query names
    focus_weight: float = 0.0  # times the cosine to the query's focus (focus.py), 0 = off

    def __post_init__(self) -> None:
        # Read-only, so a recipe shared by every search cannot be changed by one caller.
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        object.__setattr__(self, "rerank", tuple(self.rerank))
        problems = []
        unknown = set(self.weights) - set(CHANNELS)
        if unknown:
            problems.append(f"weights: unknown channel(s) {sorted(unknown)}; use {CHANNELS}")
        if not all(isinstance(w, int | float) and not isinstance(w, bool)
                   and math.isfinite(w) for w in self.weights.values()):  # fmt: skip
            # NaN compared false with everything and ranked nothing (a search gave []);
            # an infinity gave infinite scores.
            problems.append("weights: finite numbers (not NaN or an infinity)")
        elif any(w < 0 for w in self.weights.values()) or not any(self.weights.values()):
            problems.append("weights: need at least one positive weight and none negative")
        if self.vector_floor not in ("min", "median"):
            problems.append(f"vector_floor: {self.vector_floor!r} is not 'min' or 'median'")
        if self.fusion not in FUSIONS:
            problems.append(f"fusion: {self.fusion!r} is not one of {FUSIONS}")
        if any(r not in RERANKERS for r in self.rerank):
            problems.append(f"rerank: {self.rerank!r} may only hold {RERANKERS}")
        if self.graph_walk not in GRAPH_WALKS:
            problems.append(f"graph_walk: {self.graph_walk!r} is not one of {GRAPH_WALKS}")
        if self.depth not in (1, 2):
            problems.append("depth: 1 or 2")
        if not 0 <= self.hit_seed_depth <= self.depth:
            problems.append("hit_seed_depth: from 0 to depth")
        for name in ("hit_seed_weight", "hop_decay", "relation_floor", "mention_weight",
                     "pagerank_weight", "mmr_lambda", "entity_similarity",
                     "neighbour_weight", "keyword_coverage", "ppr_restart",
                     "relation_gate", "recency_weight", "importance_weight",
                     "speaker_weight", "focus_weight", "bridge_floor", "long_parts", "gate_spare",
                     "join_fit", "concept_seed"):  # fmt: skip
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name}: a number in [0, 1]")
        if not self.recency_half_life > 0:
            problems.append("recency_half_life: a positive number of days")
        if min(self.fact_seeds, self.fact_seed_weight, self.match_seeds,
               self.match_seed_weight) < 0:  # fmt: skip
            problems.append("fact_seeds, fact_seed_weight, match_seeds, match_seed_weight: "
                            "not negative")  # fmt: skip
        if self.fact_seed_channel not in ("", "vector", "keyword"):
            problems.append(f"fact_seed_channel: {self.fact_seed_channel!r} is not '', "
                            "'vector' or 'keyword'")  # fmt: skip
        if self.standout_high and not 0.0 <= self.standout_low < self.standout_high:
            problems.append("standout_low, standout_high: 0 <= low < high (both 0: off)")
        if not (0.0 <= self.standout_kept <= 1.0 and 0.0 <= self.standout_graph <= 1.0):
            problems.append("standout_kept, standout_graph: numbers in [0, 1]")
        for power, low, high in (("keyword_gate", "gate_low", "gate_high"),
                                 ("graph_gate", "graph_gate_low", "graph_gate_high")):  # fmt: skip
            if not 0.0 <= getattr(self, power) <= 4.0:
                problems.append(f"{power}: a number in [0, 4]")
            if (getattr(self, low) or getattr(self, high)) and \
                    not getattr(self, low) < getattr(self, high):  # fmt: skip
                problems.append(f"{low}, {high}: low < high, in spreads about the median "
                                "(both 0: from the median to the best cosine)")  # fmt: skip
        if self.mention_from not in (0, 1):
            problems.append("mention_from: 0 (seeds too) or 1")
        for name in ("rrf_k", "candidates", "frontier", "fanout", "mention_entities",
                     "neighbour_reach", "ppr_steps", "hub_degree", "edge_budget",
                     "bridge_sources", "bridge_facts"):  # fmt: skip
            if getattr(self, name) < 1:
                problems.append(f"{name}: a positive integer")
        if problems:
            raise ValidationError("recipe", f"{self.name!r}: " + "; ".join(problems))

    def uses(self, channel: str) -> bool:
        return self.weights.get(channel, 0.0) > 0.0

    def describe(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


VECTOR = Recipe("vector", weights={"vector": 1.0})
KEYWORD = Recipe("keyword", weights={"keyword": 1.0})
# Alone, the graph must also report what merely mentions the query's entities.
GRAPH = Recipe("graph", weights={"graph": 1.0}, seeds_from_hits=0, mention_from=0)
# Neighbour lifting, shared by text and hybrid so the graph is the only difference.
_NEIGHBOURS = {"neighbour_weight": 0.5, "neighbour_reach": 2}
# Fusion of the flat channels, shared by text and hybrid. The issue 22 options
# vector_floor "median" and keyword_coverage stay off; the standout rule
# (fuse.standout_weight) and the keyword gate over one spread about the median cosine,
# sparing a memory that matches half of the query (fuse.gate), are on: measured in the
# module docstring.
_FUSION = {
    "vector_floor": "min",
    "keyword_coverage": 0.0,
    "keyword_gate": 1.0,
    "gate_low": -0.5,
    "gate_high": 0.5,
    "gate_spare": 0.5,
    "standout_low": 3.0,
    "standout_high": 5.0,
    "standout_kept": 0.2,
    "standout_graph": 0.3,
}
_FLAT = {"vector": 0.5, "keyword": 0.5}
# A memory said by the person the query names (``boost.speakers``), shared by text and
# hybrid; measured in boost.py.
_SPEAKER = {"speaker_weight": 0.1}
# The focus part (focus.py) re-orders what follows the first five hits; measured there.
_SPEAKER_AND_FOCUS = {**_SPEAKER, "focus_weight": 0.4}
# What a graph share must show to count in full (measured in the module docstring): a
# relation joining two named entities is weighed by its name like any other, and a memory
# whose meaning is no closer to the query than the scope's typical one keeps little of it.
_GRAPH_EVIDENCE = {"join_fit": 0.0, "graph_gate": 2.0, "graph_gate_low": 0.0,
                   "graph_gate_high": 1.0}  # fmt: skip
# Only entities the query names seed the walk, and the graph weighs as much as each flat
# channel; the bridge (bridge.py) at 0.2 beside it, its vague lifts from memories stating
# no relation held under 0.05 of their strength. Measured in the module docstring.
HYBRID = Recipe(
    "hybrid",
    weights={**_FLAT, "graph": 1.0, "bridge": 0.2},
    bridge_floor=0.05,
    seeds_from_hits=0,
    concept_seed=0.0,
    **_GRAPH_EVIDENCE,
    **_NEIGHBOURS,
    **_FUSION,
    **_SPEAKER_AND_FOCUS,
)
# The same settings as the LoCoMo table above measured them (graph 0.5, decay 0.8).
_HYBRID_BEFORE = {"vector": 0.5, "keyword": 0.5, "graph": 0.5}
# hybrid_rrf (RRF of the three channels) and hybrid_pagerank (networkx PageRank over the
# retrieved subgraph, blended in after fusion) are no longer named recipes: hybrid_rrf was
# the worst fused recipe on every set measured (LoCoMo recall@10 0.584 vs 0.633 for the
# weighted text recipe of its day, and last on four other retrieval sets), and the graph
# channel itself now walks by personalised PageRank (ppr.py), so a second, slower PageRank
# over the same evidence had nothing left to add (0.613 vs 0.634 on LoCoMo). Both remain
# one field away: fusion="rrf", rerank=("pagerank",).
# Opt-in until it wins: the graph channel as personalised PageRank over arrays (ppr.py),
# seeded by the named entities and the ten best text hits; measured in the docstring.
HYBRID_PPR = Recipe("hybrid_ppr", weights={**_FLAT, "graph": 1.0}, graph_walk="ppr",
                    match_seeds=5, fact_seeds=40, ppr_walked=True,
                    **_NEIGHBOURS, **_FUSION, **_SPEAKER)  # fmt: skip
HYBRID_MMR = Recipe("hybrid_mmr", weights=_HYBRID_BEFORE, rerank=("mmr",))
# The two flat channels without the graph: the strongest simple baseline on LoCoMo.
TEXT = Recipe("text", weights=_FLAT, **_NEIGHBOURS, **_FUSION, **_SPEAKER_AND_FOCUS)

RECIPES: dict[str, Recipe] = {
    r.name: r for r in (VECTOR, KEYWORD, GRAPH, HYBRID, HYBRID_PPR, HYBRID_MMR, TEXT)
}


def register(recipe: Recipe) -> Recipe:
    """Make ``recipe`` available by name (``recipe="<name>"``); replaces a same-named one."""
    if not isinstance(recipe, Recipe):
        raise ValidationError("recipe", f"expected a Recipe, got {type(recipe).__name__}")
    RECIPES[recipe.name] = recipe
    return recipe


def get(recipe: str | Recipe) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    if not isinstance(recipe, str):
        raise ValidationError("recipe", f"expected a name or a Recipe, got {type(recipe).__name__}")
    try:
        return RECIPES[recipe]
    except KeyError:
        raise ValidationError(
            "recipe", f"unknown recipe {recipe!r}; known: {', '.join(sorted(RECIPES))}"
        ) from None
