"""The offline extractor's cost on hostile text, beside ordinary prose of the same length.

    python -m benchmarks.extract_worst
    python -m benchmarks.extract_worst --lengths 2500,5000,10000,20000 --repeats 3

One ``add`` takes up to 20,000 characters (``max_text_chars``), and a server's writer is
held while the extractor reads them. Each *unit* below is a short piece of text that one
of the extractor's scans once read again for every occurrence ("she said he" with no full
stop: each pronoun re-read the sentence before it; 49 s at 20,000 characters), or that
stresses a rule (names, dates, possessives, "who" clauses, lists, markup). Each unit is
repeated to each length, with and without an ordinary sentence at the end (so the rules
that need a relation run too), and extracted in this process; the figure is CPU time
(``time.process_time``), the best of ``--repeats``. The baseline is ordinary chat prose
cut to the same lengths, extracted in the same process.

Work that grows with the square of the length shows as a ratio near 4 between 20,000 and
10,000 characters; linear work as ~2. Results go to ``results/speed/extract-worst/`` as
JSON, Markdown and a plot.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

UNITS = (
    "Ann ", "Ann and ", "Ann, ", "Ann's ", "I love ", "I work at ", "my sister ", "who ",
    ", who lives in Paris, ", "in 2019 ", "until May 2020 ", "on May 1, 2023 ",
    "from 2018 to 2020 ", "Bob moved from Lyon to ", "left Acme and ", "St. ", "Mr. ", "e.g. ",
    "... ", "!? ", "'s ", '"Ann" ', "(Ann) ", "New York ", "the ", "a b c ", "AAA ",
    "Ann-Bob ", "I I I ", "we we ", "her her ", "she said he ", "My favorite ", "named ",
    "called Ann ", "— ", "\n", "Ann\n", "I'm a ", "not ", "2019-05-01 ", "12/05/2020 ",
    "Ann Bob Cid Dee ", "of the ", "got a puppy ", "your dog ", "is Ann's brother ",
    "I don't work at Acme ", "no longer lives in ", "quit my job at ",
    "I used to live in ", "my dog Rex died ", "my house in Denver ",
)  # fmt: skip
TAIL = " Ann lives in Paris."
PROSE = (
    "Hey Mel! I just got back from Lisbon with my sister Ann. We walked a lot and the food "
    "was great. My boss at Acme finally let me take a week off, so I could not say no. "
    "How is your new puppy? I adopted a cat last month, her name is Luna and she sleeps "
    "all day. Next week I start a pottery class at the community center in Denver. "
)


def extract_cpu(text: str, repeats: int) -> float:
    """Best CPU seconds of ``repeats`` extractions of ``text`` by a fresh extractor."""
    from graphmem.ingest.offline import OfflineExtractor

    best = float("inf")
    for _ in range(repeats):
        extractor = OfflineExtractor()
        start = time.process_time()
        extractor.extract(text, speaker="kim")
        best = min(best, time.process_time() - start)
    return best


def repeated(unit: str, length: int, tail: str = "") -> str:
    return (unit * (length // len(unit) + 1))[: length - len(tail)] + tail


def sweep(lengths: list[int], repeats: int) -> dict[str, dict[str, float]]:
    """ms of CPU per text, by text name and length."""
    rows: dict[str, dict[str, float]] = {}
    for length in lengths:
        rows.setdefault("prose (baseline)", {})[str(length)] = (
            extract_cpu(repeated(PROSE, length), repeats) * 1000.0
        )
        for unit in UNITS:
            for tail in ("", TAIL):
                name = repr(unit) + (" + a sentence" if tail else "")
                rows.setdefault(name, {})[str(length)] = (
                    extract_cpu(repeated(unit, length, tail), repeats) * 1000.0
                )
    return rows


def summarise(rows: dict[str, dict[str, float]], lengths: list[int]) -> Any:
    from .report import Table

    longest = str(lengths[-1])
    ranked = sorted(((name, by_length) for name, by_length in rows.items()
                     if name != "prose (baseline)"), key=lambda item: -item[1][longest])  # fmt: skip
    headers = ["text", *[f"{n:,} chars, ms" for n in lengths]]
    if len(lengths) > 1:
        headers.append(f"{lengths[-1]:,} / {lengths[-2]:,}")
    table = Table("CPU per extraction, worst first (and the prose baseline)", headers)
    baseline = rows["prose (baseline)"]
    for name, by_length in [*ranked[:12], ("prose (baseline)", baseline)]:
        row: list[Any] = [name, *[by_length[str(n)] for n in lengths]]
        if len(lengths) > 1:
            row.append(by_length[longest] / max(by_length[str(lengths[-2])], 1e-6))
        table.rows.append(row)
    return [table]


def main(argv: list[str] | None = None) -> int:
    from .report import RESULTS_ROOT, plot_lines, write_results

    parser = argparse.ArgumentParser(prog="python -m benchmarks.extract_worst", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--lengths", default="2500,5000,10000,20000",
                        help="characters per text, comma-separated")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=1, help="best of this many")
    parser.add_argument("--out", type=Path, default=RESULTS_ROOT / "speed" / "extract-worst")
    args = parser.parse_args(argv)
    lengths = sorted(int(n) for n in args.lengths.split(",") if n)
    rows = sweep(lengths, max(1, args.repeats))
    worst = max(rows.items(), key=lambda item: item[1][str(lengths[-1])])
    config = {"lengths": lengths, "repeats": args.repeats, "units": len(UNITS)}
    write_results("extract-worst", {"ms": rows, "worst": worst[0]}, summarise(rows, lengths),
                  config, args.out,
                  [f"{len(UNITS)} units, each repeated to each length with and without a "
                   "closing sentence; CPU time of one OfflineExtractor.extract, best of "
                   f"{args.repeats}", f"worst at {lengths[-1]:,} characters: {worst[0]}, "
                   f"{worst[1][str(lengths[-1])]:.0f} ms"])  # fmt: skip
    ranked = sorted(rows, key=lambda name: -rows[name][str(lengths[-1])])
    shown = [*ranked[:5], "prose (baseline)"]
    plot_lines(args.out / "extract_ms_by_length.png",
               {name: {n: rows[name][str(n)] for n in lengths} for name in shown},
               title="offline extraction CPU by text length (worst five, prose)",
               xlabel="characters", ylabel="ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
